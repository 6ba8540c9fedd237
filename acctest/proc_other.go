//go:build !unix

package acctest

import "os/exec"

// setProcessGroup does nothing where there are no process groups.
func setProcessGroup(cmd *exec.Cmd) {}

// interruptProcessGroup kills the process: without process groups there is
// no interrupt to deliver to Packer alone.
func interruptProcessGroup(cmd *exec.Cmd) error {
	if cmd.Process == nil {
		return nil
	}
	return cmd.Process.Kill()
}

// killProcessGroup kills the process if it is still running; plugins it
// started are left to the leak check.
func killProcessGroup(cmd *exec.Cmd) error {
	if cmd.Process == nil {
		return nil
	}
	cmd.Process.Kill()
	return nil
}
