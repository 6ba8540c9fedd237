package machine

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"

	"github.com/pkg/sftp"
	"golang.org/x/sys/unix"
)

// The plugin re-executes its own binary (/proc/self/exe) as an instance's
// init process, inside fresh namespaces. This environment variable selects
// that mode; init() below intercepts it before main (or a test binary's
// TestMain) runs, so no main package needs to know about it.
const (
	modeEnv     = "SCAFFOLDING_MACHINE_MODE"
	rootEnv     = "SCAFFOLDING_MACHINE_ROOT"
	hostnameEnv = "SCAFFOLDING_MACHINE_HOSTNAME"
	modeInit    = "init"
	modeProbe   = "probe"
	controlFD   = 3 // ExtraFiles[0]

	// fatalRefused, as the Code of opFatal, says the host refused the
	// namespaces' setup (EPERM, EACCES) rather than the root being unusable.
	fatalRefused = 1
)

func init() {
	switch os.Getenv(modeEnv) {
	case modeInit:
		os.Exit(runInit())
	case modeProbe:
		if err := setupRoot(os.Getenv(rootEnv), ""); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
}

// runInit is pid 1 of an instance: it prepares the root, reports ready, then
// starts commands the plugin asks for and reaps every process of the
// instance until the plugin closes the control socket or kills it.
func runInit() int {
	// The terminal's Ctrl-C is the plugin's to handle; the instance ends
	// when the plugin stops it (or dies: Pdeathsig).
	signal.Ignore(syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGPIPE)
	ctl, err := unixConn(os.NewFile(controlFD, "control"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "machine init:", err)
		return 1
	}
	if err := setupRoot(os.Getenv(rootEnv), os.Getenv(hostnameEnv)); err != nil {
		m := message{Op: opFatal, Err: err.Error()}
		if errors.Is(err, fs.ErrPermission) {
			// A mount or pivot_root the host refuses: Start names the
			// kernel setting, which a broken image root would not need.
			m.Code = fatalRefused
		}
		_ = send(ctl, m)
		return 1
	}
	os.Clearenv()
	if err := send(ctl, message{Op: opReady}); err != nil {
		return 1
	}
	in := &initProcess{ctl: ctl, procs: map[int]uint64{}, ids: map[uint64]int{}, started: make(chan struct{}, 1)}
	go in.reap()
	in.serve()
	return 0
}

type initProcess struct {
	ctl     *net.UnixConn
	wmu     sync.Mutex
	mu      sync.Mutex
	procs   map[int]uint64 // pid -> request id
	ids     map[uint64]int // request id -> pid
	started chan struct{}
}

func (in *initProcess) reply(m message) {
	in.wmu.Lock()
	defer in.wmu.Unlock()
	_ = send(in.ctl, m)
}

func (in *initProcess) serve() {
	buf := make([]byte, maxMessage)
	oob := make([]byte, syscall.CmsgSpace(4*4))
	for {
		m, files, err := receive(in.ctl, buf, oob)
		if err != nil {
			// The plugin is gone or closed the socket: end the instance.
			return
		}
		switch m.Op {
		case opExec:
			in.exec(m, files)
		case opSFTP:
			in.sftp(m, files)
		case opSignal:
			closeAll(files)
			in.mu.Lock()
			pid, ok := in.ids[m.ID]
			in.mu.Unlock()
			if ok {
				// Commands run in their own process group: signal all of it.
				_ = syscall.Kill(-pid, syscall.Signal(m.Signal))
			}
		default:
			closeAll(files)
		}
	}
}

func (in *initProcess) exec(m message, files []*os.File) {
	defer closeAll(files)
	if len(files) != 3 || len(m.Argv) == 0 {
		in.reply(message{Op: opStarted, ID: m.ID, Err: "exec needs argv and three descriptors"})
		return
	}
	dir := m.Dir
	if dir == "" {
		dir = "/"
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		dir = "/"
	}
	in.mu.Lock()
	p, err := os.StartProcess(m.Argv[0], m.Argv, &os.ProcAttr{
		Dir:   dir,
		Env:   m.Env,
		Files: files,
		Sys:   &syscall.SysProcAttr{Setpgid: true},
	})
	if err != nil {
		in.mu.Unlock()
		in.reply(message{Op: opStarted, ID: m.ID, Err: err.Error()})
		return
	}
	in.procs[p.Pid] = m.ID
	in.ids[m.ID] = p.Pid
	// "started" must reach the plugin before "exit": the plugin forgets a
	// call once it has exited, so an exit first would leave its request
	// waiting forever. The reaper needs in.mu to report this pid, so
	// replying before unlocking keeps the order even for a command that
	// ends at once.
	in.reply(message{Op: opStarted, ID: m.ID})
	in.mu.Unlock()
	// The reaper collects exit statuses with wait4(-1); the handle is not needed.
	_ = p.Release()
	select {
	case in.started <- struct{}{}:
	default:
	}
}

func (in *initProcess) sftp(m message, files []*os.File) {
	if len(files) != 1 {
		closeAll(files)
		in.reply(message{Op: opStarted, ID: m.ID, Err: "sftp needs one descriptor"})
		return
	}
	conn := files[0]
	srv, err := sftp.NewServer(conn)
	if err != nil {
		_ = conn.Close()
		in.reply(message{Op: opStarted, ID: m.ID, Err: err.Error()})
		return
	}
	in.reply(message{Op: opStarted, ID: m.ID})
	go func() {
		code := 0
		if err := srv.Serve(); err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, os.ErrClosed) {
			code = 1
		}
		_ = srv.Close()
		in.reply(message{Op: opExit, ID: m.ID, Code: code})
	}()
}

