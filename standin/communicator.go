package standin

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
)

// Communicator is the "workspace" communicator: it reaches an instance by
// working directly in its workspace on this machine, the way the docker
// builder's communicator works through `docker exec` and `docker cp`.
//
// Remote paths are read inside the workspace: "/etc/motd" is
// <Workspace>/etc/motd, and a relative path is relative to the workspace.
// A path that climbs out with ".." is refused, and so is one that leaves
// through a symlink, because every file operation goes through an os.Root.
//
// Commands run on this machine with `sh -c` (`cmd /C` on Windows) in the
// workspace, with SCAFFOLDING_WORKSPACE set to it. They are not confined:
// the workspace stands in for a machine, it is not a sandbox.
type Communicator struct {
	// Workspace is the instance's root directory.
	Workspace string
	// Env is added to the environment of every command, as "KEY=value".
	Env []string
}

var _ packersdk.Communicator = (*Communicator)(nil)

// waitDelay is how long a command's output pipes may stay open after it was
// killed (a background child can hold them) before they are closed.
const waitDelay = 5 * time.Second

// remoteRel turns a remote path into a '/'-separated path relative to the
// workspace, "." for the workspace itself.
func remoteRel(remote string) (string, error) {
	p := remote
	if runtime.GOOS == "windows" {
		p = filepath.ToSlash(p)
		if filepath.VolumeName(p) != "" {
			return "", fmt.Errorf("remote path %q names a drive; paths are relative to the workspace", remote)
		}
	}
	if p == "" {
		return "", errors.New("remote path is empty")
	}
	var stack []string
	for _, elem := range strings.Split(p, "/") {
		switch elem {
		case "", ".":
		case "..":
			if len(stack) == 0 {
				return "", fmt.Errorf("remote path %q escapes the workspace", remote)
			}
			stack = stack[:len(stack)-1]
		default:
			stack = append(stack, elem)
		}
	}
	if len(stack) == 0 {
		return ".", nil
	}
	return strings.Join(stack, "/"), nil
}

func (c *Communicator) root() (*os.Root, error) {
	r, err := os.OpenRoot(c.Workspace)
	if err != nil {
		return nil, fmt.Errorf("opening workspace: %w", err)
	}
	return r, nil
}

// Start runs the command in the workspace and returns once it has started;
// the command's exit status is set on cmd when it ends. Cancelling ctx kills
// the command and the processes it started.
func (c *Communicator) Start(ctx context.Context, cmd *packersdk.RemoteCmd) error {
	ec := shellCommand(ctx, cmd.Command)
	ec.Dir = c.Workspace
	ec.Env = append(append(os.Environ(), "SCAFFOLDING_WORKSPACE="+c.Workspace), c.Env...)
	ec.Stdin = cmd.Stdin
	ec.Stdout = cmd.Stdout
	ec.Stderr = cmd.Stderr
	ec.WaitDelay = waitDelay
	log.Printf("[INFO] workspace %s: running %q", c.Workspace, cmd.Command)
	if err := ec.Start(); err != nil {
		return fmt.Errorf("starting %q in the workspace: %w", cmd.Command, err)
	}
	go func() {
		err := ec.Wait()
		status := 0
		if ec.ProcessState != nil {
			status = ec.ProcessState.ExitCode()
		} else if err != nil {
			status = 1
		}
		if err != nil {
			log.Printf("[INFO] workspace command %q ended: %v", cmd.Command, err)
		}
		cmd.SetExited(status)
	}()
	return nil
}

// Upload writes the content of r to the remote path, creating parent
// directories. The file appears complete or not at all.
func (c *Communicator) Upload(dst string, r io.Reader, fi *os.FileInfo) error {
	rel, err := remoteRel(dst)
	if err != nil {
		return err
	}
	if rel == "." {
		return fmt.Errorf("remote path %q is the workspace itself, not a file", dst)
	}
	root, err := c.root()
	if err != nil {
		return err
	}
	defer func() { _ = root.Close() }()
	perm := fs.FileMode(0o644)
	if fi != nil && *fi != nil {
		perm = (*fi).Mode().Perm()
	}
	if err := writeInRoot(root, rel, r, perm); err != nil {
		return fmt.Errorf("uploading to %q: %w", dst, err)
	}
	return nil
}

// writeInRoot writes a file under a temporary name and renames it into
// place.
func writeInRoot(root *os.Root, rel string, r io.Reader, perm fs.FileMode) (err error) {
	dir := path.Dir(rel)
	if dir != "." {
		if err := root.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		return err
	}
	tmp := path.Join(dir, "."+path.Base(rel)+".upload-"+hex.EncodeToString(b[:]))
	f, err := root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = root.Remove(tmp)
		}
	}()
	if _, err = io.Copy(f, r); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = root.Chmod(tmp, perm); err != nil {
		return err
	}
	return root.Rename(tmp, rel)
}

