package scaffolding

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/example/packer-plugin-scaffolding/cloud"
)

func TestStepCreateInstance(t *testing.T) {
	state := testState(t)
	driver := testDriver(state)
	inst := &cloud.Instance{ID: "i-1", Workspace: t.TempDir()}
	driver.CreateInstanceResult = inst
	step := &stepCreateInstance{GeneratedData: generatedData(state)}

	wantContinue(t, state, step.Run(context.Background(), state))
	if state.Get("instance").(*cloud.Instance) != inst || state.Get("instance_id") != "i-1" {
		t.Errorf("state: instance %v, instance_id %v", state.Get("instance"), state.Get("instance_id"))
	}
	if driver.CreateInstanceSpec.Name != "test-image" {
		t.Errorf("instance name = %q, want the image name when there is no build name", driver.CreateInstanceSpec.Name)
	}
	if got := state.Get("generated_data").(map[string]interface{})["InstanceID"]; got != "i-1" {
		t.Errorf("generated InstanceID = %v", got)
	}

	step.Cleanup(state)
	step.Cleanup(state)
	if driver.DeleteInstanceInstance != inst {
		t.Errorf("Cleanup deleted %v, want the instance", driver.DeleteInstanceInstance)
	}
	deletes := 0
	for _, c := range driver.Calls {
		if c == "DeleteInstance" {
			deletes++
		}
	}
	if deletes != 1 {
		t.Errorf("DeleteInstance called %d times over two Cleanups, want 1", deletes)
	}
}

func TestStepCreateInstance_error(t *testing.T) {
	state := testState(t)
	driver := testDriver(state)
	driver.CreateInstanceErr = errors.New("quota exceeded")
	step := &stepCreateInstance{GeneratedData: generatedData(state)}

	wantHalt(t, state, step.Run(context.Background(), state), "launching instance", "quota exceeded")
	step.Cleanup(state)
	if driver.DeleteInstanceCalled {
		t.Error("Cleanup deleted an instance that was never created")
	}
	if _, ok := state.GetOk("instance"); ok {
		t.Error("instance in the state after a failure")
	}
}

// A driver may fail half-way and still return the instance it launched:
// that instance must be deleted too.
func TestStepCreateInstance_errorAfterLaunch(t *testing.T) {
	state := testState(t)
	driver := testDriver(state)
	half := &cloud.Instance{ID: "i-half"}
	driver.CreateInstanceFunc = func(context.Context, cloud.InstanceSpec) (*cloud.Instance, error) {
		return half, errors.New("boot failed")
	}
	step := &stepCreateInstance{}
	wantHalt(t, state, step.Run(context.Background(), state), "boot failed")
	step.Cleanup(state)
	if driver.DeleteInstanceInstance != half {
		t.Errorf("half-launched instance not deleted: %v", driver.DeleteInstanceInstance)
	}
}

func TestStepCreateInstance_cleanupErrorShown(t *testing.T) {
	state := testState(t)
	driver := testDriver(state)
	driver.CreateInstanceResult = &cloud.Instance{ID: "i-1", Workspace: "/somewhere"}
	driver.DeleteInstanceErr = errors.New("device busy")
	step := &stepCreateInstance{}
	wantContinue(t, state, step.Run(context.Background(), state))
	step.Cleanup(state)
	if got := uiErrors(state); !strings.Contains(got, "device busy") || !strings.Contains(got, "/somewhere") {
		t.Errorf("UI errors = %q, want the failure and the workspace to remove by hand", got)
	}
}

// With the real driver, Cleanup removes the workspace even when the build
// was cancelled.
func TestStepCreateInstance_localDriverCleanup(t *testing.T) {
	state := testState(t)
	t.Setenv("TMPDIR", t.TempDir())
	local, err := cloud.NewDriver(&cloud.AccessConfig{Store: testConfigOf(state).Store})
	if err != nil {
		t.Fatal(err)
	}
	state.Put("driver", local)
	ctx, cancel := context.WithCancel(context.Background())
	step := &stepCreateInstance{}
	wantContinue(t, state, step.Run(ctx, state))
	inst := state.Get("instance").(*cloud.Instance)
	if err := os.MkdirAll(filepath.Join(inst.Workspace, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(inst.Workspace, "etc", "motd"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	cancel()
	step.Cleanup(state)
	if _, err := os.Stat(inst.Workspace); !os.IsNotExist(err) {
		t.Errorf("workspace %s survived Cleanup: %v", inst.Workspace, err)
	}
}
