package machine

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	sdkssh "github.com/hashicorp/packer-plugin-sdk/sdk-internals/communicator/ssh"
	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
)

// needNamespaces skips a test where this host cannot run instances, with the
// reason Supported gives.
func needNamespaces(t *testing.T) {
	t.Helper()
	if err := Supported(); err != nil {
		t.Skip(err)
	}
}

type testMachine struct {
	*Machine
	root   string
	signer ssh.Signer
}

func newKey(t *testing.T) ssh.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func startMachine(t *testing.T, root string) *testMachine {
	t.Helper()
	needNamespaces(t)
	if root == "" {
		root = t.TempDir()
	}
	signer := newKey(t)
	m, err := Start(context.Background(), Options{Root: root, AuthorizedKey: ssh.MarshalAuthorizedKey(signer.PublicKey()), Log: testLog{t}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := m.Stop(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return &testMachine{Machine: m, root: root, signer: signer}
}

type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func (m *testMachine) clientConfig() *ssh.ClientConfig {
	return &ssh.ClientConfig{
		User:            "root",
		Auth:            []ssh.AuthMethod{ssh.PublicKeys(m.signer)},
		HostKeyCallback: ssh.FixedHostKey(m.HostKey()),
	}
}

func (m *testMachine) dial(t *testing.T) *ssh.Client {
	t.Helper()
	c, err := ssh.Dial("tcp", m.Addr(), m.clientConfig())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// run runs command in a new session and returns stdout, stderr and the
// exit status (-1 when it ended by a signal).
func run(t *testing.T, c *ssh.Client, command, stdin string, env map[string]string) (string, string, int) {
	t.Helper()
	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	for k, v := range env {
		if err := s.Setenv(k, v); err != nil {
			t.Fatalf("setenv %s: %v", k, err)
		}
	}
	var stdout, stderr bytes.Buffer
	s.Stdout, s.Stderr = &stdout, &stderr
	s.Stdin = strings.NewReader(stdin)
	err = s.Run(command)
	var ee *ssh.ExitError
	switch {
	case err == nil:
		return stdout.String(), stderr.String(), 0
	case errors.As(err, &ee):
		if ee.Signal() != "" {
			return stdout.String(), stderr.String(), -1
		}
		return stdout.String(), stderr.String(), ee.ExitStatus()
	default:
		t.Fatalf("%s: %v", command, err)
		return "", "", 0
	}
}

func TestExec(t *testing.T) {
	m := startMachine(t, "")
	c := m.dial(t)
	for _, tc := range []struct {
		name, command, stdin string
		env                  map[string]string
		stdout, stderr       string
		code                 int
	}{
		{name: "exit status", command: "exit 3", code: 3},
		{name: "stdout and stderr", command: "echo out; echo err >&2", stdout: "out\n", stderr: "err\n"},
		{name: "stdin", command: "tr a-z A-Z", stdin: "hello\n", stdout: "HELLO\n"},
		{name: "env", command: `echo "$GREETING $HOME $(id -u)"`, env: map[string]string{"GREETING": "hi there"}, stdout: "hi there /root 0\n"},
		{name: "cwd is home", command: "pwd", stdout: "/root\n"},
		{name: "hostname", command: "uname -n", stdout: "instance\n"},
		{name: "not found", command: "no-such-command-here", code: 127},
		{name: "killed by a signal", command: "kill -KILL $$", code: -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, code := run(t, c, tc.command, tc.stdin, tc.env)
			if code != tc.code {
				t.Errorf("exit status %d, want %d (stderr %q)", code, tc.code, stderr)
			}
			if stdout != tc.stdout {
				t.Errorf("stdout %q, want %q", stdout, tc.stdout)
			}
			if tc.stderr != "" && stderr != tc.stderr {
				t.Errorf("stderr %q, want %q", stderr, tc.stderr)
			}
		})
	}
}

func TestAbsolutePathsMeanTheInstance(t *testing.T) {
	m := startMachine(t, "")
	c := m.dial(t)
	name := "machine-test-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	script := fmt.Sprintf("echo tmp > /tmp/%[1]s && mkdir -p /opt/app /etc/app && echo opt > /opt/app/%[1]s && echo etc > /etc/app/conf", name)
	if _, stderr, code := run(t, c, script, "", nil); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for rel, want := range map[string]string{"tmp/" + name: "tmp\n", "opt/app/" + name: "opt\n", "etc/app/conf": "etc\n"} {
		b, err := os.ReadFile(filepath.Join(m.root, rel))
		if err != nil || string(b) != want {
			t.Errorf("%s under the root: %q, %v; want %q", rel, b, err, want)
		}
	}
	if _, err := os.Stat("/tmp/" + name); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the host's /tmp/%s exists (%v): the instance wrote to the host", name, err)
	}
	// Only the instance's processes are visible.
	if out, _, _ := run(t, c, "ls /proc | grep -c '^[0-9]'", "", nil); strings.TrimSpace(out) == "" {
		t.Errorf("no /proc in the instance")
	} else if n, _ := strconv.Atoi(strings.TrimSpace(out)); n > 5 {
		t.Errorf("the instance sees %d processes; want only its own", n)
	}
	// The host's home and work directories are not visible at all.
	if out, _, code := run(t, c, "ls /work /farm 2>&1", "", nil); code == 0 {
		t.Errorf("host paths visible in the instance: %s", out)
	}
}

func TestSystemDirectoriesAreReadOnly(t *testing.T) {
	m := startMachine(t, "")
	c := m.dial(t)
	for _, p := range []string{"/usr/machine-test", "/bin/machine-test", "/usr/lib/machine-test"} {
		_, stderr, code := run(t, c, "touch "+p, "", nil)
		if code == 0 {
			_ = os.Remove(p)
			t.Errorf("touch %s succeeded: the host's system directory is writable from the instance", p)
		} else if !strings.Contains(stderr, "Read-only file system") {
			t.Errorf("touch %s: %q, want a read-only file system error", p, stderr)
		}
	}
	if out, stderr, code := run(t, c, "/bin/sh -c 'echo works' && ls /usr/bin/env >/dev/null && head -c 4 /dev/urandom | wc -c", "", nil); code != 0 || out != "works\n4\n" {
		t.Errorf("system binaries and /dev: %q %q %d", out, stderr, code)
	}
}

func TestSFTP(t *testing.T) {
	m := startMachine(t, "")
	c := m.dial(t)
	client, err := sftp.NewClient(c)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = client.Close() }()
	if err := client.MkdirAll("/opt/up"); err != nil {
		t.Fatal(err)
	}
	f, err := client.Create("/opt/up/file.txt")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("uploaded\n")); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(m.root, "opt/up/file.txt")); err != nil || string(b) != "uploaded\n" {
		t.Errorf("uploaded file under the root: %q, %v", b, err)
	}
	g, err := client.Open("/etc/passwd")
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(g)
	_ = g.Close()
	if err != nil || !strings.HasPrefix(string(b), "root:x:0:0:") {
		t.Errorf("downloaded /etc/passwd: %q, %v", b, err)
	}
	if _, err := client.Create("/usr/sftp-test"); err == nil {
		t.Errorf("sftp wrote into the host's /usr")
	}
}

