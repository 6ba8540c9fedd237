package standin

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/example/packer-plugin-scaffolding/standin/machine"
)

// TestLocalDriver_machineInstance: an instance launched with a key is a
// machine reached over SSH; what it writes lands in the image, what it runs
// ends when it stops, and a child instance boots from the image.
func TestLocalDriver_machineInstance(t *testing.T) {
	signer, key := machineKey(t)
	run := func(inst *Instance, command string) (string, error) {
		c, err := ssh.Dial("tcp", net.JoinHostPort(inst.Host, strconv.Itoa(inst.Port)), &ssh.ClientConfig{
			User: "root", Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)}, HostKeyCallback: ssh.InsecureIgnoreHostKey(), //nolint:gosec // a test instance on 127.0.0.1
		})
		if err != nil {
			return "", err
		}
		defer func() { _ = c.Close() }()
		s, err := c.NewSession()
		if err != nil {
			return "", err
		}
		defer func() { _ = s.Close() }()
		var out bytes.Buffer
		s.Stdout = &out
		err = s.Run(command)
		return out.String(), err
	}

	ctx := context.Background()
	d := newTestDriver(t)
	inst, err := d.RunInstance(ctx, LaunchSpec{Name: "m", AuthorizedKey: key})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = d.TerminateInstance(ctx, inst) }()
	if inst.Host != "127.0.0.1" || inst.Port == 0 {
		t.Fatalf("instance address %s:%d", inst.Host, inst.Port)
	}
	marker := "30.0" + strconv.Itoa(os.Getpid())
	if _, err := run(inst, "mkdir -p /opt/app && echo built > /opt/app/VERSION && (sleep "+marker+" >/dev/null 2>&1 &)"); err != nil {
		t.Fatal(err)
	}
	if !sleeping(t, marker) {
		t.Fatal("the instance's background sleep does not run")
	}
	if err := d.StopInstance(ctx, inst); err != nil {
		t.Fatal(err)
	}
	if sleeping(t, marker) {
		t.Error("the instance's background sleep outlived StopInstance")
	}
	if _, err := run(inst, "true"); err == nil {
		t.Error("a stopped instance still answers SSH")
	}
	img, err := d.CreateImage(ctx, inst, ImageSpec{Name: "m", Region: "local"})
	if err != nil {
		t.Fatal(err)
	}

	child, err := d.RunInstance(ctx, LaunchSpec{Name: "child", Source: &img, AuthorizedKey: key})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = d.TerminateInstance(ctx, child) }()
	out, err := run(child, "cat /opt/app/VERSION; ls /usr/bin/env")
	if err != nil || out != "built\n/usr/bin/env\n" {
		t.Errorf("child instance: %q, %v", out, err)
	}
	if err := d.TerminateInstance(ctx, child); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(child.Workspace); !os.IsNotExist(err) {
		t.Errorf("terminated instance's root %s: %v", child.Workspace, err)
	}
	if !strings.HasPrefix(img.ID, "sha256:") {
		t.Errorf("image id %q", img.ID)
	}
}

// machineKey skips the test on a host that cannot run machines, and
// returns a new key pair: the signer and the authorized_keys line.
func machineKey(t *testing.T) (ssh.Signer, string) {
	t.Helper()
	if err := machine.Supported(); err != nil {
		t.Skip(err)
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return signer, string(ssh.MarshalAuthorizedKey(signer.PublicKey()))
}

// sleeping reports whether a process runs `sleep marker`.
func sleeping(t *testing.T, marker string) bool {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err == nil && strings.Contains(string(b), "sleep\x00"+marker) {
			return true
		}
	}
	return false
}

// TestLocalDriver_machineThatCannotBootLeavesNothing: an instance whose
// root cannot be set up (here the image holds a file where the instance
// writes /etc/passwd) fails its launch with an error naming the instance, the
// cause and the way out (not a kernel setting, which would not help), and
// its workspace is gone again. RunInstance no longer asks
// machine.Supported first (a process per build), so this is the path a
// host without user namespaces takes too.
func TestLocalDriver_machineThatCannotBootLeavesNothing(t *testing.T) {
	_, key := machineKey(t)

	ctx := context.Background()
	d := newTestDriver(t)
	src, err := d.RunInstance(ctx, LaunchSpec{Name: "src"})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src.Workspace, "etc"), []byte("not a directory\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := d.StopInstance(ctx, src); err != nil {
		t.Fatal(err)
	}
	img, err := d.CreateImage(ctx, src, ImageSpec{Name: "src", Region: "local"})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.TerminateInstance(ctx, src); err != nil {
		t.Fatal(err)
	}

	inst, err := d.RunInstance(ctx, LaunchSpec{Name: "m", Source: &img, AuthorizedKey: key})
	if err == nil {
		_ = d.TerminateInstance(ctx, inst)
		t.Fatal("an instance whose /etc is a file booted")
	}
	for _, want := range []string{"booting instance ", "etc/passwd", `communicator = "workspace"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "seccomp") || strings.Contains(err.Error(), "sysctl") {
		t.Errorf("error %q blames the host's namespaces for the image's root", err)
	}
	left, rerr := os.ReadDir(d.InstanceDir)
	if rerr != nil {
		t.Fatal(rerr)
	}
	for _, e := range left {
		t.Errorf("the failed launch left %s in the instance directory", e.Name())
	}
}
