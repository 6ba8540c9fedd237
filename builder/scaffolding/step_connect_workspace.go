package scaffolding

import (
	"context"
	"errors"
	"fmt"

	"github.com/hashicorp/packer-plugin-sdk/communicator"
	"github.com/hashicorp/packer-plugin-sdk/multistep"

	"github.com/example/packer-plugin-scaffolding/cloud"
	"github.com/example/packer-plugin-scaffolding/standin"
)

// stepConnectWorkspace is the "workspace" entry of communicator.StepConnect's
// CustomConnect: where a cloud builder waits for SSH, it hands the
// provisioners a Communicator for the instance's workspace.
//
// Uses: instance. Produces: communicator.
type stepConnectWorkspace struct{}

func (s *stepConnectWorkspace) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	instance, ok := state.Get("instance").(*cloud.Instance)
	if !ok || instance == nil || instance.Workspace == "" {
		return halt(state, errors.New("connecting to the instance: no instance workspace in the build state"))
	}
	state.Put("communicator", &standin.Communicator{Workspace: instance.Workspace})
	return multistep.ActionContinue
}

// Cleanup has nothing to close: the communicator holds no connection.
func (s *stepConnectWorkspace) Cleanup(multistep.StateBag) {}

// commHost tells communicator.StepConnect what it connects to: the
// workspace for our communicator, ssh_host or winrm_host for the others.
func commHost(c *communicator.Config) func(multistep.StateBag) (string, error) {
	return func(state multistep.StateBag) (string, error) {
		if c.Type == WorkspaceCommunicator {
			if instance, ok := state.Get("instance").(*cloud.Instance); ok && instance != nil {
				return instance.Workspace, nil
			}
			return "", errors.New("no instance in the build state")
		}
		if host := c.Host(); host != "" {
			return host, nil
		}
		return "", fmt.Errorf("communicator %q needs a host: set ssh_host or winrm_host", c.Type)
	}
}
