package setup

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/hashicorp/hcl/v2/hclparse"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
)

// fakeComm is a Communicator that records uploads and commands. Commands
// are answered by script, or, when shell is set, really run by sh so that
// quoting is tested against a real shell.
type fakeComm struct {
	mu sync.Mutex

	// script answers each command: its output, exit status, and an error
	// from Start. attempt counts from 1 per distinct command line.
	script func(command string, attempt int) (stdout, stderr string, status int, err error)
	// shell runs commands with sh -c instead of script.
	shell bool
	// block makes every command run until its context ends.
	block bool
	// failUploads fails this many Upload calls before letting them through.
	failUploads int

	commands    []string
	attempts    map[string]int
	uploads     map[string]upload
	uploadDirs  [][2]string
	uploadTries int
	events      []string
}

type upload struct {
	data []byte
	mode os.FileMode
}

var _ packersdk.Communicator = (*fakeComm)(nil)

func (c *fakeComm) Start(ctx context.Context, rc *packersdk.RemoteCmd) error {
	c.mu.Lock()
	if c.attempts == nil {
		c.attempts = map[string]int{}
	}
	if strings.HasPrefix(rc.Command, "mkdir -p ") {
		// makeDir, before an upload.
		c.events = append(c.events, "mkdir")
		c.mu.Unlock()
		if c.shell {
			if err := exec.CommandContext(ctx, "sh", "-c", rc.Command).Run(); err != nil {
				rc.SetExited(1)
				return nil
			}
		}
		rc.SetExited(0)
		return nil
	}
	inner, limit := unwrapTimeout(rc.Command)
	c.attempts[inner]++
	attempt := c.attempts[inner]
	c.commands = append(c.commands, inner)
	c.events = append(c.events, "run")
	c.mu.Unlock()

	switch {
	case c.block:
		// Like a machine running the provisioner's `timeout` wrapper: the
		// command is killed when its limit is up, or the client gives up.
		go func() {
			select {
			case <-ctx.Done():
				rc.SetExited(143)
			case <-time.After(limit):
				rc.SetExited(timeoutStatus)
			}
		}()
		return nil
	case c.shell:
		cmd := exec.CommandContext(ctx, "sh", "-c", rc.Command)
		cmd.Stdout, cmd.Stderr = rc.Stdout, rc.Stderr
		if err := cmd.Start(); err != nil {
			return err
		}
		go func() {
			_ = cmd.Wait()
			rc.SetExited(cmd.ProcessState.ExitCode())
		}()
		return nil
	}

	stdout, stderr, status := "", "", 0
	if c.script != nil {
		var err error
		stdout, stderr, status, err = c.script(inner, attempt)
		if err != nil {
			return err
		}
	}
	go func() {
		_, _ = io.WriteString(rc.Stdout, stdout)
		_, _ = io.WriteString(rc.Stderr, stderr)
		rc.SetExited(status)
	}()
	return nil
}

// unwrapTimeout undoes inMachineTimeout: the command as the template gave
// it, and the limit the machine enforces.
func unwrapTimeout(line string) (string, time.Duration) {
	const prefix = "if command -v timeout >/dev/null 2>&1; then timeout -s KILL "
	rest, ok := strings.CutPrefix(line, prefix)
	if !ok {
		return line, time.Duration(1<<63 - 1)
	}
	secs, quoted, ok := strings.Cut(rest, " /bin/sh -c ")
	if !ok {
		return line, time.Duration(1<<63 - 1)
	}
	quoted, _, ok = strings.Cut(quoted, "; else exec /bin/sh -c ")
	if !ok {
		return line, time.Duration(1<<63 - 1)
	}
	f, err := strconv.ParseFloat(secs, 64)
	if err != nil || len(quoted) < 2 {
		return line, time.Duration(1<<63 - 1)
	}
	inner := strings.ReplaceAll(quoted[1:len(quoted)-1], `'\''`, "'")
	return inner, time.Duration(f * float64(time.Second))
}

