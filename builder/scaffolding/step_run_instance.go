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

// stepRunInstance launches the instance the build works on from the source
// image (or empty), as amazon-ebs's StepRunSourceInstance does. Its Cleanup
// terminates the instance whatever happened after, success, failure or
// cancellation alike: nothing of a build outlives it but the image.
//
// Uses: config, driver, source_image (optional), ui.
// Produces: instance (*cloud.Instance), instance_id.
type stepRunInstance struct {
	GeneratedData *packerbuilderdata.GeneratedData

	instance *cloud.Instance
}

func (s *stepRunInstance) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	config := state.Get("config").(*Config)
	driver := state.Get("driver").(cloud.Driver)
	ui := state.Get("ui").(packersdk.Ui)

	spec := cloud.LaunchSpec{
		Name:         config.PackerBuildName,
		Region:       config.Region,
		SSHPublicKey: string(config.Comm.SSHPublicKey),
		DiskSize:     int64(config.DiskSize) << 20,
	}
	if spec.Name == "" {
		spec.Name = config.ImageName
	}
	if raw, ok := state.GetOk("source_image"); ok {
		src := raw.(cloud.Image)
		spec.SourceImage = &src
		ui.Say(fmt.Sprintf("Launching an instance from image %s...", src.ID))
	} else {
		ui.Say("Launching an empty instance...")
	}
	instance, err := driver.RunInstance(ctx, spec)
	if instance != nil {
		// Kept even on error: a half-launched instance still needs
		// terminating.
		s.instance = instance
	}
	if errors.Is(err, cloud.ErrDiskFull) {
		return halt(state, fmt.Errorf("launching instance: %w (disk_size is %d MiB; raise it to launch from this image)", err, config.DiskSize))
	}
	if err != nil {
		return halt(state, fmt.Errorf("launching instance: %w", err))
	}
	if instance == nil {
		return halt(state, fmt.Errorf("launching instance: the driver returned no instance"))
	}
	ui.Say(fmt.Sprintf("Instance %s is running", instance.ID))
	state.Put("instance", instance)
	state.Put("instance_id", instance.ID)
	if s.GeneratedData != nil {
		s.GeneratedData.Put("InstanceID", instance.ID)
	}
	return multistep.ActionContinue
}

func (s *stepRunInstance) Cleanup(state multistep.StateBag) {
	if s.instance == nil {
		return
	}
	driver := state.Get("driver").(cloud.Driver)
	ui := state.Get("ui").(packersdk.Ui)
	ui.Say(fmt.Sprintf("Terminating instance %s...", s.instance.ID))
	// The build's context may be cancelled already; terminating must
	// happen regardless.
	if err := driver.TerminateInstance(context.Background(), s.instance); err != nil {
		ui.Error(fmt.Sprintf("Error terminating instance %s: %s (terminate it by hand)", s.instance.ID, err))
		return
	}
	s.instance = nil
}
