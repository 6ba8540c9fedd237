//go:build !linux

package machine

import (
	"context"
	"fmt"
	"runtime"
)

// Machine is a running instance. Only Linux can run one.
type Machine struct{}

// Supported reports why instances cannot run here.
func Supported() error {
	return fmt.Errorf("instances need Linux user namespaces; this host runs %s", runtime.GOOS)
}

// Start fails: instances need Linux.
func Start(ctx context.Context, opts Options) (*Machine, error) { return nil, Supported() }

// Host is the address the instance's SSH server listens on.
func (m *Machine) Host() string { return "" }

// Port is the instance's SSH port.
func (m *Machine) Port() int { return 0 }

// Stop does nothing: no instance can run here.
func (m *Machine) Stop(ctx context.Context) error { return nil }

// Addr is Host:Port.
func (m *Machine) Addr() string { return "" }
