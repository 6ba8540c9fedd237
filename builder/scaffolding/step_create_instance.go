package scaffolding

import (
	"context"
	"fmt"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	"github.com/hashicorp/packer-plugin-sdk/packerbuilderdata"

	"github.com/example/packer-plugin-scaffolding/cloud"
)

// stepCreateInstance launches the instance the build works on. Its Cleanup
// deletes the instance whatever happened after, success, failure or
// cancellation alike: nothing of a build outlives it but the image.
//
// Uses: config, driver, ui. Produces: instance (*Instance), instance_id.
type stepCreateInstance struct {
	GeneratedData *packerbuilderdata.GeneratedData

	instance *cloud.Instance
}

func (s *stepCreateInstance) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	config := state.Get("config").(*Config)
	driver := state.Get("driver").(cloud.Driver)
	ui := state.Get("ui").(packersdk.Ui)

	name := config.PackerBuildName
	if name == "" {
		name = config.ImageName
	}
	ui.Say("Launching an instance...")
	instance, err := driver.CreateInstance(ctx, cloud.InstanceSpec{Name: name})
	if instance != nil {
		// Kept even on error: a half-launched instance still needs deleting.
		s.instance = instance
	}
	if err != nil {
		return halt(state, fmt.Errorf("launching instance: %w", err))
	}
	if instance == nil {
		return halt(state, fmt.Errorf("launching instance: the driver returned no instance"))
	}
	ui.Say(fmt.Sprintf("Instance %s runs in %s", instance.ID, instance.Workspace))
	state.Put("instance", instance)
	state.Put("instance_id", instance.ID)
	if s.GeneratedData != nil {
		s.GeneratedData.Put("InstanceID", instance.ID)
	}
	return multistep.ActionContinue
}

func (s *stepCreateInstance) Cleanup(state multistep.StateBag) {
	if s.instance == nil {
		return
	}
	driver := state.Get("driver").(cloud.Driver)
	ui := state.Get("ui").(packersdk.Ui)
	ui.Say(fmt.Sprintf("Deleting instance %s...", s.instance.ID))
	// The build's context may be cancelled already; deleting must happen
	// regardless.
	if err := driver.DeleteInstance(context.Background(), s.instance); err != nil {
		ui.Error(fmt.Sprintf("Error deleting instance %s: %s (remove %s by hand)", s.instance.ID, err, s.instance.Workspace))
		return
	}
	s.instance = nil
}
