//go:generate go tool packer-sdc mapstructure-to-hcl2 -type Config
//go:generate go run github.com/example/packer-plugin-scaffolding/tools/structdocs

package imagecopy

import (
	"errors"
	"fmt"

	"github.com/hashicorp/packer-plugin-sdk/common"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	"github.com/hashicorp/packer-plugin-sdk/template/config"
	"github.com/hashicorp/packer-plugin-sdk/template/interpolate"

	"github.com/example/packer-plugin-scaffolding/cloud"
)

// Config is the body of a `post-processor "scaffolding-copy"` block.
//
// The input image stays where it is unless the post-processor block sets
// `keep_input_artifact = false`: then Packer destroys the input artifact
// once the copies are made, which deletes the source image from its region.
type Config struct {
	common.PackerConfig `mapstructure:",squash"`

	// The regions the image must be in. A region equal to the source image's
	// own region is listed in the result without being copied. Names are
	// letters, digits, `.`, `_` and `-`, starting with a letter or digit;
	// each region may appear once.
	Regions []string `mapstructure:"regions" required:"true"`
	// Where the platform is. Here `store` is optional: it defaults to the
	// store the `scaffolding` builder wrote the image to, which is almost
	// always what you want. Copies are written, so an http(s) store cannot
	// be used.
	cloud.AccessConfig `mapstructure:",squash"`

	ctx interpolate.Context
}

// prepare decodes raws into c and validates every field, reporting all
// problems at once.
func (c *Config) prepare(raws ...interface{}) error {
	err := config.Decode(c, &config.DecodeOpts{
		PluginType:         "scaffolding-copy",
		Interpolate:        true,
		InterpolateContext: &c.ctx,
	}, raws...)
	if err != nil {
		return err
	}

	var errs []error
	if len(c.Regions) == 0 {
		errs = append(errs, errors.New("regions: required: list at least one region to copy the image to"))
	}
	seen := make(map[string]int, len(c.Regions))
	for i, r := range c.Regions {
		if err := cloud.ValidateRegion(r); err != nil {
			errs = append(errs, fmt.Errorf("regions[%d]: %v", i, err))
			continue
		}
		if j, dup := seen[r]; dup {
			errs = append(errs, fmt.Errorf("regions[%d]: %q repeats regions[%d]", i, r, j))
			continue
		}
		seen[r] = i
	}
	access := &c.AccessConfig
	_, accessErrs := access.Prepare(cloud.ReadWrite)
	errs = append(errs, accessErrs...)

	if len(errs) > 0 {
		return &packersdk.MultiError{Errors: errs}
	}
	return nil
}