// reap waits for every child of pid 1 (commands and the orphans they leave)
// and reports the ones the plugin started.
func (in *initProcess) reap() {
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, 0, nil)
		if err == syscall.EINTR {
			continue
		}
		if err != nil { // ECHILD: nothing to wait for until the next start
			<-in.started
			continue
		}
		in.mu.Lock()
		id, ok := in.procs[pid]
		if ok {
			delete(in.procs, pid)
			delete(in.ids, id)
		}
		in.mu.Unlock()
		if !ok {
			continue
		}
		m := message{Op: opExit, ID: id}
		if ws.Signaled() {
			m.Signal = int(ws.Signal())
		} else {
			m.Code = ws.ExitStatus()
		}
		in.reply(m)
	}
}

// setupRoot turns root into the root of this (fresh) mount namespace: the
// host's system directories bound read-only, a minimal /dev, a fresh /proc,
// the instance's own directories, then pivot_root into it.
func setupRoot(root, hostname string) error {
	if root == "" || !filepath.IsAbs(root) {
		return fmt.Errorf("instance root %q is not an absolute path", root)
	}
	syscall.Umask(0o022)
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("making mounts private: %w", err)
	}
	if err := unix.Mount(root, root, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("binding instance root %s: %w", root, err)
	}
	for _, p := range systemPaths {
		if err := bindSystemPath(root, p); err != nil {
			return err
		}
	}
	if err := setupDev(root); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(root, "proc"), 0o555); err != nil {
		return err
	}
	if err := unix.Mount("proc", filepath.Join(root, "proc"), "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return fmt.Errorf("mounting /proc: %w", err)
	}
	for _, d := range ownPaths {
		dst := filepath.Join(root, d.path)
		fi, err := os.Lstat(dst)
		if errors.Is(err, fs.ErrNotExist) {
			if err := os.Mkdir(dst, fs.FileMode(d.mode&0o777)); err != nil {
				return err
			}
		}
		// Images keep permission bits only: /tmp gets its sticky bit back
		// at every start.
		if d.mode&0o1000 != 0 && (err != nil || fi.IsDir()) {
			if err := os.Chmod(dst, fs.FileMode(d.mode&0o777)|fs.ModeSticky); err != nil {
				return err
			}
		}
	}
	if err := writeIfMissing(filepath.Join(root, "etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n"); err != nil {
		return err
	}
	if err := writeIfMissing(filepath.Join(root, "etc/group"), "root:x:0:\n"); err != nil {
		return err
	}
	if hostname != "" {
		if err := unix.Sethostname([]byte(hostname)); err != nil {
			return fmt.Errorf("setting host name: %w", err)
		}
	}
	// pivot_root(".", ".") stacks the old root on the new one; detaching it
	// leaves nothing of the host but what was bound in above.
	if err := unix.Chdir(root); err != nil {
		return err
	}
	if err := unix.PivotRoot(".", "."); err != nil {
		return fmt.Errorf("pivot_root into %s: %w", root, err)
	}
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return fmt.Errorf("detaching the host's root: %w", err)
	}
	return unix.Chdir("/")
}

