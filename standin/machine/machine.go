package machine

import (
	"errors"
	"fmt"
	"io"

	"golang.org/x/crypto/ssh"
)

// Options configure one instance.
type Options struct {
	// Root is the instance's root directory on the host. It must exist; the
	// runtime adds the mount points and the instance's own top-level
	// directories it lacks (see HostPaths).
	Root string
	// AuthorizedKey is the only public key the instance's SSH server
	// accepts, in authorized_keys form (what the SDK's key generator
	// produces) or in SSH wire form.
	AuthorizedKey []byte
	// Hostname is the instance's host name (default "instance").
	Hostname string
	// Log receives the runtime's diagnostics, one line each; nil discards them.
	Log io.Writer
}

// ErrStopped is returned by calls on a machine that has been stopped.
var ErrStopped = errors.New("machine: instance is stopped")

func (o *Options) authorizedKey() (ssh.PublicKey, error) {
	if len(o.AuthorizedKey) == 0 {
		return nil, errors.New("machine: Options.AuthorizedKey is empty: an instance needs the build's public key")
	}
	if k, _, _, _, err := ssh.ParseAuthorizedKey(o.AuthorizedKey); err == nil {
		return k, nil
	}
	k, err := ssh.ParsePublicKey(o.AuthorizedKey)
	if err != nil {
		return nil, fmt.Errorf("machine: Options.AuthorizedKey is neither an authorized_keys line nor an SSH wire-format key: %w", err)
	}
	return k, nil
}

func (o *Options) logf(format string, args ...any) {
	if o.Log != nil {
		_, _ = fmt.Fprintf(o.Log, "machine: "+format+"\n", args...)
	}
}
