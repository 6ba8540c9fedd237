package scaffolding

import (
	"context"
	"errors"
	"fmt"

	"github.com/hashicorp/packer-plugin-sdk/communicator"
	"github.com/hashicorp/packer-plugin-sdk/multistep"

	"github.com/example/packer-plugin-scaffolding/cloud"
)

// stepConnectWorkspace is the "workspace" entry of communicator.StepConnect's
// CustomConnect: where a cloud builder waits for SSH, it asks the driver
// (a cloud.Connector) for a communicator to the instance.
//
// Uses: driver, instance. Produces: communicator.
type stepConnectWorkspace struct{}

func (s *stepConnectWorkspace) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	instance, ok := state.Get("instance").(*cloud.Instance)
	if !ok || instance == nil {
		return halt(state, errors.New("connecting to the instance: no instance in the build state"))
	}
	connector, ok := state.Get("driver").(cloud.Connector)
	if !ok {
		return halt(state, fmt.Errorf("communicator %q: this platform's instances are reached over the network; set communicator = \"ssh\"", WorkspaceCommunicator))
	}
	comm, err := connector.Communicator(ctx, instance)
	if err != nil {
		return halt(state, fmt.Errorf("connecting to instance %s: %w", instance.ID, err))
	}
	state.Put("communicator", comm)
	return multistep.ActionContinue
}

// Cleanup has nothing to close: the communicator holds no connection.
func (s *stepConnectWorkspace) Cleanup(multistep.StateBag) {}

// commHost tells communicator.StepConnect what it connects to: ssh_host or
// winrm_host when set, else the address the platform gave the instance.
func commHost(c *communicator.Config) func(multistep.StateBag) (string, error) {
	return func(state multistep.StateBag) (string, error) {
		if host := c.Host(); host != "" {
			return host, nil
		}
		if instance, ok := state.Get("instance").(*cloud.Instance); ok && instance != nil && instance.Host != "" {
			return instance.Host, nil
		}
		if c.Type == WorkspaceCommunicator {
			return "", nil
		}
		return "", fmt.Errorf("communicator %q needs a host: the instance has no address; set ssh_host or winrm_host", c.Type)
	}
}

// commPort tells communicator.StepConnect which port to dial: the one the
// platform gave the instance, else the configured ssh_port or winrm_port.
func commPort(configured func() int) func(multistep.StateBag) (int, error) {
	return func(state multistep.StateBag) (int, error) {
		if instance, ok := state.Get("instance").(*cloud.Instance); ok && instance != nil && instance.Port != 0 {
			return instance.Port, nil
		}
		return configured(), nil
	}
}

// sshPort tells communicator.StepConnect which port to dial: ssh_port when
// set (or when ssh_host points somewhere else), else the port the instance
// serves SSH on.
func sshPort(c *Config) func(multistep.StateBag) (int, error) {
	return func(state multistep.StateBag) (int, error) {
		if c.sshPortSet {
			return c.Comm.SSHPort, nil
		}
		if instance, ok := state.Get("instance").(*cloud.Instance); ok && instance != nil && instance.Port != 0 {
			return instance.Port, nil
		}
		return c.Comm.SSHPort, nil
	}
}