// TestSDKCommunicator drives the instance with the SDK's own SSH
// communicator, the one a build's StepConnect makes, over SCP and SFTP.
func TestSDKCommunicator(t *testing.T) {
	m := startMachine(t, "")
	for _, useSFTP := range []bool{false, true} {
		t.Run(map[bool]string{false: "scp", true: "sftp"}[useSFTP], func(t *testing.T) {
			comm, err := sdkssh.New(m.Addr(), &sdkssh.Config{
				SSHConfig:  m.clientConfig(),
				Connection: func() (net.Conn, error) { return net.Dial("tcp", m.Addr()) },
				UseSftp:    useSFTP,
			})
			if err != nil {
				t.Fatal(err)
			}
			dir := "/opt/" + map[bool]string{false: "scp", true: "sftp"}[useSFTP]
			if err := comm.Upload(dir+"-file.txt", strings.NewReader("one file\n"), nil); err != nil {
				t.Fatalf("upload: %v", err)
			}
			src := t.TempDir()
			if err := os.MkdirAll(filepath.Join(src, "sub"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(src, "sub", "nested.txt"), []byte("nested\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			// Like OpenSSH's scp on a VM, the SDK's SCP sink needs the
			// target directory to exist (its SFTP path makes it).
			if code, err := runSDK(comm, "mkdir -p "+dir, nil); err != nil || code != 0 {
				t.Fatalf("mkdir: %d, %v", code, err)
			}
			if err := comm.UploadDir(dir+"/", src+"/", nil); err != nil {
				t.Fatalf("upload dir: %v", err)
			}
			for rel, want := range map[string]string{dir + "-file.txt": "one file\n", dir + "/sub/nested.txt": "nested\n"} {
				if b, err := os.ReadFile(filepath.Join(m.root, rel)); err != nil || string(b) != want {
					t.Errorf("%s under the root: %q, %v", rel, b, err)
				}
			}
			var got bytes.Buffer
			if err := comm.Download(dir+"-file.txt", &got); err != nil || got.String() != "one file\n" {
				t.Errorf("download: %q, %v", got.String(), err)
			}
			var out bytes.Buffer
			code, err := runSDK(comm, "cat "+dir+"/sub/nested.txt; exit 7", &out)
			if err != nil || code != 7 || out.String() != "nested\n" {
				t.Errorf("remote command: exit %d, stdout %q, %v", code, out.String(), err)
			}
		})
	}
}

func runSDK(comm packersdk.Communicator, command string, stdout io.Writer) (int, error) {
	cmd := &packersdk.RemoteCmd{Command: command, Stdout: stdout}
	if err := comm.Start(context.Background(), cmd); err != nil {
		return 0, err
	}
	return cmd.Wait(), nil
}

// findProcesses lists the host pids whose command line contains marker.
func findProcesses(t *testing.T, marker string) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		if strings.Contains(string(b), marker) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// uniqueSleep is a sleep duration no other process on this host uses, so
// /proc can tell which sleeps are this test's.
func uniqueSleep() string {
	return fmt.Sprintf("30.%09d", time.Now().UnixNano()%1e9)
}

// startSleeps starts, in the instance, a command that leaves a background
// sleep, a sleep in its own session (setsid) and a foreground sleep, and
// returns once they run.
func startSleeps(t *testing.T, c *ssh.Client, marker string) *ssh.Session {
	t.Helper()
	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	out, err := s.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	// "started" only once the setsid one has left the process group.
	cmd := fmt.Sprintf("sleep %[1]s & setsid sh -c 'touch /tmp/detached; exec sleep %[1]s' </dev/null >/dev/null 2>&1 & "+
		"while [ ! -e /tmp/detached ]; do sleep 0.01; done; echo started; exec sleep %[1]s", marker)
	if err := s.Start(cmd); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || line != "started\n" {
		t.Fatalf("starting sleeps: %q, %v", line, err)
	}
	return s
}

// waitProcesses polls until n processes carry marker: "started" comes
// from the shell before its last exec, and a background job may still be a
// forked shell. The bound is generous, as waitGone's.
func waitProcesses(t *testing.T, marker string, n int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		found := len(findProcesses(t, marker))
		if found >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("found %d processes running sleep %s, want %d", found, marker, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitGone polls until no process carries marker; the bound is generous:
// the test asserts that they end, not how fast.
func waitGone(t *testing.T, marker string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		pids := findProcesses(t, marker)
		if len(pids) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("processes %v (sleep %s) still run", pids, marker)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestStopKillsEveryProcess(t *testing.T) {
	m := startMachine(t, "")
	c := m.dial(t)
	marker := uniqueSleep()
	startSleeps(t, c, marker)
	waitProcesses(t, marker, 3)
	initPid := m.init.Process.Pid
	if err := m.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Stop returns once the kernel has reaped every process of the instance.
	if pids := findProcesses(t, marker); len(pids) != 0 {
		t.Errorf("processes %v still run after Stop", pids)
	}
	if _, err := os.Stat(fmt.Sprintf("/proc/%d", initPid)); err == nil {
		t.Errorf("the instance's init (pid %d) still exists after Stop", initPid)
	}
	if err := m.Stop(context.Background()); err != nil {
		t.Errorf("second Stop: %v", err)
	}
	if _, err := ssh.Dial("tcp", m.Addr(), m.clientConfig()); err == nil {
		t.Errorf("the SSH server still accepts connections after Stop")
	}
}

// TestClosingTheSessionKillsItsCommand: a client that hangs up (a timed-out
// provisioner, a cancelled build) ends the command and its process group;
// what it started in another session lives until the instance stops.
func TestClosingTheSessionKillsItsCommand(t *testing.T) {
	m := startMachine(t, "")
	c := m.dial(t)
	marker := uniqueSleep()
	s := startSleeps(t, c, marker)
	_ = s.Close()
	deadline := time.Now().Add(20 * time.Second)
	for len(findProcesses(t, marker)) != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("after the session closed, sleeps %v run; want only the setsid one", findProcesses(t, marker))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := m.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if pids := findProcesses(t, marker); len(pids) != 0 {
		t.Errorf("processes %v still run after Stop", pids)
	}
}

func TestRestartKeepsTheRoot(t *testing.T) {
	root := t.TempDir()
	m := startMachine(t, root)
	c := m.dial(t)
	if _, stderr, code := run(t, c, "echo kept > /root/state", "", nil); code != 0 {
		t.Fatal(stderr)
	}
	if err := m.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	// What a snapshot sees once the instance is stopped: the instance's
	// own files, and at HostPaths only empty mount points or symlinks.
	for _, p := range HostPaths {
		fi, err := os.Lstat(filepath.Join(root, p))
		if err != nil {
			continue
		}
		if fi.IsDir() {
			if entries, _ := os.ReadDir(filepath.Join(root, p)); len(entries) != 0 {
				t.Errorf("%s is not empty after Stop: %d entries", p, len(entries))
			}
		}
	}
	m2 := startMachine(t, root)
	out, _, _ := run(t, m2.dial(t), "cat /root/state", "", nil)
	if out != "kept\n" {
		t.Errorf("after a restart /root/state is %q", out)
	}
}

func TestStartErrors(t *testing.T) {
	needNamespaces(t)
	key := ssh.MarshalAuthorizedKey(newKey(t).PublicKey())
	for _, tc := range []struct {
		name string
		opts Options
		want string
	}{
		{"no key", Options{Root: t.TempDir()}, "AuthorizedKey is empty"},
		{"bad key", Options{Root: t.TempDir(), AuthorizedKey: []byte("ssh-ed25519 nonsense")}, "AuthorizedKey"},
		{"missing root", Options{Root: filepath.Join(t.TempDir(), "nope"), AuthorizedKey: key}, "is not a directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Start(context.Background(), tc.opts)
			if err == nil {
				_ = m.Stop(context.Background())
				t.Fatalf("Start succeeded, want an error with %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q, want %q", err, tc.want)
			}
		})
	}
}

func TestWrongKeyIsRefused(t *testing.T) {
	m := startMachine(t, "")
	cfg := m.clientConfig()
	cfg.Auth = []ssh.AuthMethod{ssh.PublicKeys(newKey(t))}
	if c, err := ssh.Dial("tcp", m.Addr(), cfg); err == nil {
		_ = c.Close()
		t.Fatal("a key other than the authorized one was accepted")
	}
}

func TestIsHostPath(t *testing.T) {
	for p, want := range map[string]bool{
		"usr": true, "/usr/bin/sh": true, "bin": true, "proc/1": true, "dev": true,
		"usrlocal": false, "etc/passwd": false, "/opt/usr": false, "tmp": false, "": false,
	} {
		if got := IsHostPath(p); got != want {
			t.Errorf("IsHostPath(%q) = %v, want %v", p, got, want)
		}
	}
}

func TestDiagnoseNamesTheSetting(t *testing.T) {
	sysctls := func(values map[string]string) func(string) string {
		return func(p string) string { return values[p] }
	}
	for _, tc := range []struct {
		name   string
		values map[string]string
		uid    int
		want   string
	}{
		{"ubuntu apparmor", map[string]string{"/proc/sys/kernel/apparmor_restrict_unprivileged_userns": "1", "/proc/sys/user/max_user_namespaces": "63000"}, 1000,
			"sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0"},
		{"debian clone off", map[string]string{"/proc/sys/kernel/unprivileged_userns_clone": "0"}, 1000, "kernel.unprivileged_userns_clone=1"},
		{"no namespaces at all", map[string]string{"/proc/sys/user/max_user_namespaces": "0"}, 0, "user.max_user_namespaces"},
		{"root is not restricted by apparmor", map[string]string{"/proc/sys/kernel/apparmor_restrict_unprivileged_userns": "1"}, 0, "seccomp"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := diagnoseWith(sysctls(tc.values), tc.uid); !strings.Contains(got, tc.want) {
				t.Errorf("diagnosis %q does not name %q", got, tc.want)
			}
		})
	}
}

// BenchmarkStartStop measures booting an instance (namespaces, mounts, SSH
// listener) and stopping it.
func BenchmarkStartStop(b *testing.B) {
	if err := Supported(); err != nil {
		b.Skip(err)
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		b.Fatal(err)
	}
	key := ssh.MarshalAuthorizedKey(signer.PublicKey())
	root := b.TempDir()
	for b.Loop() {
		m, err := Start(context.Background(), Options{Root: root, AuthorizedKey: key})
		if err != nil {
			b.Fatal(err)
		}
		if err := m.Stop(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}

// TestExec_commandsThatEndAtOnce runs many commands that end as soon as they
// start, from several sessions at once. The init once reported such a
// command's exit before its start, and the plugin, which forgets a call
// when it exits, then waited for the start forever (seen under load as a
// hung TestExec).
func TestExec_commandsThatEndAtOnce(t *testing.T) {
	m := startMachine(t, "")
	c := m.dial(t)
	const sessions, each = 4, 100
	errs := make(chan error, sessions)
	for range sessions {
		go func() {
			for i := range each {
				s, err := c.NewSession()
				if err != nil {
					errs <- err
					return
				}
				err = s.Run("exit 0")
				_ = s.Close()
				if err != nil {
					errs <- fmt.Errorf("command %d: %w", i, err)
					return
				}
			}
			errs <- nil
		}()
	}
	// A liveness guard, not a speed check: each command takes milliseconds,
	// a lost start message would make one wait forever.
	deadline := time.After(2 * time.Minute)
	for range sessions {
		select {
		case err := <-errs:
			if err != nil {
				t.Fatal(err)
			}
		case <-deadline:
			t.Fatal("a command's session never returned: its start was lost")
		}
	}
}
