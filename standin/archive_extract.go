package standin

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// extractArchive unpacks the gzip-compressed tar read from r into the
// workspace and checks, on the same pass, that r's bytes hash to wantID.
//
// Every write goes through an os.Root, so nothing can land outside the
// workspace even through a symlink the archive planted; on top of that,
// entries that try (.. elements, absolute paths, escaping links, device
// nodes) are refused by name, and symlinks are checked once more at the end
// because a later entry can change where an earlier link points. On any
// error the workspace is emptied again.
func extractArchive(ctx context.Context, r io.Reader, workspace, wantID string) error {
	return extractArchiveWithin(ctx, r, workspace, wantID, DefaultDiskSize)
}

// DefaultDiskSize is the disk of an instance launched without a size: how
// far an image may expand when it is restored.
const DefaultDiskSize = 1 << 30

// ErrDiskFull is returned (wrapped) when an image expands past the disk of
// the instance it is restored into.
var ErrDiskFull = errors.New("image does not fit the instance's disk")

// extractArchiveWithin is extractArchive with a bound on the unpacked size
// (the tar stream, headers included): a small archive that expands without
// end (a "gzip bomb") fails once it passes diskSize bytes.
func extractArchiveWithin(ctx context.Context, r io.Reader, workspace, wantID string, diskSize int64) (err error) {
	root, err := os.OpenRoot(workspace)
	if err != nil {
		return fmt.Errorf("opening instance workspace: %w", err)
	}
	defer func() { _ = root.Close() }()
	defer func() {
		if err != nil {
			_ = removeContents(workspace)
		}
	}()

	h := sha256.New()
	raw := io.TeeReader(bufio.NewReader(r), h)
	x := &extractor{root: root, diskSize: diskSize}
	extractErr := x.run(ctx, raw)
	if extractErr == nil {
		extractErr = x.finish()
	}
	if errors.Is(extractErr, context.Canceled) || errors.Is(extractErr, context.DeadlineExceeded) {
		return extractErr
	}
	// Hash whatever the decoder left unread, so that the digest covers the
	// whole file even when extraction stopped early.
	if _, err := io.Copy(io.Discard, ctxReader{ctx, raw}); err != nil {
		return fmt.Errorf("reading image archive: %w", err)
	}
	got := "sha256:" + hex.EncodeToString(h.Sum(nil))
	if got != wantID {
		if extractErr != nil {
			return fmt.Errorf("image archive hashes to %s, not %s (%v): %w", got, wantID, extractErr, ErrChecksumMismatch)
		}
		return fmt.Errorf("image archive hashes to %s, not %s: %w", got, wantID, ErrChecksumMismatch)
	}
	return extractErr
}

type extractor struct {
	root     *os.Root
	diskSize int64
	dirModes map[string]fs.FileMode
	symlinks []string
}

func (x *extractor) run(ctx context.Context, raw io.Reader) error {
	zr, err := gzip.NewReader(raw)
	if err != nil {
		return fmt.Errorf("image archive is not gzip-compressed: %w", err)
	}
	tr := tar.NewReader(&boundedReader{r: zr, left: x.diskSize, size: x.diskSize})
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading image archive: %w", err)
		}
		if err := x.entry(ctx, hdr, tr); err != nil {
			if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
				return err
			}
			return fmt.Errorf("archive entry %q: %w", hdr.Name, err)
		}
	}
}

