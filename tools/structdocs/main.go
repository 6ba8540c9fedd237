package main

import (
	"bufio"
	"errors"
	"fmt"
	"go/token"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/example/packer-plugin-scaffolding/internal/gomod"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "structdocs:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	var file string
	switch len(args) {
	case 0:
		file = os.Getenv("GOFILE")
		if file == "" {
			return errors.New("no file: run from a go:generate line or pass the file as the only argument")
		}
	case 1:
		file = args[0]
	default:
		return fmt.Errorf("unexpected arguments %q: want at most one file", args[1:])
	}
	abs, err := filepath.Abs(file)
	if err != nil {
		return err
	}
	if _, err := os.Stat(abs); err != nil {
		return err
	}
	root, module, err := gomod.Find(filepath.Dir(abs))
	if err != nil {
		return err
	}
	rel, err := filepath.Rel(root, abs)
	if err != nil {
		return err
	}
	rel = filepath.ToSlash(rel)
	partials := filepath.Join(root, "docs-partials", filepath.FromSlash(path.Dir(rel)))

	if err := removePartials(partials, rel, func(string) bool { return true }); err != nil {
		return err
	}

	tmp, err := os.MkdirTemp("", "structdocs-")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(tmp) }()
	link := filepath.Join(tmp, linkName(module))
	if err := os.Symlink(root, link); err != nil {
		return fmt.Errorf("linking %s as %s for packer-sdc: %w", root, link, err)
	}

	cmd := exec.Command("go", "tool", "packer-sdc", "struct-markdown", filepath.Join(link, filepath.FromSlash(rel)))
	cmd.Dir = root
	cmd.Stdout = os.Stdout
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go tool packer-sdc struct-markdown %s: %w", rel, err)
	}

	return removePartials(partials, rel, func(typ string) bool { return !token.IsExported(typ) })
}

// linkName is the name packer-sdc must see as the project root: the
// module's own last element when it already has the prefix.
func linkName(module string) string {
	base := path.Base(module)
	if strings.HasPrefix(base, "v") && strings.Trim(base[1:], "0123456789") == "" && base != "v" {
		base = path.Base(path.Dir(module)) // a /vN major version suffix
	}
	if strings.HasPrefix(base, "packer-plugin-") {
		return base
	}
	return "packer-plugin-" + base
}

// generatedRe matches the first line packer-sdc writes in every partial and
// captures the struct name and the source file.
var generatedRe = regexp.MustCompile(`^<!-- Code generated from the comments of the (\S+) struct in (\S+); DO NOT EDIT MANUALLY -->$`)

// removePartials deletes the .mdx files in dir that packer-sdc generated
// from source for a struct that drop selects. Files it did not generate are
// left alone.
func removePartials(dir, source string, drop func(typ string) bool) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".mdx") {
			continue
		}
		p := filepath.Join(dir, e.Name())
		typ, src, err := generatedFrom(p)
		if err != nil {
			return err
		}
		if src == source && drop(typ) {
			if err := os.Remove(p); err != nil {
				return err
			}
		}
	}
	return nil
}

// generatedFrom reads the header of a partial; both results are empty when
// packer-sdc did not write it.
func generatedFrom(p string) (typ, source string, err error) {
	f, err := os.Open(p)
	if err != nil {
		return "", "", err
	}
	defer func() { _ = f.Close() }() // read-only
	line, err := bufio.NewReader(f).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", "", fmt.Errorf("%s: %w", p, err)
	}
	m := generatedRe.FindStringSubmatch(strings.TrimRight(line, "\r\n"))
	if m == nil {
		return "", "", nil
	}
	return m[1], m[2], nil
}
