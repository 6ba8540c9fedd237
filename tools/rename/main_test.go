package main

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
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
	"internal/helper/helper.go":  "// Package helper helps.\npackage helper\n",
	"LICENSE":                    "quokka law: the Licensor grants a licence.\n",
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
		// Left alone: history, other modules' sums, the licence, this tool,
		// ignored tools.
		"CHANGELOG.md":             fixture["CHANGELOG.md"],
		"LICENSE":                  fixture["LICENSE"],
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

// TestRunClashingNames: a name whose Go package name would clash (a
// keyword, a predeclared identifier, a package of the tree, an imported or
// a standard library package) gets package NAMEplugin, while the
// directories and the HCL names keep the plain name; the result compiles,
// and renaming back restores the tree byte for byte.
func TestRunClashingNames(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, pkg, why string }{
		{"copy", "copyplugin", `would shadow Go's predeclared copy`},
		{"go-to", "gotoplugin", `is a Go keyword`},
		{"helper", "helperplugin", `is already the template's package in internal/helper/`},
		{"fmt", "fmtplugin", `is the name of fmt, which main.go imports`},
		{"tar", "tarplugin", `would shadow the standard library's archive/tar`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			root := t.TempDir()
			writeTree(t, root, fixture)
			out, err := runIn(t, root, tc.name, "")
			if err != nil {
				t.Fatalf("rename: %v\n%s", err, out)
			}
			if want := fmt.Sprintf("%s, so the packages named after the plugin are package %s", tc.why, tc.pkg); !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
			builder, err := os.ReadFile(filepath.Join(root, "builder", tc.name, "builder.go"))
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{
				"// Package " + tc.pkg + " builds " + tc.name + " images.\npackage " + tc.pkg + "\n",
				`const BuilderID = "zoo.` + tc.name + `"`,
				`Type = "` + tc.name + `-image"`,
			} {
				if !strings.Contains(string(builder), want) {
					t.Errorf("builder/%s/builder.go lacks %q:\n%s", tc.name, want, builder)
				}
			}
			cmd := exec.Command("go", "run", ".")
			cmd.Dir = root
			cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
			if got, err := cmd.CombinedOutput(); err != nil || string(got) != "zoo."+tc.name+" "+tc.name+"-image\n" {
				t.Errorf("go run in the renamed fixture: %v\n%s", err, got)
			}
			// From there to another name and back: the package name follows.
			if out, err := runIn(t, root, "night-owl", ""); err != nil {
				t.Fatalf("rename to night-owl: %v\n%s", err, out)
			}
			if b, _ := os.ReadFile(filepath.Join(root, "builder", "night-owl", "builder.go")); !strings.Contains(string(b), "\npackage nightowl\n") {
				t.Errorf("after renaming %s to night-owl:\n%s", tc.name, b)
			}
			if out, err := runIn(t, root, "quokka", ""); err != nil {
				t.Fatalf("rename back: %v\n%s", err, out)
			}
			original := t.TempDir()
			writeTree(t, original, fixture)
			if diff := diffTrees(readTree(t, original), readTree(t, root)); diff != "" {
				t.Errorf("renaming to %s, night-owl and back changed the tree:\n%s", tc.name, diff)
			}
		})
	}
}

