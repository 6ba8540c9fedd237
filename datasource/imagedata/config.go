//go:generate go tool packer-sdc mapstructure-to-hcl2 -type Config,DatasourceOutput
//go:generate go run github.com/example/packer-plugin-scaffolding/tools/structdocs

package imagedata

import (
	"errors"
	"fmt"
	"maps"
	"path"
	"slices"

	"github.com/hashicorp/packer-plugin-sdk/common"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	"github.com/hashicorp/packer-plugin-sdk/template/config"

	"github.com/example/packer-plugin-scaffolding/cloud"
)

// Config is the body of a `data "scaffolding-image"` block.
type Config struct {
	common.PackerConfig `mapstructure:",squash"`

	// Where the platform is: `store`, the image store to search (a
	// directory, or an `http://` or `https://` URL of a store served over
	// HTTP), and the credentials and request settings for it.
	cloud.AccessConfig `mapstructure:",squash"`
	// A glob (`*`, `?`, `[...]`, as in Go's path.Match) matched against the
	// image name. Empty matches every name.
	Name string `mapstructure:"name" required:"false"`
	// Labels the image must carry, every one with exactly this value.
	Labels map[string]string `mapstructure:"labels" required:"false"`
	// The region to search. Defaults to `local`.
	Region string `mapstructure:"region" required:"false"`
}

// DatasourceOutput is what the data source returns: the newest matching
// image.
type DatasourceOutput struct {
	// The image id, `sha256:<checksum>`: a content digest of the archive.
	ID string `mapstructure:"id"`
	// The image name.
	Name string `mapstructure:"name"`
	// The region the image is registered in.
	Region string `mapstructure:"region"`
	// The hex SHA-256 digest of the image archive (the id without its
	// `sha256:` prefix).
	Checksum string `mapstructure:"checksum"`
	// Where the archive can be read: a file path for a directory store, a URL
	// for an http(s) store.
	Location string `mapstructure:"location"`
	// The image's labels.
	Labels map[string]string `mapstructure:"labels"`
	// When the image was registered, RFC 3339 in UTC.
	Created string `mapstructure:"created"`
	// The archive's size in bytes.
	Size int64 `mapstructure:"size"`
	// The id of the image this one was built from, or empty.
	SourceImageID string `mapstructure:"source_image_id"`
}

// prepare decodes raws into c, applies defaults and validates every field,
// reporting all problems at once.
func (c *Config) prepare(raws ...interface{}) error {
	if err := config.Decode(c, &config.DecodeOpts{Interpolate: true}, raws...); err != nil {
		return err
	}
	if c.Region == "" {
		c.Region = cloud.DefaultRegion
	}

	var errs []error
	if c.Store == "" {
		errs = append(errs, errors.New("store: required: a directory or an http(s) URL"))
	}
	access := &c.AccessConfig
	_, accessErrs := access.Prepare(cloud.ReadOnly)
	errs = append(errs, accessErrs...)
	if c.Name != "" {
		if _, err := path.Match(c.Name, ""); err != nil {
			errs = append(errs, fmt.Errorf("name: %q is not a valid glob: %v", c.Name, err))
		}
	}
	for _, k := range slices.Sorted(maps.Keys(c.Labels)) {
		if err := cloud.ValidateLabel(k, c.Labels[k]); err != nil {
			errs = append(errs, fmt.Errorf("labels: %v", err))
		}
	}
	if err := cloud.ValidateRegion(c.Region); err != nil {
		errs = append(errs, fmt.Errorf("region: %v", err))
	}
	if len(errs) > 0 {
		return &packersdk.MultiError{Errors: errs}
	}
	return nil
}
