package standin

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// populate writes files (name -> content, '/'-separated) into dir.
func populate(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func snapshot(t *testing.T, ws string) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := writeSnapshot(context.Background(), ws, &buf); err != nil {
		t.Fatalf("snapshot of %s: %v", ws, err)
	}
	return buf.Bytes()
}

func TestWriteSnapshot_deterministic(t *testing.T) {
	files := map[string]string{
		"etc/motd":        "hello",
		"etc/hosts":       "127.0.0.1 localhost",
		"usr/bin/tool":    "#!/bin/sh",
		"a-file-at-root":  "root",
		"deep/er/and/eep": "x",
	}
	a, b := t.TempDir(), t.TempDir()
	populate(t, a, files)
	// The second copy is written in another order, with other times.
	for _, name := range []string{"deep/er/and/eep", "usr/bin/tool", "a-file-at-root", "etc/hosts", "etc/motd"} {
		populate(t, b, map[string]string{name: files[name]})
	}
	old := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	if err := os.Chtimes(filepath.Join(b, "etc", "motd"), old, old); err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" {
		if err := os.Symlink("motd", filepath.Join(a, "etc", "link")); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink("motd", filepath.Join(b, "etc", "link")); err != nil {
			t.Fatal(err)
		}
	}

	sa, sb := snapshot(t, a), snapshot(t, b)
	if !bytes.Equal(sa, sb) {
		t.Fatal("snapshots of identical content differ")
	}
	if again := snapshot(t, a); !bytes.Equal(sa, again) {
		t.Fatal("two snapshots of the same workspace differ")
	}

	populate(t, b, map[string]string{"etc/motd": "changed"})
	if bytes.Equal(sa, snapshot(t, b)) {
		t.Fatal("snapshot did not change with the content")
	}
}

func TestWriteSnapshot_roundTrip(t *testing.T) {
	src := t.TempDir()
	populate(t, src, map[string]string{"etc/motd": "hello", "var/empty/.keep": ""})
	if err := os.Mkdir(filepath.Join(src, "emptydir"), 0o755); err != nil {
		t.Fatal(err)
	}
	first := snapshot(t, src)
	sum := sha256.Sum256(first)
	id := "sha256:" + hex.EncodeToString(sum[:])

	_, ws := newWorkspace(t)
	if err := extractArchive(context.Background(), bytes.NewReader(first), ws, id); err != nil {
		t.Fatalf("restoring the snapshot: %v", err)
	}
	if fi, err := os.Stat(filepath.Join(ws, "emptydir")); err != nil || !fi.IsDir() {
		t.Errorf("empty directory not restored: %v", err)
	}
	if !bytes.Equal(first, snapshot(t, ws)) {
		t.Error("snapshot of a restored image differs from the image: restoring then rebuilding would change the id")
	}
}

func TestWriteSnapshot_refusesEscapingSymlink(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("creating symlinks needs privileges on Windows")
	}
	for _, target := range []string{"/etc/passwd", "../../outside", "../sub/../../x"} {
		ws := t.TempDir()
		populate(t, ws, map[string]string{"sub/f": "x"})
		if err := os.Symlink(target, filepath.Join(ws, "sub", "link")); err != nil {
			t.Fatal(err)
		}
		err := writeSnapshot(context.Background(), ws, new(bytes.Buffer))
		if err == nil || !strings.Contains(err.Error(), `"sub/link"`) || !strings.Contains(err.Error(), target) {
			t.Errorf("symlink to %s: error = %v, want one naming sub/link and its target", target, err)
		}
	}
}

func TestWriteSnapshot_cancelled(t *testing.T) {
	ws := t.TempDir()
	populate(t, ws, map[string]string{"a": "x"})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := writeSnapshot(ctx, ws, new(bytes.Buffer)); err == nil {
		t.Fatal("snapshot with a cancelled context succeeded")
	}
}

// TestWriteSnapshot_leavesOutHostPaths: what a running instance shares with
// the host (system directories, /dev, /proc) never lands in an image.
func TestWriteSnapshot_leavesOutHostPaths(t *testing.T) {
	ws := t.TempDir()
	populate(t, ws, map[string]string{
		"usr/bin/tool": "#!/bin/sh", "dev/null": "", "proc/1/status": "x", "lib64/ld.so": "elf",
		"etc/motd": "hello", "usrlocal/f": "kept", "opt/usr/f": "kept",
	})
	if runtime.GOOS != "windows" {
		if err := os.Symlink("usr/bin", filepath.Join(ws, "bin")); err != nil {
			t.Fatal(err)
		}
	}
	zr, err := gzip.NewReader(bytes.NewReader(snapshot(t, ws)))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	tr := tar.NewReader(zr)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, hdr.Name)
	}
	want := []string{"etc/", "etc/motd", "opt/", "opt/usr/", "opt/usr/f", "usrlocal/", "usrlocal/f"}
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Errorf("snapshot holds %q, want %q", names, want)
	}
}
