package scaffolding

import (
	"context"
	"fmt"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"

	"github.com/example/packer-plugin-scaffolding/cloud"
)

// stepRestoreImage writes the source image into the instance, the way a
// cloud boots an instance from its image. Without a source image it does
// nothing.
//
// Uses: driver, instance, source_image (optional), ui.
type stepRestoreImage struct{}

func (s *stepRestoreImage) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	ui := state.Get("ui").(packersdk.Ui)
	raw, ok := state.GetOk("source_image")
	if !ok {
		return multistep.ActionContinue
	}
	image := raw.(cloud.Image)
	driver := state.Get("driver").(cloud.Driver)
	instance := state.Get("instance").(*cloud.Instance)

	ui.Say(fmt.Sprintf("Restoring source image %s into instance %s...", image.ID, instance.ID))
	if err := driver.RestoreImage(ctx, instance, image); err != nil {
		return halt(state, fmt.Errorf("restoring source image %s: %w", image.ID, err))
	}
	return multistep.ActionContinue
}

// Cleanup has nothing to undo: deleting the instance removes what was
// restored.
func (s *stepRestoreImage) Cleanup(multistep.StateBag) {}
