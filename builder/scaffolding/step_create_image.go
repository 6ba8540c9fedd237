package scaffolding

import (
	"context"
	"fmt"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	"github.com/hashicorp/packer-plugin-sdk/packerbuilderdata"

	"github.com/example/packer-plugin-scaffolding/cloud"
)

// stepCreateImage snapshots the stopped instance into the new image. The
// driver registers it atomically, so a failure leaves nothing behind; if
// the build is cancelled or halted after the image exists, Cleanup deletes
// it, since no artifact will report it.
//
// Uses: config, driver, instance, source_image (optional), ui.
// Produces: image (Image).
type stepCreateImage struct {
	GeneratedData *packerbuilderdata.GeneratedData

	image *cloud.Image
}

func (s *stepCreateImage) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	config := state.Get("config").(*Config)
	driver := state.Get("driver").(cloud.Driver)
	instance := state.Get("instance").(*cloud.Instance)
	ui := state.Get("ui").(packersdk.Ui)

	spec := cloud.ImageSpec{
		Name:   config.ImageName,
		Region: config.Region,
		Labels: config.ImageLabels,
	}
	if raw, ok := state.GetOk("source_image"); ok {
		spec.SourceImageID = raw.(cloud.Image).ID
	}
	ui.Say(fmt.Sprintf("Creating image %q in region %q from instance %s...", spec.Name, spec.Region, instance.ID))
	image, err := driver.CreateImage(ctx, instance, spec)
	if err != nil {
		return halt(state, fmt.Errorf("creating image %q: %w", spec.Name, err))
	}
	s.image = &image
	ui.Say(fmt.Sprintf("Created image %s", image.ID))
	state.Put("image", image)
	if s.GeneratedData != nil {
		s.GeneratedData.Put("ImageID", image.ID)
	}
	return multistep.ActionContinue
}

func (s *stepCreateImage) Cleanup(state multistep.StateBag) {
	if s.image == nil {
		return
	}
	_, cancelled := state.GetOk(multistep.StateCancelled)
	_, halted := state.GetOk(multistep.StateHalted)
	if !cancelled && !halted {
		return
	}
	driver := state.Get("driver").(cloud.Driver)
	ui := state.Get("ui").(packersdk.Ui)
	ui.Say(fmt.Sprintf("Deleting image %s: the build did not finish", s.image.ID))
	if err := driver.DeleteImage(context.Background(), *s.image); err != nil {
		ui.Error(fmt.Sprintf("Error deleting image %s: %s", s.image.ID, err))
		return
	}
	s.image = nil
	state.Remove("image")
}
