package machine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/crypto/ssh"
)

// Machine is a running instance: its init process (pid 1 of its own pid
// namespace, so every process of the instance dies with it) and its SSH
// server on 127.0.0.1.
type Machine struct {
	opts   Options
	init   *exec.Cmd
	ctl    *net.UnixConn
	wmu    sync.Mutex // serialises writes to ctl
	mu     sync.Mutex
	nextID uint64
	calls  map[uint64]*call
	exited chan struct{} // closed when init has been waited for
	srv    *server

	stopOnce sync.Once
	stopErr  error
}

// call is one command (or SFTP server) running in the instance.
type call struct {
	started chan message // opStarted
	exit    chan message // opExit
}

var (
	supportedOnce sync.Once
	supportedErr  error
)

// Supported reports whether this host can run instances: nil, or one error
// naming the reason (and the setting to change). The answer comes from
// actually creating the namespaces once, and is cached. Start does not ask
// it: a probe is one more process as costly as an instance's init, and
// Start's own failure names the same setting.
func Supported() error {
	supportedOnce.Do(func() { supportedErr = probe() })
	return supportedErr
}

func probe() error {
	dir, err := os.MkdirTemp("", "machine-probe-")
	if err != nil {
		return fmt.Errorf("instances: cannot make a probe directory: %w", err)
	}
	defer func() { _ = os.RemoveAll(dir) }()
	exe, err := selfExe()
	if err != nil {
		return err
	}
	cmd := exec.Command(exe)
	cmd.Env = []string{modeEnv + "=" + modeProbe, rootEnv + "=" + dir}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = err.Error()
		}
		return fmt.Errorf("instances need unprivileged user namespaces, which this host refuses (%s)%s", msg, diagnose())
	}
	return nil
}

// diagnose names the kernel setting most likely to be in the way.
func diagnose() string {
	return diagnoseWith(func(p string) string {
		b, err := os.ReadFile(p)
		if err != nil {
			return ""
		}
		return strings.TrimSpace(string(b))
	}, os.Getuid())
}

// diagnoseWith is diagnose with the sysctl reader and uid given, for tests.
func diagnoseWith(read func(path string) string, uid int) string {
	switch {
	case read("/proc/sys/user/max_user_namespaces") == "0":
		return ": user.max_user_namespaces is 0; enable them with `sudo sysctl -w user.max_user_namespaces=15000`"
	case read("/proc/sys/kernel/unprivileged_userns_clone") == "0" && uid != 0:
		return ": kernel.unprivileged_userns_clone is 0; enable them with `sudo sysctl -w kernel.unprivileged_userns_clone=1`"
	case read("/proc/sys/kernel/apparmor_restrict_unprivileged_userns") == "1" && uid != 0:
		return ": AppArmor restricts unprivileged user namespaces (Ubuntu 23.10+); allow them with `sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0`"
	}
	return ": in a container, run it with a seccomp profile that allows unshare/clone of user namespaces (docker --security-opt seccomp=unconfined) or use a VM"
}

func selfExe() (string, error) {
	// /proc/self/exe names the running binary even if it was replaced or
	// deleted on disk since (as `go test` and `packer plugins install` do).
	if _, err := os.Stat("/proc/self/exe"); err != nil {
		return "", fmt.Errorf("instances: /proc/self/exe is not available: %w", err)
	}
	return "/proc/self/exe", nil
}

func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{
		Cloneflags: syscall.CLONE_NEWUSER | syscall.CLONE_NEWNS | syscall.CLONE_NEWPID |
			syscall.CLONE_NEWUTS | syscall.CLONE_NEWIPC,
		// The calling user (whoever it is) is root inside; nothing else is mapped.
		UidMappings:                []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}},
		GidMappings:                []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}},
		GidMappingsEnableSetgroups: false,
		// If the plugin dies (even by SIGKILL) the init dies, and with it
		// every process of the instance.
		Pdeathsig: syscall.SIGKILL,
		// Its own session: a terminal's Ctrl-C reaches Packer and the
		// plugin, which stop the instance in order.
		Setsid: true,
	}
}

// Start runs an instance on Options.Root and its SSH server. It returns when
// the instance is ready to accept SSH connections, or with an error (and
// nothing left running).
func Start(ctx context.Context, opts Options) (*Machine, error) {
	key, err := opts.authorizedKey()
	if err != nil {
		return nil, err
	}
	root, err := filepath.Abs(opts.Root)
	if err != nil {
		return nil, err
	}
	if fi, err := os.Stat(root); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("machine: instance root %s is not a directory", root)
	}
	opts.Root = root
	if opts.Hostname == "" {
		opts.Hostname = "instance"
	}
	exe, err := selfExe()
	if err != nil {
		return nil, err
	}
	mine, theirs, err := socketPair(syscall.SOCK_SEQPACKET)
	if err != nil {
		return nil, err
	}
	ctl, err := unixConn(mine)
	if err != nil {
		_ = theirs.Close()
		return nil, err
	}
	m := &Machine{opts: opts, ctl: ctl, calls: map[uint64]*call{}, exited: make(chan struct{})}
	m.init = exec.Command(exe)
	m.init.Args = []string{"scaffolding-instance"}
	m.init.Env = []string{modeEnv + "=" + modeInit, rootEnv + "=" + root, hostnameEnv + "=" + opts.Hostname}
	m.init.ExtraFiles = []*os.File{theirs}
	m.init.Stderr = logWriter{&opts}
	m.init.SysProcAttr = sysProcAttr()
	if err := m.init.Start(); err != nil {
		_ = theirs.Close()
		_ = ctl.Close()
		return nil, fmt.Errorf("machine: starting the instance's init: %w%s", err, diagnose())
	}
	_ = theirs.Close()
	opts.logf("instance init pid %d on %s", m.init.Process.Pid, root)

	ready := make(chan error, 1)
	go func() {
		_ = m.init.Wait()
		close(m.exited)
	}()
	go m.readLoop(ready)
	select {
	case err = <-ready:
	case <-ctx.Done():
		err = ctx.Err()
	}
	if err != nil {
		_ = m.kill()
		return nil, err
	}
	m.srv, err = newServer(key, m, &m.opts)
	if err != nil {
		_ = m.kill()
		return nil, err
	}
	opts.logf("instance ssh on %s", m.srv.ln.Addr())
	return m, nil
}

