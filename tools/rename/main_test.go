package main

import (
	"bytes"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/mod/modfile"
)

// fixture is a tiny plugin repository named quokka that compiles on its own.
var fixture = map[string]string{
	"go.mod": "module github.com/zoo/packer-plugin-quokka\n\ngo 1.21\n",
	"go.sum": "github.com/quokka/lib v1.0.0 h1:x\n",
	"main.go": `// Command packer-plugin-quokka serves the quokka builder.
package main

import (
	"fmt"

	quokkaBuilder "github.com/zoo/packer-plugin-quokka/builder/quokka"
)

func main() { fmt.Println(quokkaBuilder.BuilderID, quokkaBuilder.QuokkaType) }
`,
	"builder/quokka/builder.go": `// Package quokka builds quokka images.
package quokka

// BuilderID identifies artifacts of the quokka builder.
const BuilderID = "zoo.quokka"

// QuokkaType is the HCL type of the data source.
const QuokkaType = "quokka-image"
`,
	"example/build.pkr.hcl": `packer {
  required_plugins {
    quokka = { source = "github.com/zoo/quokka", version = ">= 0.0.1" }
  }
}
source "quokka" "a" {}
`,
	"scripts/run.sh":             "#!/bin/sh\nexec ./packer-plugin-quokka \"$@\"\n",
	"CHANGELOG.md":               "## 0.1.0\n- first quokka release\n",
	"tools/rename/notes.txt":     "examples mention quokka on purpose\n",
	"docs/quokka.png":            "\x89PNG\x00quokka\x00",
	".tools/bin/quokka-helper":   "quokka",
	"builder/quokka/testdata/.k": "quokka",
}

func writeTree(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for rel, content := range files {
		p := filepath.Join(root, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		mode := fs.FileMode(0o644)
		if strings.HasSuffix(rel, ".sh") {
			mode = 0o755
		}
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
	}
}

// readTree returns every file under root as path -> mode and content.
func readTree(t *testing.T, root string) map[string]string {
	t.Helper()
	tree := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		tree[filepath.ToSlash(rel)] = info.Mode().String() + " " + string(data)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return tree
}

func runIn(t *testing.T, dir, name, module string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := run(options{dir: dir, name: name, module: module, out: &out})
	return out.String(), err
}

func TestRunFixture(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, fixture)

	out, err := runIn(t, root, "night-owl", "github.com/acme/packer-plugin-night-owl")
	if err != nil {
		t.Fatalf("rename: %v\n%s", err, out)
	}
	tree := readTree(t, root)
	want := map[string]string{
		"go.mod": "module github.com/acme/packer-plugin-night-owl\n\ngo 1.21\n",
		"builder/night-owl/builder.go": `// Package nightowl builds night-owl images.
package nightowl

// BuilderID identifies artifacts of the night-owl builder.
const BuilderID = "acme.night-owl"

// NightOwlType is the HCL type of the data source.
const NightOwlType = "night-owl-image"
`,
		"example/build.pkr.hcl": `packer {
  required_plugins {
    night-owl = { source = "github.com/acme/night-owl", version = ">= 0.0.1" }
  }
}
source "night-owl" "a" {}
`,
		"scripts/run.sh":                "#!/bin/sh\nexec ./packer-plugin-night-owl \"$@\"\n",
		"docs/night-owl.png":            fixture["docs/quokka.png"],
		"builder/night-owl/testdata/.k": "night-owl",
		// Left alone: history, other modules' sums, this tool, ignored tools.
		"CHANGELOG.md":             fixture["CHANGELOG.md"],
		"go.sum":                   fixture["go.sum"],
		"tools/rename/notes.txt":   fixture["tools/rename/notes.txt"],
		".tools/bin/quokka-helper": fixture[".tools/bin/quokka-helper"],
	}
	for rel, content := range want {
		got, ok := tree[rel]
		if !ok {
			t.Errorf("%s is missing after the rename", rel)
			continue
		}
		if _, body, _ := strings.Cut(got, " "); body != content {
			t.Errorf("%s:\n%s\nwant:\n%s", rel, body, content)
		}
	}
	if mode := strings.Fields(tree["scripts/run.sh"])[0]; mode != "-rwxr-xr-x" {
		t.Errorf("scripts/run.sh mode = %s, want it kept executable", mode)
	}
	if _, err := os.Stat(filepath.Join(root, "builder", "quokka")); !os.IsNotExist(err) {
		t.Errorf("builder/quokka should be gone after its files moved (stat: %v)", err)
	}
	for rel := range tree {
		if strings.HasPrefix(rel, "builder/quokka/") || rel == "docs/quokka.png" {
			t.Errorf("%s was not moved", rel)
		}
	}

	// The renamed fixture still compiles and reports the new identity.
	cmd := exec.Command("go", "run", ".")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
	got, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go run in the renamed fixture: %v\n%s", err, got)
	}
	if string(got) != "acme.night-owl night-owl-image\n" {
		t.Errorf("renamed fixture prints %q", got)
	}

	// And a second rename starts from what the first one wrote.
	if out, err := runIn(t, root, "", "github.com/zoo/packer-plugin-quokka"); err != nil {
		t.Fatalf("rename back: %v\n%s", err, out)
	}
	original := t.TempDir()
	writeTree(t, original, fixture)
	if diff := diffTrees(readTree(t, original), readTree(t, root)); diff != "" {
		t.Errorf("renaming there and back changed the tree:\n%s", diff)
	}
}