// TestRunRecordedNames: a name the tree already uses as a word (here in a
// comment and in a path) is renamed to with a record of where the rename
// wrote it; the next rename changes only those places, so the words that
// were there before stay, and the record is gone once the name is an
// unambiguous one again.
func TestRunRecordedNames(t *testing.T) {
	// tar's package would be tarplugin, which the notes name: that word
	// stays too.
	notes := map[string]string{"docs/notes.md": "A plugin named tar is package tarplugin.\n"}
	for _, name := range []string{"serves", "scripts", "helper", "tar"} {
		t.Run(name, func(t *testing.T) {
			root := t.TempDir()
			writeTree(t, root, fixture)
			writeTree(t, root, notes)
			out, err := runIn(t, root, name, "")
			if err != nil {
				t.Fatalf("rename: %v\n%s", err, out)
			}
			if want := fmt.Sprintf("note: %q is already a word of the tree", name); !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
			if _, err := os.Stat(filepath.Join(root, filepath.FromSlash(recordPath))); err != nil {
				t.Fatalf("no record after renaming to %s: %v", name, err)
			}
			// To another recorded name and on: each rename finds only what
			// the one before wrote.
			if out, err := runIn(t, root, "fmt", ""); err != nil {
				t.Fatalf("rename to fmt: %v\n%s", err, out)
			}
			if out, err := runIn(t, root, "quokka", ""); err != nil {
				t.Fatalf("rename back: %v\n%s", err, out)
			}
			original := t.TempDir()
			writeTree(t, original, fixture)
			writeTree(t, original, notes)
			if diff := diffTrees(readTree(t, original), readTree(t, root)); diff != "" {
				t.Errorf("renaming to %s, fmt and back changed the tree:\n%s", name, diff)
			}
		})
	}

	// A recorded line edited since is reported and left alone; the others
	// are renamed.
	root := t.TempDir()
	writeTree(t, root, fixture)
	if out, err := runIn(t, root, "serves", ""); err != nil {
		t.Fatalf("rename: %v\n%s", err, out)
	}
	hcl := filepath.Join(root, "example", "build.pkr.hcl")
	b, err := os.ReadFile(hcl)
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(string(b), `source "serves" "a" {}`, `source "serves" "b" {}`, 1)
	if edited == string(b) {
		t.Fatalf("example/build.pkr.hcl after the rename:\n%s", b)
	}
	if err := os.WriteFile(hcl, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := runIn(t, root, "night-owl", "")
	if err != nil {
		t.Fatalf("rename: %v\n%s", err, out)
	}
	if want := `rename it by hand: example/build.pkr.hcl:6: source "serves" "a" {}`; !strings.Contains(out, want) {
		t.Errorf("output lacks %q:\n%s", want, out)
	}
	b, _ = os.ReadFile(hcl)
	if want := "    night-owl = { source = \"github.com/zoo/night-owl\", version = \">= 0.0.1\" }\n  }\n}\nsource \"serves\" \"b\" {}\n"; !strings.HasSuffix(string(b), want) {
		t.Errorf("example/build.pkr.hcl after the rename:\n%s\nwant it to end in\n%s", b, want)
	}
	if b, _ := os.ReadFile(filepath.Join(root, "main.go")); !strings.HasPrefix(string(b), "// Command packer-plugin-night-owl serves the night-owl builder.\n") {
		t.Errorf("main.go after the rename:\n%s", b)
	}
}

// TestRunForce: -force renames despite install problems, and says what
// they are; names only possibly on the release site are warned about.
func TestRunForce(t *testing.T) {
	for _, tc := range []struct{ desc, module, want string }{
		{"official name", "github.com/acme/packer-plugin-docker", "warning (-force): \"docker\" is the name of an official HashiCorp plugin"},
		{"not on github.com", "gitlab.com/acme/packer-plugin-owl", "warning (-force): module gitlab.com/acme/packer-plugin-owl is not on github.com"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			root := t.TempDir()
			writeTree(t, root, fixture)
			var out bytes.Buffer
			if err := run(options{dir: root, module: tc.module, force: true, out: &out}); err != nil {
				t.Fatalf("rename -force: %v\n%s", err, out.String())
			}
			if !strings.Contains(out.String(), tc.want) {
				t.Errorf("output lacks %q:\n%s", tc.want, out.String())
			}
			if gomod, _ := os.ReadFile(filepath.Join(root, "go.mod")); !strings.HasPrefix(string(gomod), "module "+tc.module+"\n") {
				t.Errorf("go.mod after -force:\n%s", gomod)
			}
		})
	}
	root := t.TempDir()
	writeTree(t, root, fixture)
	out, err := runIn(t, root, "proxmox", "")
	if err != nil || !strings.Contains(out, `warning: "proxmox" is also the name of a plugin from the hashicorp organisation`) {
		t.Errorf("rename to proxmox: %v\n%s", err, out)
	}
}

