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

// A process that carries the invocation's mark is found wherever its
// executable lives; one without it, or with another mark, is left alone.
func TestReapLeftovers_mark(t *testing.T) {
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("no sleep command")
	}
	start := func(mark string) *exec.Cmd {
		cmd := exec.Command(sleep, "600")
		cmd.Env = append(os.Environ(), envProcessMark+"="+mark)
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		return cmd
	}
	mine := start("mine")
	other := start("other")
	// Reap the killed child so it does not linger as a zombie, which the
	// listing skips anyway.
	go func() { _ = mine.Wait() }()
	escaped, err := reapLeftovers(t.TempDir(), "mine", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(escaped) != 1 || escaped[0].pid != mine.Process.Pid {
		t.Fatalf("expected only pid %d found, found %v", mine.Process.Pid, escaped)
	}
	if err := other.Process.Signal(syscall.Signal(0)); err != nil {
		t.Errorf("expected the process with another mark left running, found %v", err)
	}
}
