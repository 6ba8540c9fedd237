package scaffolding

import (
	"context"
	"fmt"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"

	"github.com/example/packer-plugin-scaffolding/cloud"
)

// stepStopInstance stops the instance so that its disk is consistent when
// it is snapshotted.
//
// Uses: driver, instance, ui.
type stepStopInstance struct{}

func (s *stepStopInstance) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	driver := state.Get("driver").(cloud.Driver)
	instance := state.Get("instance").(*cloud.Instance)
	ui := state.Get("ui").(packersdk.Ui)

	ui.Say(fmt.Sprintf("Stopping instance %s...", instance.ID))
	if err := driver.StopInstance(ctx, instance); err != nil {
		return halt(state, fmt.Errorf("stopping instance %s: %w", instance.ID, err))
	}
	return multistep.ActionContinue
}

// Cleanup has nothing to undo: the instance is deleted, not restarted.
func (s *stepStopInstance) Cleanup(multistep.StateBag) {}
