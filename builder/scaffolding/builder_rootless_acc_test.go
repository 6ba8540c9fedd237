//go:build linux

package scaffolding_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/example/packer-plugin-scaffolding/acctest"
	"github.com/example/packer-plugin-scaffolding/internal/gomod"
)

// ordinaryUserCases are the instance cases TestAccBuilder_asOrdinaryUser
// runs again without root: Packer's shell and file provisioners over SSH
// (and a child build from that image), and Ctrl-C leaving nothing behind.
var ordinaryUserCases = []string{
	"TestAccBuilder_packerProvisionersOnAMachine",
	"TestAccBuilder_interruptLeavesNoProcess",
}

// TestAccBuilder_asOrdinaryUser proves that instances need no privilege:
// run as root, it creates a throwaway user and runs the instance cases of
// this test binary as that user, with real Packer builds. The user cannot
// read root's Go module cache or Packer cache, so the test hands it copies
// of this test binary, of the plugin (built here, installed there through
// PACKER_ACC_PLUGIN_BINARY) and of Packer (PACKER_BIN), in a directory it
// may read, with a home and TMPDIR of its own. Run as an ordinary user, the
// instance cases already prove it.
func TestAccBuilder_asOrdinaryUser(t *testing.T) {
	if !envSet(acctest.EnvAcc) {
		t.Skipf("acceptance test: set %s=1 to run it against a real Packer (or run `make testacc`)", acctest.EnvAcc)
	}
	if os.Getuid() != 0 {
		t.Skipf("already running as uid %d: the instance cases of this run prove it without root", os.Getuid())
	}
	acctest.SkipOutsideShard(t)
	needMachines(t)
	for _, tool := range []string{"useradd", "userdel", "setpriv"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("cannot create a throwaway user: %s is not installed", tool)
		}
	}
	t.Parallel()
	ctx := t.Context()
	pk, err := acctest.EnsurePacker(ctx, acctest.EnsureOptions{})
	if err != nil {
		t.Fatal(err)
	}
	plugin, err := acctest.PluginBinary(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}

	u := throwawayUser(t)
	// The cases run in this package's directory and read the module's
	// go.mod, so the user must reach them: not so in a copy under a
	// directory private to root (mktemp -d, /root).
	root, _, err := gomod.Find(wd)
	if err != nil {
		t.Fatal(err)
	}
	probe := exec.CommandContext(ctx, "setpriv", "--reuid="+strconv.Itoa(u.uid), "--regid="+strconv.Itoa(u.gid), "--clear-groups", "--",
		"/bin/sh", "-c", `test -r "$1" && cd "$2"`, "sh", filepath.Join(root, "go.mod"), wd)
	if out, err := probe.CombinedOutput(); err != nil {
		t.Skipf("an ordinary user cannot read the module at %s (a directory above it is private): "+
			"run from a checkout others can read to include this test (%v: %s)", root, err, strings.TrimSpace(string(out)))
	}
	// Readable by the user: the binaries. Owned by the user: its home,
	// which holds its TMPDIR and the harness's cache.
	dir, err := os.MkdirTemp("", "acc-rootless-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := os.RemoveAll(dir); err != nil {
			t.Errorf("removing %s: %v", dir, err)
		}
	})
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bins := map[string]string{"scaffolding.test": exe, "packer": pk.Path, "packer-plugin-scaffolding": plugin}
	for name, src := range bins {
		if err := linkOrCopy(src, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	home := filepath.Join(dir, "home")
	tmp := filepath.Join(home, "tmp")
	for _, d := range []string{home, tmp} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(d, u.uid, u.gid); err != nil {
			t.Fatal(err)
		}
	}

	// One wire mode: privilege and the wire are independent, and both
	// modes of these cases run as root in this same run.
	mode := acctest.Protobuf
	if pk.Version.LessThan(acctest.Version1_12) {
		mode = acctest.Gob
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "setpriv", "--reuid="+strconv.Itoa(u.uid), "--regid="+strconv.Itoa(u.gid), "--clear-groups", "--",
		filepath.Join(dir, "scaffolding.test"), "-test.run=^("+strings.Join(ordinaryUserCases, "|")+")$/^"+mode.String()+"$", "-test.count=1", "-test.v", "-test.timeout=4m")
	cmd.Dir = wd
	cmd.Env = []string{
		"HOME=" + home,
		"TMPDIR=" + tmp,
		"PATH=/usr/local/bin:/usr/bin:/bin",
		"CHECKPOINT_DISABLE=1",
		acctest.EnvAcc + "=1",
		acctest.EnvPackerBin + "=" + filepath.Join(dir, "packer"),
		acctest.EnvPluginBinary + "=" + filepath.Join(dir, "packer-plugin-scaffolding"),
	}
	// Whatever the run leaves, the user's processes end before the user
	// and its directories go (cleanups run last-in first-out).
	t.Cleanup(func() { killUserProcesses(t, u.uid) })
	out, err := cmd.CombinedOutput()
	t.Logf("as %s (uid %d):\n%s", u.name, u.uid, verdicts(out))
	if err != nil {
		t.Fatalf("the instance cases failed as uid %d: %v", u.uid, err)
	}
	// Each case either passed or skipped in that mode; when none passed,
	// nothing was proven.
	passed := 0
	for _, name := range ordinaryUserCases {
		if regexp.MustCompile(`(?m)^\s*--- PASS: ` + name + "/" + mode.String() + ` `).Match(out) {
			passed++
		} else if !regexp.MustCompile(`(?m)^\s*--- SKIP: ` + name + "(/" + mode.String() + `)? `).Match(out) {
			t.Errorf("%s/%s neither passed nor skipped as uid %d", name, mode, u.uid)
		}
	}
	if passed == 0 && !t.Failed() {
		t.Skipf("as an ordinary user: %s", skipReason(out))
	}
}