// TestLeftovers: -leftovers finds what a rename would still treat as the
// old name, and nothing once the rename is done.
func TestLeftovers(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, fixture)
	var out bytes.Buffer
	err := run(options{dir: root, gone: "github.com/zoo/packer-plugin-quokka", out: &out})
	if err == nil || !strings.Contains(out.String(), "builder/quokka/builder.go: quokka (in the path)") ||
		!strings.Contains(out.String(), "main.go:1: packer-plugin-quokka") {
		t.Fatalf("-leftovers before the rename: %v\n%s", err, out.String())
	}
	if strings.Contains(out.String(), "go.sum") || strings.Contains(out.String(), "LICENSE") || strings.Contains(out.String(), "CHANGELOG") {
		t.Errorf("-leftovers counts files the rename never edits:\n%s", out.String())
	}
	if o, err := runIn(t, root, "night-owl", ""); err != nil {
		t.Fatalf("rename: %v\n%s", err, o)
	}
	out.Reset()
	if err := run(options{dir: root, gone: "github.com/zoo/packer-plugin-quokka", out: &out}); err != nil {
		t.Errorf("-leftovers after the rename: %v\n%s", err, out.String())
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
			desc:    "a package name that clashes even with the suffix",
			name:    "helper",
			extra:   map[string]string{"internal/other/other.go": "package helperplugin\n"},
			wantErr: `"helper" is already the template's package in internal/helper/, and "helperplugin" is already the template's package in internal/other/`,
		},
		{desc: "an official HashiCorp plugin", name: "docker", wantErr: "official HashiCorp plugin: packer init asks releases.hashicorp.com for packer-plugin-docker"},
		{desc: "not on github.com", module: "gitlab.com/acme/packer-plugin-owl", wantErr: "module gitlab.com/acme/packer-plugin-owl is not on github.com"},
		{
			// A listed file with the new name is refused as a word in a
			// path; one that is not listed (dist/ is build output) must not
			// be overwritten either.
			desc:    "move onto an existing file",
			name:    "dist",
			extra:   map[string]string{"builder/dist/builder.go": "package dist\n"},
			wantErr: "cannot move builder/quokka/builder.go to builder/dist/builder.go: builder/dist/builder.go already exists",
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

// renameCheckEnv turns on TestRenameRepositoryCopy, which renames and
// compiles whole copies of the repository: minutes on two cores, so it runs
// in `make check-rename` (and CI's rename job), not in every `make test`.
const renameCheckEnv = "RENAME_CHECK"

// renameCheckTests is what TestRenameRepositoryCopy runs in each renamed
// copy besides `go vet ./...` (which compiles every package and test): the
// tests that compare generated docs and names with the tree. The whole
// suite runs in the renamed copy in `make check-rename`.
var renameCheckTests = []string{"./version/...", "./tools/..."}

// TestRenameRepositoryCopy renames copies of this very repository to hard
// names: short ones that are substrings of common words (ver, law), ones
// that occur in other modules' paths (k8s, aws: go.sum is full of them),
// a dashed one and one with digits. For each it checks that
//   - no trace of the old name is left that a rename would recognise;
//   - the copy vets (compiling every package and test), builds a plugin
//     whose describe works, and passes renameCheckTests;
//   - renaming it again changes exactly the lines the first rename changed,
//     and gives the same tree as renaming the original to that name directly;
//   - renaming back restores every file byte for byte.
func TestRenameRepositoryCopy(t *testing.T) {
	if os.Getenv(renameCheckEnv) == "" {
		t.Skipf("renames and compiles copies of the repository (minutes): make check-rename runs it with %s=1", renameCheckEnv)
	}
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
	src := t.TempDir()
	for _, rel := range strings.Split(string(listing), "\x00") {
		if rel != "" {
			copyFile(t, filepath.Join(repo, filepath.FromSlash(rel)), filepath.Join(src, filepath.FromSlash(rel)))
		}
	}
	original := readTree(t, src)

	for _, tc := range []struct{ name, again string }{
		{"k8s", "acme-cloud"},
		{"aws", "k8s"},
		{"acme-cloud", "h2o"},
		{"h2o", "ver"},
		{"ver", "law"},
		// Names whose Go package clashes (the standard library's image, the
		// SDK's packer/registry/image, net/http; the harness's registry),
		// and that the tree already uses as words, renamed to and from one
		// another through the record.
		{"image", "registry"},
		{"http", "image"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			first := mustIdentity(t, "github.com/zoo-corp/packer-plugin-"+tc.name)
			second := mustIdentity(t, "github.com/zoo-corp/packer-plugin-"+tc.again)
			dir := filepath.Join(t.TempDir(), "repo")
			writeModes(t, dir, original)
			if out, err := runIn(t, dir, "", first.Module); err != nil {
				t.Fatalf("rename to %s: %v\n%s", tc.name, err, out)
			}
			var left bytes.Buffer
			if err := run(options{dir: dir, gone: old.Module, out: &left}); err != nil {
				t.Errorf("after renaming to %s: %v\n%s", tc.name, err, left.String())
			}
			renamed := readTree(t, dir)
			compiles(t, dir)

			if out, err := runIn(t, dir, "", second.Module); err != nil {
				t.Fatalf("second rename, %s to %s: %v\n%s", tc.name, tc.again, err, out)
			}
			again := readTree(t, dir)
			for _, problem := range sameEdits(original, renamed, again, newReplacer(old, first), newReplacer(old, second)) {
				t.Error(problem)
			}
			direct := filepath.Join(t.TempDir(), "repo")
			writeModes(t, direct, original)
			if out, err := runIn(t, direct, "", second.Module); err != nil {
				t.Fatalf("rename to %s: %v\n%s", tc.again, err, out)
			}
			if diff := diffTrees(readTree(t, direct), again); diff != "" {
				t.Errorf("renaming to %s then %s differs from renaming to %s directly:\n%s", tc.name, tc.again, tc.again, diff)
			}

			if out, err := runIn(t, dir, "", old.Module); err != nil {
				t.Fatalf("rename back: %v\n%s", err, out)
			}
			if diff := diffTrees(original, readTree(t, dir)); diff != "" {
				t.Errorf("renaming to %s, %s and back changed the repository:\n%s", tc.name, tc.again, diff)
			}
		})
	}

	// A fork renamed again and again: each step must give exactly the tree a
	// rename of the original gives (those trees vet, build and pass their
	// tests above), and change exactly the lines the step before changed.
	t.Run("chain", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "repo")
		writeModes(t, dir, original)
		prev, before := old, original
		for _, name := range []string{"k8s", "aws", "image", "http", "acme-cloud"} {
			next := mustIdentity(t, "github.com/zoo-corp/packer-plugin-"+name)
			if out, err := runIn(t, dir, "", next.Module); err != nil {
				t.Fatalf("rename %s to %s: %v\n%s", prev.Name, name, err, out)
			}
			after := readTree(t, dir)
			direct := filepath.Join(t.TempDir(), "repo")
			writeModes(t, direct, original)
			if out, err := runIn(t, direct, "", next.Module); err != nil {
				t.Fatalf("rename to %s: %v\n%s", name, err, out)
			}
			if diff := diffTrees(readTree(t, direct), after); diff != "" {
				t.Errorf("renaming %s to %s differs from renaming the original to %s:\n%s", prev.Name, name, name, diff)
			}
			if prev != old {
				for _, problem := range sameEdits(original, before, after, newReplacer(old, prev), newReplacer(old, next)) {
					t.Error(problem)
				}
			}
			prev, before = next, after
		}
	})
}