// UploadDir copies the local directory src into the remote directory dst,
// with rsync's rule: "src/" copies its content, "src" the directory itself.
// exclude holds globs matched against paths relative to src and against
// base names. Symlinks to files are copied as files.
func (c *Communicator) UploadDir(dst string, src string, exclude []string) error {
	rel, err := remoteRel(dst)
	if err != nil {
		return err
	}
	root, err := c.root()
	if err != nil {
		return err
	}
	defer func() { _ = root.Close() }()
	if !strings.HasSuffix(src, "/") && !strings.HasSuffix(src, string(os.PathSeparator)) {
		rel = path.Join(rel, filepath.Base(src))
	}
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, walkErr error) error {
		if walkErr != nil {
			return walkErr
		}
		sub, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		sub = filepath.ToSlash(sub)
		if sub != "." && excluded(sub, exclude) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		target := path.Join(rel, sub)
		info, err := os.Stat(p) // follows symlinks, on purpose
		if err != nil {
			return err
		}
		switch {
		case info.IsDir() && d.Type()&fs.ModeSymlink != 0:
			log.Printf("[WARN] UploadDir: skipping %s, a symlink to a directory", p)
			return nil
		case info.IsDir():
			if target == "." {
				return nil
			}
			if err := root.MkdirAll(target, 0o755); err != nil {
				return fmt.Errorf("uploading %s to %q: %w", p, path.Join(dst, sub), err)
			}
			return nil
		case info.Mode().IsRegular():
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			defer func() { _ = f.Close() }()
			if err := writeInRoot(root, target, f, info.Mode().Perm()); err != nil {
				return fmt.Errorf("uploading %s to %q: %w", p, path.Join(dst, sub), err)
			}
			return nil
		}
		log.Printf("[WARN] UploadDir: skipping %s, which is a %s", p, describeMode(info.Mode()))
		return nil
	})
}

func excluded(rel string, patterns []string) bool {
	for _, pat := range patterns {
		if ok, _ := path.Match(pat, rel); ok {
			return true
		}
		if ok, _ := path.Match(pat, path.Base(rel)); ok {
			return true
		}
	}
	return false
}

// Download writes the content of the remote file src to w.
func (c *Communicator) Download(src string, w io.Writer) error {
	rel, err := remoteRel(src)
	if err != nil {
		return err
	}
	root, err := c.root()
	if err != nil {
		return err
	}
	defer func() { _ = root.Close() }()
	f, err := root.Open(rel)
	if err != nil {
		return fmt.Errorf("downloading %q: %w", src, err)
	}
	defer func() { _ = f.Close() }()
	if fi, err := f.Stat(); err == nil && fi.IsDir() {
		return fmt.Errorf("downloading %q: it is a directory", src)
	}
	if _, err := io.Copy(w, f); err != nil {
		return fmt.Errorf("downloading %q: %w", src, err)
	}
	return nil
}

// DownloadDir copies the remote directory src to the local directory dst,
// with the same rules as UploadDir. A glob in src (as the file provisioner
// sends for "dir/*") copies every match into dst.
func (c *Communicator) DownloadDir(src string, dst string, exclude []string) error {
	rel, err := remoteRel(src)
	if err != nil {
		return err
	}
	root, err := c.root()
	if err != nil {
		return err
	}
	defer func() { _ = root.Close() }()
	fsys := root.FS()
	if strings.ContainsAny(rel, "*?[") {
		matches, err := fs.Glob(fsys, rel)
		if err != nil {
			return fmt.Errorf("downloading %q: %w", src, err)
		}
		for _, m := range matches {
			if err := copyOut(fsys, m, filepath.Join(dst, path.Base(m)), exclude); err != nil {
				return err
			}
		}
		return nil
	}
	target := dst
	if !strings.HasSuffix(src, "/") && rel != "." {
		target = filepath.Join(dst, path.Base(rel))
	}
	return copyOut(fsys, rel, target, exclude)
}

// copyOut copies the file or tree rel of fsys to the local path dst.
func copyOut(fsys fs.FS, rel, dst string, exclude []string) error {
	return fs.WalkDir(fsys, rel, func(p string, d fs.DirEntry, walkErr error) error {
		if walkErr != nil {
			return walkErr
		}
		sub := strings.TrimPrefix(strings.TrimPrefix(p, rel), "/")
		if rel == "." {
			sub = p
		}
		if sub != "" && sub != "." && excluded(sub, exclude) {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		local := filepath.Join(dst, filepath.FromSlash(sub))
		info, err := fs.Stat(fsys, p) // follows symlinks inside the workspace only
		if err != nil {
			return fmt.Errorf("downloading %q: %w", p, err)
		}
		switch {
		case info.IsDir() && d.Type()&fs.ModeSymlink != 0:
			log.Printf("[WARN] DownloadDir: skipping %s, a symlink to a directory", p)
			return nil
		case info.IsDir():
			return os.MkdirAll(local, 0o755)
		case info.Mode().IsRegular():
			return copyFileOut(fsys, p, local, info.Mode().Perm())
		}
		log.Printf("[WARN] DownloadDir: skipping %s, which is a %s", p, describeMode(info.Mode()))
		return nil
	})
}

func copyFileOut(fsys fs.FS, p, local string, perm fs.FileMode) (err error) {
	in, err := fsys.Open(p)
	if err != nil {
		return err
	}
	defer func() { _ = in.Close() }()
	if err := os.MkdirAll(filepath.Dir(local), 0o755); err != nil {
		return err
	}
	out, err := os.CreateTemp(filepath.Dir(local), "."+filepath.Base(local)+".download-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = out.Close()
			_ = os.Remove(out.Name())
		}
	}()
	if _, err = io.Copy(out, in); err != nil {
		return err
	}
	if err = out.Close(); err != nil {
		return err
	}
	if err = os.Chmod(out.Name(), perm); err != nil {
		return err
	}
	return os.Rename(out.Name(), local)
}
