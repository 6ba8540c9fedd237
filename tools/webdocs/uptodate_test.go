package main

import (
	"bytes"
	"go/token"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/example/packer-plugin-scaffolding/internal/gomod"
)

// TestWebDocsUpToDate checks that .web-docs/ is what docs/ and
// docs-partials/ compile to, so an edited page that was not regenerated
// fails here and not only in CI's diff.
func TestWebDocsUpToDate(t *testing.T) {
	root := repoRoot(t)
	_, module, err := gomod.Find(root)
	if err != nil {
		t.Fatal(err)
	}
	files, err := build(root, module, "docs", "docs-partials", "main")
	if err != nil {
		t.Fatal(err)
	}
	stale, err := diff(filepath.Join(root, ".web-docs"), files)
	if err != nil {
		t.Fatal(err)
	}
	if len(stale) > 0 {
		t.Errorf("expected .web-docs/ to match docs/, found these files out of date: %v (run `make generate`)", stale)
	}
}

var structdocsLine = regexp.MustCompile(`(?m)^//go:generate go run \S+/tools/structdocs\s*$`)

// TestPartialsUpToDate checks that docs-partials/ holds what packer-sdc
// generates from the current struct comments, for every file with a
// structdocs go:generate line, and nothing else.
func TestPartialsUpToDate(t *testing.T) {
	root := repoRoot(t)
	var sources []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if structdocsLine.Match(data) {
			rel, err := filepath.Rel(root, p)
			sources = append(sources, filepath.ToSlash(rel))
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(sources) == 0 {
		t.Fatal("no Go file has a structdocs go:generate line")
	}

	// packer-sdc writes into <project>/docs-partials, the project being the
	// nearest directory named packer-plugin-*: a copy of the sources in such
	// a directory leaves the repository alone.
	project := filepath.Join(t.TempDir(), "packer-plugin-check")
	// The tool's binary, built once: `go tool packer-sdc` per file asks the
	// go command whether it is up to date each time (0.3 s of CPU apiece).
	out, err := exec.Command("go", "tool", "-n", "packer-sdc").Output()
	if err != nil {
		t.Fatalf("go tool -n packer-sdc: %v", err)
	}
	sdc := strings.TrimSpace(string(out))
	want := map[string][]byte{}
	for _, src := range sources {
		copyPath := filepath.Join(project, filepath.FromSlash(src))
		data, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(src)))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(copyPath), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(copyPath, data, 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(sdc, "struct-markdown", copyPath)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go tool packer-sdc struct-markdown %s: %v\n%s", src, err, out)
		}
	}
	generated := filepath.Join(project, "docs-partials")
	err = filepath.WalkDir(generated, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		typ, _, err := generatedFrom(p)
		if err != nil || !token.IsExported(typ) {
			return err // structdocs removes the partials of unexported structs
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(generated, p)
		want[filepath.ToSlash(rel)] = data
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	partials := filepath.Join(root, "docs-partials")
	for rel, data := range want {
		got, err := os.ReadFile(filepath.Join(partials, filepath.FromSlash(rel)))
		if err != nil || !bytes.Equal(got, data) {
			t.Errorf("docs-partials/%s is out of date (run `make generate`)", rel)
		}
	}
	err = filepath.WalkDir(partials, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(partials, p)
		if err != nil {
			return err
		}
		if _, ok := want[filepath.ToSlash(rel)]; !ok {
			t.Errorf("docs-partials/%s is not generated from any struct (remove it, or run `make generate`)", filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// generatedFrom reads the header packer-sdc writes on the first line of a
// partial: the struct and the source file it came from.
func generatedFrom(p string) (typ, source string, err error) {
	data, err := os.ReadFile(p)
	if err != nil {
		return "", "", err
	}
	first, _, _ := strings.Cut(string(data), "\n")
	m := startRe.FindStringSubmatch(strings.TrimRight(first, "\r"))
	if m == nil {
		return "", "", nil
	}
	return m[1], path.Clean(m[2]), nil
}