// compiles runs go vet, go build and renameCheckTests in a renamed copy,
// and the built plugin's describe.
func compiles(t *testing.T, dir string) {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "plugin")
	for _, args := range [][]string{
		{"go", "vet", "./..."},
		{"go", "build", "-o", bin, "."},
		{bin, "describe"},
		append([]string{"go", "test", "-short", "-count=1"}, renameCheckTests...),
	} {
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod", renameCheckEnv+"=")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("%s in the renamed copy: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// sameEdits compares two renames line by line: every file the first one
// changed (from a to b) must be changed by the second (from b to c) on
// exactly the same lines, and no other file or line may change. Paths are
// followed through both renames: toB and toC rename a's paths to b's and
// c's (from a's name, which is no word of its own, so with no record).
func sameEdits(a, b, c map[string]string, toB, toC *replacer) []string {
	var problems []string
	for pa, ca := range a {
		pb, pc := pa, pa
		if !skipped(pa) {
			pb, _ = toB.path(pa)
			pc, _ = toC.path(pa)
		}
		cb, okb := b[pb]
		cc, okc := c[pc]
		if !okb || !okc {
			problems = append(problems, fmt.Sprintf("%s: expected at %s after the first rename (%v) and %s after the second (%v)", pa, pb, okb, pc, okc))
			continue
		}
		if (pa != pb) != (pb != pc) {
			problems = append(problems, fmt.Sprintf("%s: the first rename moved it to %s, the second to %s", pa, pb, pc))
		}
		la, lb, lc := strings.Split(ca, "\n"), strings.Split(cb, "\n"), strings.Split(cc, "\n")
		if len(la) != len(lb) || len(lb) != len(lc) {
			problems = append(problems, fmt.Sprintf("%s: %d, %d and %d lines", pa, len(la), len(lb), len(lc)))
			continue
		}
		for i := range la {
			if (la[i] != lb[i]) != (lb[i] != lc[i]) {
				problems = append(problems, fmt.Sprintf("%s:%d: first rename %q -> %q, second -> %q", pc, i+1, la[i], lb[i], lc[i]))
			}
		}
		if len(problems) > 20 {
			return append(problems, "(more left out)")
		}
	}
	return problems
}

// writeModes writes a tree read by readTree (mode and content per path).
func writeModes(t *testing.T, root string, tree map[string]string) {
	t.Helper()
	for rel, v := range tree {
		modeText, content, _ := strings.Cut(v, " ")
		mode := fs.FileMode(0o644)
		if strings.Contains(modeText, "x") {
			mode = 0o755
		}
		p := filepath.Join(root, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
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
