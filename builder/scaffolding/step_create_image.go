package scaffolding

import (
	"context"
	"errors"
	"fmt"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	"github.com/hashicorp/packer-plugin-sdk/packerbuilderdata"

	"github.com/example/packer-plugin-scaffolding/cloud"
)

// stepCreateImage snapshots the stopped instance into the new image. The
// driver registers it atomically, so a failure leaves nothing behind; if
// the build is cancelled or halted after the image exists, Cleanup
// deregisters it, since no artifact will report it.
//
// When the platform already holds an identical image (same name, region
// and content, from an earlier build) the build reuses it and marks it
// reused: neither Cleanup nor the artifact's Destroy may remove what this
// build did not make.
//
// Uses: config, driver, instance, source_image (optional), ui.
// Produces: image (cloud.Image), image_reused (bool).
type stepCreateImage struct {
	GeneratedData *packerbuilderdata.GeneratedData

	// image is the image this step made, nil when it made none.
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
	reused := errors.Is(err, cloud.ErrImageExists)
	switch {
	case reused && image.ID != "":
		ui.Say(fmt.Sprintf("Image %q (%s) with this content is already registered in region %q since %s: "+
			"the build reuses it and will not delete it", image.Name, image.ID, image.Region, image.Created.Format("2006-01-02 15:04:05Z07:00")))
	case err != nil:
		return halt(state, fmt.Errorf("creating image %q: %w", spec.Name, err))
	default:
		s.image = &image
		ui.Say(fmt.Sprintf("Created image %s", image.ID))
	}
	state.Put("image", image)
	state.Put("image_reused", reused)
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
	if err := discardImage(state, *s.image); err != nil {
		return
	}
	s.image = nil
	state.Remove("image")
}

// discardImage deregisters an image the build made but will not report,
// saying so on the UI.
func discardImage(state multistep.StateBag, image cloud.Image) error {
	driver := state.Get("driver").(cloud.Driver)
	ui := state.Get("ui").(packersdk.Ui)
	ui.Say(fmt.Sprintf("Deregistering image %s: the build did not finish", image.ID))
	// Not the build's context: it is likely cancelled already.
	if err := driver.DeregisterImage(context.Background(), image); err != nil {
		ui.Error(fmt.Sprintf("Error deregistering image %s: %s", image.ID, err))
		return err
	}
	return nil
}
