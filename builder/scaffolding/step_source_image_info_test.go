package scaffolding

import (
	"context"
	"errors"
	"testing"

	"github.com/example/packer-plugin-scaffolding/cloud"
)

func TestStepSourceImageInfo(t *testing.T) {
	state := testState(t)
	src := testImage("base")
	testConfigOf(state).SourceImage = src.ID
	driver := testDriver(state)
	driver.FindImagesResult = []cloud.Image{src}
	step := &stepSourceImageInfo{GeneratedData: generatedData(state)}

	wantContinue(t, state, step.Run(context.Background(), state))
	step.Cleanup(state)

	if driver.FindImagesFilter.ID != src.ID || driver.FindImagesFilter.Region != cloud.DefaultRegion {
		t.Errorf("filter = %+v, want the id in region %s", driver.FindImagesFilter, cloud.DefaultRegion)
	}
	if got := state.Get("source_image").(cloud.Image); got.ID != src.ID {
		t.Errorf("source_image = %+v", got)
	}
	if got := state.Get("generated_data").(map[string]interface{})["SourceImageID"]; got != src.ID {
		t.Errorf("generated SourceImageID = %v", got)
	}
}

func TestStepSourceImageInfo_none(t *testing.T) {
	state := testState(t)
	step := &stepSourceImageInfo{GeneratedData: generatedData(state)}
	wantContinue(t, state, step.Run(context.Background(), state))
	if driver := testDriver(state); len(driver.Calls) != 0 {
		t.Errorf("driver calls without a source image: %v", driver.Calls)
	}
	if _, ok := state.GetOk("source_image"); ok {
		t.Error("source_image set without a source image")
	}
}

func TestStepSourceImageInfo_error(t *testing.T) {
	id := testImage("").ID
	cases := []struct {
		name  string
		setup func(*cloud.MockDriver)
		is    error
	}{
		{"no such image", func(d *cloud.MockDriver) {}, cloud.ErrImageNotFound},
		{"lookup fails", func(d *cloud.MockDriver) { d.FindImagesErr = errors.New("index unreadable") }, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			state := testState(t)
			testConfigOf(state).SourceImage = id
			tc.setup(testDriver(state))
			step := &stepSourceImageInfo{GeneratedData: generatedData(state)}
			wantHalt(t, state, step.Run(context.Background(), state), id, "source_image")
			err := state.Get("error").(error)
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %q is not %v", err, tc.is)
			}
			if _, ok := state.GetOk("source_image"); ok {
				t.Error("source_image set after a failure")
			}
		})
	}
}
