package standin

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
)

func TestRemoteRel(t *testing.T) {
	cases := map[string]string{
		"/etc/motd":    "etc/motd",
		"etc/motd":     "etc/motd",
		"//etc//motd/": "etc/motd",
		"/a/../b":      "b",
		"./x":          "x",
		"/":            ".",
		".":            ".",
	}
	for in, want := range cases {
		if got, err := remoteRel(in); err != nil || got != want {
			t.Errorf("remoteRel(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"..", "../x", "/../etc/passwd", "a/../../x", ""} {
		if _, err := remoteRel(bad); err == nil {
			t.Errorf("remoteRel(%q) accepted", bad)
		}
	}
}

func TestCommunicator_upload(t *testing.T) {
	ws := t.TempDir()
	c := &Communicator{Workspace: ws}
	if err := c.Upload("/etc/motd", strings.NewReader("hello"), nil); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(ws, "etc", "motd"))
	if err != nil || string(got) != "hello" {
		t.Fatalf("etc/motd = %q, %v", got, err)
	}
	// Overwriting replaces the content.
	if err := c.Upload("etc/motd", strings.NewReader("bye"), nil); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(ws, "etc", "motd")); string(got) != "bye" {
		t.Errorf("after overwrite: %q", got)
	}
	var out bytes.Buffer
	if err := c.Download("/etc/motd", &out); err != nil || out.String() != "bye" {
		t.Errorf("Download = %q, %v", out.String(), err)
	}
	if entries := listDir(t, filepath.Join(ws, "etc")); len(entries) != 1 {
		t.Errorf("etc holds %v: temporary upload files left", entries)
	}
	if runtime.GOOS != "windows" {
		src := filepath.Join(t.TempDir(), "script")
		if err := os.WriteFile(src, []byte("#!/bin/sh"), 0o750); err != nil {
			t.Fatal(err)
		}
		fi, _ := os.Stat(src)
		if err := c.Upload("/bin/script", strings.NewReader("#!/bin/sh"), &fi); err != nil {
			t.Fatal(err)
		}
		if fi, _ := os.Stat(filepath.Join(ws, "bin", "script")); fi.Mode().Perm() != 0o750 {
			t.Errorf("mode = %v, want the local file's 0750", fi.Mode().Perm())
		}
	}
}

func TestCommunicator_confined(t *testing.T) {
	parent, ws := newWorkspace(t)
	c := &Communicator{Workspace: ws}
	for _, dst := range []string{"../escape", "/../escape", "a/../../escape"} {
		err := c.Upload(dst, strings.NewReader("x"), nil)
		if err == nil || !strings.Contains(err.Error(), "escapes the workspace") || !strings.Contains(err.Error(), dst) {
			t.Errorf("Upload(%q) = %v, want a clear refusal", dst, err)
		}
		if err := c.Download(dst, new(bytes.Buffer)); err == nil {
			t.Errorf("Download(%q) succeeded", dst)
		}
	}
	if err := c.UploadDir("../up", t.TempDir(), nil); err == nil {
		t.Error("UploadDir out of the workspace succeeded")
	}
	if err := c.DownloadDir("../", t.TempDir(), nil); err == nil {
		t.Error("DownloadDir out of the workspace succeeded")
	}

	if runtime.GOOS != "windows" {
		// A symlink planted in the workspace does not lead out of it.
		outside := filepath.Join(parent, "outside")
		if err := os.Mkdir(outside, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(outside, "secret"), []byte("s"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(outside, filepath.Join(ws, "link")); err != nil {
			t.Fatal(err)
		}
		if err := c.Upload("/link/planted", strings.NewReader("x"), nil); err == nil {
			t.Error("Upload through an escaping symlink succeeded")
		}
		if err := c.Download("/link/secret", new(bytes.Buffer)); err == nil {
			t.Error("Download through an escaping symlink succeeded")
		}
		if got := listDir(t, outside); len(got) != 1 {
			t.Errorf("outside now holds %v", got)
		}
	}
	if got := listDir(t, parent); len(got) > 2 {
		t.Errorf("parent of the workspace holds %v", got)
	}
}

func TestCommunicator_uploadDir(t *testing.T) {
	src := t.TempDir()
	populate(t, src, map[string]string{"a.txt": "a", "sub/b.txt": "b", "skip.log": "no", "sub/skip.log": "no"})
	cases := []struct {
		src  string
		want string // where a.txt lands
	}{
		{src, "dst/" + filepath.Base(src) + "/a.txt"},
		{src + "/", "dst/a.txt"},
	}
	for _, tc := range cases {
		ws := t.TempDir()
		c := &Communicator{Workspace: ws}
		if err := c.UploadDir("/dst", tc.src, []string{"*.log"}); err != nil {
			t.Fatal(err)
		}
		if got, err := os.ReadFile(filepath.Join(ws, filepath.FromSlash(tc.want))); err != nil || string(got) != "a" {
			t.Errorf("UploadDir(%q): %s = %q, %v", tc.src, tc.want, got, err)
		}
		sub := filepath.Join(ws, filepath.FromSlash(filepath.ToSlash(filepath.Dir(tc.want))), "sub")
		if got, err := os.ReadFile(filepath.Join(sub, "b.txt")); err != nil || string(got) != "b" {
			t.Errorf("UploadDir(%q): sub/b.txt = %q, %v", tc.src, got, err)
		}
		if _, err := os.Stat(filepath.Join(sub, "skip.log")); !os.IsNotExist(err) {
			t.Errorf("UploadDir(%q): excluded file uploaded", tc.src)
		}
	}
}

func TestCommunicator_downloadDir(t *testing.T) {
	ws := t.TempDir()
	populate(t, ws, map[string]string{"var/log/app.log": "log", "var/log/old/x.log": "x", "var/log/tmp.swp": "swp"})
	c := &Communicator{Workspace: ws}

	dst := t.TempDir()
	if err := c.DownloadDir("/var/log", dst, []string{"*.swp"}); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(dst, "log", "old", "x.log")); string(got) != "x" {
		t.Errorf("log/old/x.log = %q", got)
	}
	if _, err := os.Stat(filepath.Join(dst, "log", "tmp.swp")); !os.IsNotExist(err) {
		t.Error("excluded file downloaded")
	}

	dst = t.TempDir()
	if err := c.DownloadDir("/var/log/", dst, nil); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(dst, "app.log")); string(got) != "log" {
		t.Errorf("content download: app.log = %q", got)
	}

	dst = t.TempDir()
	if err := c.DownloadDir("/var/log/*.log", dst, nil); err != nil {
		t.Fatal(err)
	}
	if got := listDir(t, dst); len(got) != 1 || got[0] != "app.log" {
		t.Errorf("glob download gave %v", got)
	}
}

