package scaffolding

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/example/packer-plugin-scaffolding/cloud"
)

func TestStepSourceImage(t *testing.T) {
	state := testState(t)
	src := testImage("base")
	testConfigOf(state).SourceImage = src.ID
	driver := testDriver(state)
	driver.FindImagesResult = []cloud.Image{src}
	step := &stepSourceImage{GeneratedData: generatedData(state)}

	wantContinue(t, state, step.Run(context.Background(), state))
	step.Cleanup(state)

	if driver.FindImagesFilter.ID != src.ID || driver.FindImagesFilter.Region != cloud.DefaultRegion {
		t.Errorf("filter = %+v, want the id in region %s", driver.FindImagesFilter, cloud.DefaultRegion)
	}
	if len(driver.VerifyImageImages) != 1 || driver.VerifyImageImages[0].ID != src.ID {
		t.Errorf("verified %+v, want the source image", driver.VerifyImageImages)
	}
	if got := state.Get("source_image").(cloud.Image); got.ID != src.ID {
		t.Errorf("source_image = %+v", got)
	}
	if got := state.Get("generated_data").(map[string]interface{})["SourceImageID"]; got != src.ID {
		t.Errorf("generated SourceImageID = %v", got)
	}
}

func TestStepSourceImage_none(t *testing.T) {
	state := testState(t)
	step := &stepSourceImage{GeneratedData: generatedData(state)}
	wantContinue(t, state, step.Run(context.Background(), state))
	if driver := testDriver(state); len(driver.Calls) != 0 {
		t.Errorf("driver calls without a source image: %v", driver.Calls)
	}
	if _, ok := state.GetOk("source_image"); ok {
		t.Error("source_image set without a source image")
	}
}

func TestStepSourceImage_error(t *testing.T) {
	id := testImage("").ID
	cases := []struct {
		name   string
		setup  func(*cloud.MockDriver)
		is     error
		verify bool
	}{
		{"no such image", func(d *cloud.MockDriver) {}, cloud.ErrImageNotFound, false},
		{"lookup fails", func(d *cloud.MockDriver) { d.FindImagesErr = errors.New("index unreadable") }, nil, false},
		{"checksum mismatch", func(d *cloud.MockDriver) {
			d.FindImagesResult = []cloud.Image{testImage("base")}
			d.VerifyImageErr = fmt.Errorf("archive hashes to sha256:0000: %w", cloud.ErrChecksumMismatch)
		}, cloud.ErrChecksumMismatch, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			state := testState(t)
			testConfigOf(state).SourceImage = id
			tc.setup(testDriver(state))
			step := &stepSourceImage{GeneratedData: generatedData(state)}
			wantHalt(t, state, step.Run(context.Background(), state), id, "source_image")
			err := state.Get("error").(error)
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %q is not %v", err, tc.is)
			}
			if _, ok := state.GetOk("source_image"); ok {
				t.Error("source_image set after a failure")
			}
			if got := testDriver(state).VerifyImageCalled; got != tc.verify {
				t.Errorf("VerifyImage called = %v, want %v", got, tc.verify)
			}
		})
	}
}
