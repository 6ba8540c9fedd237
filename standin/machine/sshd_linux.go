package machine

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/subtle"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/crypto/ssh"
	"golang.org/x/sys/unix"
)

// server is an instance's SSH server: public-key authentication with
// exactly one key, session channels with exec, shell, env, pty-req (accepted;
// no terminal is allocated), signal, and the sftp subsystem. Commands and
// the SFTP server run inside the instance; the server itself runs in the
// plugin, on 127.0.0.1.
type server struct {
	cfg     *ssh.ServerConfig
	hostKey ssh.PublicKey
	ln      net.Listener
	m       *Machine
	o       *Options

	wg     sync.WaitGroup
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
}

func newServer(authorized ssh.PublicKey, m *Machine, o *Options) (*server, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		return nil, err
	}
	want := authorized.Marshal()
	s := &server{hostKey: signer.PublicKey(), m: m, o: o, conns: map[net.Conn]struct{}{}}
	s.cfg = &ssh.ServerConfig{
		PublicKeyCallback: func(c ssh.ConnMetadata, k ssh.PublicKey) (*ssh.Permissions, error) {
			if subtle.ConstantTimeCompare(k.Marshal(), want) == 1 {
				return &ssh.Permissions{}, nil
			}
			return nil, fmt.Errorf("key %s is not the instance's authorized key", ssh.FingerprintSHA256(k))
		},
		ServerVersion: "SSH-2.0-scaffolding-instance",
	}
	s.cfg.AddHostKey(signer)
	s.ln, err = net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("machine: ssh listener: %w", err)
	}
	s.wg.Add(1)
	go s.accept()
	return s, nil
}

func (s *server) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			_ = c.Close()
			return
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go s.serveConn(c)
	}
}

// shutdown stops accepting and drops every connection; it does not wait.
func (s *server) shutdown() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.closed = true
	_ = s.ln.Close()
	for c := range s.conns {
		_ = c.Close()
	}
}

func (s *server) serveConn(c net.Conn) {
	defer s.wg.Done()
	defer func() {
		_ = c.Close()
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
	}()
	sc, chans, reqs, err := ssh.NewServerConn(c, s.cfg)
	if err != nil {
		s.o.logf("ssh handshake from %s: %v", c.RemoteAddr(), err)
		return
	}
	defer func() { _ = sc.Close() }()
	go ssh.DiscardRequests(reqs)
	var sessions sync.WaitGroup
	defer sessions.Wait()
	for nc := range chans {
		if nc.ChannelType() != "session" {
			_ = nc.Reject(ssh.UnknownChannelType, "only session channels are served")
			continue
		}
		ch, creqs, err := nc.Accept()
		if err != nil {
			continue
		}
		sessions.Add(1)
		go func() {
			defer sessions.Done()
			s.session(ch, creqs)
		}()
	}
}

// running is what a session started in the instance.
type running struct {
	id     uint64
	begin  func()        // starts copying; called after the request's reply
	exited chan struct{} // the command (not its output) has ended
	done   chan struct{} // exit status sent, channel closed
}

var baseEnv = []string{
	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
	"HOME=/root", "USER=root", "LOGNAME=root", "SHELL=/bin/sh",
}

func (s *server) session(ch ssh.Channel, reqs <-chan *ssh.Request) {
	defer func() { _ = ch.Close() }()
	env := append([]string(nil), baseEnv...)
	var run *running
	for req := range reqs {
		ok := false
		var start func() (*running, error)
		switch req.Type {
		case "env":
			var kv struct{ Name, Value string }
			if ssh.Unmarshal(req.Payload, &kv) == nil && validEnvName(kv.Name) {
				env = setEnv(env, kv.Name, kv.Value)
				ok = true
			}
		case "pty-req":
			var p struct {
				Term             string
				Cols, Rows, W, H uint32
				Modes            string
			}
			if ssh.Unmarshal(req.Payload, &p) == nil {
				if p.Term != "" {
					env = setEnv(env, "TERM", p.Term)
				}
				ok = true
			}
		case "window-change":
			ok = true
		case "exec":
			var p struct{ Command string }
			if ssh.Unmarshal(req.Payload, &p) == nil {
				start = func() (*running, error) { return s.exec(ch, []string{"/bin/sh", "-c", p.Command}, env) }
			}
		case "shell":
			start = func() (*running, error) { return s.exec(ch, []string{"/bin/sh"}, env) }
		case "subsystem":
			var p struct{ Name string }
			if ssh.Unmarshal(req.Payload, &p) == nil && p.Name == "sftp" {
				start = func() (*running, error) { return s.sftp(ch) }
			}
		case "signal":
			var p struct{ Signal string }
			if ssh.Unmarshal(req.Payload, &p) == nil && run != nil {
				if sig := unix.SignalNum("SIG" + p.Signal); sig != 0 {
					s.m.signal(run.id, sig)
					ok = true
				}
			}
		}
		if start != nil && run == nil {
			r, err := start()
			if err != nil {
				s.o.logf("%s: %v", req.Type, err)
				_, _ = fmt.Fprintf(ch.Stderr(), "instance: %v\n", err)
			} else {
				run, ok = r, true
			}
		}
		if req.WantReply {
			_ = req.Reply(ok, nil)
		}
		if ok && start != nil {
			run.begin()
		}
	}
	// The client closed the channel (or the connection dropped): a command
	// still running is killed with its process group, as a cloud VM's sshd
	// hangs up on it. Background processes it started in other groups live
	// on until the instance stops.
	if run != nil {
		select {
		case <-run.exited:
		default:
			s.m.signal(run.id, syscall.SIGKILL)
		}
		<-run.done
	}
}

