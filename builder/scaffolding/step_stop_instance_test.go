package scaffolding

import (
	"context"
	"errors"
	"testing"

	"github.com/example/packer-plugin-scaffolding/cloud"
)

func TestStepStopInstance(t *testing.T) {
	state := testState(t)
	inst := &cloud.Instance{ID: "i-1"}
	state.Put("instance", inst)
	step := &stepStopInstance{}
	wantContinue(t, state, step.Run(context.Background(), state))
	step.Cleanup(state)
	if testDriver(state).StopInstanceInstance != inst {
		t.Error("StopInstance not called with the instance")
	}
}

func TestStepStopInstance_error(t *testing.T) {
	state := testState(t)
	state.Put("instance", &cloud.Instance{ID: "i-1"})
	testDriver(state).StopInstanceErr = errors.New("still shutting down")
	wantHalt(t, state, (&stepStopInstance{}).Run(context.Background(), state), "i-1", "still shutting down")
}
