package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/example/packer-plugin-scaffolding/internal/gomod"
)

func TestLinkName(t *testing.T) {
	for module, want := range map[string]string{
		"github.com/acme/packer-plugin-quokka":    "packer-plugin-quokka",
		"github.com/acme/packer-plugin-quokka/v2": "packer-plugin-quokka",
		"github.com/acme/quokka":                  "packer-plugin-quokka",
		"example.com/v":                           "packer-plugin-v",
	} {
		if got := linkName(module); got != want {
			t.Errorf("linkName(%q): expected %q, found %q", module, want, got)
		}
	}
}

const testConfig = `package thing

// Config configures the thing.
type Config struct {
	// Where the thing lives.
	Store string ` + "`mapstructure:\"store\" required:\"true\"`" + `
	// How loud it is.
	Volume int ` + "`mapstructure:\"volume\"`" + `
}

// settings are parsed forms; packer-sdc documents them too, if let.
type settings struct {
	volume int
}
`

// TestRunOutsidePluginDir runs structdocs in a module whose directory is
// not named packer-plugin-*, where packer-sdc alone would loop forever: the
// partials land in the module's docs-partials, stale ones from the same
// file are replaced, other files are kept, and unexported structs get none.
func TestRunOutsidePluginDir(t *testing.T) {
	here, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	ourRoot, _, err := gomod.Find(here)
	if err != nil {
		t.Fatal(err)
	}
	// The module needs packer-sdc as a tool: reuse our go.mod and go.sum
	// under another module path.
	root := filepath.Join(t.TempDir(), "src")
	gomod, err := os.ReadFile(filepath.Join(ourRoot, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	gosum, err := os.ReadFile(filepath.Join(ourRoot, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitN(string(gomod), "\n", 2)
	if !strings.HasPrefix(lines[0], "module ") {
		t.Fatalf("go.mod does not start with its module line: %q", lines[0])
	}
	partials := filepath.Join(root, "docs-partials", "builder", "thing")
	files := map[string]string{
		"go.mod":                  "module github.com/acme/thing\n" + lines[1],
		"go.sum":                  string(gosum),
		"builder/thing/config.go": testConfig,
		"docs-partials/builder/thing/Old-required.mdx": "<!-- Code generated from the comments of the Old struct in builder/thing/config.go; DO NOT EDIT MANUALLY -->\nstale\n",
		"docs-partials/builder/thing/Other.mdx":        "<!-- Code generated from the comments of the Other struct in builder/other/config.go; DO NOT EDIT MANUALLY -->\nkept\n",
		"docs-partials/builder/thing/hand-written.mdx": "kept\n",
	}
	for rel, content := range files {
		p := filepath.Join(root, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	if err := run([]string{filepath.Join(root, "builder", "thing", "config.go")}); err != nil {
		t.Fatal(err)
	}

	entries, err := os.ReadDir(partials)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	want := "Config-not-required.mdx Config-required.mdx Config.mdx Other.mdx hand-written.mdx"
	if got := strings.Join(names, " "); got != want {
		t.Errorf("expected partials %s, found %s", want, got)
	}
	req, err := os.ReadFile(filepath.Join(partials, "Config-required.mdx"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(req), "- `store` (string) - Where the thing lives.") ||
		!strings.HasPrefix(string(req), "<!-- Code generated from the comments of the Config struct in builder/thing/config.go;") {
		t.Errorf("unexpected Config-required.mdx:\n%s", req)
	}
	// Nothing is written next to the module or in the temporary link.
	if matches, _ := filepath.Glob(filepath.Join(filepath.Dir(root), "*")); len(matches) != 1 {
		t.Errorf("expected only the module in %s, found %v", filepath.Dir(root), matches)
	}
}

func TestRunErrors(t *testing.T) {
	t.Setenv("GOFILE", "")
	if err := run(nil); err == nil || !strings.Contains(err.Error(), "no file") {
		t.Errorf("expected a missing-file error, found %v", err)
	}
	if err := run([]string{"a.go", "b.go"}); err == nil || !strings.Contains(err.Error(), "at most one file") {
		t.Errorf("expected a too-many-arguments error, found %v", err)
	}
	if err := run([]string{filepath.Join(t.TempDir(), "missing.go")}); err == nil {
		t.Error("expected an error for a missing file")
	}
}
