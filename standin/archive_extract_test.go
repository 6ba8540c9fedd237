package standin

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// tarEntry is one entry of a test archive; Body is the content of a
// regular file.
type tarEntry struct {
	Header tar.Header
	Body   string
}

func file(name, body string, mode int64) tarEntry {
	return tarEntry{Header: tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(body))}, Body: body}
}

func dir(name string, mode int64) tarEntry {
	return tarEntry{Header: tar.Header{Typeflag: tar.TypeDir, Name: name, Mode: mode}}
}

func symlink(name, target string) tarEntry {
	return tarEntry{Header: tar.Header{Typeflag: tar.TypeSymlink, Name: name, Linkname: target, Mode: 0o777}}
}

func hardlink(name, target string) tarEntry {
	return tarEntry{Header: tar.Header{Typeflag: tar.TypeLink, Name: name, Linkname: target}}
}

// makeArchive writes entries as a gzip-compressed tar and returns it with
// its image id.
func makeArchive(t testing.TB, entries ...tarEntry) ([]byte, string) {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, e := range entries {
		hdr := e.Header
		if err := tw.WriteHeader(&hdr); err != nil {
			t.Fatalf("writing header %q: %v", hdr.Name, err)
		}
		if e.Body != "" {
			if _, err := tw.Write([]byte(e.Body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(buf.Bytes())
	return buf.Bytes(), "sha256:" + hex.EncodeToString(sum[:])
}

// newWorkspace returns an empty workspace inside a parent directory that
// holds nothing else, so a test can check that nothing escaped into it.
func newWorkspace(t *testing.T) (parent, ws string) {
	t.Helper()
	parent = t.TempDir()
	ws = filepath.Join(parent, "ws")
	if err := os.Mkdir(ws, 0o700); err != nil {
		t.Fatal(err)
	}
	return parent, ws
}

func listDir(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestExtractArchive_refusesMaliciousEntries(t *testing.T) {
	cases := []struct {
		name    string
		entries []tarEntry
		// wantErr are substrings of the error: the entry's name and why.
		wantErr []string
		// needsSymlinks marks cases that create symlinks before the bad entry.
		needsSymlinks bool
	}{
		{"dot-dot", []tarEntry{file("../evil", "x", 0o644)}, []string{`"../evil"`, `".." element`}, false},
		{"dot-dot inside", []tarEntry{file("a/../../evil", "x", 0o644)}, []string{`"a/../../evil"`, `".."`}, false},
		{"absolute path", []tarEntry{file("/tmp/evil", "x", 0o644)}, []string{`"/tmp/evil"`, "absolute path"}, false},
		{"backslash", []tarEntry{file(`..\evil`, "x", 0o644)}, []string{`"..\\evil"`, "backslash"}, false},
		{"symlink to parent", []tarEntry{symlink("out", "../..")}, []string{`"out"`, "outside the workspace"}, false},
		{"symlink absolute", []tarEntry{symlink("passwd", "/etc/passwd")}, []string{`"passwd"`, "absolute path"}, false},
		{"symlink deep escape", []tarEntry{dir("a/", 0o755), symlink("a/up", "../../x")}, []string{`"a/up"`, "outside the workspace"}, false},
		{
			// The target text looks harmless ("a/.." is "."), but a is a
			// link to ".", so a/.. is the workspace's parent.
			"symlink through symlink",
			[]tarEntry{symlink("a", "."), symlink("b", "a/..")},
			[]string{`"b"`, "outside the workspace"}, true,
		},
		{
			// The second entry changes where the first one points.
			"symlink redirected later",
			[]tarEntry{symlink("c", "later/.."), symlink("later", ".")},
			[]string{`"c"`, "outside the workspace"}, true,
		},
		{
			"write through symlink",
			[]tarEntry{dir("sub/", 0o755), symlink("d", "sub"), file("d/f", "x", 0o644)},
			[]string{`"d/f"`, `symlink "d"`}, true,
		},
		{"hardlink escape", []tarEntry{hardlink("h", "../../etc/passwd")}, []string{`"h"`, "not a path inside the image"}, false},
		{"hardlink absolute", []tarEntry{hardlink("h", "/etc/passwd")}, []string{`"h"`, "not a path inside the image"}, false},
		{"hardlink missing target", []tarEntry{hardlink("h", "nothere")}, []string{`"h"`, "does not exist"}, false},
		{"hardlink to directory", []tarEntry{dir("d/", 0o755), hardlink("h", "d")}, []string{`"h"`, "not a regular file"}, false},
		{"char device", []tarEntry{{Header: tar.Header{Typeflag: tar.TypeChar, Name: "null", Devmajor: 1, Devminor: 3}}}, []string{`"null"`, "device"}, false},
		{"block device", []tarEntry{{Header: tar.Header{Typeflag: tar.TypeBlock, Name: "sda", Devmajor: 8}}}, []string{`"sda"`, "device"}, false},
		{"fifo", []tarEntry{{Header: tar.Header{Typeflag: tar.TypeFifo, Name: "pipe"}}}, []string{`"pipe"`, "fifo"}, false},
		{"replace directory", []tarEntry{dir("d/", 0o755), file("d", "x", 0o644)}, []string{`"d"`, "replace a directory"}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.needsSymlinks && runtime.GOOS == "windows" {
				t.Skip("creating symlinks needs privileges on Windows")
			}
			parent, ws := newWorkspace(t)
			archive, id := makeArchive(t, tc.entries...)
			err := extractArchive(context.Background(), bytes.NewReader(archive), ws, id)
			if err == nil {
				t.Fatal("extraction succeeded, want an error")
			}
			for _, want := range tc.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %s", err, want)
				}
			}
			if errors.Is(err, ErrChecksumMismatch) {
				t.Errorf("error %q claims a checksum mismatch; the archive matches its id", err)
			}
			if got := listDir(t, parent); len(got) != 1 || got[0] != "ws" {
				t.Errorf("parent of the workspace holds %v, want only ws", got)
			}
			if got := listDir(t, ws); len(got) != 0 {
				t.Errorf("workspace holds %v after a failed extraction, want it empty", got)
			}
		})
	}
}

func TestExtractArchive_goodArchive(t *testing.T) {
	entries := []tarEntry{
		dir("./", 0o755),
		dir("etc/", 0o755),
		file("etc/motd", "hello\n", 0o644),
		file("bin/run", "#!/bin/sh\necho run\n", 0o755), // parent dir not listed
		dir("ro/", 0o555),
		file("ro/inside", "kept", 0o444),
		hardlink("etc/motd.hard", "etc/motd"),
	}
	withSymlinks := runtime.GOOS != "windows"
	if withSymlinks {
		entries = append(entries,
			symlink("etc/motd.link", "motd"),
			symlink("top", "etc/../etc/motd"),
			symlink("bin/up", "../etc"),
		)
	}
	_, ws := newWorkspace(t)
	archive, id := makeArchive(t, entries...)
	if err := extractArchive(context.Background(), bytes.NewReader(archive), ws, id); err != nil {
		t.Fatalf("extracting a good archive: %v", err)
	}
	t.Cleanup(func() { _ = removeTree(ws) })

	read := func(name string) string {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(ws, filepath.FromSlash(name)))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if got := read("etc/motd"); got != "hello\n" {
		t.Errorf("etc/motd = %q", got)
	}
	if got := read("etc/motd.hard"); got != "hello\n" {
		t.Errorf("etc/motd.hard = %q", got)
	}
	if got := read("ro/inside"); got != "kept" {
		t.Errorf("ro/inside = %q", got)
	}
	if runtime.GOOS != "windows" {
		fi, err := os.Stat(filepath.Join(ws, "bin", "run"))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o755 {
			t.Errorf("bin/run mode = %v, want 0755", fi.Mode().Perm())
		}
		fi, err = os.Stat(filepath.Join(ws, "ro"))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o555 {
			t.Errorf("ro mode = %v, want 0555", fi.Mode().Perm())
		}
	}
	if withSymlinks {
		if got := read("top"); got != "hello\n" {
			t.Errorf("top (symlink) reads %q", got)
		}
		if target, err := os.Readlink(filepath.Join(ws, "etc", "motd.link")); err != nil || target != "motd" {
			t.Errorf("etc/motd.link -> %q, %v; want motd", target, err)
		}
		if got := read("bin/up/motd"); got != "hello\n" {
			t.Errorf("bin/up/motd reads %q", got)
		}
	}
	// A read-only directory from an image must not make the instance
	// impossible to delete.
	if err := removeTree(ws); err != nil {
		t.Fatalf("removing the workspace: %v", err)
	}
	if _, err := os.Stat(ws); !os.IsNotExist(err) {
		t.Errorf("workspace still exists after removeTree: %v", err)
	}
}

func TestExtractArchive_checksumMismatch(t *testing.T) {
	_, ws := newWorkspace(t)
	archive, _ := makeArchive(t, file("a", "content", 0o644))
	wrong := "sha256:" + strings.Repeat("0", 64)
	err := extractArchive(context.Background(), bytes.NewReader(archive), ws, wrong)
	if !errors.Is(err, ErrChecksumMismatch) {
		t.Fatalf("error = %v, want ErrChecksumMismatch", err)
	}
	if !strings.Contains(err.Error(), wrong) {
		t.Errorf("error %q does not name the expected id", err)
	}
	if got := listDir(t, ws); len(got) != 0 {
		t.Errorf("workspace holds %v after a mismatch, want it empty", got)
	}
}

func TestExtractArchive_checksumMismatchWinsOverBrokenArchive(t *testing.T) {
	_, ws := newWorkspace(t)
	archive, id := makeArchive(t, file("a", strings.Repeat("x", 4096), 0o644))
	corrupt := append([]byte(nil), archive...)
	corrupt[len(corrupt)/2] ^= 0xff
	err := extractArchive(context.Background(), bytes.NewReader(corrupt), ws, id)
	if !errors.Is(err, ErrChecksumMismatch) {
		t.Fatalf("error = %v, want ErrChecksumMismatch for a corrupted archive", err)
	}
}

func TestExtractArchive_notGzip(t *testing.T) {
	_, ws := newWorkspace(t)
	data := []byte("plain text, not an archive")
	sum := sha256.Sum256(data)
	err := extractArchive(context.Background(), bytes.NewReader(data), ws, "sha256:"+hex.EncodeToString(sum[:]))
	if err == nil || !strings.Contains(err.Error(), "gzip") {
		t.Fatalf("error = %v, want one saying the archive is not gzip", err)
	}
}

func TestExtractArchive_cancelled(t *testing.T) {
	_, ws := newWorkspace(t)
	archive, id := makeArchive(t, file("a", "x", 0o644), file("b", "y", 0o644))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := extractArchive(ctx, bytes.NewReader(archive), ws, id)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error = %v, want context.Canceled", err)
	}
}