// bindSystemPath makes the host's path p visible read-only at root/p. Where
// the host has merged /usr (/bin -> usr/bin), the instance gets the same
// symlink, so both spellings work.
func bindSystemPath(root, p string) error {
	fi, err := os.Lstat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	dst := filepath.Join(root, p)
	if fi.Mode()&fs.ModeSymlink != 0 {
		target, err := os.Readlink(p)
		if err != nil {
			return err
		}
		have, err := os.Lstat(dst)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return err
		case have.Mode()&fs.ModeSymlink != 0:
			if t, _ := os.Readlink(dst); t == target {
				return nil
			}
			if err := os.Remove(dst); err != nil {
				return err
			}
		case have.IsDir():
			// An empty mount point left by a host without merged /usr.
			if err := os.Remove(dst); err != nil {
				return fmt.Errorf("instance path %s is a non-empty directory where the host has a symlink: %w", p, err)
			}
		default:
			return fmt.Errorf("instance path %s is a file where the host has a system directory", p)
		}
		return os.Symlink(target, dst)
	}
	if !fi.IsDir() {
		return nil
	}
	if have, err := os.Lstat(dst); err == nil && !have.IsDir() {
		if err := os.Remove(dst); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	if err := unix.Mount(p, dst, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("binding host %s: %w", p, err)
	}
	// A bind mount inherits the source's flags; a remount in a user
	// namespace may add read-only but must keep the flags the kernel locked
	// (nosuid, nodev, noexec, atime), or it fails with EPERM.
	var st unix.Statfs_t
	if err := unix.Statfs(dst, &st); err != nil {
		return err
	}
	flags := uintptr(unix.MS_BIND | unix.MS_REMOUNT | unix.MS_RDONLY)
	for _, f := range []struct{ st, ms uintptr }{
		{unix.ST_NOSUID, unix.MS_NOSUID}, {unix.ST_NODEV, unix.MS_NODEV}, {unix.ST_NOEXEC, unix.MS_NOEXEC},
		{unix.ST_NOATIME, unix.MS_NOATIME}, {unix.ST_NODIRATIME, unix.MS_NODIRATIME}, {unix.ST_RELATIME, unix.MS_RELATIME},
	} {
		if uintptr(st.Flags)&f.st != 0 {
			flags |= f.ms
		}
	}
	if err := unix.Mount("", dst, "", flags, ""); err != nil {
		return fmt.Errorf("making %s read-only: %w", p, err)
	}
	return nil
}

func setupDev(root string) error {
	dev := filepath.Join(root, "dev")
	if err := os.MkdirAll(dev, 0o755); err != nil {
		return err
	}
	if err := unix.Mount("tmpfs", dev, "tmpfs", unix.MS_NOSUID|unix.MS_NOEXEC, "mode=755,size=1m"); err != nil {
		return fmt.Errorf("mounting /dev: %w", err)
	}
	for _, n := range []string{"null", "zero", "full", "random", "urandom", "tty"} {
		src := "/dev/" + n
		if _, err := os.Stat(src); err != nil {
			continue
		}
		dst := filepath.Join(dev, n)
		if err := os.WriteFile(dst, nil, 0o666); err != nil {
			return err
		}
		if err := unix.Mount(src, dst, "", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("binding %s: %w", src, err)
		}
	}
	for name, target := range map[string]string{
		"fd": "/proc/self/fd", "stdin": "/proc/self/fd/0", "stdout": "/proc/self/fd/1", "stderr": "/proc/self/fd/2",
	} {
		if err := os.Symlink(target, filepath.Join(dev, name)); err != nil {
			return err
		}
	}
	for _, d := range []string{"shm", "pts"} {
		if err := os.Mkdir(filepath.Join(dev, d), 0o755); err != nil {
			return err
		}
	}
	return os.Chmod(filepath.Join(dev, "shm"), 0o777|fs.ModeSticky)
}

func writeIfMissing(path, content string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if _, err := f.WriteString(content); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}
