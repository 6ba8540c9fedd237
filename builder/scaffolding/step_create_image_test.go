package scaffolding

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/hashicorp/packer-plugin-sdk/multistep"

	"github.com/example/packer-plugin-scaffolding/cloud"
)

func TestStepCreateImage(t *testing.T) {
	state := testState(t)
	config := testConfigOf(state)
	config.ImageLabels = map[string]string{"role": "web"}
	inst := &cloud.Instance{ID: "i-1"}
	src := testImage("base")
	state.Put("instance", inst)
	state.Put("source_image", src)
	driver := testDriver(state)
	made := testImage("test-image")
	driver.CreateImageResult = made
	step := &stepCreateImage{GeneratedData: generatedData(state)}

	wantContinue(t, state, step.Run(context.Background(), state))
	spec := driver.CreateImageSpec
	if spec.Name != "test-image" || spec.Region != cloud.DefaultRegion || spec.Labels["role"] != "web" || spec.SourceImageID != src.ID {
		t.Errorf("spec = %+v", spec)
	}
	if driver.CreateImageInstance != inst {
		t.Error("image not created from the instance")
	}
	if got := state.Get("image").(cloud.Image); got.ID != made.ID {
		t.Errorf("image in state = %+v", got)
	}
	if got := state.Get("generated_data").(map[string]interface{})["ImageID"]; got != made.ID {
		t.Errorf("generated ImageID = %v", got)
	}
	step.Cleanup(state)
	if driver.DeregisterImageCalled {
		t.Error("Cleanup deleted the image of a successful build")
	}
}

func TestStepCreateImage_noSource(t *testing.T) {
	state := testState(t)
	state.Put("instance", &cloud.Instance{ID: "i-1"})
	wantContinue(t, state, (&stepCreateImage{}).Run(context.Background(), state))
	if id := testDriver(state).CreateImageSpec.SourceImageID; id != "" {
		t.Errorf("source image id = %q without a source image", id)
	}
}

// An image made by a build that then gets cancelled is reported by no
// artifact, so Cleanup deletes it.
func TestStepCreateImage_cancelledAfterwards(t *testing.T) {
	for _, key := range []string{multistep.StateCancelled, multistep.StateHalted} {
		state := testState(t)
		state.Put("instance", &cloud.Instance{ID: "i-1"})
		step := &stepCreateImage{}
		wantContinue(t, state, step.Run(context.Background(), state))
		state.Put(key, true)
		step.Cleanup(state)
		driver := testDriver(state)
		if len(driver.DeregisterImageImages) != 1 || driver.DeregisterImageImages[0].Name != "test-image" {
			t.Errorf("%s: deleted %+v, want the new image", key, driver.DeregisterImageImages)
		}
		if _, ok := state.GetOk("image"); ok {
			t.Errorf("%s: image still in the state", key)
		}
	}
}

func TestStepCreateImage_error(t *testing.T) {
	state := testState(t)
	state.Put("instance", &cloud.Instance{ID: "i-1"})
	driver := testDriver(state)
	driver.CreateImageErr = errors.New("disk full")
	step := &stepCreateImage{}
	wantHalt(t, state, step.Run(context.Background(), state), `"test-image"`, "disk full")
	state.Put(multistep.StateHalted, true)
	step.Cleanup(state)
	if driver.DeregisterImageCalled {
		t.Error("Cleanup deleted an image that was never created")
	}
	if _, ok := state.GetOk("image"); ok {
		t.Error("image in the state after a failure")
	}
}

// An identical image registered by an earlier build is reused, and this
// build's Cleanup must not deregister it.
func TestStepCreateImage_reused(t *testing.T) {
	state := testState(t)
	state.Put("instance", &cloud.Instance{ID: "i-1"})
	driver := testDriver(state)
	earlier := testImage("test-image")
	driver.CreateImageFunc = func(context.Context, *cloud.Instance, cloud.ImageSpec) (cloud.Image, error) {
		return earlier, fmt.Errorf("image %q: %w", earlier.Name, cloud.ErrImageExists)
	}
	step := &stepCreateImage{GeneratedData: generatedData(state)}
	wantContinue(t, state, step.Run(context.Background(), state))
	if got := state.Get("image").(cloud.Image); got.ID != earlier.ID || state.Get("image_reused") != true {
		t.Errorf("image %+v, reused %v; want the earlier image, reused", got, state.Get("image_reused"))
	}
	state.Put(multistep.StateCancelled, true)
	step.Cleanup(state)
	if driver.DeregisterImageCalled {
		t.Error("Cleanup deregistered an image an earlier build made")
	}
}
