package standin

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// A server that echoes the request's Authorization header (as some error
// pages do) must not get basic-auth credentials into our errors, in any
// of their forms.
func TestHTTPDriver_redactsEchoedBasicAuth(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pw, _ := r.BasicAuth()
		w.WriteHeader(http.StatusForbidden)
		// The header first, so a cut at 256 bytes would fall inside it
		// without the scrub-then-cut order.
		_, _ = w.Write([]byte(strings.Repeat("x", 230) + " got " + r.Header.Get("Authorization") + " for " + user + ":" + pw + " pw=" + pw))
	}))
	defer srv.Close()
	store := strings.Replace(srv.URL, "http://", "http://alice:s3cr3t-pw@", 1)
	d := openTestHTTPStore(t, store, StoreOptions{})
	_, err := d.FindImages(context.Background(), ImageFilter{})
	if err == nil {
		t.Fatal("FindImages succeeded against a 403")
	}
	for _, leak := range []string{"s3cr3t-pw", "YWxpY2U6czNjcjN0LXB3", "s3cr3t", "YWxpY2U6czNj"} {
		if strings.Contains(err.Error(), leak) {
			t.Errorf("error leaks %q: %v", leak, err)
		}
	}
	if !strings.Contains(err.Error(), "403") {
		t.Errorf("error %q does not say what the server answered", err)
	}
}

// An index.json that is not a regular file (a named pipe hung a build
// forever, holding the store lock) is an error that names it.
func TestLocalDriver_indexNotRegularFile(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no named pipes in the file system on Windows")
	}
	d := newTestDriver(t)
	if err := os.MkdirAll(d.Dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := mkfifo(filepath.Join(d.Dir, indexFileName)); err != nil {
		t.Skipf("cannot make a named pipe: %v", err)
	}
	_, err := d.FindImages(context.Background(), ImageFilter{})
	if err == nil || !strings.Contains(err.Error(), indexFileName) || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("FindImages on a FIFO index: %v, want an error naming it", err)
	}
	inst, err := d.RunInstance(context.Background(), LaunchSpec{Name: "x"})
	if err == nil {
		_ = d.TerminateInstance(context.Background(), inst)
		t.Error("RunInstance accepted a store whose index is a named pipe")
	}
}

// TestHelperHoldLock is not a test: TestLockStore_waitsVisiblyAndCancels
// runs the test binary with it to hold a store's lock from another process.
func TestHelperHoldLock(t *testing.T) {
	dir := os.Getenv("STANDIN_HOLD_LOCK")
	if dir == "" {
		t.Skip("helper process only")
	}
	unlock, err := lockStore(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	fmt.Println("locked")
	_, _ = io.Copy(io.Discard, os.Stdin) // until the parent closes stdin
}

// Waiting for another process's store lock says so, and a cancel ends the
// wait.
func TestLockStore_waitsVisiblyAndCancels(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "plan9" {
		t.Skip("no cross-process lock on this platform")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperHoldLock$")
	cmd.Env = append(os.Environ(), "STANDIN_HOLD_LOCK="+dir)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = stdin.Close(); _ = cmd.Wait() }()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "locked" {
		t.Fatalf("helper said %q, %v", line, err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var said []string
	ctx = WithNotify(ctx, func(msg string) {
		said = append(said, msg)
		cancel() // the user gives up once told
	})
	unlock, err := lockStore(ctx, dir)
	if err == nil {
		unlock()
		t.Fatal("took a lock another process holds")
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error = %v, want the cancel", err)
	}
	if len(said) != 1 || !strings.Contains(said[0], "another process holds its lock") || !strings.Contains(said[0], dir) {
		t.Errorf("messages = %q, want one saying another process holds the lock of %s", said, dir)
	}
}

// Restores are bounded by the instance's disk: an image that expands past
// it (a gzip bomb is the extreme case) fails with ErrDiskFull and leaves no
// instance; a bigger disk restores it.
func TestLocalDriver_restoreBoundedByDisk(t *testing.T) {
	d := newTestDriver(t)
	ctx := context.Background()
	// 3 MiB of zeros compress to a few KiB.
	img := buildImage(t, d, ImageSpec{Name: "bomb", Region: "local"}, map[string]string{"zeros": strings.Repeat("\x00", 3<<20)})
	if img.Size > 64<<10 {
		t.Fatalf("archive is %d bytes; the test wants a high compression ratio", img.Size)
	}
	_, err := d.RunInstance(ctx, LaunchSpec{Name: "small", Source: &img, DiskSize: 1 << 20})
	if !errors.Is(err, ErrDiskFull) || !strings.Contains(err.Error(), "1 MiB") {
		t.Errorf("restore into a 1 MiB disk: %v, want ErrDiskFull naming the size", err)
	}
	if left, _ := os.ReadDir(d.InstanceDir); len(left) != 0 {
		t.Errorf("a failed restore left instances: %v", left)
	}
	inst, err := d.RunInstance(ctx, LaunchSpec{Name: "big", Source: &img, DiskSize: 8 << 20})
	if err != nil {
		t.Fatalf("restore into an 8 MiB disk: %v", err)
	}
	_ = d.TerminateInstance(ctx, inst)
}
