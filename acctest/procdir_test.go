package acctest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSweepProcessDirs(t *testing.T) {
	base := t.TempDir()
	live, lock, err := newProcessDir(base)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = lock.Unlock() }()
	if !strings.HasPrefix(filepath.Base(live), procDirPrefix) {
		t.Errorf("expected %s to start with %s", live, procDirPrefix)
	}
	// A directory whose owner exited: its lock file is not held.
	dead := filepath.Join(base, procDirPrefix+"dead")
	mustWriteFile(t, filepath.Join(dead, "plugin-x", "packer-plugin-x"), "", 0o755)
	mustWriteFile(t, filepath.Join(dead, procDirLockName), "", 0o644)
	// Not ours, or not finished being created: left alone.
	other := filepath.Join(base, "packer-acctest-unrelated")
	mustDo(t, os.MkdirAll(other, 0o755))
	noLock := filepath.Join(base, procDirPrefix+"nolock")
	mustDo(t, os.MkdirAll(noLock, 0o755))

	sweepProcessDirs(base)

	for dir, want := range map[string]bool{live: true, dead: false, other: true, noLock: true} {
		_, err := os.Stat(dir)
		if got := err == nil; got != want {
			t.Errorf("%s: expected exists=%v, found %v", filepath.Base(dir), want, got)
		}
	}
}
