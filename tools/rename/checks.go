package main

import (
	"bytes"
	"fmt"
	"go/parser"
	"go/token"
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

// existingWords refuses a new name that the tree already uses as a word
// (outside what the rename itself writes): a later rename from that name
// could not tell those words from the plugin's name and would rewrite
// them too ("copy" would turn io.Copy into io.NewName).
func existingWords(root string, files []string, next identity) error {
	found, err := occurrences(root, files, newReplacer(next, next))
	if err != nil {
		return err
	}
	if len(found) == 0 {
		return nil
	}
	return fmt.Errorf("the name %q already appears %d times in the tree as a word of its own, e.g.\n  %s\n"+
		"a later rename from %q could not tell those from the plugin's name and would rewrite them too: "+
		"pick a name that does not appear yet (or reword those places first)",
		next.Name, len(found), strings.Join(first(found, 5), "\n  "), next.Name)
}

func first(s []string, n int) []string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// packageClash refuses a new name whose Go package name (the name without
// dashes) is already taken where the renamed packages live: by another of
// the template's packages, by a package its files import, or by the
// standard library. The template's packages are read from the tree, not
// listed here, so the check follows the code as it moves.
func packageClash(root string, files []string, r *replacer) error {
	pkg := identLower(r.to.Name)
	declared := map[string]string{} // package name -> directory
	imported := map[string]string{} // import path -> a file importing it
	aliases := map[string]string{}  // explicit import name -> file
	for _, rel := range files {
		if !strings.HasSuffix(rel, ".go") || skipped(rel) || strings.Contains("/"+rel, "/testdata/") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), filepath.Join(root, filepath.FromSlash(rel)), nil, parser.ImportsOnly)
		if err != nil {
			continue // not ours to judge; the build will say
		}
		name := strings.TrimSuffix(f.Name.Name, "_test")
		if name != "main" && len(r.find([]byte(name))) == 0 {
			declared[name] = path.Dir(rel)
		}
		for _, imp := range f.Imports {
			p, err := strconv.Unquote(imp.Path.Value)
			if err != nil {
				continue
			}
			switch {
			case imp.Name != nil && imp.Name.Name != "_" && imp.Name.Name != ".":
				if len(r.find([]byte(imp.Name.Name))) == 0 {
					aliases[imp.Name.Name] = rel
				}
			case imp.Name == nil && p != r.from.Module && !strings.HasPrefix(p, r.from.Module+"/"):
				if _, ok := imported[p]; !ok {
					imported[p] = rel
				}
			}
		}
	}
	if dir, ok := declared[pkg]; ok {
		return fmt.Errorf("the name %q makes the Go package name %q, which is already the template's package in %s/: "+
			"files that use both would not compile; pick another name", r.to.Name, pkg, dir)
	}
	if rel, ok := aliases[pkg]; ok {
		return fmt.Errorf("the name %q makes the Go package name %q, which %s already uses as an import name: "+
			"pick another name", r.to.Name, pkg, rel)
	}
	names := importNames(root, imported)
	for p, rel := range imported {
		if names[p] == pkg {
			return fmt.Errorf("the name %q makes the Go package name %q, the name of %s, which %s imports: "+
				"pick another name", r.to.Name, pkg, p, rel)
		}
	}
	if p, ok := stdPackages(root)[pkg]; ok {
		return fmt.Errorf("the name %q makes the Go package name %q, which shadows the standard library's %s: "+
			"pick another name", r.to.Name, pkg, p)
	}
	return nil
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
