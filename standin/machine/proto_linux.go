package machine

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"syscall"
)

// The plugin and an instance's init process talk over a SOCK_SEQPACKET
// socket pair: one JSON message per packet, with file descriptors (a
// command's stdio, an SFTP connection) passed alongside as SCM_RIGHTS.

const (
	opReady   = "ready"   // init -> plugin: the instance is set up
	opFatal   = "fatal"   // init -> plugin: setting up failed (Err)
	opExec    = "exec"    // plugin -> init: run Argv with fds stdin, stdout, stderr
	opSFTP    = "sftp"    // plugin -> init: serve SFTP on the one fd passed
	opSignal  = "signal"  // plugin -> init: signal the process group of ID
	opStarted = "started" // init -> plugin: ID runs (or Err)
	opExit    = "exit"    // init -> plugin: ID ended with Code or Signal
)

type message struct {
	Op     string   `json:"op"`
	ID     uint64   `json:"id,omitempty"`
	Argv   []string `json:"argv,omitempty"`
	Env    []string `json:"env,omitempty"`
	Dir    string   `json:"dir,omitempty"`
	Signal int      `json:"signal,omitempty"`
	Code   int      `json:"code,omitempty"`
	Err    string   `json:"err,omitempty"`
}

const maxMessage = 1 << 20

func send(c *net.UnixConn, m message, files ...*os.File) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	if len(b) > maxMessage {
		return fmt.Errorf("machine: message of %d bytes is too large", len(b))
	}
	var oob []byte
	if len(files) > 0 {
		fds := make([]int, len(files))
		for i, f := range files {
			fds[i] = int(f.Fd())
		}
		oob = syscall.UnixRights(fds...)
	}
	_, _, err = c.WriteMsgUnix(b, oob, nil)
	return err
}

// receive reads one message and the descriptors that came with it (as
// close-on-exec files the caller owns).
func receive(c *net.UnixConn, buf, oob []byte) (message, []*os.File, error) {
	n, oobn, _, _, err := c.ReadMsgUnix(buf, oob)
	if err != nil {
		return message{}, nil, err
	}
	if n == 0 && oobn == 0 {
		return message{}, nil, errEOF
	}
	var files []*os.File
	if oobn > 0 {
		cmsgs, err := syscall.ParseSocketControlMessage(oob[:oobn])
		if err != nil {
			return message{}, nil, err
		}
		for _, cm := range cmsgs {
			fds, err := syscall.ParseUnixRights(&cm)
			if err != nil {
				continue
			}
			for _, fd := range fds {
				files = append(files, os.NewFile(uintptr(fd), "passed"))
			}
		}
	}
	var m message
	if err := json.Unmarshal(buf[:n], &m); err != nil {
		closeAll(files)
		return message{}, nil, fmt.Errorf("machine: bad message: %w", err)
	}
	return m, files, nil
}

type eofError struct{}

func (eofError) Error() string { return "machine: peer closed the control socket" }

var errEOF error = eofError{}

func closeAll(files []*os.File) {
	for _, f := range files {
		if f != nil {
			_ = f.Close()
		}
	}
}

// socketPair returns both ends of a SOCK_SEQPACKET (or SOCK_STREAM) pair
// as close-on-exec files.
func socketPair(typ int) (*os.File, *os.File, error) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, typ|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("machine: socketpair: %w", err)
	}
	return os.NewFile(uintptr(fds[0]), "pair0"), os.NewFile(uintptr(fds[1]), "pair1"), nil
}

// unixConn turns a socket file into a *net.UnixConn (the file is closed;
// the connection holds its own descriptor).
func unixConn(f *os.File) (*net.UnixConn, error) {
	defer func() { _ = f.Close() }()
	c, err := net.FileConn(f)
	if err != nil {
		return nil, err
	}
	uc, ok := c.(*net.UnixConn)
	if !ok {
		_ = c.Close()
		return nil, fmt.Errorf("machine: %T is not a unix socket", c)
	}
	return uc, nil
}