func (c *fakeComm) Upload(dst string, r io.Reader, fi *os.FileInfo) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.uploadTries++
	if c.failUploads > 0 {
		c.failUploads--
		// Consume part of the reader, as a transfer cut short would.
		_, _ = io.ReadFull(r, make([]byte, 1))
		return errors.New("connection reset")
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if c.uploads == nil {
		c.uploads = map[string]upload{}
	}
	var mode os.FileMode
	if fi != nil && *fi != nil {
		mode = (*fi).Mode()
	}
	c.uploads[dst] = upload{data: data, mode: mode}
	c.events = append(c.events, "upload")
	return nil
}

func (c *fakeComm) UploadDir(dst, src string, exclude []string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.uploadDirs = append(c.uploadDirs, [2]string{dst, src})
	c.events = append(c.events, "upload")
	return nil
}

func (c *fakeComm) Download(string, io.Writer) error { return errors.New("not supported") }

func (c *fakeComm) DownloadDir(string, string, []string) error { return errors.New("not supported") }

type testUI struct {
	packersdk.BasicUi
	out, err *bytes.Buffer
}

func newUI() *testUI {
	out, errOut := new(bytes.Buffer), new(bytes.Buffer)
	return &testUI{BasicUi: packersdk.BasicUi{Writer: out, ErrorWriter: errOut}, out: out, err: errOut}
}

// prepared returns a Provisioner prepared from raw, failing the test on a
// configuration error.
// waits records the pauses between tries of the last Provisioner made by
// prepared, which never sleeps.
var waits []time.Duration

func prepared(t *testing.T, raw map[string]interface{}) *Provisioner {
	t.Helper()
	waits = nil
	p := &Provisioner{wait: func(ctx context.Context, d time.Duration) bool {
		waits = append(waits, d)
		return ctx.Err() == nil
	}}
	if err := p.Prepare(raw); err != nil {
		t.Fatalf("Prepare: %v", err)
	}
	return p
}

