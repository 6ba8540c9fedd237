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
