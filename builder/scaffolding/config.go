//go:generate go tool packer-sdc mapstructure-to-hcl2 -type Config
//go:generate go run github.com/example/packer-plugin-scaffolding/tools/structdocs

package scaffolding

import (
	"errors"
	"fmt"
	"sort"

	"github.com/hashicorp/packer-plugin-sdk/common"
	"github.com/hashicorp/packer-plugin-sdk/communicator"
	"github.com/hashicorp/packer-plugin-sdk/hcl2helper"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	"github.com/hashicorp/packer-plugin-sdk/template/config"
	"github.com/hashicorp/packer-plugin-sdk/template/interpolate"

	"github.com/example/packer-plugin-scaffolding/cloud"
)

// WorkspaceCommunicator is the communicator type that works directly in the
// instance's directory on the build host, without a machine: absolute paths
// in commands then mean the host. It is for hosts that cannot run machines
// (no user namespaces: macOS, Windows, locked-down runners); `ssh` is the
// default.
const WorkspaceCommunicator = "workspace"

// DefaultDiskSize is the instance's disk size in MiB when disk_size is not
// set.
const DefaultDiskSize = 1024

// DefaultSSHUsername is the user the instance's SSH server lets in: the
// stand-in's machines have only root.
const DefaultSSHUsername = "root"

var (
	errStoreRequired     = errors.New("store is required: the directory of the image store")
	errImageNameRequired = errors.New("image_name is required")
)

// Config is the configuration of the builder (`source "scaffolding"`).
type Config struct {
	common.PackerConfig `mapstructure:",squash"`
	// The communicator settings. `communicator` defaults to `ssh`: the
	// builder makes a temporary key pair, launches the instance with its
	// public key and connects to the address the instance reports, as a
	// cloud builder does, so `ssh_host` and `ssh_port` are not needed.
	// `ssh_username` defaults to `root`, `temporary_key_pair_type` to
	// `ed25519`, `ssh_file_transfer_method` to `sftp` (`scp` works too, but
	// its sink needs an upload's target directory to exist); `ssh_timeout`
	// and the other `ssh_*` settings work as in any builder. `none` skips
	// provisioning; `workspace` runs commands on the build host in the
	// instance's directory, for hosts that cannot run machines.
	Comm communicator.Config `mapstructure:",squash"`

	// Where the platform is: `store`, the directory of the image store the
	// new image is registered in and `source_image` is looked up in (a
	// store published over http(s) is read-only and cannot be used here),
	// and the credentials and request settings shared by every component.
	cloud.AccessConfig `mapstructure:",squash"`
	// The region of the store the source image is taken from and the new
	// image is registered in. Letters, digits, `.`, `_` and `-`. Defaults to
	// `local`.
	Region string `mapstructure:"region" required:"false"`
	// The name of the new image. Images are looked up by name with globs, so
	// the name may not hold `*`, `?`, `[`, `]`, `\` or spaces.
	ImageName string `mapstructure:"image_name" required:"true"`
	// Labels (key/value tags) recorded on the new image and sent to HCP
	// Packer as its labels.
	ImageLabels map[string]string `mapstructure:"image_labels" required:"false"`
	// The id (`sha256:<64 hex digits>`) of the image the instance starts
	// from, in `region` of `store`; typically the `id` output of the
	// `scaffolding-image` data source. Its checksum is verified before use.
	// Empty starts from an empty instance.
	SourceImage string `mapstructure:"source_image" required:"false"`
	// The size of the instance's disk, in MiB: how far the source image may
	// expand when the instance is launched from it. An image that does not
	// fit fails the launch, before anything is provisioned. Defaults to
	// `1024`.
	DiskSize int `mapstructure:"disk_size" required:"false"`

	ctx        interpolate.Context
	sshPortSet bool
}

// Prepare decodes the raw configuration, fills in defaults and checks every
// field, reporting all problems at once.
func (c *Config) Prepare(raws ...interface{}) ([]string, error) {
	err := config.Decode(c, &config.DecodeOpts{
		PluginType:         BuilderID,
		Interpolate:        true,
		InterpolateContext: &c.ctx,
	}, raws...)
	if err != nil {
		return nil, err
	}

	if c.Region == "" {
		c.Region = cloud.DefaultRegion
	}
	if c.Comm.Type == "" {
		c.Comm.Type = "ssh"
	}
	if c.Comm.Type == "ssh" {
		if c.Comm.SSHUsername == "" {
			c.Comm.SSHUsername = DefaultSSHUsername
		}
		if c.Comm.SSHTemporaryKeyPairType == "" {
			c.Comm.SSHTemporaryKeyPairType = "ed25519"
		}
		// SFTP makes the directories an upload needs; an SCP sink (the
		// SDK's default) wants the target directory to exist already.
		if c.Comm.SSHFileTransferMethod == "" {
			c.Comm.SSHFileTransferMethod = "sftp"
		}
		// ssh_port only counts when set: the instance says which port it
		// serves SSH on.
		// (StepConnect later writes the address it dials into Comm, so
		// what the user set is recorded here.)
		c.sshPortSet = c.Comm.SSHPort != 0 || c.Comm.SSHHost != ""
	}
	if c.DiskSize == 0 {
		c.DiskSize = DefaultDiskSize
	}

	var errs *packersdk.MultiError
	var warnings []string
	add := func(err error) { errs = packersdk.MultiErrorAppend(errs, err) }

	if c.Store == "" {
		add(errStoreRequired)
	}
	accessWarnings, accessErrs := c.AccessConfig.Prepare(cloud.ReadWrite)
	warnings = append(warnings, accessWarnings...)
	for _, err := range accessErrs {
		add(err)
	}
	if err := cloud.ValidateRegion(c.Region); err != nil {
		add(fmt.Errorf("region: %w", err))
	}
	if c.DiskSize < 0 {
		add(fmt.Errorf("disk_size: %d must be a positive number of MiB", c.DiskSize))
	}
	if c.ImageName == "" {
		add(errImageNameRequired)
	} else if err := cloud.ValidateImageName(c.ImageName); err != nil {
		add(fmt.Errorf("image_name: %w", err))
	}
	keys := make([]string, 0, len(c.ImageLabels))
	for k := range c.ImageLabels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := cloud.ValidateLabel(k, c.ImageLabels[k]); err != nil {
			add(fmt.Errorf("image_labels: %w", err))
		}
	}
	// An unknown value (source_image = data.scaffolding-image.x.id during
	// `packer validate`) arrives as a placeholder, not an id: only a known
	// value is checked.
	if c.SourceImage != "" && !isUnknown(c.SourceImage) {
		if err := cloud.ValidateImageID(c.SourceImage); err != nil {
			add(fmt.Errorf("source_image: %w", err))
		}
	}
	// The SDK's Prepare only knows its own communicator types and would
	// reject ours, so it checks the others only.
	if c.Comm.Type != WorkspaceCommunicator {
		for _, err := range c.Comm.Prepare(&c.ctx) {
			add(fmt.Errorf("communicator: %w", err))
		}
	}

	if errs != nil && len(errs.Errors) > 0 {
		return warnings, errs
	}
	return warnings, nil
}

// isUnknown reports whether v is the placeholder Packer sends for a value
// it cannot know yet, such as a data source's output during `packer
// validate`: "<unknown>" from HCL2 templates, the SDK's sentinel from
// legacy JSON ones.
func isUnknown(v string) bool {
	return v == "<unknown>" || v == hcl2helper.UnknownVariableValue
}
