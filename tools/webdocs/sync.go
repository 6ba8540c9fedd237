package main

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"github.com/example/packer-plugin-scaffolding/internal/atomicfile"
)

// diff lists, sorted, the files of dir that differ from files: changed,
// missing, or present but no longer generated.
func diff(dir string, files map[string][]byte) ([]string, error) {
	existing, err := listFiles(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for rel := range existing {
		if _, ok := files[rel]; !ok {
			out = append(out, rel)
		}
	}
	for rel, want := range files {
		got, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(rel)))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		if err != nil || !bytes.Equal(got, want) {
			out = append(out, rel)
		}
	}
	sort.Strings(out)
	return out, nil
}

// sync makes dir hold exactly files: a changed or new file is written to a
// temporary name and renamed into place, a file no longer generated is
// removed with any directory it leaves empty, and an unchanged file is not
// touched. It returns what it changed.
func sync(dir string, files map[string][]byte) ([]string, error) {
	changed, err := diff(dir, files)
	if err != nil {
		return nil, err
	}
	for _, rel := range changed {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		data, keep := files[rel]
		if !keep {
			if err := os.Remove(p); err != nil {
				return nil, err
			}
			if err := removeEmptyParents(dir, filepath.Dir(p)); err != nil {
				return nil, err
			}
			continue
		}
		if err := writeFileAtomic(p, data); err != nil {
			return nil, err
		}
	}
	return changed, nil
}

// listFiles returns the regular files under dir by slash-separated relative
// path; a missing dir has none.
func listFiles(dir string) (map[string]bool, error) {
	out := map[string]bool{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == dir && errors.Is(err, fs.ErrNotExist) {
				return filepath.SkipDir
			}
			return err
		}
		if d.Type().IsRegular() {
			rel, err := filepath.Rel(dir, p)
			if err != nil {
				return err
			}
			out[filepath.ToSlash(rel)] = true
		}
		return nil
	})
	return out, err
}

// removeEmptyParents removes d and its parents up to, not including, root
// while they are empty.
func removeEmptyParents(root, d string) error {
	for d != root && len(d) > len(root) {
		entries, err := os.ReadDir(d)
		if err != nil {
			return err
		}
		if len(entries) > 0 {
			return nil
		}
		if err := os.Remove(d); err != nil {
			return err
		}
		d = filepath.Dir(d)
	}
	return nil
}

// writeFileAtomic creates p's directory and writes p atomically, so that p
// is never half-written.
func writeFileAtomic(p string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return atomicfile.WriteFile(p, data, 0o644)
}
