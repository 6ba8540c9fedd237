package acctest

import (
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/gofrs/flock"
)

// The plugin binaries a test process builds outlive any one test, so they
// live in a per-process directory. Tests have no process-exit hook to remove
// it; instead the process holds a lock on a file in it for its lifetime, and
// the next test process removes every such directory whose lock is free,
// that is, whose owner has exited.
const (
	procDirPrefix    = "packer-acctest-proc-"
	procDirNewPrefix = "packer-acctest-new-"
	procDirLockName  = ".owner"
)

var procDir struct {
	once sync.Once
	path string
	err  error
	// lock stays referenced, and so held, until the process exits.
	lock *flock.Flock
}

func processDir() (string, error) {
	procDir.once.Do(func() {
		sweepProcessDirs(os.TempDir())
		procDir.path, procDir.lock, procDir.err = newProcessDir(os.TempDir())
	})
	return procDir.path, procDir.err
}

// newProcessDir creates and locks a directory under a name the sweeper
// ignores, then renames it to its final name, so no sweeper can see it
// unlocked.
func newProcessDir(base string) (string, *flock.Flock, error) {
	tmp, err := os.MkdirTemp(base, procDirNewPrefix)
	if err != nil {
		return "", nil, err
	}
	lock := flock.New(filepath.Join(tmp, procDirLockName))
	if ok, err := lock.TryLock(); err != nil || !ok {
		_ = os.RemoveAll(tmp)
		if err == nil {
			err = os.ErrExist
		}
		return "", nil, err
	}
	final := filepath.Join(base, procDirPrefix+strings.TrimPrefix(filepath.Base(tmp), procDirNewPrefix))
	if err := os.Rename(tmp, final); err != nil {
		_ = lock.Unlock()
		_ = os.RemoveAll(tmp)
		return "", nil, err
	}
	return final, lock, nil
}

// sweepProcessDirs removes the directories of test processes that have
// exited. Failures are ignored: the directories are only temp files.
func sweepProcessDirs(base string) {
	entries, err := os.ReadDir(base)
	if err != nil {
		return
	}
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), procDirPrefix) {
			continue
		}
		dir := filepath.Join(base, e.Name())
		lockPath := filepath.Join(dir, procDirLockName)
		if _, err := os.Stat(lockPath); err != nil {
			continue
		}
		lock := flock.New(lockPath)
		ok, err := lock.TryLock()
		if err != nil || !ok {
			continue
		}
		_ = os.RemoveAll(dir)
		_ = lock.Unlock()
	}
}
