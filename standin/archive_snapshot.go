package standin

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/example/packer-plugin-scaffolding/standin/machine"
)

// snapshotTime is the modification time of every entry in a snapshot. A
// fixed time (with fixed owners, sorted entries and zstd frames cut at
// fixed offsets) makes the archive a function of the workspace content
// alone, so building the same content twice gives the same image id (with
// the same plugin build: a new zstd library may compress differently).
var snapshotTime = time.Unix(0, 0).UTC()

// snapshotLevel is the zstd level of new snapshots. On the tree of make
// bench-compare, SpeedFastest takes about 1.2x the CPU time of
// `tar | zstd -3` and writes 3% less than gzip -6; SpeedDefault (zstd's
// level 3) writes 2% less again but takes 2x the CPU time.
var snapshotLevel = zstd.SpeedFastest

// snapshotChunk is how much of the tar stream goes into one zstd frame.
// Frames are compressed in parallel, one per core, and written in order;
// since the cut points depend only on the stream, so does the archive,
// whatever the number of cores.
const snapshotChunk = 4 << 20

// writeSnapshot writes the workspace as a zstd-compressed tar to w, leaving
// out machine.HostPaths (what the instance shares with the host). It
// refuses what an image cannot hold (device nodes, sockets, fifos) and
// symlinks that point outside the workspace, since RestoreImage would
// refuse them later.
func writeSnapshot(ctx context.Context, workspace string, w io.Writer) (err error) {
	root, err := os.OpenRoot(workspace)
	if err != nil {
		return fmt.Errorf("opening instance workspace: %w", err)
	}
	defer func() { _ = root.Close() }()

	zw, err := newFrameWriter(w, snapshotLevel, runtime.GOMAXPROCS(0))
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			zw.abort()
		}
	}()
	if err := writeTar(ctx, root, zw); err != nil {
		return err
	}
	return zw.Close()
}

// writeTar writes the tree under root as a tar to w, entries sorted by
// name, with fixed times and owners.
func writeTar(ctx context.Context, root *os.Root, w io.Writer) error {
	tw := tar.NewWriter(w)

	// fs.WalkDir reads each directory sorted by name and does not follow
	// symlinks, which gives the deterministic order we need.
	err := fs.WalkDir(root.FS(), ".", func(name string, d fs.DirEntry, walkErr error) error {
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
	return tw.Close()
}

// frameWriter compresses what is written to it as a series of zstd frames
// of snapshotChunk input bytes each (any zstd reader reads them as one
// stream), up to `workers` frames at a time, and writes them to w in
// order. It holds at most 2*workers chunks in memory.
type frameWriter struct {
	w       io.Writer
	enc     *zstd.Encoder
	buf     []byte
	pending chan chan frameResult // in input order; each carries one frame
	done    chan error            // the writing goroutine's result
	free    chan []byte           // spent input buffers
	workers sync.WaitGroup
	closed  bool
}

type frameResult struct {
	data []byte
	src  []byte
}

func newFrameWriter(w io.Writer, level zstd.EncoderLevel, workers int) (*frameWriter, error) {
	workers = max(workers, 1)
	enc, err := zstd.NewWriter(nil,
		zstd.WithEncoderLevel(level),
		zstd.WithEncoderConcurrency(workers),
		zstd.WithEncoderCRC(true))
	if err != nil {
		return nil, err
	}
	fw := &frameWriter{
		w:       w,
		enc:     enc,
		pending: make(chan chan frameResult, workers),
		done:    make(chan error, 1),
		free:    make(chan []byte, workers+1),
	}
	go fw.drain()
	return fw, nil
}

// drain writes finished frames in order; after a write error it keeps
// receiving, so the producers never block, and reports the error.
func (fw *frameWriter) drain() {
	var err error
	for ch := range fw.pending {
		r := <-ch
		if err == nil {
			_, err = fw.w.Write(r.data)
		}
		select {
		case fw.free <- r.src[:0]:
		default:
		}
	}
	fw.done <- err
}

func (fw *frameWriter) Write(p []byte) (int, error) {
	if fw.closed {
		return 0, errors.New("write to a closed snapshot writer")
	}
	n := 0
	for len(p) > 0 {
		if fw.buf == nil {
			select {
			case fw.buf = <-fw.free:
			default:
				fw.buf = make([]byte, 0, snapshotChunk)
			}
		}
		k := min(len(p), snapshotChunk-len(fw.buf))
		fw.buf = append(fw.buf, p[:k]...)
		p, n = p[k:], n+k
		if len(fw.buf) == snapshotChunk {
			fw.flushChunk()
		}
	}
	return n, nil
}

// flushChunk hands the current chunk to a compressing goroutine. The send
// on pending blocks while `workers` frames are in flight, which bounds the
// memory.
func (fw *frameWriter) flushChunk() {
	src := fw.buf
	fw.buf = nil
	ch := make(chan frameResult, 1)
	fw.pending <- ch
	fw.workers.Add(1)
	go func() {
		defer fw.workers.Done()
		ch <- frameResult{data: fw.enc.EncodeAll(src, make([]byte, 0, len(src)/2)), src: src}
	}()
}

// Close compresses what is left and waits until every frame is written.
func (fw *frameWriter) Close() error {
	if fw.closed {
		return nil
	}
	if len(fw.buf) > 0 {
		fw.flushChunk()
	}
	fw.closed = true
	close(fw.pending)
	err := <-fw.done
	fw.workers.Wait()
	if cerr := fw.enc.Close(); err == nil {
		err = cerr
	}
	return err
}

// abort ends the writer after a failed snapshot: the frames in flight are
// still drained, but what they hold no longer matters.
func (fw *frameWriter) abort() {
	fw.buf = nil
	_ = fw.Close()
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
