package scaffolding

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/hashicorp/packer-plugin-sdk/communicator"
	"github.com/hashicorp/packer-plugin-sdk/multistep"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"

	"github.com/example/packer-plugin-scaffolding/cloud"
)

func TestStepConnectWorkspace(t *testing.T) {
	state := testState(t)
	inst := &cloud.Instance{ID: "i-1"}
	state.Put("instance", inst)
	want := new(packersdk.MockCommunicator)
	testDriver(state).CommunicatorResult = want
	step := &stepConnectWorkspace{}
	wantContinue(t, state, step.Run(context.Background(), state))
	step.Cleanup(state)
	if got := state.Get("communicator"); got != want {
		t.Errorf("communicator = %#v, want the driver's", got)
	}
	if testDriver(state).CommunicatorInstance != inst {
		t.Errorf("asked for instance %+v", testDriver(state).CommunicatorInstance)
	}
}

func TestStepConnectWorkspace_error(t *testing.T) {
	t.Run("no instance", func(t *testing.T) {
		state := testState(t)
		wantHalt(t, state, (&stepConnectWorkspace{}).Run(context.Background(), state), "no instance")
		if _, ok := state.GetOk("communicator"); ok {
			t.Error("communicator set without an instance")
		}
	})
	t.Run("driver fails", func(t *testing.T) {
		state := testState(t)
		state.Put("instance", &cloud.Instance{ID: "i-1"})
		testDriver(state).CommunicatorErr = errors.New("instance gone")
		wantHalt(t, state, (&stepConnectWorkspace{}).Run(context.Background(), state), "i-1", "instance gone")
	})
	t.Run("driver is no connector", func(t *testing.T) {
		state := testState(t)
		state.Put("instance", &cloud.Instance{ID: "i-1"})
		state.Put("driver", struct{ cloud.Driver }{testDriver(state)})
		wantHalt(t, state, (&stepConnectWorkspace{}).Run(context.Background(), state), `communicator = "ssh"`)
	})
}

// The builder plugs the step into the SDK's StepConnect: check the wiring
// the way Run sets it up.
func TestStepConnect_customConnect(t *testing.T) {
	for _, typ := range []string{WorkspaceCommunicator, "none"} {
		t.Run(typ, func(t *testing.T) {
			state := testState(t)
			config := testConfigOf(state)
			config.Comm.Type = typ
			state.Put("instance", &cloud.Instance{ID: "i-1"})
			step := &communicator.StepConnect{
				Config:        &config.Comm,
				Host:          commHost(&config.Comm),
				CustomConnect: map[string]multistep.Step{WorkspaceCommunicator: &stepConnectWorkspace{}},
			}
			wantContinue(t, state, step.Run(context.Background(), state))
			step.Cleanup(state)
			if got := testDriver(state).CommunicatorCalled; got != (typ == WorkspaceCommunicator) {
				t.Errorf("driver asked for a communicator = %v", got)
			}
		})
	}
}

func TestCommHost(t *testing.T) {
	state := testState(t)
	c := &communicator.Config{Type: "ssh"}
	if _, err := commHost(c)(state); err == nil || !strings.Contains(err.Error(), "ssh_host") {
		t.Errorf("ssh without an address: %v", err)
	}
	state.Put("instance", &cloud.Instance{ID: "i-1", Host: "127.0.0.1", Port: 2222})
	if h, err := commHost(c)(state); err != nil || h != "127.0.0.1" {
		t.Errorf("ssh host from the instance = %q, %v", h, err)
	}
	c.SSHHost = "10.0.0.1"
	if h, _ := commHost(c)(state); h != "10.0.0.1" {
		t.Errorf("ssh host = %q, want ssh_host", h)
	}
}

func TestCommPort(t *testing.T) {
	state := testState(t)
	port := commPort(func() int { return 22 })
	if p, _ := port(state); p != 22 {
		t.Errorf("port without an instance = %d, want the configured 22", p)
	}
	state.Put("instance", &cloud.Instance{ID: "i-1", Host: "127.0.0.1", Port: 2222})
	if p, _ := port(state); p != 2222 {
		t.Errorf("port = %d, want the instance's 2222", p)
	}
}
