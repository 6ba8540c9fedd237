package scaffolding

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/example/packer-plugin-scaffolding/cloud"
)

func TestStepRunInstance(t *testing.T) {
	state := testState(t)
	driver := testDriver(state)
	inst := &cloud.Instance{ID: "i-1"}
	driver.RunInstanceResult = inst
	step := &stepRunInstance{GeneratedData: generatedData(state)}

	wantContinue(t, state, step.Run(context.Background(), state))
	if state.Get("instance").(*cloud.Instance) != inst || state.Get("instance_id") != "i-1" {
		t.Errorf("state: instance %v, instance_id %v", state.Get("instance"), state.Get("instance_id"))
	}
	spec := driver.RunInstanceSpec
	if spec.Name != "test-image" || spec.Region != cloud.DefaultRegion || spec.SourceImage != nil {
		t.Errorf("launch spec = %+v, want the image name, the region and no source image", spec)
	}
	if got := state.Get("generated_data").(map[string]interface{})["InstanceID"]; got != "i-1" {
		t.Errorf("generated InstanceID = %v", got)
	}

	step.Cleanup(state)
	step.Cleanup(state)
	if driver.TerminateInstanceInstance != inst {
		t.Errorf("Cleanup terminated %v, want the instance", driver.TerminateInstanceInstance)
	}
	terminates := 0
	for _, c := range driver.Calls {
		if c == "TerminateInstance" {
			terminates++
		}
	}
	if terminates != 1 {
		t.Errorf("TerminateInstance called %d times over two Cleanups, want 1", terminates)
	}
}

// The source image goes to the launch call, as a cloud boots an instance
// from its image.
func TestStepRunInstance_fromSourceImage(t *testing.T) {
	state := testState(t)
	src := testImage("base")
	state.Put("source_image", src)
	testConfigOf(state).Comm.SSHPublicKey = []byte("ssh-ed25519 AAAA build")
	step := &stepRunInstance{}
	wantContinue(t, state, step.Run(context.Background(), state))
	step.Cleanup(state)
	spec := testDriver(state).RunInstanceSpec
	if spec.SourceImage == nil || spec.SourceImage.ID != src.ID || spec.SourceImage.Name != "base" {
		t.Errorf("launched from %+v, want %+v", spec.SourceImage, src)
	}
	if spec.SSHPublicKey != "ssh-ed25519 AAAA build" {
		t.Errorf("public key = %q, want the build's", spec.SSHPublicKey)
	}
}

func TestStepRunInstance_error(t *testing.T) {
	state := testState(t)
	driver := testDriver(state)
	driver.RunInstanceErr = errors.New("quota exceeded")
	step := &stepRunInstance{GeneratedData: generatedData(state)}

	wantHalt(t, state, step.Run(context.Background(), state), "launching instance", "quota exceeded")
	step.Cleanup(state)
	if driver.TerminateInstanceCalled {
		t.Error("Cleanup terminated an instance that was never launched")
	}
	if _, ok := state.GetOk("instance"); ok {
		t.Error("instance in the state after a failure")
	}
}

// A driver may fail half-way and still return the instance it launched:
// that instance must be terminated too.
func TestStepRunInstance_errorAfterLaunch(t *testing.T) {
	state := testState(t)
	driver := testDriver(state)
	half := &cloud.Instance{ID: "i-half"}
	driver.RunInstanceFunc = func(context.Context, cloud.LaunchSpec) (*cloud.Instance, error) {
		return half, errors.New("boot failed")
	}
	step := &stepRunInstance{}
	wantHalt(t, state, step.Run(context.Background(), state), "boot failed")
	step.Cleanup(state)
	if driver.TerminateInstanceInstance != half {
		t.Errorf("half-launched instance not terminated: %v", driver.TerminateInstanceInstance)
	}
}

func TestStepRunInstance_cleanupErrorShown(t *testing.T) {
	state := testState(t)
	driver := testDriver(state)
	driver.RunInstanceResult = &cloud.Instance{ID: "i-1"}
	driver.TerminateInstanceErr = errors.New("device busy")
	step := &stepRunInstance{}
	wantContinue(t, state, step.Run(context.Background(), state))
	step.Cleanup(state)
	if got := uiErrors(state); !strings.Contains(got, "device busy") || !strings.Contains(got, "i-1") {
		t.Errorf("UI errors = %q, want the failure and the instance to terminate by hand", got)
	}
}

// With the real driver, Cleanup removes the instance even when the build
// was cancelled.
func TestStepRunInstance_standinCleanup(t *testing.T) {
	state := testState(t)
	instances := t.TempDir()
	t.Setenv("TMPDIR", instances)
	driver, err := cloud.NewDriver(&cloud.AccessConfig{Store: testConfigOf(state).Store})
	if err != nil {
		t.Fatal(err)
	}
	state.Put("driver", driver)
	ctx, cancel := context.WithCancel(context.Background())
	step := &stepRunInstance{}
	wantContinue(t, state, step.Run(ctx, state))
	if left, _ := os.ReadDir(instances); len(left) != 1 {
		t.Fatalf("instances while running: %v, want one", left)
	}
	cancel()
	step.Cleanup(state)
	if left, _ := os.ReadDir(instances); len(left) != 0 {
		t.Errorf("instance survived Cleanup: %v", left)
	}
}

// A source image that does not fit the disk fails the launch with an error
// that names disk_size, the setting that raises the bound.
func TestStepRunInstance_diskFull(t *testing.T) {
	state := testState(t)
	testConfigOf(state).DiskSize = 2
	driver := testDriver(state)
	driver.RunInstanceErr = fmt.Errorf("restoring: it expands to more than 2 MiB: %w", cloud.ErrDiskFull)
	step := &stepRunInstance{}
	wantHalt(t, state, step.Run(context.Background(), state), "disk_size", "2 MiB")
	if got := driver.RunInstanceSpec.DiskSize; got != 2<<20 {
		t.Errorf("launched with a disk of %d bytes, want 2 MiB", got)
	}
}
