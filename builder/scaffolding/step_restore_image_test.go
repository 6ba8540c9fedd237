package scaffolding

import (
	"context"
	"errors"
	"testing"

	"github.com/example/packer-plugin-scaffolding/cloud"
)

func TestStepRestoreImage(t *testing.T) {
	state := testState(t)
	inst := &cloud.Instance{ID: "i-1", Workspace: t.TempDir()}
	src := testImage("base")
	state.Put("instance", inst)
	state.Put("source_image", src)
	step := &stepRestoreImage{}

	wantContinue(t, state, step.Run(context.Background(), state))
	step.Cleanup(state)
	driver := testDriver(state)
	if driver.RestoreImageInstance != inst || driver.RestoreImageImage.ID != src.ID {
		t.Errorf("restored %+v into %+v", driver.RestoreImageImage, driver.RestoreImageInstance)
	}
}

func TestStepRestoreImage_noSource(t *testing.T) {
	state := testState(t)
	state.Put("instance", &cloud.Instance{ID: "i-1"})
	wantContinue(t, state, (&stepRestoreImage{}).Run(context.Background(), state))
	if testDriver(state).RestoreImageCalled {
		t.Error("RestoreImage called without a source image")
	}
}

func TestStepRestoreImage_error(t *testing.T) {
	state := testState(t)
	src := testImage("base")
	state.Put("instance", &cloud.Instance{ID: "i-1"})
	state.Put("source_image", src)
	testDriver(state).RestoreImageErr = errors.New(`archive entry "../x": path contains a ".." element`)
	wantHalt(t, state, (&stepRestoreImage{}).Run(context.Background(), state), src.ID, `"../x"`)
}
