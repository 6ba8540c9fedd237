package standin

import (
	"bufio"
	"context"
	"errors"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
)

// startBackground starts, with a context that is never cancelled (the one
// Packer's RPC server gives Start), a command that leaves a background
// child, and returns the child's pid.
func startBackground(t *testing.T, c *Communicator) (*packersdk.RemoteCmd, int) {
	t.Helper()
	pr, pw := io.Pipe()
	cmd := &packersdk.RemoteCmd{Command: "sleep 600 & echo $!; wait", Stdout: pw}
	if err := c.Start(context.Background(), cmd); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		t.Fatalf("background pid %q: %v", line, err)
	}
	t.Cleanup(func() { _ = pw.Close() })
	return cmd, pid
}

// processGone waits, up to a few seconds, for pid to be gone or a zombie
// (killed, not yet reaped by whoever inherited it) and reports whether it
// is.
func processGone(pid int) bool {
	for i := 0; i < 100; i++ {
		stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if errors.Is(err, os.ErrNotExist) {
			return true
		}
		// The state follows the parenthesised command name.
		if i := strings.LastIndexByte(string(stat), ')'); i >= 0 && strings.HasPrefix(string(stat[i+1:]), " Z") {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
}

func TestCommunicator_closeKillsWhatIsRunning(t *testing.T) {
	c := &Communicator{Workspace: t.TempDir()}
	cmd, pid := startBackground(t, c)
	_ = c.Close()
	if status := cmd.Wait(); status == 0 {
		t.Error("a killed command reported success")
	}
	if !processGone(pid) {
		t.Errorf("background process %d still runs after Close", pid)
		_ = killPid(pid)
	}
	if err := c.Start(context.Background(), &packersdk.RemoteCmd{Command: "true"}); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("Start after Close = %v, want an error saying the communicator is closed", err)
	}
	_ = c.Close() // twice is fine
}

func killPid(pid int) error {
	p, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	return p.Kill()
}
