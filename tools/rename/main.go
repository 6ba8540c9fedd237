package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	"golang.org/x/mod/modfile"
)

// untouched are files the rename never rewrites or moves: the changelog is
// history, go.sum lists other modules only (a name like k8s or aws is in
// their paths and hashes), and the licence is a legal text.
var untouched = map[string]bool{"CHANGELOG.md": true, "go.sum": true, "LICENSE": true}

// selfDir holds this tool. It never names the plugin (it reads the name from
// go.mod), but its examples and tests use made-up names that a fork might
// pick, and a later rename must not rewrite them.
const selfDir = "tools/rename/"

// skipped reports whether the file at rel (slash-separated, relative to the
// root) is left exactly as it is.
func skipped(rel string) bool {
	return untouched[rel] || strings.HasPrefix(rel, selfDir)
}

// walkSkip are directories left out when the tree is not a git checkout
// (in a checkout, .gitignore decides).
var walkSkip = map[string]bool{".git": true, ".tools": true, ".testbin": true, "dist": true, ".packer": true, ".work": true}

type options struct {
	dir    string // repository root
	name   string // new plugin name, or ""
	module string // new module path, or ""
	dryRun bool
	force  bool   // rename despite the install problems installProblems finds
	gone   string // -leftovers: only list what still names this module's plugin
	exact  bool   // -exact: with -leftovers, only whole identities and the package name
	out    io.Writer
}

func main() {
	o := options{out: os.Stdout}
	flag.StringVar(&o.dir, "dir", ".", "root of the plugin repository (where go.mod is)")
	flag.StringVar(&o.name, "name", "", "new plugin `NAME`, e.g. mycloud (default: from MODULE or the git remote)")
	flag.StringVar(&o.module, "module", "", "new Go `MODULE` path, e.g. github.com/acme/packer-plugin-mycloud (default: from NAME and the git remote)")
	flag.BoolVar(&o.dryRun, "n", false, "print what would change, change nothing")
	flag.BoolVar(&o.force, "force", false, "rename even to a module outside github.com or to the name of an official HashiCorp plugin")
	flag.StringVar(&o.gone, "leftovers", "", "change nothing; list every place a rename from `OLD_MODULE` would still rewrite, and fail if there is one")
	flag.BoolVar(&o.exact, "exact", false, "with -leftovers, look only for the module path, address and project name, "+
		"not the bare name (for a name that is also an ordinary word of the tree, such as image)")
	flag.Usage = func() {
		_, _ = fmt.Fprintf(flag.CommandLine.Output(), "usage: go run ./tools/rename [-n] [-name NAME] [-module MODULE] [-dir DIR]\n\n"+
			"Renames the plugin everywhere: module path, imports, plugin name and address,\n"+
			"component type names, packages and directories, docs and release files.\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() > 0 {
		_, _ = fmt.Fprintf(os.Stderr, "rename: unexpected argument %q (use -name and -module)\n", flag.Arg(0))
		os.Exit(2)
	}
	if err := run(o); err != nil {
		_, _ = fmt.Fprintln(os.Stderr, "rename:", err)
		os.Exit(1)
	}
}

// change is the plan for one file: its new path and, if it changes, its new
// content.
type change struct {
	from, to string // slash-separated, relative to the root
	content  []byte // nil when the content stays
	mode     fs.FileMode
}

func run(o options) error {
	root, err := filepath.Abs(o.dir)
	if err != nil {
		return err
	}
	gomod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		return fmt.Errorf("reading the current module path: %v (run it from the plugin's repository root)", err)
	}
	modulePath := modfile.ModulePath(gomod)
	if modulePath == "" {
		return fmt.Errorf("%s has no module directive", filepath.Join(root, "go.mod"))
	}
	current, err := parseIdentity(modulePath)
	if err != nil {
		return fmt.Errorf("go.mod: %v", err)
	}
	if o.gone != "" {
		return leftovers(root, o.gone, o.exact, o.out)
	}
	next, err := resolve(current, o.name, o.module, remoteModule(gitOutput(root, "remote", "get-url", "origin")))
	if err != nil {
		return err
	}
	if next.Module == current.Module {
		return fmt.Errorf("the module is already %s (plugin %q): nothing to rename", current.Module, current.Name)
	}

	// The report is a courtesy; a closed stdout must not fail the rename.
	printf := func(format string, args ...any) { _, _ = fmt.Fprintf(o.out, format, args...) }
	refusals, warnings := installProblems(next)
	for _, w := range warnings {
		printf("warning: %s\n", w)
	}
	if len(refusals) > 0 {
		if !o.force {
			return fmt.Errorf("%s\n(-force, or FORCE=1 with make rename, renames anyway)", strings.Join(refusals, "\n"))
		}
		for _, w := range refusals {
			printf("warning (-force): %s\n", w)
		}
	}

	files, err := listFiles(root)
	if err != nil {
		return err
	}
	rec, warn, err := loadRecord(root, current)
	if err != nil {
		return err
	}
	if warn != "" {
		printf("warning: %s\n", warn)
	}
	if rec != nil {
		current.Pkg = rec.Package
	} else {
		current.Pkg = currentPackage(root, files, current)
	}
	r := newReplacer(current, next)
	pkg, why, err := goPackageName(root, files, r)
	if err != nil {
		return err
	}
	next.Pkg = pkg
	r = newReplacer(current, next)
	if why != "" {
		printf("note: the Go package name %q %s, so the packages named after the plugin are package %s "+
			"(their directories, the plugin name and the component names stay %q)\n",
			identLower(next.Name), why, next.Pkg, next.Name)
	}
	words, err := existingWords(root, files, next)
	if err != nil {
		return err
	}
	var nextRec *record
	if len(words) > 0 {
		nextRec = newRecord(next)
		printf("note: %q is already a word of the tree (%d places, e.g. %s): a later rename could not tell the "+
			"plugin's name from them, so this rename records where it writes the name in %s, and the next "+
			"rename changes only those places\n", next.Name, len(words), words[0], recordPath)
	}
	changes, lost, err := plan(root, files, r, rec, nextRec)
	if err != nil {
		return err
	}
	for _, l := range lost {
		printf("warning: a line that named the plugin when %s was written has changed since; "+
			"rename it by hand: %s\n", recordPath, l)
	}

	verb := "renaming"
	if o.dryRun {
		verb = "would rename"
	}
	printf("%s %s -> %s (module %s -> %s, address %s -> %s)\n",
		verb, current.Name, next.Name, current.Module, next.Module, current.Address, next.Address)
	rewritten, moved := 0, 0
	for _, c := range changes {
		switch {
		case c.from != c.to:
			moved++
			printf("  move    %s -> %s\n", c.from, c.to)
		case o.dryRun:
			printf("  rewrite %s\n", c.from)
		}
		if c.content != nil {
			rewritten++
		}
	}
	if o.dryRun {
		printf("%d files would be rewritten and %d moved; nothing was changed\n", rewritten, moved)
		return nil
	}
	if err := apply(root, changes); err != nil {
		return err
	}
	if nextRec != nil {
		err = nextRec.save(root)
	} else {
		err = removeRecord(root)
	}
	if err != nil {
		return fmt.Errorf("the files are renamed, but %s: %v", recordPath, err)
	}
	printf("rewrote %d files and moved %d. Next: go build ./... && make test; "+
		"review with git status, then git add -A to record the moves.\n", rewritten, moved)
	return nil
}

