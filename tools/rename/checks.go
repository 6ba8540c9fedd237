package main

import (
	"bytes"
	"fmt"
	"go/parser"
	"go/token"
	"go/types"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// occurrences lists, as "file:line: word", every place where r would
// rewrite something: in the paths and in the contents of the files a rename
// edits (the same files, and in go.mod the same lines, that plan edits).
func occurrences(root string, files []string, r *replacer) ([]string, error) {
	var out []string
	for _, rel := range files {
		if skipped(rel) {
			continue
		}
		for _, m := range r.find([]byte(rel)) {
			out = append(out, fmt.Sprintf("%s: %s (in the path)", rel, rel[m.start:m.end]))
		}
		full := filepath.Join(root, filepath.FromSlash(rel))
		info, err := os.Lstat(full)
		if err != nil || !info.Mode().IsRegular() {
			continue // gone from the work tree, or not a file
		}
		data, err := os.ReadFile(full)
		if err != nil {
			return nil, err
		}
		if !isText(data) {
			continue
		}
		spans := [][2]int{{0, len(data)}}
		if rel == "go.mod" {
			spans = goModLines(data)
		}
		for _, span := range spans {
			for _, m := range r.find(data[span[0]:span[1]]) {
				at := span[0] + m.start
				line := bytes.Count(data[:at], []byte("\n")) + 1
				out = append(out, fmt.Sprintf("%s:%d: %s", rel, line, data[at:span[0]+m.end]))
			}
		}
	}
	return out, nil
}

// existingWords lists where the tree already uses the new name as a word
// (outside what the rename itself writes): a later rename from that name
// could not tell those words from the plugin's name by looking, so the
// rename records where it writes the name (see record).
func existingWords(root string, files []string, next identity) ([]string, error) {
	return occurrences(root, files, newReplacer(next, next))
}

// goPackageName decides the Go package name of the packages named after
// the plugin (builder/NAME, and any other package directory named NAME): the name without dashes,
// unless that name is taken where those packages are used; then the name
// followed by pkgSuffix (image → imageplugin). why says what took the plain
// name ("" when it is free). Taken means: a Go keyword, a predeclared
// identifier, another of the template's packages, a package its files
// import (by import path or by an explicit import name) or a standard
// library package. The template's packages and imports are read from the
// tree, not listed here, so the check follows the code as it moves.
func goPackageName(root string, files []string, r *replacer) (pkg, why string, err error) {
	c := readPackages(root, files, r)
	plain := identLower(r.to.Name)
	why = c.clash(root, plain)
	if why == "" {
		return plain, "", nil
	}
	pkg = plain + pkgSuffix
	if again := c.clash(root, pkg); again != "" {
		return "", "", fmt.Errorf("the name %q cannot make a Go package name: %q %s, and %q %s; pick another name",
			r.to.Name, plain, why, pkg, again)
	}
	return pkg, why, nil
}

// packages is what the tree's Go files declare and import, apart from the
// plugin's own packages and module.
type packages struct {
	declared map[string]string // package name -> directory
	imported map[string]string // import path -> a file importing it
	aliases  map[string]string // explicit import name -> file
}

func readPackages(root string, files []string, r *replacer) packages {
	c := packages{declared: map[string]string{}, imported: map[string]string{}, aliases: map[string]string{}}
	for _, rel := range goFiles(files) {
		f, err := parser.ParseFile(token.NewFileSet(), filepath.Join(root, filepath.FromSlash(rel)), nil, parser.ImportsOnly)
		if err != nil {
			continue // not ours to judge; the build will say
		}
		name := strings.TrimSuffix(f.Name.Name, "_test")
		if name != "main" && len(r.find([]byte(name))) == 0 {
			c.declared[name] = path.Dir(rel)
		}
		for _, imp := range f.Imports {
			p, err := strconv.Unquote(imp.Path.Value)
			if err != nil {
				continue
			}
			switch {
			case imp.Name != nil && imp.Name.Name != "_" && imp.Name.Name != ".":
				if len(r.find([]byte(imp.Name.Name))) == 0 {
					c.aliases[imp.Name.Name] = rel
				}
			case imp.Name == nil && p != r.from.Module && !strings.HasPrefix(p, r.from.Module+"/"):
				if _, ok := c.imported[p]; !ok {
					c.imported[p] = rel
				}
			}
		}
	}
	return c
}

// goFiles are the Go files a rename edits, outside test data.
func goFiles(files []string) []string {
	var out []string
	for _, rel := range files {
		if strings.HasSuffix(rel, ".go") && !skipped(rel) && !strings.Contains("/"+rel, "/testdata/") {
			out = append(out, rel)
		}
	}
	return out
}

// clash says why pkg cannot be the plugin's package name, or "" if it can.
func (c packages) clash(root, pkg string) string {
	if token.IsKeyword(pkg) {
		return "is a Go keyword"
	}
	if types.Universe.Lookup(pkg) != nil {
		return fmt.Sprintf("would shadow Go's predeclared %s", pkg)
	}
	if dir, ok := c.declared[pkg]; ok {
		return fmt.Sprintf("is already the template's package in %s/", dir)
	}
	if rel, ok := c.aliases[pkg]; ok {
		return fmt.Sprintf("is already an import name in %s", rel)
	}
	names := importNames(root, c.imported)
	imports := make([]string, 0, len(c.imported))
	for p := range c.imported {
		imports = append(imports, p)
	}
	sort.Strings(imports)
	for _, p := range imports {
		if names[p] == pkg {
			return fmt.Sprintf("is the name of %s, which %s imports", p, c.imported[p])
		}
	}
	if p, ok := stdPackages(root)[pkg]; ok {
		return fmt.Sprintf("would shadow the standard library's %s", p)
	}
	return ""
}

// currentPackage returns the Go package name the tree gives the packages
// named after the plugin of id: the name followed by pkgSuffix when a
// package of that name is declared (a rename made it so), else the name
// without dashes.
func currentPackage(root string, files []string, id identity) string {
	suffixed := identLower(id.Name) + pkgSuffix
	for _, rel := range goFiles(files) {
		f, err := parser.ParseFile(token.NewFileSet(), filepath.Join(root, filepath.FromSlash(rel)), nil, parser.PackageClauseOnly)
		if err == nil && strings.TrimSuffix(f.Name.Name, "_test") == suffixed {
			return suffixed
		}
	}
	return identLower(id.Name)
}

// importNames returns the package name of each import path, as go list
// reports it; where go list cannot tell, the path's last element is a
// good guess (without a /vN suffix or a go- prefix).
func importNames(root string, imported map[string]string) map[string]string {
	paths := make([]string, 0, len(imported))
	for p := range imported {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	names := map[string]string{}
	for _, p := range paths {
		last := path.Base(p)
		if strings.HasPrefix(last, "v") && path.Dir(p) != "." {
			if _, err := strconv.Atoi(last[1:]); err == nil {
				last = path.Base(path.Dir(p))
			}
		}
		last = strings.TrimPrefix(last, "go-")
		names[p] = strings.ReplaceAll(strings.TrimSuffix(last, ".go"), "-", "")
	}
	if len(paths) == 0 {
		return names
	}
	cmd := exec.Command("go", append([]string{"list", "-e", "-f", "{{.ImportPath}} {{.Name}}"}, paths...)...)
	cmd.Dir = root
	if out, err := cmd.Output(); err == nil {
		for _, line := range strings.Split(string(out), "\n") {
			if p, name, ok := strings.Cut(line, " "); ok && name != "" {
				names[p] = name
			}
		}
	}
	return names
}

var (
	stdOnce sync.Once
	std     map[string]string
)

// stdPackages maps the standard library's package names to one import
// path each; empty when go list is not available.
func stdPackages(root string) map[string]string {
	stdOnce.Do(func() { std = listStd(root) })
	return std
}

func listStd(root string) map[string]string {
	cmd := exec.Command("go", "list", "-e", "-f", "{{.ImportPath}} {{.Name}}", "std")
	cmd.Dir = root
	out, err := cmd.Output()
	std := map[string]string{}
	if err != nil {
		return std
	}
	for _, line := range strings.Split(string(out), "\n") {
		p, name, ok := strings.Cut(line, " ")
		if !ok || name == "main" || strings.HasPrefix(p, "vendor/") || strings.Contains("/"+p+"/", "/internal/") {
			continue
		}
		if _, seen := std[name]; !seen {
			std[name] = p
		}
	}
	return std
}