// Host is the address of the instance's SSH server.
func (m *Machine) Host() string { return m.srv.ln.Addr().(*net.TCPAddr).IP.String() }

// Port is the TCP port of the instance's SSH server.
func (m *Machine) Port() int { return m.srv.ln.Addr().(*net.TCPAddr).Port }

// Addr is Host:Port.
func (m *Machine) Addr() string { return m.srv.ln.Addr().String() }

// Stop ends the instance: it closes the SSH server and its connections,
// kills every process still running in the instance and waits until they
// are gone. Safe to call more than once; ctx bounds the wait.
func (m *Machine) Stop(ctx context.Context) error {
	m.stopOnce.Do(func() {
		if m.srv != nil {
			m.srv.shutdown()
		}
		// pid 1 of a pid namespace is reaped only after the kernel has
		// killed and reaped every other process in it, so once kill
		// returns no process of the instance is left.
		m.stopErr = m.kill()
	})
	if m.stopErr != nil {
		return m.stopErr
	}
	served := make(chan struct{})
	go func() { m.srv.wg.Wait(); close(served) }()
	select {
	case <-served:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("machine: waiting for instance %s's ssh sessions to end: %w", m.opts.Root, ctx.Err())
	}
}

// HostKey is the public half of the instance's SSH host key (generated for
// each start), for clients that verify it.
func (m *Machine) HostKey() ssh.PublicKey { return m.srv.hostKey }

func (m *Machine) kill() error {
	select {
	case <-m.exited:
	default:
		if err := m.init.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
			return fmt.Errorf("machine: killing instance %s: %w", m.opts.Root, err)
		}
	}
	<-m.exited
	_ = m.ctl.Close()
	return nil
}

// readLoop dispatches the init's replies to the calls waiting for them.
func (m *Machine) readLoop(ready chan<- error) {
	buf := make([]byte, maxMessage)
	oob := make([]byte, syscall.CmsgSpace(4*4))
	first := true
	defer func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		for id, c := range m.calls {
			close(c.started)
			close(c.exit)
			delete(m.calls, id)
		}
		m.nextID = ^uint64(0) // no new calls
	}()
	for {
		msg, files, err := receive(m.ctl, buf, oob)
		closeAll(files)
		if err != nil {
			if first {
				ready <- fmt.Errorf("machine: instance init on %s ended before it was ready (see the log for its error)", m.opts.Root)
			}
			return
		}
		if first {
			first = false
			if msg.Op == opFatal {
				hint := ""
				if msg.Code == fatalRefused {
					hint = diagnose()
				}
				ready <- fmt.Errorf("machine: setting up instance on %s: %s%s", m.opts.Root, msg.Err, hint)
				return
			}
			ready <- nil
			continue
		}
		m.mu.Lock()
		c := m.calls[msg.ID]
		if c != nil && msg.Op == opExit {
			delete(m.calls, msg.ID)
		}
		m.mu.Unlock()
		if c == nil {
			continue
		}
		switch msg.Op {
		case opStarted:
			c.started <- msg
			if msg.Err != "" {
				m.mu.Lock()
				delete(m.calls, msg.ID)
				m.mu.Unlock()
			}
		case opExit:
			c.exit <- msg
		}
	}
}

// request sends op to the init with files and waits for it to start.
func (m *Machine) request(msg message, files ...*os.File) (uint64, *call, error) {
	c := &call{started: make(chan message, 1), exit: make(chan message, 1)}
	m.mu.Lock()
	if m.nextID == ^uint64(0) {
		m.mu.Unlock()
		return 0, nil, ErrStopped
	}
	m.nextID++
	id := m.nextID
	m.calls[id] = c
	m.mu.Unlock()
	msg.ID = id
	m.wmu.Lock()
	err := send(m.ctl, msg, files...)
	m.wmu.Unlock()
	if err != nil {
		m.mu.Lock()
		delete(m.calls, id)
		m.mu.Unlock()
		return 0, nil, ErrStopped
	}
	r, ok := <-c.started
	if !ok {
		return 0, nil, ErrStopped
	}
	if r.Err != "" {
		return 0, nil, fmt.Errorf("machine: %s", r.Err)
	}
	return id, c, nil
}

func (m *Machine) signal(id uint64, sig syscall.Signal) {
	m.wmu.Lock()
	defer m.wmu.Unlock()
	_ = send(m.ctl, message{Op: opSignal, ID: id, Signal: int(sig)})
}

// logWriter sends the init's stderr to Options.Log.
type logWriter struct{ o *Options }

func (w logWriter) Write(p []byte) (int, error) {
	for _, line := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
		w.o.logf("init: %s", line)
	}
	return len(p), nil
}