// leftovers reports every place in the tree where a rename from the plugin
// of oldModule would still rewrite something, and fails if there is one:
// after a rename, nothing of the old name may be left that the tool would
// recognise (other modules' paths, go.sum, LICENSE and the changelog are
// not the plugin's name and do not count). Both package names the old
// plugin may have had (image and imageplugin) count. With exact, only the
// whole identities do: for a name that is also an ordinary word of the
// tree, the bare word and the package name (the README names imageplugin)
// prove nothing.
func leftovers(root, oldModule string, exact bool, out io.Writer) error {
	old, err := parseIdentity(oldModule)
	if err != nil {
		return fmt.Errorf("-leftovers: %v", err)
	}
	old.Pkg = identLower(old.Name) + pkgSuffix
	files, err := listFiles(root)
	if err != nil {
		return err
	}
	r := newReplacer(old, old)
	r.exactOnly = exact
	found, err := occurrences(root, files, r)
	if err != nil {
		return err
	}
	for _, f := range found {
		_, _ = fmt.Fprintln(out, f)
	}
	if len(found) > 0 {
		return fmt.Errorf("%d places still name the plugin %q of %s", len(found), old.Name, old.Module)
	}
	return nil
}

// gitOutput runs git in dir and returns its trimmed stdout, or "" when git
// is missing or fails: every caller has a fallback.
func gitOutput(dir string, args ...string) string {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// listFiles lists the files to consider, slash-separated and relative to
// root: in a git checkout the tracked and not-ignored untracked ones, so
// build output and tools are left alone; elsewhere a walk of the tree.
func listFiles(root string) ([]string, error) {
	cmd := exec.Command("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard")
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if out, err := cmd.Output(); err == nil && gitOutput(root, "rev-parse", "--show-toplevel") != "" {
		var files []string
		for _, f := range strings.Split(string(out), "\x00") {
			if f != "" {
				files = append(files, f)
			}
		}
		// An unmerged path is listed once per conflict stage.
		sort.Strings(files)
		return slices.Compact(files), nil
	}
	var files []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != root && walkSkip[d.Name()] {
				return filepath.SkipDir
			}
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		files = append(files, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing files under %s: %v", root, err)
	}
	return files, nil
}

// plan works out every file's new path and content without touching the
// tree, and refuses moves that would overwrite something. With rec (the
// record of the rename that made the current name), the bare name changes
// only where rec says; lost lists recorded lines that are gone. With
// nextRec, it notes there where it writes the new name.
func plan(root string, files []string, r *replacer, rec, nextRec *record) (changes []change, lost []string, err error) {
	final := map[string]string{} // final path -> the file that ends there
	for _, rel := range files {
		full := filepath.Join(root, filepath.FromSlash(rel))
		info, err := os.Lstat(full)
		if errors.Is(err, fs.ErrNotExist) {
			continue // deleted in the work tree but still in git's index
		}
		if err != nil {
			return nil, nil, err
		}
		c := change{from: rel, to: rel, mode: info.Mode().Perm()}
		if !skipped(rel) {
			pr, cr := r, r
			if rec != nil {
				pr = r.scoped(rec.pathAllowed(rel))
			}
			var pathSpans, spans [][2]int
			c.to, pathSpans = pr.path(rel)
			var content []byte
			if info.Mode().IsRegular() {
				data, err := os.ReadFile(full)
				if err != nil {
					return nil, nil, err
				}
				if rec != nil {
					allowed, gone := rec.contentAllowed(rel, data)
					cr = r.scoped(allowed)
					lost = append(lost, gone...)
				}
				c.content, spans = cr.file(data, rel)
				content = c.content
				if content == nil {
					content = data
				}
			}
			if nextRec != nil {
				nextRec.add(c.to, pathSpans, content, spans)
			}
		}
		// A move never lands on an existing file, listed or not (an ignored
		// file, say): the tree keeps every file it had.
		if c.to != c.from {
			if _, err := os.Lstat(filepath.Join(root, filepath.FromSlash(c.to))); err == nil {
				return nil, nil, fmt.Errorf("cannot move %s to %s: %s already exists", c.from, c.to, c.to)
			}
		}
		if other, dup := final[c.to]; dup {
			return nil, nil, fmt.Errorf("%s and %s would both become %s", other, rel, c.to)
		}
		final[c.to] = rel
		if c.content != nil || c.from != c.to {
			changes = append(changes, c)
		}
	}
	return changes, lost, nil
}

// file returns the rewritten content of a file (data, at rel) and where it
// wrote the new name, or nil when it stays as it is.
func (r *replacer) file(data []byte, rel string) ([]byte, [][2]int) {
	if !isText(data) {
		return nil, nil
	}
	var next []byte
	var spans [][2]int
	switch {
	case rel == "go.mod":
		next, spans = r.goMod(data)
	case strings.HasSuffix(rel, ".go"):
		next, spans = r.goSource(data)
	default:
		next, spans = r.text(data)
	}
	if bytes.Equal(next, data) {
		return nil, nil
	}
	return next, spans
}

// isText reports whether data is UTF-8 text without NUL bytes; anything
// else (images, binaries) is moved if its name says so but never edited.
func isText(data []byte) bool {
	return bytes.IndexByte(data, 0) < 0 && utf8.Valid(data)
}

// apply writes new contents in place (each through a temporary file and a
// rename, so no file is ever half-written), then moves files and removes the
// directories the moves emptied.
func apply(root string, changes []change) error {
	done := 0
	fail := func(err error) error {
		if done == 0 {
			return err
		}
		return fmt.Errorf("%v\n(%d of %d files were already changed; `git status` shows them, "+
			"`git checkout -- . && git clean -fd` undoes them)", err, done, len(changes))
	}
	for _, c := range changes {
		if c.content == nil {
			continue
		}
		if err := writeFile(filepath.Join(root, filepath.FromSlash(c.from)), c.content, c.mode); err != nil {
			return fail(err)
		}
		done++
	}
	for _, c := range changes {
		if c.from == c.to {
			continue
		}
		from := filepath.Join(root, filepath.FromSlash(c.from))
		to := filepath.Join(root, filepath.FromSlash(c.to))
		if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
			return fail(err)
		}
		if err := os.Rename(from, to); err != nil {
			return fail(fmt.Errorf("moving %s to %s: %v", c.from, c.to, err))
		}
		done++
		removeEmptyParents(root, filepath.Dir(from))
	}
	return nil
}

// writeFile replaces name atomically. It does not use internal/atomicfile:
// this tool is never rewritten by a rename, so it must not import the
// module's own packages, whose import paths a rename changes.
func writeFile(name string, data []byte, mode fs.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".rename-*")
	if err != nil {
		return err
	}
	// Once renamed, the temporary name is gone and this removes nothing.
	defer func() { _ = os.Remove(tmp.Name()) }()
	if _, err := tmp.Write(data); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("writing %s: %v", name, err)
	}
	if err := tmp.Chmod(mode); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("writing %s: %v", name, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing %s: %v", name, err)
	}
	if err := os.Rename(tmp.Name(), name); err != nil {
		return fmt.Errorf("replacing %s: %v", name, err)
	}
	return nil
}

// removeEmptyParents removes dir and its parents up to (not including) root
// while they are empty.
func removeEmptyParents(root, dir string) {
	for dir != root && strings.HasPrefix(dir, root+string(filepath.Separator)) {
		if os.Remove(dir) != nil { // fails unless empty
			return
		}
		dir = filepath.Dir(dir)
	}
}
