package standin

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// FuzzExtractArchive feeds arbitrary bytes to the extractor as an image
// archive (with the matching id, so extraction really runs): it may refuse
// them, but must not panic, write outside the workspace, or expand past the
// disk bound.
func FuzzExtractArchive(f *testing.F) {
	seed := func(entries ...tarEntry) {
		data, _ := makeArchive(f, entries...)
		f.Add(data)
	}
	seed(dir("etc/", 0o755), file("etc/motd", "hello", 0o644))
	seed(symlink("link", "../outside"), file("link/x", "escape", 0o644))
	seed(hardlink("h", "/etc/passwd"))
	seed(file("../up", "x", 0o644))
	seed(tarEntry{Header: tar.Header{Typeflag: tar.TypeFifo, Name: "fifo"}})
	f.Add([]byte("not gzip"))

	const disk = 1 << 20
	f.Fuzz(func(t *testing.T, data []byte) {
		parent, ws := newWorkspace(t)
		sum := sha256.Sum256(data)
		id := "sha256:" + hex.EncodeToString(sum[:])
		err := extractArchiveWithin(context.Background(), bytes.NewReader(data), ws, id, disk)
		if left := listDir(t, parent); len(left) != 1 || left[0] != "ws" {
			t.Fatalf("extraction wrote beside the workspace: %v", left)
		}
		var total int64
		_ = filepath.Walk(ws, func(_ string, info os.FileInfo, err error) error {
			if err == nil && info.Mode().IsRegular() {
				total += info.Size()
			}
			return nil
		})
		if total > disk {
			t.Fatalf("extracted %d bytes, past the %d-byte disk", total, disk)
		}
		if err != nil {
			if entries, _ := os.ReadDir(ws); len(entries) != 0 {
				t.Fatalf("failed extraction (%v) left %d entries in the workspace", err, len(entries))
			}
		}
	})
}

// FuzzParseIndex parses arbitrary bytes as index.json: a malformed index is
// an error, never a panic, and what parses is valid and survives a write
// and a read.
func FuzzParseIndex(f *testing.F) {
	good := storeIndex{Version: indexVersion, Images: []indexEntry{{
		ID: "sha256:" + string(bytes.Repeat([]byte("ab"), 32)), Name: "web", Region: "local",
		Labels: map[string]string{"k": "v"}, Created: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC),
		Size: 10, File: "images/local/" + string(bytes.Repeat([]byte("ab"), 32)) + ".tar.gz",
	}}}
	data, _ := json.Marshal(good)
	f.Add(data)
	f.Add([]byte(`{"version":1,"images":[]}`))
	f.Add([]byte(`{"version":2}`))
	f.Add([]byte(`{"version":1,"images":[{"id":"x","file":"../../etc/passwd"}]}`))
	f.Add([]byte(`{`))

	f.Fuzz(func(t *testing.T, data []byte) {
		idx, err := parseIndex(data, "index.json")
		if err != nil {
			return
		}
		for i, e := range idx.Images {
			if err := checkEntry(e); err != nil {
				t.Fatalf("parsed images[%d] is invalid: %v", i, err)
			}
			if !filepath.IsLocal(filepath.FromSlash(e.File)) {
				t.Fatalf("parsed images[%d] has a file outside the store: %q", i, e.File)
			}
		}
		again, err := json.Marshal(idx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := parseIndex(again, "index.json"); err != nil {
			t.Fatalf("a parsed index does not parse again after a write: %v", err)
		}
	})
}
