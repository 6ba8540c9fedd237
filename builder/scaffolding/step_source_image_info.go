package scaffolding

import (
	"context"
	"fmt"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	"github.com/hashicorp/packer-plugin-sdk/packerbuilderdata"

	"github.com/example/packer-plugin-scaffolding/cloud"
)

// stepSourceImageInfo looks source_image up in the configured region before
// anything is launched, as amazon-ebs's StepSourceAMIInfo does. The
// platform checks the image's content when the instance is launched from it.
//
// Uses: config, driver, ui. Produces: source_image (cloud.Image), when one
// is configured.
type stepSourceImageInfo struct {
	GeneratedData *packerbuilderdata.GeneratedData
}

func (s *stepSourceImageInfo) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	config := state.Get("config").(*Config)
	driver := state.Get("driver").(cloud.Driver)
	ui := state.Get("ui").(packersdk.Ui)

	if config.SourceImage == "" {
		ui.Say("No source_image: the instance starts empty")
		return multistep.ActionContinue
	}
	id := config.SourceImage
	ui.Say(fmt.Sprintf("Looking up source image %s in region %q...", id, config.Region))
	images, err := driver.FindImages(ctx, cloud.ImageFilter{ID: id, Region: config.Region})
	if err != nil {
		return halt(state, fmt.Errorf("looking up source_image %s: %w", id, err))
	}
	if len(images) == 0 {
		return halt(state, fmt.Errorf("source_image %s: no such image in region %q of store %s: %w",
			id, config.Region, config.Store, cloud.ErrImageNotFound))
	}
	image := images[0]
	state.Put("source_image", image)
	if s.GeneratedData != nil {
		s.GeneratedData.Put("SourceImageID", image.ID)
	}
	return multistep.ActionContinue
}

// Cleanup has nothing to undo: looking up changes nothing.
func (s *stepSourceImageInfo) Cleanup(multistep.StateBag) {}
