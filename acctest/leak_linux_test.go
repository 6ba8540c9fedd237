package acctest

import (
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
)

// A copy of sleep stands in for a plugin left running from a plugin dir.
func startFromDir(t *testing.T, dir, name string, attr *syscall.SysProcAttr) *exec.Cmd {
	t.Helper()
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("no sleep command")
	}
	bin := filepath.Join(dir, name)
	data, err := os.ReadFile(sleep)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "600")
	cmd.SysProcAttr = attr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd
}

func TestReapPluginProcesses(t *testing.T) {
	dir := t.TempDir()
	inGroup := startFromDir(t, dir, "packer-plugin-a", &syscall.SysProcAttr{Setpgid: true})
	pgid := inGroup.Process.Pid
	outside := startFromDir(t, dir, "packer-plugin-b", &syscall.SysProcAttr{Setpgid: true})

	procs, err := pluginProcesses(dir)
	if err != nil || len(procs) != 2 {
		t.Fatalf("expected 2 processes from %s, found %v, %v", dir, procs, err)
	}
	escaped, err := reapPluginProcesses(dir, pgid)
	if err != nil {
		t.Fatal(err)
	}
	if len(escaped) != 1 || escaped[0].pid != outside.Process.Pid || escaped[0].pgid != outside.Process.Pid {
		t.Errorf("expected only pid %d reported as escaped, found %v", outside.Process.Pid, escaped)
	}
	if left, _ := pluginProcesses(dir); len(left) != 0 {
		t.Errorf("expected every process killed, found %v", left)
	}
	if procs, err := pluginProcesses(t.TempDir()); err != nil || len(procs) != 0 {
		t.Errorf("expected nothing from an empty dir, found %v, %v", procs, err)
	}
}
