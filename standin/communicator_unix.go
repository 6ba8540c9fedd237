//go:build unix

package standin

import (
	"context"
	"os/exec"
	"syscall"
)

// shellCommand runs command with sh in its own process group, so that
// cancelling kills the whole group and not only the shell.
func shellCommand(ctx context.Context, command string) *exec.Cmd {
	c := exec.CommandContext(ctx, "sh", "-c", command)
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	c.Cancel = func() error {
		return syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
	}
	return c
}
