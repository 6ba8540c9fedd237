package standin

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

var (
	errEscapes     = errors.New("it resolves to a location outside the workspace")
	errSymlinkLoop = errors.New("too many levels of symbolic links")
)

// maxSymlinkDepth matches the limit most kernels apply (Linux's ELOOP).
const maxSymlinkDepth = 40

// checkLinkTarget checks a symlink's target text without touching the
// disk: it must be relative and, read from the link's directory, must not
// climb above the root.
func checkLinkTarget(linkName, target string) error {
	switch {
	case target == "":
		return errors.New("the symlink target is empty")
	case strings.Contains(target, `\`):
		return errors.New("the symlink target contains a backslash")
	case path.IsAbs(target), filepath.IsAbs(target), filepath.VolumeName(target) != "":
		return errors.New("the symlink target is an absolute path")
	}
	joined := path.Join(path.Dir(linkName), target)
	if joined == ".." || strings.HasPrefix(joined, "../") {
		return errEscapes
	}
	return nil
}

// resolveInside follows the symlink target from the directory dir (a
// '/'-separated path inside root that has no symlinks in it) through the
// links that exist in root now, and fails if it ever leaves root. The
// textual check alone is not enough: "a/../.." is harmless text but escapes
// when a is a link to ".".
func resolveInside(root *os.Root, dir, target string) error {
	var base []string
	if dir != "." && dir != "" {
		base = strings.Split(dir, "/")
	}
	_, err := walkInside(root, base, target, 0)
	return err
}

func walkInside(root *os.Root, base []string, p string, depth int) ([]string, error) {
	cur := append([]string(nil), base...)
	for _, elem := range strings.Split(filepath.ToSlash(p), "/") {
		switch elem {
		case "", ".":
			continue
		case "..":
			if len(cur) == 0 {
				return nil, errEscapes
			}
			cur = cur[:len(cur)-1]
			continue
		}
		next := append(append([]string(nil), cur...), elem)
		name := strings.Join(next, "/")
		fi, err := root.Lstat(name)
		if err != nil || fi.Mode()&fs.ModeSymlink == 0 {
			// Missing components are taken as plain names: whatever is
			// created there later is checked when it is created.
			cur = next
			continue
		}
		if depth >= maxSymlinkDepth {
			return nil, errSymlinkLoop
		}
		target, err := root.Readlink(name)
		if err != nil {
			return nil, err
		}
		target = filepath.ToSlash(target)
		if path.IsAbs(target) || filepath.IsAbs(target) || filepath.VolumeName(target) != "" {
			return nil, errEscapes
		}
		if cur, err = walkInside(root, cur, target, depth+1); err != nil {
			return nil, err
		}
	}
	return cur, nil
}

// removeTree removes dir and everything below it. Read-only directories
// (an image may carry a 0555 directory) are made writable first, since
// otherwise their entries cannot be unlinked.
func removeTree(dir string) error {
	err := os.RemoveAll(dir)
	if err == nil {
		return nil
	}
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, walkErr error) error {
		if walkErr == nil && d.IsDir() {
			_ = os.Chmod(p, 0o700)
		} else if walkErr == nil && d.Type().IsRegular() {
			_ = os.Chmod(p, 0o600)
		}
		return nil
	})
	return os.RemoveAll(dir)
}

// removeContents empties dir but keeps it.
func removeContents(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range entries {
		if err := removeTree(filepath.Join(dir, e.Name())); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// ctxReader stops a long copy when its context ends. A read that fails
// once the context has ended (see closeOnDone) reports the context's error.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := c.r.Read(p)
	if err != nil && err != io.EOF {
		if cerr := c.ctx.Err(); cerr != nil {
			return n, cerr
		}
	}
	return n, err
}

// closeOnDone closes f when ctx ends, which wakes a read waiting on a slow
// or stalled source (a pipe, a network file system) so that a cancelled
// restore, check or copy ends at once instead of after its next chunk, or
// never. The returned function stops that; f is still closed by its owner.
func closeOnDone(ctx context.Context, f *os.File) (stop func() bool) {
	return context.AfterFunc(ctx, func() { _ = f.Close() })
}
