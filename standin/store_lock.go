package standin

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// storeGates serializes index updates between goroutines of one process,
// one gate per store directory. The OS lock alone is not enough: POSIX
// record locks belong to the process, so two goroutines would both "hold"
// it, and closing any descriptor of the lock file drops it.
var storeGates sync.Map // canonical store path -> chan struct{}

// errLockBusy is what tryLockFile returns when another process holds the
// lock.
var errLockBusy = errors.New("lock is held by another process")

// lockStore takes the store's lock, waiting for other goroutines and other
// processes, until ctx ends. The returned function releases it.
func lockStore(ctx context.Context, dir string) (unlock func(), err error) {
	key := canonicalPath(dir)
	v, _ := storeGates.LoadOrStore(key, make(chan struct{}, 1))
	gate := v.(chan struct{})
	select {
	case gate <- struct{}{}:
	default:
		notify(ctx, fmt.Sprintf("Waiting for image store %s: another build in this process is updating it", dir))
		select {
		case gate <- struct{}{}:
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for the lock of image store %s: %w", dir, ctx.Err())
		}
	}
	release := func() { <-gate }

	name := filepath.Join(dir, lockFileName)
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		release()
		return nil, fmt.Errorf("opening lock file of image store: %w", err)
	}
	// Polling instead of a blocking lock call keeps the wait cancellable.
	delay := 5 * time.Millisecond
	for waited := false; ; waited = true {
		err = tryLockFile(f)
		if err == nil {
			break
		}
		if !errors.Is(err, errLockBusy) {
			_ = f.Close()
			release()
			return nil, fmt.Errorf("locking %s: %w", name, err)
		}
		if !waited {
			notify(ctx, fmt.Sprintf("Waiting for image store %s: another process holds its lock (%s)", dir, name))
		}
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			_ = f.Close()
			release()
			return nil, fmt.Errorf("waiting for the lock of image store %s: %w", dir, ctx.Err())
		}
		if delay < 200*time.Millisecond {
			delay *= 2
		}
	}
	return func() {
		unlockFile(f)
		_ = f.Close()
		release()
	}, nil
}

// canonicalPath names a directory the same way however it was spelled, so
// that one store gets one gate.
func canonicalPath(dir string) string {
	p, err := filepath.Abs(dir)
	if err != nil {
		p = filepath.Clean(dir)
	}
	if resolved, err := filepath.EvalSymlinks(p); err == nil {
		p = resolved
	}
	return p
}