func writeFile(t *testing.T, dir, name, data string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(data), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPrepareDefaults(t *testing.T) {
	p := prepared(t, map[string]interface{}{"inline": []string{"true"}})
	if p.settings.commandTimeout != DefaultCommandTimeout {
		t.Errorf("command_timeout = %v, want %v", p.settings.commandTimeout, DefaultCommandTimeout)
	}
	if p.config.Retries != 0 {
		t.Errorf("retries = %d, want 0", p.config.Retries)
	}
}

func TestPrepareRejectsEachBadField(t *testing.T) {
	dir := t.TempDir()
	src := writeFile(t, dir, "a.txt", "a", 0o644)
	ok := map[string]interface{}{"source": src, "destination": "/a"}

	cases := []struct {
		name string
		raw  map[string]interface{}
		want string
	}{
		{"missing destination", map[string]interface{}{"file": []map[string]interface{}{ok, {"source": src}}}, "file[1].destination: required"},
		{"source and content", map[string]interface{}{"file": []map[string]interface{}{{"source": src, "content": "x", "destination": "/a"}}}, "file[0]: source and content"},
		{"neither source nor content", map[string]interface{}{"file": []map[string]interface{}{{"destination": "/a"}}}, "file[0]: set one of source or content"},
		{"missing source", map[string]interface{}{"file": []map[string]interface{}{{"source": filepath.Join(dir, "nope"), "destination": "/a"}}}, "file[0].source:"},
		{"content into a directory", map[string]interface{}{"file": []map[string]interface{}{{"content": "x", "destination": "/etc/"}}}, "file[0].destination:"},
		{"bad mode", map[string]interface{}{"file": []map[string]interface{}{{"source": src, "destination": "/a", "mode": "0999"}}}, "file[0].mode:"},
		{"mode on a directory", map[string]interface{}{"file": []map[string]interface{}{{"source": dir, "destination": "/a", "mode": "0755"}}}, "file[0].mode:"},
		{"empty command", map[string]interface{}{"inline": []string{"true", "  "}}, "inline[1]:"},
		{"bad env key", map[string]interface{}{"inline": []string{"true"}, "env": map[string]string{"1BAD": "x"}}, `env: key "1BAD"`},
		{"env key with dash", map[string]interface{}{"inline": []string{"true"}, "env": map[string]string{"A-B": "x"}}, `env: key "A-B"`},
		{"negative retries", map[string]interface{}{"inline": []string{"true"}, "retries": -1}, "retries:"},
		{"bad command_timeout", map[string]interface{}{"inline": []string{"true"}, "command_timeout": "forever"}, "command_timeout:"},
		{"zero command_timeout", map[string]interface{}{"inline": []string{"true"}, "command_timeout": "0s"}, "command_timeout:"},
		{"bad retry_delay", map[string]interface{}{"inline": []string{"true"}, "retry_delay": "a while"}, "retry_delay:"},
		{"negative retry_delay", map[string]interface{}{"inline": []string{"true"}, "retry_delay": "-1s"}, "retry_delay:"},
		{"nothing to do", map[string]interface{}{}, "nothing to do"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := (&Provisioner{}).Prepare(tc.raw)
			if err == nil {
				t.Fatalf("Prepare accepted %v", tc.raw)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
		})
	}
}

func TestPrepareLeavesBuildDataForProvision(t *testing.T) {
	p := prepared(t, map[string]interface{}{
		"file":   []map[string]interface{}{{"content": "name={{ build `ImageName` }}", "destination": "/etc/{{ build `ImageName` }}"}},
		"inline": []string{"echo {{ build `ImageName` }}"},
	})
	if got := p.config.Files[0].Content; got != "name={{ build `ImageName` }}" {
		t.Errorf("content was rendered at Prepare: %q", got)
	}
}

// TestPrepareFromHCL decodes real HCL through the generated spec, the way
// Packer hands it over, repeated file blocks included.
func TestPrepareFromHCL(t *testing.T) {
	src := writeFile(t, t.TempDir(), "motd", "hi", 0o600)
	hcl := fmt.Sprintf(`
file {
  source      = %q
  destination = "/etc/motd"
}
file {
  content     = "x"
  destination = "/etc/x"
  mode        = "0600"
}
inline          = ["true"]
env             = { A = "1" }
retries         = 2
command_timeout = "1m"
`, src)
	f, diags := hclparse.NewParser().ParseHCL([]byte(hcl), "test.pkr.hcl")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	p := &Provisioner{}
	val, diags := hcldec.Decode(f.Body, p.ConfigSpec(), nil)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if err := p.Prepare(val); err != nil {
		t.Fatalf("Prepare: %v", err)
	}
	if len(p.config.Files) != 2 || p.config.Files[1].Destination != "/etc/x" {
		t.Errorf("files = %+v, want two blocks", p.config.Files)
	}
	if p.config.Retries != 2 || p.settings.commandTimeout.String() != "1m0s" || p.settings.modes[1] != 0o600 || p.config.Env["A"] != "1" {
		t.Errorf("config = %+v, settings = %+v", p.config, p.settings)
	}
}

func TestProvisionUploadsThenRuns(t *testing.T) {
	dir := t.TempDir()
	script := writeFile(t, dir, "setup.sh", "#!/bin/sh\n", 0o750)
	sub := filepath.Join(dir, "conf")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}

	p := prepared(t, map[string]interface{}{
		"file": []map[string]interface{}{
			{"content": "image={{ build `ImageName` }}\n", "destination": "/etc/image"},
			{"source": script, "destination": "/opt/"},
			{"source": script, "destination": "/opt/locked.sh", "mode": "0700"},
			{"source": sub + "/", "destination": "/etc/conf"},
		},
		"inline": []string{"echo {{ build `ImageName` }}"},
	})
	comm := &fakeComm{}
	ui := newUI()
	err := p.Provision(context.Background(), ui, comm, map[string]interface{}{"ImageName": "web-42"})
	if err != nil {
		t.Fatalf("Provision: %v", err)
	}

	if got := comm.uploads["/etc/image"]; string(got.data) != "image=web-42\n" || got.mode != 0o644 {
		t.Errorf("/etc/image = %q mode %v, want rendered content mode 0644", got.data, got.mode)
	}
	if got := comm.uploads["/opt/setup.sh"]; string(got.data) != "#!/bin/sh\n" || got.mode.Perm() != 0o750 {
		t.Errorf("/opt/setup.sh = %q mode %v, want the file with its own mode 0750", got.data, got.mode)
	}
	if got := comm.uploads["/opt/locked.sh"]; got.mode != 0o700 {
		t.Errorf("/opt/locked.sh mode %v, want the configured 0700", got.mode)
	}
	if len(comm.uploadDirs) != 1 || comm.uploadDirs[0] != [2]string{"/etc/conf", sub + "/"} {
		t.Errorf("UploadDir calls = %v, want one of %s to /etc/conf", comm.uploadDirs, sub+"/")
	}
	if len(comm.commands) != 1 || comm.commands[0] != "echo web-42" {
		t.Errorf("commands = %q, want the rendered echo", comm.commands)
	}
	if want := []string{"mkdir", "upload", "mkdir", "upload", "mkdir", "upload", "mkdir", "upload", "run"}; strings.Join(comm.events, ",") != strings.Join(want, ",") {
		t.Errorf("order = %v, want %v", comm.events, want)
	}
}

