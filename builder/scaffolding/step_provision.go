package scaffolding

import (
	"context"
	"fmt"
	"log"
	"os"
	"strconv"

	"github.com/hashicorp/packer-plugin-sdk/communicator"
	"github.com/hashicorp/packer-plugin-sdk/multistep"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
)

// stepProvision runs the template's provisioners (Packer's shell, file,
// ansible, ... and this plugin's) over the build's communicator. When the
// build has failed, its Cleanup runs the error-cleanup-provisioner.
//
// The SDK's commonsteps.StepProvision does the same. This plugin does not
// import commonsteps: that package also holds StepDownload, which links
// go-getter with its S3 and GCS clients (about 300 more packages, a third
// of the binary) whose package initialisation every plugin process Packer
// starts pays for, about 9 ms each (see CONTRIBUTING.md, "Plugin start").
// A fork that needs StepDownload or StepHTTPServer imports commonsteps
// and may use its StepProvision and NewRunner instead of these.
//
// Uses: communicator (optional), communicator_config (optional), hook,
// instance_id, ui, generated_data.
// Produces: generated_data, with the provisioners' build data added.
type stepProvision struct{}

func (s *stepProvision) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	if err := runProvisionHook(ctx, state, packersdk.HookProvision); err != nil {
		state.Put("error", err)
		return multistep.ActionHalt
	}
	if ctx.Err() != nil {
		return multistep.ActionHalt
	}
	return multistep.ActionContinue
}

// Cleanup runs the error-cleanup-provisioner when the build failed in this
// step or a later one (the hook is empty when the template has none).
func (s *stepProvision) Cleanup(state multistep.StateBag) {
	failure, failed := state.GetOk("error")
	if !failed {
		return
	}
	ui := state.Get("ui").(packersdk.Ui)
	ui.Say("The build failed: running the error-cleanup-provisioner, if the template has one...")
	// The build's context is done or about to be: the cleanup provisioner
	// runs on its own, as cleanups do.
	if err := runProvisionHook(context.Background(), state, packersdk.HookCleanupProvision); err != nil {
		state.Put("error", fmt.Errorf("error-cleanup-provisioner: %w (after the build failed with: %v)", err, failure))
	}
}

// runProvisionHook runs Packer's hook named hookName with the build data
// and returns its error. It returns at once when ctx is cancelled: Packer
// cancels the provisioners over RPC itself, and the build must be free to
// clean up meanwhile.
func runProvisionHook(ctx context.Context, state multistep.StateBag, hookName string) error {
	hook := state.Get("hook").(packersdk.Hook)
	ui := state.Get("ui").(packersdk.Ui)
	comm, _ := state.Get("communicator").(packersdk.Communicator)

	data := provisionerBuildData(state)
	// Post-processors read the same data from the artifact.
	state.Put("generated_data", data)

	log.Printf("running the %s hook", hookName)
	done := make(chan error, 1)
	go func() { done <- hook.Run(ctx, hookName, ui, comm, data) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		log.Printf("%s hook: cancelled (%v)", hookName, ctx.Err())
		return nil
	}
}

// Values Packer's provisioners see for build data a builder does not
// provide. They are part of the plugin protocol: templates and Packer's
// own provisioners compare against them.
const (
	notProvidedID       = "ERR_ID_NOT_IMPLEMENTED_BY_BUILDER"
	notProvidedHTTPIP   = "ERR_HTTP_IP_NOT_IMPLEMENTED_BY_BUILDER"
	notProvidedHTTPPort = "ERR_HTTP_PORT_NOT_IMPLEMENTED_BY_BUILDER"
	notProvidedHTTPAddr = "ERR_HTTP_ADDR_NOT_IMPLEMENTED_BY_BUILDER"
)

// provisionerBuildData is the build data provisioners read as build.<Key>:
// this builder's generated data (build.ImageName, build.InstanceID, ...)
// plus the keys Packer defines for every builder: the instance (ID), the
// run (PackerRunUUID), the build's HTTP server (PackerHTTP*: none here)
// and how to reach the instance (Host, Port, User, SSH keys, ...), which
// ansible and the like use to connect on their own.
func provisionerBuildData(state multistep.StateBag) map[string]interface{} {
	data, _ := state.Get("generated_data").(map[string]interface{})
	if data == nil {
		data = map[string]interface{}{}
	}
	data["ID"] = notProvidedID
	if id, ok := state.GetOk("instance_id"); ok {
		data["ID"] = id
	}
	data["PackerRunUUID"] = os.Getenv("PACKER_RUN_UUID")

	data["PackerHTTPIP"], data["PackerHTTPPort"], data["PackerHTTPAddr"] = notProvidedHTTPIP, notProvidedHTTPPort, notProvidedHTTPAddr
	ip, hasIP := state.Get("http_ip").(string)
	port, hasPort := state.Get("http_port").(int)
	if hasIP {
		data["PackerHTTPIP"] = ip
	}
	if hasPort {
		data["PackerHTTPPort"] = strconv.Itoa(port)
	}
	if hasIP && hasPort {
		data["PackerHTTPAddr"] = fmt.Sprintf("%s:%d", ip, port)
	}

	// communicator.StepConnect puts its configuration there, for every
	// communicator type but none.
	comm, ok := state.Get("communicator_config").(*communicator.Config)
	if !ok {
		return data
	}
	data["Host"] = comm.Host()
	data["Port"] = comm.Port()
	data["User"] = comm.User()
	data["Password"] = comm.Password()
	data["ConnType"] = comm.Type
	data["SSHPublicKey"] = string(comm.SSHPublicKey)
	data["SSHPrivateKey"] = string(comm.SSHPrivateKey)
	data["SSHPrivateKeyFile"] = comm.SSHPrivateKeyFile
	data["SSHAgentAuth"] = comm.SSHAgentAuth
	// Older templates read the WinRM password under its own key.
	data["WinRMPassword"] = comm.WinRMPassword
	return data
}
