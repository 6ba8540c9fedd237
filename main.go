// Command packer-plugin-scaffolding is a Packer plugin set: one builder, one
// provisioner, one post-processor and one data source, all working against a
// local image store that stands in for a vendor's cloud.
package main

import (
	"fmt"
	"os"

	"github.com/hashicorp/packer-plugin-sdk/plugin"

	scaffoldingBuilder "github.com/example/packer-plugin-scaffolding/builder/scaffolding"
	"github.com/example/packer-plugin-scaffolding/datasource/imagedata"
	"github.com/example/packer-plugin-scaffolding/post-processor/imagecopy"
	"github.com/example/packer-plugin-scaffolding/provisioner/setup"
	"github.com/example/packer-plugin-scaffolding/version"
)

func main() {
	pps := plugin.NewSet()
	// DEFAULT_NAME makes a component appear under the bare plugin name in HCL
	// (source "scaffolding", provisioner "scaffolding"); any other name is
	// prefixed with the plugin name (data "scaffolding-image",
	// post-processor "scaffolding-copy").
	pps.RegisterBuilder(plugin.DEFAULT_NAME, new(scaffoldingBuilder.Builder))
	pps.RegisterProvisioner(plugin.DEFAULT_NAME, new(setup.Provisioner))
	pps.RegisterPostProcessor("copy", new(imagecopy.PostProcessor))
	pps.RegisterDatasource("image", new(imagedata.Datasource))
	pps.SetVersion(version.PluginVersion)
	if err := pps.Run(); err != nil {
		fmt.Fprintln(os.Stderr, err.Error())
		os.Exit(1)
	}
}