func TestProvisionStreamsOutputToUI(t *testing.T) {
	p := prepared(t, map[string]interface{}{"inline": []string{"build"}})
	comm := &fakeComm{script: func(string, int) (string, string, int, error) {
		return "compiling\ndone\n", "warning: old\n", 0, nil
	}}
	ui := newUI()
	if err := p.Provision(context.Background(), ui, comm, nil); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"compiling", "done"} {
		if !strings.Contains(ui.out.String(), want) {
			t.Errorf("ui output %q lacks %q", ui.out, want)
		}
	}
	if !strings.Contains(ui.err.String(), "warning: old") {
		t.Errorf("ui errors %q lack the command's stderr", ui.err)
	}
}

// TestProvisionEnvQuoting runs the command line through a real sh, so a
// value that breaks the quoting fails here.
func TestProvisionEnvQuoting(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	out := t.TempDir()
	tricky := "it's \"quoted\" $HOME `id` \\ ; && |\nsecond line"
	p := prepared(t, map[string]interface{}{
		"env": map[string]string{"TRICKY": tricky, "IMAGE": "{{ build `ImageName` }}"},
		"inline": []string{
			fmt.Sprintf(`printf '%%s' "$TRICKY" > %s/1 && printf '%%s' "$IMAGE" > %s/2`, out, out),
		},
	})
	comm := &fakeComm{shell: true}
	if err := p.Provision(context.Background(), newUI(), comm, map[string]interface{}{"ImageName": "web-7"}); err != nil {
		t.Fatalf("Provision: %v", err)
	}
	for file, want := range map[string]string{"1": tricky, "2": "web-7"} {
		got, err := os.ReadFile(filepath.Join(out, file))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != want {
			t.Errorf("the command saw %q, want %q", got, want)
		}
	}
}

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{
		"":      "''",
		"plain": "'plain'",
		"it's":  `'it'\''s'`,
		"''":    `''\'''\'''`,
	} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestProvisionNonZeroExit(t *testing.T) {
	p := prepared(t, map[string]interface{}{
		"inline": []string{"true", "make install"},
		"env":    map[string]string{"PASSWORD": "hunter2"},
	})
	comm := &fakeComm{script: func(cmd string, _ int) (string, string, int, error) {
		if strings.HasSuffix(cmd, "make install") {
			return "", "", 3, nil
		}
		return "", "", 0, nil
	}}
	err := p.Provision(context.Background(), newUI(), comm, nil)
	if err == nil {
		t.Fatal("Provision succeeded though a command exited 3")
	}
	var exit *ExitError
	if !errors.As(err, &exit) || exit.Status != 3 || exit.Command != "make install" {
		t.Errorf("error = %v, want an ExitError for \"make install\" with status 3", err)
	}
	for _, want := range []string{"inline[1]", "make install", "status 3"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Errorf("error leaks an env value: %q", err)
	}
}

