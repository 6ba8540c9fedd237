package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/example/packer-plugin-scaffolding/internal/gomod"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "webdocs:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("webdocs", flag.ContinueOnError)
	docs := fs.String("docs", "docs", "directory of the doc sources, relative to the module root")
	partials := fs.String("partials", "docs-partials", "directory of the generated partials, relative to the module root")
	out := fs.String("out", ".web-docs", "output directory, relative to the module root")
	ref := fs.String("ref", "main", "branch that links to repository files point at")
	check := fs.Bool("check", false, "write nothing; fail if the output directory is out of date")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	wd, err := os.Getwd()
	if err != nil {
		return err
	}
	root, module, err := gomod.Find(wd)
	if err != nil {
		return err
	}

	files, err := build(root, module, *docs, *partials, *ref)
	if err != nil {
		return err
	}
	outDir := filepath.Join(root, *out)
	if *check {
		stale, err := diff(outDir, files)
		if err != nil {
			return err
		}
		if len(stale) > 0 {
			return fmt.Errorf("%s is out of date (run `make generate`): %s", *out, strings.Join(stale, ", "))
		}
		return nil
	}
	changed, err := sync(outDir, files)
	if err != nil {
		return err
	}
	for _, c := range changed {
		if _, err := fmt.Fprintf(stdout, "%s/%s\n", filepath.ToSlash(*out), c); err != nil {
			return err
		}
	}
	return nil
}

// build renders the docs with packer-sdc into a temporary directory and
// compiles them into the files of .web-docs/.
func build(root, module, docs, partials, ref string) (map[string][]byte, error) {
	tmp, err := os.MkdirTemp("", "webdocs-")
	if err != nil {
		return nil, err
	}
	defer func() { _ = os.RemoveAll(tmp) }()
	rendered := filepath.Join(tmp, "rendered")
	if err := renderDocs(root, docs, partials, rendered); err != nil {
		return nil, err
	}
	repo, err := repoURL(module)
	if err != nil {
		return nil, err
	}
	return compile(os.DirFS(rendered), options{
		DocsDir:    filepath.ToSlash(filepath.Clean(docs)),
		RepoURL:    repo,
		Identifier: identifierFor(module),
		Ref:        ref,
		Exists: func(rel string) (bool, bool) {
			fi, err := os.Stat(filepath.Join(root, filepath.FromSlash(rel)))
			if err != nil {
				return false, false
			}
			return true, fi.IsDir()
		},
	})
}

// renderDocs runs `packer-sdc renderdocs`, which copies src to dst and
// replaces every include line with the partial it names.
func renderDocs(root, src, partials, dst string) error {
	cmd := exec.Command("go", "tool", "packer-sdc", "renderdocs",
		"-src", filepath.Join(root, src),
		"-partials", filepath.Join(root, partials),
		"-dst", dst)
	cmd.Dir = root
	var output bytes.Buffer
	cmd.Stdout = &output
	cmd.Stderr = &output
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go tool packer-sdc renderdocs -src %s -partials %s: %w\n%s", src, partials, err, output.String())
	}
	return nil
}

// repoURL turns a module path on github.com into the repository's web
// address.
func repoURL(module string) (string, error) {
	parts := strings.Split(module, "/")
	if len(parts) < 3 || parts[0] != "github.com" {
		return "", fmt.Errorf("module %s: want github.com/ORG/REPO, the repository that links in the portal pages point at", module)
	}
	return "https://" + strings.Join(parts[:3], "/"), nil
}