// throwawayUserInfo is a user made for one test.
type throwawayUserInfo struct {
	name     string
	uid, gid int
}

// throwawayUser creates a user with no home and no login, and deletes it
// when the test ends.
func throwawayUser(t *testing.T) throwawayUserInfo {
	t.Helper()
	name := fmt.Sprintf("acc%d", time.Now().UnixNano()%1e9)
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
	uid, err := strconv.Atoi(u.Uid)
	if err != nil {
		t.Fatal(err)
	}
	gid, err := strconv.Atoi(u.Gid)
	if err != nil {
		t.Fatal(err)
	}
	return throwawayUserInfo{name: name, uid: uid, gid: gid}
}

// killUserProcesses kills, by pid, every process of the throwaway user uid
// (all of them started by this test), failing the test if there were any:
// the harness must not leave one.
func killUserProcesses(t *testing.T, uid int) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Error(err)
		return
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		var st syscall.Stat_t
		if syscall.Stat(filepath.Join("/proc", e.Name()), &st) != nil || int(st.Uid) != uid {
			continue
		}
		status, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "status"))
		if regexp.MustCompile(`(?m)^State:\s+Z`).Match(status) {
			// Dead already, waiting for a parent to reap it (an orphan's
			// new parent, pid 1, may never do so in a container).
			continue
		}
		cmdline, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err := syscall.Kill(pid, syscall.SIGKILL); err == nil {
			t.Errorf("process %d of uid %d outlived the run: %s", pid, uid, strings.ReplaceAll(string(cmdline), "\x00", " "))
		}
	}
}

// linkOrCopy makes src available at dst for any user to read and run:
// a hard link where the file is already so, else a copy.
func linkOrCopy(src, dst string) error {
	fi, err := os.Stat(src)
	if err != nil {
		return err
	}
	if fi.Mode().Perm()&0o005 == 0o005 && os.Link(src, dst) == nil {
		return nil
	}
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, data, 0o755)
}

// skipReason is why the run as the ordinary user skipped a case, or "".
func skipReason(out []byte) string {
	lines := strings.Split(string(out), "\n")
	for i, l := range lines {
		if strings.Contains(l, "--- SKIP") {
			if i+1 < len(lines) {
				return strings.TrimSpace(l) + ": " + strings.TrimSpace(lines[i+1])
			}
			return strings.TrimSpace(l)
		}
	}
	return ""
}

// verdicts keeps the verdict and log lines of a verbose test run.
func verdicts(out []byte) string {
	var b strings.Builder
	for _, l := range strings.Split(string(out), "\n") {
		t := strings.TrimSpace(l)
		if strings.HasPrefix(t, "---") || strings.HasPrefix(t, "ok") || strings.HasPrefix(t, "FAIL") ||
			strings.HasPrefix(t, "PASS") || strings.HasPrefix(t, "panic") || strings.Contains(t, "_test.go:") ||
			strings.Contains(t, ".go:") {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

func envSet(name string) bool {
	v := os.Getenv(name)
	return v != "" && v != "0" && !strings.EqualFold(v, "false")
}