func TestProvisionRetriesCommands(t *testing.T) {
	flaky := func(cmd string, attempt int) (string, string, int, error) {
		switch attempt {
		case 1:
			return "", "", 1, nil
		case 2:
			return "", "", 0, errors.New("start failed")
		}
		return "", "", 0, nil
	}

	t.Run("succeeds within retries", func(t *testing.T) {
		p := prepared(t, map[string]interface{}{"inline": []string{"apt-get update"}, "retries": 2})
		comm := &fakeComm{script: flaky}
		if err := p.Provision(context.Background(), newUI(), comm, nil); err != nil {
			t.Fatalf("Provision: %v", err)
		}
		if n := comm.attempts["apt-get update"]; n != 3 {
			t.Errorf("tries = %d, want 3", n)
		}
	})

	t.Run("fails when retries run out", func(t *testing.T) {
		p := prepared(t, map[string]interface{}{"inline": []string{"apt-get update"}, "retries": 1})
		comm := &fakeComm{script: flaky}
		err := p.Provision(context.Background(), newUI(), comm, nil)
		if err == nil {
			t.Fatal("Provision succeeded after 2 of 3 needed tries")
		}
		if n := comm.attempts["apt-get update"]; n != 2 {
			t.Errorf("tries = %d, want 2", n)
		}
		if !strings.Contains(err.Error(), "after 2 tries") || !strings.Contains(err.Error(), "start failed") {
			t.Errorf("error %q should give the last failure and the number of tries", err)
		}
	})

	t.Run("waits between tries only", func(t *testing.T) {
		always := func(string, int) (string, string, int, error) { return "", "", 1, nil }
		p := prepared(t, map[string]interface{}{"inline": []string{"apt-get update"}, "retries": 2, "retry_delay": "150ms"})
		if err := p.Provision(context.Background(), newUI(), &fakeComm{script: always}, nil); err == nil {
			t.Fatal("Provision succeeded though every try failed")
		}
		// Three tries, two pauses: none after the last try.
		if want := []time.Duration{150 * time.Millisecond, 150 * time.Millisecond}; !slices.Equal(waits, want) {
			t.Errorf("pauses = %v, want %v", waits, want)
		}
	})

	t.Run("default delay", func(t *testing.T) {
		p := prepared(t, map[string]interface{}{"inline": []string{"apt-get update"}, "retries": 1})
		if err := p.Provision(context.Background(), newUI(), &fakeComm{script: flaky}, nil); err == nil {
			t.Fatal("Provision succeeded after 2 of 3 needed tries")
		}
		if want := []time.Duration{DefaultRetryDelay}; !slices.Equal(waits, want) {
			t.Errorf("pauses = %v, want %v", waits, want)
		}
	})

	t.Run("no retry by default", func(t *testing.T) {
		p := prepared(t, map[string]interface{}{"inline": []string{"apt-get update"}})
		comm := &fakeComm{script: flaky}
		if err := p.Provision(context.Background(), newUI(), comm, nil); err == nil {
			t.Fatal("Provision succeeded though the only try failed")
		}
		if n := comm.attempts["apt-get update"]; n != 1 {
			t.Errorf("tries = %d, want 1", n)
		}
	})
}

