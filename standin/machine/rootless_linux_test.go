package machine

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestCrashOfThePluginKillsTheInstance: when the process that started an
// instance dies without stopping it (SIGKILL, a crash), every process of
// the instance dies too.
func TestCrashOfThePluginKillsTheInstance(t *testing.T) {
	needNamespaces(t)
	marker := uniqueSleep()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashHelper$", "-test.count=1")
	cmd.Env = append(os.Environ(), "MACHINE_TEST_CRASH_MARKER="+marker)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = testLog{t}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	r := bufio.NewReader(out)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("the helper ended before its instance was ready: %v", err)
		}
		if line == "ready\n" {
			break
		}
		t.Log("helper: " + strings.TrimRight(line, "\n"))
	}
	go func() { _, _ = io.Copy(io.Discard, r) }()
	waitProcesses(t, marker, 3)
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	waitGone(t, marker)
}

// TestCrashHelper is the process TestCrashOfThePluginKillsTheInstance kills.
func TestCrashHelper(t *testing.T) {
	marker := os.Getenv("MACHINE_TEST_CRASH_MARKER")
	if marker == "" {
		t.Skip("the helper process of TestCrashOfThePluginKillsTheInstance")
	}
	m := startMachine(t, "")
	startSleeps(t, m.dial(t), marker)
	fmt.Println("ready")
	select {} // killed by the parent test
}

// instanceTests are the tests TestAsOrdinaryUser re-runs without root.
const instanceTests = "^(TestExec|TestAbsolutePathsMeanTheInstance|TestSystemDirectoriesAreReadOnly|TestSFTP|TestSDKCommunicator|TestStopKillsEveryProcess|TestClosingTheSessionKillsItsCommand|TestRestartKeepsTheRoot|TestCrashOfThePluginKillsTheInstance)$"

// TestAsOrdinaryUser proves the runtime needs no privilege: run as root, it
// creates a throwaway user and re-runs the instance tests of this binary as
// that user. Run as an ordinary user, those tests already prove it.
func TestAsOrdinaryUser(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skipf("already running as uid %d: every instance test here runs without root", os.Getuid())
	}
	if os.Getenv("MACHINE_TEST_CRASH_MARKER") != "" {
		t.Skip("inside a helper process")
	}
	for _, tool := range []string{"useradd", "userdel", "setpriv"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("cannot create a throwaway user: %s is not installed", tool)
		}
	}
	name := fmt.Sprintf("mt%d", time.Now().UnixNano()%1e9)
	if out, err := exec.Command("useradd", "--no-create-home", "--user-group", "--shell", "/usr/sbin/nologin", name).CombinedOutput(); err != nil {
		t.Skipf("cannot create a throwaway user: useradd: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("userdel", name).CombinedOutput(); err != nil {
			t.Errorf("userdel %s: %v: %s", name, err, out)
		}
	})
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	// A directory the user owns, holding a copy of this test binary.
	dir, err := os.MkdirTemp("", "machine-rootless-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "machine.test")
	if out, err := exec.Command("cp", exe, bin).CombinedOutput(); err != nil {
		t.Fatalf("copying the test binary: %v: %s", err, out)
	}
	home := filepath.Join(dir, "home")
	if err := os.Mkdir(home, 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("chown", "-R", u.Uid+":"+u.Gid, home).CombinedOutput(); err != nil {
		t.Fatalf("chown: %v: %s", err, out)
	}
	cmd := exec.Command("setpriv", "--reuid="+u.Uid, "--regid="+u.Gid, "--clear-groups", "--",
		bin, "-test.run="+instanceTests, "-test.count=1", "-test.v")
	cmd.Env = []string{"HOME=" + home, "TMPDIR=" + home, "PATH=/usr/local/bin:/usr/bin:/bin"}
	cmd.Dir = home
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	go func() { <-ctx.Done(); _ = cmd.Process.Kill() }()
	out, err := cmd.CombinedOutput()
	t.Logf("as %s (uid %s):\n%s", name, u.Uid, filterLog(out))
	if m := regexp.MustCompile(`(?m)^\s*machine_linux_test.go:\d+: (instances need .*)$`).FindSubmatch(out); m != nil && strings.Contains(string(out), "--- SKIP") {
		t.Skipf("as an ordinary user: %s", m[1])
	}
	if err != nil {
		t.Fatalf("instance tests as uid %s failed: %v", u.Uid, err)
	}
	if !regexp.MustCompile(`(?m)^--- PASS: TestExec`).Match(out) || strings.Contains(string(out), "--- SKIP") {
		t.Fatalf("instance tests did not all run as uid %s", u.Uid)
	}
}

// filterLog keeps the test verdict lines of a verbose test run.
func filterLog(out []byte) string {
	var b strings.Builder
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(l, "---") || strings.HasPrefix(l, "    ---") || strings.HasPrefix(l, "ok") ||
			strings.HasPrefix(l, "FAIL") || strings.HasPrefix(l, "PASS") || strings.Contains(l, "_test.go:") {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}