func TestCommunicator_start(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("uses sh")
	}
	ws := t.TempDir()
	c := &Communicator{Workspace: ws, Env: []string{"GREETING=hi"}}
	var stdout, stderr bytes.Buffer
	cmd := &packersdk.RemoteCmd{
		Command: `echo "$GREETING from $(pwd)"; echo oops >&2; echo made > made.txt; test "$SCAFFOLDING_WORKSPACE" = "$(pwd)" || exit 9; exit 3`,
		Stdout:  &stdout,
		Stderr:  &stderr,
	}
	if err := c.Start(context.Background(), cmd); err != nil {
		t.Fatal(err)
	}
	if status := cmd.Wait(); status != 3 {
		t.Errorf("exit status = %d, want 3 (stderr %q)", status, stderr.String())
	}
	realWS, _ := filepath.EvalSymlinks(ws)
	if got := strings.TrimSpace(stdout.String()); got != "hi from "+realWS && got != "hi from "+ws {
		t.Errorf("stdout = %q", got)
	}
	if strings.TrimSpace(stderr.String()) != "oops" {
		t.Errorf("stderr = %q", stderr.String())
	}
	if _, err := os.Stat(filepath.Join(ws, "made.txt")); err != nil {
		t.Errorf("command did not run in the workspace: %v", err)
	}
}

func TestCommunicator_startCancelled(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("uses sh")
	}
	c := &Communicator{Workspace: t.TempDir()}
	ctx, cancel := context.WithCancel(context.Background())
	var stdout bytes.Buffer
	// The background child keeps stdout open: cancelling must kill it too.
	cmd := &packersdk.RemoteCmd{Command: "sleep 600 & echo started; wait", Stdout: &stdout}
	if err := c.Start(ctx, cmd); err != nil {
		t.Fatal(err)
	}
	cancel()
	if status := cmd.Wait(); status == 0 {
		t.Error("a cancelled command reported success")
	}
}

func TestCommunicator_startMissingWorkspace(t *testing.T) {
	c := &Communicator{Workspace: filepath.Join(t.TempDir(), "gone")}
	cmd := &packersdk.RemoteCmd{Command: "true"}
	if err := c.Start(context.Background(), cmd); err == nil {
		t.Error("starting a command in a missing workspace succeeded")
	}
}
