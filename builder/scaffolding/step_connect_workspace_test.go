package scaffolding

import (
	"context"
	"strings"
	"testing"

	"github.com/hashicorp/packer-plugin-sdk/communicator"
	"github.com/hashicorp/packer-plugin-sdk/multistep"

	"github.com/example/packer-plugin-scaffolding/cloud"
	"github.com/example/packer-plugin-scaffolding/standin"
)

func TestStepConnectWorkspace(t *testing.T) {
	state := testState(t)
	ws := t.TempDir()
	state.Put("instance", &cloud.Instance{ID: "i-1", Workspace: ws})
	step := &stepConnectWorkspace{}
	wantContinue(t, state, step.Run(context.Background(), state))
	step.Cleanup(state)
	comm, ok := state.Get("communicator").(*standin.Communicator)
	if !ok || comm.Workspace != ws {
		t.Errorf("communicator = %#v, want one for %s", state.Get("communicator"), ws)
	}
}

func TestStepConnectWorkspace_error(t *testing.T) {
	state := testState(t)
	wantHalt(t, state, (&stepConnectWorkspace{}).Run(context.Background(), state), "no instance workspace")
	if _, ok := state.GetOk("communicator"); ok {
		t.Error("communicator set without an instance")
	}
}

// The builder plugs the step into the SDK's StepConnect: check the wiring
// the way Run sets it up.
func TestStepConnect_customConnect(t *testing.T) {
	for _, typ := range []string{WorkspaceCommunicator, "none"} {
		t.Run(typ, func(t *testing.T) {
			state := testState(t)
			config := testConfigOf(state)
			config.Comm.Type = typ
			ws := t.TempDir()
			state.Put("instance", &cloud.Instance{ID: "i-1", Workspace: ws})
			step := &communicator.StepConnect{
				Config:        &config.Comm,
				Host:          commHost(&config.Comm),
				CustomConnect: map[string]multistep.Step{WorkspaceCommunicator: &stepConnectWorkspace{}},
			}
			wantContinue(t, state, step.Run(context.Background(), state))
			step.Cleanup(state)
			_, isOurs := state.Get("communicator").(*standin.Communicator)
			if isOurs != (typ == WorkspaceCommunicator) {
				t.Errorf("communicator = %T", state.Get("communicator"))
			}
		})
	}
}

func TestCommHost(t *testing.T) {
	state := testState(t)
	c := &communicator.Config{Type: WorkspaceCommunicator}
	if _, err := commHost(c)(state); err == nil {
		t.Error("workspace host without an instance")
	}
	state.Put("instance", &cloud.Instance{Workspace: "/ws"})
	if h, err := commHost(c)(state); err != nil || h != "/ws" {
		t.Errorf("workspace host = %q, %v", h, err)
	}
	c = &communicator.Config{Type: "ssh"}
	if _, err := commHost(c)(state); err == nil || !strings.Contains(err.Error(), "ssh_host") {
		t.Errorf("ssh without ssh_host: %v", err)
	}
	c.SSHHost = "10.0.0.1"
	if h, _ := commHost(c)(state); h != "10.0.0.1" {
		t.Errorf("ssh host = %q", h)
	}
}
