//go:build unix

package imagecheck

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"golang.org/x/sys/unix"
)

// HoldStoreLock takes the lock of the image store in dir, as another
// process updating the store would, so that a build's next store update
// (registering a snapshot or a copy) waits and says so on its UI ("another
// process holds its lock"): a fixed point at which a test can interrupt
// the build. It creates dir if needed, fails the test if the lock is
// taken, and returns a function releasing it, which also runs when the
// test ends. See LockStore for a goroutine.
func HoldStoreLock(t testing.TB, dir string) (release func()) {
	t.Helper()
	release, err := LockStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(release)
	return release
}

// LockStore is HoldStoreLock for a goroutine of a test, which must not
// call t.Fatal: it returns the error, and the caller releases the lock.
func LockStore(dir string) (release func(), err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	// The stand-in's lock: a POSIX record lock on the store's .lock file,
	// which is per process, so this process must not otherwise open the
	// file while it holds the lock.
	f, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: io.SeekStart}
	for {
		err = unix.FcntlFlock(f.Fd(), unix.F_SETLK, &lk)
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("locking image store %s: %w", dir, err)
	}
	var once sync.Once
	return func() { once.Do(func() { _ = f.Close() }) }, nil
}
