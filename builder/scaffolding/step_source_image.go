package scaffolding

import (
	"context"
	"fmt"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	"github.com/hashicorp/packer-plugin-sdk/packerbuilderdata"

	"github.com/example/packer-plugin-scaffolding/cloud"
)

// stepSourceImage finds source_image in the configured region and checks
// that its content still matches its id, before anything is launched.
//
// Uses: config, driver, ui. Produces: source_image (Image), when one is
// configured.
type stepSourceImage struct {
	GeneratedData *packerbuilderdata.GeneratedData
}

func (s *stepSourceImage) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
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
	ui.Say(fmt.Sprintf("Verifying the checksum of source image %s...", id))
	if err := driver.VerifyImage(ctx, image); err != nil {
		return halt(state, fmt.Errorf("source_image %s: %w", id, err))
	}
	state.Put("source_image", image)
	if s.GeneratedData != nil {
		s.GeneratedData.Put("SourceImageID", image.ID)
	}
	return multistep.ActionContinue
}

func (s *stepSourceImage) Cleanup(multistep.StateBag) {}
