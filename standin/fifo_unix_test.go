//go:build unix

package standin

// x/sys/unix, not syscall: syscall has no Mkfifo on solaris, a released
// target (make vet-all).
import "golang.org/x/sys/unix"

func mkfifo(path string) error { return unix.Mkfifo(path, 0o644) }
