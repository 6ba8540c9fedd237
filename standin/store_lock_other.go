//go:build !(aix || darwin || dragonfly || freebsd || illumos || linux || netbsd || openbsd || solaris || windows)

package standin

import "os"

// On platforms without file locks (js, wasip1, plan9) only the in-process
// gate protects the index: a store must not be shared between processes
// there.
func tryLockFile(*os.File) error { return nil }

func unlockFile(*os.File) {}
