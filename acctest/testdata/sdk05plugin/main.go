// Command packer-plugin-hello is a plugin on packer-plugin-sdk 0.5, which
// predates protobuf: its describe reports no protocol_version, so Packer
// speaks gob to it. It is its own module, so the harness builds it with its
// own dependencies (TestAccHarness_sdk05Plugin).
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/hashicorp/hcl/v2/hcldec"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	"github.com/hashicorp/packer-plugin-sdk/plugin"
	"github.com/hashicorp/packer-plugin-sdk/version"
)

// Provisioner says hello and takes no configuration.
type Provisioner struct{}

// ConfigSpec is empty: the provisioner has no options.
func (p *Provisioner) ConfigSpec() hcldec.ObjectSpec { return hcldec.ObjectSpec{} }

// Prepare accepts any configuration.
func (p *Provisioner) Prepare(...interface{}) error { return nil }

// Provision says hello.
func (p *Provisioner) Provision(_ context.Context, ui packersdk.Ui, _ packersdk.Communicator, _ map[string]interface{}) error {
	ui.Say("hello from SDK 0.5")
	return nil
}

func main() {
	pps := plugin.NewSet()
	pps.RegisterProvisioner(plugin.DEFAULT_NAME, new(Provisioner))
	pps.SetVersion(version.NewPluginVersion("0.1.0", "dev", ""))
	if err := pps.Run(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
