package standin

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"time"

	"github.com/example/packer-plugin-scaffolding/standin/machine"
)

// snapshotTime is the modification time of every entry in a snapshot. A
// fixed time (with fixed owners, sorted entries and a gzip header without a
// time) makes the archive a function of the workspace content alone, so
// building the same content twice gives the same image id.
var snapshotTime = time.Unix(0, 0).UTC()

// writeSnapshot writes the workspace as a gzip-compressed tar to w, leaving
// out machine.HostPaths (what the instance shares with the host). It
// refuses what an image cannot hold (device nodes, sockets, fifos) and
// symlinks that point outside the workspace, since RestoreImage would
// refuse them later.
func writeSnapshot(ctx context.Context, workspace string, w io.Writer) error {
	root, err := os.OpenRoot(workspace)
	if err != nil {
		return fmt.Errorf("opening instance workspace: %w", err)
	}
	defer func() { _ = root.Close() }()

	zw, err := gzip.NewWriterLevel(w, gzip.DefaultCompression)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(zw)

	// fs.WalkDir reads each directory sorted by name and does not follow
	// symlinks, which gives the deterministic order we need.
	err = fs.WalkDir(root.FS(), ".", func(name string, d fs.DirEntry, walkErr error) error {
		if walkErr != nil {
			return walkErr
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if name == "." {
			return nil
		}
		// The host's system directories, /dev and /proc are mount points
		// of a running instance, not its content: an image never holds
		// them, and every launch recreates them.
		if machine.IsHostPath(name) {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		hdr := &tar.Header{
			Name:    name,
			ModTime: snapshotTime,
			Mode:    int64(info.Mode().Perm()),
		}
		switch mode := info.Mode(); {
		case mode.IsDir():
			hdr.Typeflag = tar.TypeDir
			hdr.Name += "/"
		case mode.IsRegular():
			hdr.Typeflag = tar.TypeReg
			hdr.Size = info.Size()
		case mode&fs.ModeSymlink != 0:
			target, err := root.Readlink(name)
			if err != nil {
				return err
			}
			target = filepath.ToSlash(target)
			if err := checkLinkTarget(name, target); err != nil {
				return fmt.Errorf("workspace entry %q is a symlink to %q: %w", name, target, err)
			}
			if err := resolveInside(root, path.Dir(name), target); err != nil {
				return fmt.Errorf("workspace entry %q is a symlink to %q: %w", name, target, err)
			}
			hdr.Typeflag = tar.TypeSymlink
			hdr.Linkname = target
			hdr.Mode = 0o777
		default:
			return fmt.Errorf("workspace entry %q is a %s; an image holds only regular files, directories and symlinks", name, describeMode(mode))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("archiving %q: %w", name, err)
		}
		if hdr.Typeflag == tar.TypeReg {
			return copyFileInto(ctx, tw, root, name, hdr.Size)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return zw.Close()
}

// copyFileInto copies exactly size bytes of name, the size the header
// promised: a file that changes while it is archived is an error rather
// than a corrupt archive.
func copyFileInto(ctx context.Context, w io.Writer, root *os.Root, name string, size int64) error {
	f, err := root.Open(name)
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }()
	n, err := io.Copy(w, io.LimitReader(ctxReader{ctx, f}, size))
	if err != nil {
		return fmt.Errorf("archiving %q: %w", name, err)
	}
	if n != size {
		return fmt.Errorf("archiving %q: file shrank from %d to %d bytes while it was read", name, size, n)
	}
	return nil
}

func describeMode(mode fs.FileMode) string {
	switch {
	case mode&fs.ModeCharDevice != 0:
		return "character device"
	case mode&fs.ModeDevice != 0:
		return "block device"
	case mode&fs.ModeNamedPipe != 0:
		return "named pipe (fifo)"
	case mode&fs.ModeSocket != 0:
		return "socket"
	}
	return fmt.Sprintf("file of type %v", mode.Type())
}