func TestRunDryRun(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, fixture)
	before := readTree(t, root)
	var out bytes.Buffer
	err := run(options{dir: root, name: "night-owl", out: &out, dryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"would rename quokka -> night-owl",
		"move    builder/quokka/builder.go -> builder/night-owl/builder.go",
		"rewrite main.go",
		"nothing was changed",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("dry-run output lacks %q:\n%s", want, out.String())
		}
	}
	if diff := diffTrees(before, readTree(t, root)); diff != "" {
		t.Errorf("dry run changed the tree:\n%s", diff)
	}
}

func TestRunErrorsChangeNothing(t *testing.T) {
	for _, tc := range []struct {
		desc, name, module string
		extra              map[string]string
		wantErr            string
	}{
		{desc: "invalid name", name: "Night_Owl", wantErr: `NAME: plugin name "Night_Owl"`},
		{desc: "invalid module", module: "github.com/acme/night-owl", wantErr: `MODULE: module path "github.com/acme/night-owl" must end in /packer-plugin-NAME`},
		{desc: "same module", module: "github.com/zoo/packer-plugin-quokka", wantErr: "nothing to rename"},
		{desc: "no defaults", wantErr: "give NAME"},
		{
			desc:    "move onto an existing file",
			name:    "night-owl",
			extra:   map[string]string{"builder/night-owl/builder.go": "package nightowl\n"},
			wantErr: "cannot move builder/quokka/builder.go to builder/night-owl/builder.go: builder/night-owl/builder.go already exists",
		},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			root := t.TempDir()
			writeTree(t, root, fixture)
			writeTree(t, root, tc.extra)
			before := readTree(t, root)
			_, err := runIn(t, root, tc.name, tc.module)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error = %v, want one containing %q", err, tc.wantErr)
			}
			if diff := diffTrees(before, readTree(t, root)); diff != "" {
				t.Errorf("a failed rename changed the tree:\n%s", diff)
			}
		})
	}

	if _, err := runIn(t, t.TempDir(), "night-owl", ""); err == nil || !strings.Contains(err.Error(), "go.mod") {
		t.Errorf("without go.mod: error = %v, want one naming go.mod", err)
	}
}

// TestRenameRepositoryCopy renames a copy of this very repository and checks
// that the old name is gone everywhere but the changelog, that the copy
// builds and vets (skipped with -short: it compiles the whole plugin), and
// that renaming back restores every file byte for byte.
func TestRenameRepositoryCopy(t *testing.T) {
	repo := repoRoot(t)
	ls := exec.Command("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard")
	ls.Dir = repo
	listing, err := ls.Output()
	if err != nil {
		t.Skipf("needs a git checkout of the repository: %v", err)
	}
	gomod, err := os.ReadFile(filepath.Join(repo, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	old := mustIdentity(t, modfile.ModulePath(gomod))

	copyDir := t.TempDir()
	for _, rel := range strings.Split(string(listing), "\x00") {
		if rel != "" {
			copyFile(t, filepath.Join(repo, filepath.FromSlash(rel)), filepath.Join(copyDir, filepath.FromSlash(rel)))
		}
	}
	original := readTree(t, copyDir)

	// Not a name scripts/check-rename.sh uses: that script is renamed too.
	const newModule = "github.com/zoo-corp/packer-plugin-zebra-finch"
	if out, err := runIn(t, copyDir, "", newModule); err != nil {
		t.Fatalf("rename: %v\n%s", err, out)
	}

	oldName := regexp.MustCompile("(?i)" + regexp.QuoteMeta(old.Name))
	for rel, content := range readTree(t, copyDir) {
		if rel == "CHANGELOG.md" || strings.HasPrefix(rel, selfDir) {
			continue
		}
		if oldName.MatchString(rel) {
			t.Errorf("path %s still contains %q", rel, old.Name)
		}
		if loc := oldName.FindStringIndex(content); loc != nil {
			line := strings.Count(content[:loc[0]], "\n") + 1
			t.Errorf("%s:%d still contains %q", rel, line, content[loc[0]:loc[1]])
		}
	}

	if !testing.Short() {
		for _, args := range [][]string{{"build", "./..."}, {"vet", "./..."}} {
			cmd := exec.Command("go", args...)
			cmd.Dir = copyDir
			cmd.Env = append(os.Environ(), "GOWORK=off")
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("go %s in the renamed copy: %v\n%s", strings.Join(args, " "), err, out)
			}
		}
	}

	if out, err := runIn(t, copyDir, "", old.Module); err != nil {
		t.Fatalf("rename back: %v\n%s", err, out)
	}
	if diff := diffTrees(original, readTree(t, copyDir)); diff != "" {
		t.Errorf("renaming there and back changed the repository:\n%s", diff)
	}
}

func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	info, err := os.Lstat(from)
	if os.IsNotExist(err) {
		return // deleted in the work tree, still in the index
	}
	if err != nil {
		t.Fatal(err)
	}
	if !info.Mode().IsRegular() {
		return
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	src, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = src.Close() }()
	dst, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_EXCL, info.Mode().Perm())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		_ = dst.Close()
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
}

// diffTrees lists the paths whose presence, mode or content differ.
func diffTrees(want, got map[string]string) string {
	var b strings.Builder
	for rel, w := range want {
		g, ok := got[rel]
		switch {
		case !ok:
			b.WriteString("missing: " + rel + "\n")
		case g != w:
			b.WriteString("changed: " + rel + "\n")
		}
	}
	for rel := range got {
		if _, ok := want[rel]; !ok {
			b.WriteString("added:   " + rel + "\n")
		}
	}
	return b.String()
}