// cleanEntryName checks an archive path and returns it cleaned, or "" for
// the archive's root ("./").
func cleanEntryName(name string) (string, error) {
	switch {
	case name == "":
		return "", errors.New("empty path")
	case strings.HasPrefix(name, "/"):
		return "", errors.New("absolute path")
	case strings.Contains(name, `\`):
		return "", errors.New("path contains a backslash")
	}
	for _, elem := range strings.Split(name, "/") {
		if elem == ".." {
			return "", errors.New("path contains a \"..\" element")
		}
	}
	clean := path.Clean(name)
	if clean == "." {
		return "", nil
	}
	if !filepath.IsLocal(filepath.FromSlash(clean)) {
		return "", errors.New("not a local path on this system")
	}
	return clean, nil
}

func (x *extractor) entry(ctx context.Context, hdr *tar.Header, tr io.Reader) error {
	name, err := cleanEntryName(hdr.Name)
	if err != nil {
		return err
	}
	switch hdr.Typeflag {
	case tar.TypeChar, tar.TypeBlock:
		return errors.New("device nodes are not allowed in an image")
	case tar.TypeFifo:
		return errors.New("named pipes (fifos) are not allowed in an image")
	case tar.TypeDir, tar.TypeReg, tar.TypeSymlink, tar.TypeLink:
	default:
		return fmt.Errorf("entry type %q is not supported", string(hdr.Typeflag))
	}
	if name == "" {
		if hdr.Typeflag == tar.TypeDir {
			return nil
		}
		return errors.New("only a directory may stand for the archive root")
	}
	if err := x.prepare(name, hdr.Typeflag == tar.TypeDir); err != nil {
		return err
	}
	switch hdr.Typeflag {
	case tar.TypeDir:
		if err := x.root.Mkdir(name, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
		if x.dirModes == nil {
			x.dirModes = map[string]fs.FileMode{}
		}
		x.dirModes[name] = fs.FileMode(hdr.Mode).Perm()
		return nil
	case tar.TypeReg:
		return x.writeFile(ctx, name, fs.FileMode(hdr.Mode).Perm(), tr)
	case tar.TypeSymlink:
		if err := checkLinkTarget(name, hdr.Linkname); err != nil {
			return fmt.Errorf("symlink to %q: %w", hdr.Linkname, err)
		}
		x.symlinks = append(x.symlinks, name)
		return x.root.Symlink(hdr.Linkname, name)
	default: // tar.TypeLink
		target, err := cleanEntryName(hdr.Linkname)
		if err != nil || target == "" {
			return fmt.Errorf("hard link to %q: target is not a path inside the image", hdr.Linkname)
		}
		if err := x.noSymlinkParents(target); err != nil {
			return fmt.Errorf("hard link to %q: %w", hdr.Linkname, err)
		}
		fi, err := x.root.Lstat(target)
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("hard link to %q: the target does not exist (it must come earlier in the archive)", hdr.Linkname)
		}
		if err != nil {
			return fmt.Errorf("hard link to %q: %w", hdr.Linkname, err)
		}
		if !fi.Mode().IsRegular() {
			return fmt.Errorf("hard link to %q: the target is not a regular file", hdr.Linkname)
		}
		return x.root.Link(target, name)
	}
}

// prepare makes room for an entry: its parents must be real directories
// (never symlinks, so that what the entry's path says is where it lands)
// and an earlier entry of the same name is replaced, except a directory.
func (x *extractor) prepare(name string, isDir bool) error {
	if err := x.noSymlinkParents(name); err != nil {
		return err
	}
	if dir := path.Dir(name); dir != "." {
		if err := x.root.MkdirAll(dir, 0o700); err != nil {
			return err
		}
	}
	fi, err := x.root.Lstat(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	switch {
	case fi.IsDir() && isDir:
		return nil
	case fi.IsDir():
		return errors.New("it would replace a directory of the same name")
	}
	return x.root.Remove(name)
}

func (x *extractor) noSymlinkParents(name string) error {
	elems := strings.Split(name, "/")
	for i := 1; i < len(elems); i++ {
		parent := strings.Join(elems[:i], "/")
		fi, err := x.root.Lstat(parent)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			return fmt.Errorf("the path goes through the symlink %q", parent)
		}
		if !fi.IsDir() {
			return fmt.Errorf("%q is not a directory", parent)
		}
	}
	return nil
}

func (x *extractor) writeFile(ctx context.Context, name string, perm fs.FileMode, r io.Reader) error {
	f, err := x.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, ctxReader{ctx, r})
	if closeErr := f.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		return err
	}
	return x.root.Chmod(name, perm)
}

// finish checks every symlink against the final tree and then applies the
// directory modes, deepest first, so a read-only directory does not stop
// its own entries from being written.
func (x *extractor) finish() error {
	for _, name := range x.symlinks {
		target, err := x.root.Readlink(name)
		if err != nil {
			return fmt.Errorf("archive entry %q: %w", name, err)
		}
		if err := resolveInside(x.root, path.Dir(name), target); err != nil {
			return fmt.Errorf("archive entry %q: symlink to %q: %w", name, target, err)
		}
	}
	dirs := make([]string, 0, len(x.dirModes))
	for d := range x.dirModes {
		dirs = append(dirs, d)
	}
	sort.Slice(dirs, func(i, j int) bool { return len(dirs[i]) > len(dirs[j]) })
	for _, d := range dirs {
		if err := x.root.Chmod(d, x.dirModes[d]); err != nil {
			return fmt.Errorf("archive entry %q: %w", d+"/", err)
		}
	}
	return nil
}

// boundedReader fails once more than size bytes have been read.
type boundedReader struct {
	r          io.Reader
	left, size int64
}

func (b *boundedReader) Read(p []byte) (int, error) {
	if b.left < 0 {
		return 0, b.full()
	}
	if int64(len(p)) > b.left+1 {
		p = p[:b.left+1]
	}
	n, err := b.r.Read(p)
	b.left -= int64(n)
	if b.left < 0 {
		return n, b.full()
	}
	return n, err
}

func (b *boundedReader) full() error {
	return fmt.Errorf("it expands to more than %d MiB (%d bytes): %w", b.size>>20, b.size, ErrDiskFull)
}
