// Package scripts_test tests the shell scripts in this directory that other
// checks rely on, by running them on small throw-away trees.
package scripts_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestGenerateCheck: generate-check.sh passes when the generator changes
// nothing, even over uncommitted edits, and fails when it changes, adds or
// removes a file; with no sha256sum (or any hashing tool) on PATH.
func TestGenerateCheck(t *testing.T) {
	script, err := filepath.Abs("generate-check.sh")
	if err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	for _, tool := range []string{"sh", "git", "cp", "rm", "mktemp", "cat", "dirname", "echo", "true"} {
		p, err := exec.LookPath(tool)
		if err != nil {
			if tool == "echo" || tool == "true" {
				continue // shell built-ins
			}
			t.Skipf("needs %s: %v", tool, err)
		}
		if err := os.Symlink(p, filepath.Join(bin, tool)); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		desc, dirty, generate string
		wantFail              bool
	}{
		{desc: "no change", generate: "true"},
		{desc: "no change over an uncommitted edit", dirty: "edited", generate: "true"},
		{desc: "same content rewritten", generate: "echo generated > gen.txt"},
		{desc: "a generated file changes", generate: "echo changed > gen.txt", wantFail: true},
		{desc: "an edited file changes again", dirty: "edited", generate: "echo again > gen.txt", wantFail: true},
		{desc: "a file is added", generate: "echo new > new.txt", wantFail: true},
		{desc: "a file is removed", generate: "rm gen.txt", wantFail: true},
		{desc: "the generator fails", generate: "exit 3", wantFail: true},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			repo := t.TempDir()
			git := func(args ...string) {
				t.Helper()
				cmd := exec.Command("git", args...)
				cmd.Dir = repo
				cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com",
					"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com", "GIT_CONFIG_GLOBAL=/dev/null")
				if out, err := cmd.CombinedOutput(); err != nil {
					t.Fatalf("git %v: %v\n%s", args, err, out)
				}
			}
			git("init", "-q")
			writeFile(t, filepath.Join(repo, "gen.txt"), "generated\n")
			writeFile(t, filepath.Join(repo, "scripts", "generate-check.sh"), readFile(t, script))
			git("add", "-A")
			git("commit", "-qm", "init")
			if tc.dirty != "" {
				writeFile(t, filepath.Join(repo, "gen.txt"), tc.dirty+"\n")
			}
			cmd := exec.Command("sh", filepath.Join(repo, "scripts", "generate-check.sh"))
			cmd.Dir = repo
			cmd.Env = append(os.Environ(), "PATH="+bin, "GENERATE="+tc.generate)
			out, err := cmd.CombinedOutput()
			if tc.wantFail && err == nil {
				t.Fatalf("generate-check.sh passed, want a failure:\n%s", out)
			}
			if !tc.wantFail && err != nil {
				t.Fatalf("generate-check.sh: %v\n%s", err, out)
			}
			if tc.wantFail && !strings.Contains(string(out), "generate-check.sh: '"+tc.generate+"'") {
				t.Errorf("the failure does not name the generator:\n%s", out)
			}
		})
	}
}

// TestVetAllTargets: vet-all.sh reads the release targets from
// .goreleaser.yml, ignore pairs removed.
func TestVetAllTargets(t *testing.T) {
	out, err := exec.Command("sh", "vet-all.sh", "-l").CombinedOutput()
	if err != nil {
		t.Fatalf("vet-all.sh -l: %v\n%s", err, out)
	}
	targets := map[string]bool{}
	for _, l := range strings.Fields(string(out)) {
		targets[l] = true
	}
	for _, want := range []string{"linux/amd64", "darwin/arm64", "windows/386", "freebsd/arm", "solaris/amd64"} {
		if !targets[want] {
			t.Errorf("vet-all.sh -l lacks %s:\n%s", want, out)
		}
	}
	for _, ignored := range []string{"darwin/386", "solaris/arm64", "windows/arm"} {
		if targets[ignored] {
			t.Errorf("vet-all.sh -l lists %s, which .goreleaser.yml ignores", ignored)
		}
	}
}

func writeFile(t *testing.T, name, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, []byte(content), 0o755); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestGoTest: go-test.sh runs every package's tests once, also when two
// share a test binary name (a/tool and b/tool), keeps their binaries under
// .testbin/, runs an unchanged one again without relinking it, and fails
// when a package in any group fails, after running every group.
func TestGoTest(t *testing.T) {
	if testing.Short() {
		t.Skip("builds three small test binaries")
	}
	script, err := filepath.Abs("go-test.sh")
	if err != nil {
		t.Fatal(err)
	}
	mod := t.TempDir()
	writeFile(t, filepath.Join(mod, "go.mod"), "module example.com/gotest\n\ngo 1.21\n")
	writeFile(t, filepath.Join(mod, "scripts", "go-test.sh"), readFile(t, script))
	pass := "package tool\n\nimport \"testing\"\n\nfunc TestRan(t *testing.T) { t.Log(\"ran \" + t.Name()) }\n"
	// a/tool, in the first group, fails; b/tool, in the second, must run
	// all the same.
	writeFile(t, filepath.Join(mod, "a", "tool", "tool_test.go"), strings.Replace(pass, `t.Log("ran " + t.Name())`, `t.Fatal("failed")`, 1))
	writeFile(t, filepath.Join(mod, "b", "tool", "tool_test.go"), pass)
	writeFile(t, filepath.Join(mod, "c", "other", "other_test.go"), strings.Replace(pass, "package tool", "package other", 1))
	goTest := func(args ...string) (string, error) {
		cmd := exec.Command("sh", append([]string{filepath.Join(mod, "scripts", "go-test.sh")}, args...)...)
		cmd.Dir = mod
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := goTest("-count=1", "-v")
	if err == nil {
		t.Fatalf("expected go-test.sh to fail with a failing package:\n%s", out)
	}
	for _, line := range []string{"FAIL\texample.com/gotest/a/tool\t", "ok  \texample.com/gotest/b/tool\t", "ok  \texample.com/gotest/c/other\t"} {
		if n := strings.Count(out, line); n != 1 {
			t.Errorf("expected %q once (every package tested once, every group run), found it %d times:\n%s", line, n, out)
		}
	}
	first, err := os.Stat(filepath.Join(mod, ".testbin", "0", "other.test"))
	if err != nil {
		t.Fatalf("expected the test binary kept in .testbin/0: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(mod, ".testbin", "1", "tool.test")); err != nil {
		t.Fatalf("expected the second tool.test in .testbin/1: %v", err)
	}
	if out, err := goTest("-count=1"); err == nil || !strings.Contains(out, "ok  \texample.com/gotest/c/other") {
		t.Fatalf("expected the second go-test.sh to fail again, c/other passing: %v\n%s", err, out)
	}
	// A relink writes a new file over the old one; an up-to-date binary is
	// left where it is.
	if again, err := os.Stat(filepath.Join(mod, ".testbin", "0", "other.test")); err != nil || !os.SameFile(first, again) {
		t.Errorf("expected the unchanged test binary not relinked (%v)", err)
	}
}