func TestProvisionRetriesUploadsWithAFreshReader(t *testing.T) {
	src := writeFile(t, t.TempDir(), "big", "0123456789", 0o644)
	p := prepared(t, map[string]interface{}{
		"file":    []map[string]interface{}{{"source": src, "destination": "/big"}, {"content": "abc", "destination": "/c"}},
		"retries": 1,
	})
	comm := &fakeComm{failUploads: 1}
	if err := p.Provision(context.Background(), newUI(), comm, nil); err != nil {
		t.Fatalf("Provision: %v", err)
	}
	if got := string(comm.uploads["/big"].data); got != "0123456789" {
		t.Errorf("retried upload wrote %q, want the whole file", got)
	}
	if comm.uploadTries != 3 {
		t.Errorf("Upload calls = %d, want 3 (one failure, two successes)", comm.uploadTries)
	}

	comm = &fakeComm{failUploads: 2}
	err := p.Provision(context.Background(), newUI(), comm, nil)
	if err == nil || !strings.Contains(err.Error(), "file[0]") || !strings.Contains(err.Error(), "connection reset") {
		t.Errorf("error = %v, want file[0] failing with the communicator's error", err)
	}
}

func TestProvisionCommandTimeout(t *testing.T) {
	p := prepared(t, map[string]interface{}{"inline": []string{"sleep infinity"}, "command_timeout": "20ms", "retries": 2})
	comm := &fakeComm{block: true}
	err := p.Provision(context.Background(), newUI(), comm, nil)
	if err == nil {
		t.Fatal("Provision returned no error though the command never finished")
	}
	for _, want := range []string{"inline[0]", "command_timeout", "20ms", "after 3 tries"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
	if n := comm.attempts["sleep infinity"]; n != 3 {
		t.Errorf("tries = %d, want 3: a try that runs out of command_timeout is retried", n)
	}
}

// TestCommandTimeoutKillsTheTry runs the wrapped command in a real shell:
// when a try runs out of command_timeout, its processes are gone before the
// next try starts.
func TestCommandTimeoutKillsTheTry(t *testing.T) {
	if _, err := exec.LookPath("timeout"); err != nil {
		t.Skip("no timeout(1) on this host")
	}
	dir := t.TempDir()
	pidFile, log := filepath.Join(dir, "pid"), filepath.Join(dir, "log")
	// A killed process may linger as a zombie until it is reaped: only a
	// live one (state other than Z) is an overlap.
	cmd := fmt.Sprintf(`s="/proc/$(cat %[1]s 2>/dev/null)/status"; if [ -s %[1]s ] && [ -r "$s" ] && ! grep -q '^State:.*Z' "$s"; then echo overlap >> %[2]s; fi; `+
		`echo try >> %[2]s; sh -c 'echo $$ > %[1]s; exec sleep 30'`, pidFile, log)
	p := prepared(t, map[string]interface{}{"inline": []string{cmd}, "command_timeout": "500ms", "retries": 1})
	err := p.Provision(context.Background(), newUI(), &fakeComm{shell: true}, nil)
	if err == nil || !strings.Contains(err.Error(), "command_timeout") {
		t.Fatalf("error = %v, want a command_timeout failure", err)
	}
	b, _ := os.ReadFile(log)
	if string(b) != "try\ntry\n" {
		t.Errorf("log %q: want two tries and no overlap", b)
	}
	// The last try was killed as it reported back; the kernel finishes a
	// SIGKILLed process asynchronously, so wait for it (the bound is only a
	// backstop: a live process never goes away by itself within 30s).
	pid, _ := os.ReadFile(pidFile)
	if n, err := strconv.Atoi(strings.TrimSpace(string(pid))); err == nil {
		deadline := time.Now().Add(20 * time.Second)
		for {
			st, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", n))
			if err != nil || strings.Contains(string(st), "State:\tZ") {
				break
			}
			if time.Now().After(deadline) {
				t.Errorf("the last try's sleep (pid %d) still runs", n)
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

func TestInMachineTimeout(t *testing.T) {
	got := inMachineTimeout("export A='x'; echo \"$A\"", 90*time.Second)
	q := `'export A='\''x'\''; echo "$A"'`
	want := `if command -v timeout >/dev/null 2>&1; then timeout -s KILL 90 /bin/sh -c ` + q + `; else exec /bin/sh -c ` + q + `; fi`
	if got != want {
		t.Errorf("inMachineTimeout = %s, want %s", got, want)
	}
	if inner, d := unwrapTimeout(got); inner != "export A='x'; echo \"$A\"" || d != 90*time.Second {
		t.Errorf("unwrapTimeout = %q, %s", inner, d)
	}
	// It runs, with or without timeout(1) on the PATH.
	for _, path := range []string{os.Getenv("PATH"), t.TempDir()} {
		cmd := exec.Command("/bin/sh", "-c", inMachineTimeout("echo \"$0 ok\"", time.Minute))
		cmd.Env = []string{"PATH=" + path}
		if out, err := cmd.CombinedOutput(); err != nil || !strings.HasSuffix(string(out), "ok\n") {
			t.Errorf("PATH=%s: %q, %v", path, out, err)
		}
	}
}

func TestPosixMachine(t *testing.T) {
	for conn, want := range map[string]bool{"ssh": true, "winrm": false, "": true, "workspace": runtime.GOOS != "windows"} {
		if got := posixMachine(map[string]interface{}{"ConnType": conn}); got != want {
			t.Errorf("posixMachine(%q) = %v, want %v", conn, got, want)
		}
	}
}

// TestProvisionBuildTimeout stands for Packer's own `timeout`, which arrives
// as the deadline of Provision's context: nothing is retried past it.
func TestProvisionBuildTimeout(t *testing.T) {
	p := prepared(t, map[string]interface{}{"inline": []string{"sleep infinity"}, "retries": 5})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	comm := &fakeComm{block: true}
	err := p.Provision(ctx, newUI(), comm, nil)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "inline[0]") {
		t.Errorf("error = %v, want inline[0] failing with the context's deadline", err)
	}
	if n := comm.attempts["sleep infinity"]; n != 1 {
		t.Errorf("tries = %d, want 1", n)
	}
}

// TestProvisionCancelledWhileWaiting ends the build's context while the
// provisioner waits to retry: it stops at once instead of sleeping out an
// hour-long retry_delay.
func TestProvisionCancelledWhileWaiting(t *testing.T) {
	p := prepared(t, map[string]interface{}{"inline": []string{"flaky"}, "retries": 3, "retry_delay": "1h"})
	p.wait = nil // the real pause
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	comm := &fakeComm{script: func(string, int) (string, string, int, error) {
		// Cancelled only once the try has failed and the wait has begun.
		time.AfterFunc(10*time.Millisecond, cancel)
		return "", "", 1, nil
	}}
	err := p.Provision(ctx, newUI(), comm, nil)
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "exited with status 1") {
		t.Errorf("error = %v, want the try's failure and context.Canceled", err)
	}
	if n := comm.attempts["flaky"]; n != 1 {
		t.Errorf("tries = %d, want 1", n)
	}
}

func TestSleep(t *testing.T) {
	if !sleep(context.Background(), time.Millisecond) {
		t.Error("sleep with a live context reported an interruption")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if sleep(ctx, time.Hour) {
		t.Error("sleep with a cancelled context reported a full wait")
	}
	if sleep(ctx, 0) {
		t.Error("a zero sleep with a cancelled context reported a full wait")
	}
}

func TestProvisionCancelled(t *testing.T) {
	p := prepared(t, map[string]interface{}{"inline": []string{"true"}})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	comm := &fakeComm{}
	err := p.Provision(ctx, newUI(), comm, nil)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error = %v, want context.Canceled", err)
	}
	if len(comm.commands) != 0 {
		t.Errorf("ran %q after cancellation", comm.commands)
	}
}