func (s *server) exec(ch ssh.Channel, argv, env []string) (*running, error) {
	inR, inW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		closeAll([]*os.File{inR, inW})
		return nil, err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		closeAll([]*os.File{inR, inW, outR, outW})
		return nil, err
	}
	id, c, err := s.m.request(message{Op: opExec, Argv: argv, Env: env, Dir: "/root"}, inR, outW, errW)
	closeAll([]*os.File{inR, outW, errW})
	if err != nil {
		closeAll([]*os.File{inW, outR, errR})
		return nil, err
	}
	r := &running{id: id, exited: make(chan struct{}), done: make(chan struct{})}
	r.begin = func() {
		go func() {
			_, _ = io.Copy(inW, ch)
			_ = inW.Close()
		}()
		var out sync.WaitGroup
		out.Add(2)
		go func() { _, _ = io.Copy(ch, outR); _ = outR.Close(); out.Done() }()
		go func() { _, _ = io.Copy(ch.Stderr(), errR); _ = errR.Close(); out.Done() }()
		go func() {
			msg, ok := <-c.exit
			close(r.exited)
			out.Wait() // all output reaches the client before the status
			sendExit(ch, msg, ok)
			close(r.done)
		}()
	}
	return r, nil
}

func (s *server) sftp(ch ssh.Channel) (*running, error) {
	mine, theirs, err := socketPair(syscall.SOCK_STREAM)
	if err != nil {
		return nil, err
	}
	id, c, err := s.m.request(message{Op: opSFTP}, theirs)
	_ = theirs.Close()
	if err != nil {
		_ = mine.Close()
		return nil, err
	}
	conn, err := unixConn(mine)
	if err != nil {
		return nil, err
	}
	r := &running{id: id, exited: make(chan struct{}), done: make(chan struct{})}
	r.begin = func() {
		go func() {
			_, _ = io.Copy(conn, ch)
			_ = conn.CloseWrite() // the server sees EOF and ends
		}()
		copied := make(chan struct{})
		go func() { _, _ = io.Copy(ch, conn); close(copied) }()
		go func() {
			msg, ok := <-c.exit
			close(r.exited)
			<-copied
			_ = conn.Close()
			sendExit(ch, msg, ok)
			close(r.done)
		}()
	}
	return r, nil
}

// sendExit reports how a command ended, then closes the channel. A command
// whose instance was stopped under it reports SIGKILL.
func sendExit(ch ssh.Channel, msg message, ok bool) {
	if !ok {
		msg.Signal = int(syscall.SIGKILL)
	}
	if msg.Signal != 0 {
		name := strings.TrimPrefix(unix.SignalName(syscall.Signal(msg.Signal)), "SIG")
		_, _ = ch.SendRequest("exit-signal", false, ssh.Marshal(struct {
			Signal     string
			CoreDumped bool
			Error      string
			Lang       string
		}{Signal: name}))
	} else {
		_, _ = ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{uint32(msg.Code)}))
	}
	_ = ch.CloseWrite()
	_ = ch.Close()
}

func validEnvName(n string) bool {
	if n == "" {
		return false
	}
	for i, r := range n {
		if r != '_' && (r < 'A' || r > 'Z') && (r < 'a' || r > 'z') && (i == 0 || r < '0' || r > '9') {
			return false
		}
	}
	return true
}

func setEnv(env []string, name, value string) []string {
	for i, kv := range env {
		if strings.HasPrefix(kv, name+"=") {
			env[i] = name + "=" + value
			return env
		}
	}
	return append(env, name+"="+value)
}
