//go:build windows

package standin

import (
	"context"
	"os/exec"
	"syscall"
)

// shellCommand runs command with cmd /C. The command line is passed as is:
// Go's argument quoting would mangle the quotes cmd expects.
func shellCommand(ctx context.Context, command string) *exec.Cmd {
	c := exec.CommandContext(ctx, "cmd")
	c.SysProcAttr = &syscall.SysProcAttr{CmdLine: "cmd /C " + command}
	return c
}
