package scaffolding

import (
	"context"
	"errors"
	"fmt"

	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/hashicorp/packer-plugin-sdk/communicator"
	"github.com/hashicorp/packer-plugin-sdk/multistep"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	"github.com/hashicorp/packer-plugin-sdk/packerbuilderdata"

	"github.com/example/packer-plugin-scaffolding/cloud"
)

// generatedVars are the names of the build data this builder produces,
// usable in templates as build.<Name>.
var generatedVars = []string{"SourceImageID", "ImageName", "Region", "InstanceID", "ImageID"}

// Builder launches an instance from a source image (or empty), provisions
// it and snapshots it into a new image in the store.
type Builder struct {
	config Config
	runner multistep.Runner

	// Driver talks to the platform. When nil, Run asks cloud.NewDriver for
	// the driver of the configured access (the stand-in cloud here, a
	// fork's SDK there); unit tests set a cloud.MockDriver.
	Driver cloud.Driver
}

var _ packersdk.Builder = (*Builder)(nil)

// ConfigSpec returns the HCL spec of Config.
func (b *Builder) ConfigSpec() hcldec.ObjectSpec { return b.config.FlatMapstructure().HCL2Spec() }

// Prepare checks the configuration and returns the names of the generated
// build variables.
func (b *Builder) Prepare(raws ...interface{}) ([]string, []string, error) {
	warnings, err := b.config.Prepare(raws...)
	if err != nil {
		return nil, warnings, err
	}
	return append([]string(nil), generatedVars...), warnings, nil
}

// Run builds the image.
func (b *Builder) Run(ctx context.Context, ui packersdk.Ui, hook packersdk.Hook) (packersdk.Artifact, error) {
	driver := b.Driver
	if driver == nil {
		// cloud.NewDriver is the one place that decides which Driver talks to
		// the platform, for every component: a fork returns its own there.
		var err error
		if driver, err = cloud.NewDriver(&cloud.AccessConfig{Store: b.config.Store}); err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
	}

	// The driver says what it waits for (another build's store lock, say)
	// on the build's UI.
	ctx = cloud.WithProgress(ctx, ui.Say)

	state := new(multistep.BasicStateBag)
	state.Put("config", &b.config)
	state.Put("driver", driver)
	state.Put("hook", hook)
	state.Put("ui", ui)

	generated := &packerbuilderdata.GeneratedData{State: state}
	// Every declared variable gets a value up front, so a template that
	// reads one before the step that sets it sees "" rather than an error.
	generated.Put("SourceImageID", b.config.SourceImage)
	generated.Put("ImageName", b.config.ImageName)
	generated.Put("Region", b.config.Region)
	generated.Put("InstanceID", "")
	generated.Put("ImageID", "")

	steps := []multistep.Step{
		&stepSourceImageInfo{GeneratedData: generated},
	}
	if b.config.Comm.Type == "ssh" {
		// The build's temporary key pair (or the one ssh_private_key_file
		// names): the public half goes to the instance at launch, as a
		// cloud's key pair does.
		steps = append(steps, &communicator.StepSSHKeyGen{
			CommConf:            &b.config.Comm,
			SSHTemporaryKeyPair: b.config.Comm.SSHTemporaryKeyPair,
		})
	}
	steps = append(steps,
		&stepRunInstance{GeneratedData: generated},
		&communicator.StepConnect{
			Config:    &b.config.Comm,
			Host:      commHost(&b.config.Comm),
			SSHConfig: b.config.Comm.SSHConfigFunc(),
			SSHPort:   sshPort(&b.config),
			WinRMPort: commPort(func() int { return b.config.Comm.WinRMPort }),
			CustomConnect: map[string]multistep.Step{
				WorkspaceCommunicator: &stepConnectWorkspace{},
			},
		},
		&stepProvision{},
		&stepStopInstance{},
		&stepCreateImage{GeneratedData: generated},
	)

	b.runner = newRunner(steps, b.config.PackerConfig, ui)
	b.runner.Run(ctx, state)

	art, err := b.result(ctx, state, driver)
	if art == nil {
		// A cancel can land after stepCreateImage's Cleanup kept the image,
		// while the instance is being terminated: no artifact will report
		// the image then, so it must go (unless an earlier build made it).
		reused, _ := state.Get("image_reused").(bool)
		if image, ok := state.GetOk("image"); ok && !reused {
			_ = discardImage(state, image.(cloud.Image))
		}
		return nil, err // a nil interface, not a typed nil
	}
	return art, nil
}

// result is what Run returns once the steps have run: the artifact, or nil
// when the build failed or was cancelled.
func (b *Builder) result(ctx context.Context, state multistep.StateBag, driver cloud.Driver) (*Artifact, error) {
	if err, ok := state.GetOk("error"); ok {
		return nil, err.(error)
	}
	// The runner marks cancellation from a goroutine, so a step that halts
	// because its context was cancelled can race it: ctx says for sure.
	if _, ok := state.GetOk(multistep.StateCancelled); ok || ctx.Err() != nil {
		return nil, nil
	}
	if _, ok := state.GetOk(multistep.StateHalted); ok {
		return nil, errors.New("build was halted")
	}
	image, ok := state.GetOk("image")
	if !ok {
		return nil, fmt.Errorf("build finished without creating an image")
	}
	reused, _ := state.Get("image_reused").(bool)
	return &Artifact{
		Image:  image.(cloud.Image),
		Store:  b.config.Store,
		Driver: driver,
		Reused: reused,
		StateData: map[string]interface{}{
			"generated_data": state.Get("generated_data"),
		},
	}, nil
}

// halt is how every step fails: the error goes into the state bag for Run
// to return, and onto the UI.
func halt(state multistep.StateBag, err error) multistep.StepAction {
	state.Put("error", err)
	if ui, ok := state.Get("ui").(packersdk.Ui); ok {
		ui.Error(err.Error())
	}
	return multistep.ActionHalt
}
