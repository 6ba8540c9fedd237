//go:generate go tool packer-sdc mapstructure-to-hcl2 -type Config,FileConfig
//go:generate go run github.com/example/packer-plugin-scaffolding/tools/structdocs

package setup

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/packer-plugin-sdk/common"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	"github.com/hashicorp/packer-plugin-sdk/template/config"
	"github.com/hashicorp/packer-plugin-sdk/template/interpolate"
)

// DefaultCommandTimeout bounds each try of a command when `command_timeout`
// is not set.
const DefaultCommandTimeout = 5 * time.Minute

// DefaultRetryDelay is the pause between two tries of a failed upload or
// command when `retry_delay` is not set.
const DefaultRetryDelay = 2 * time.Second

// Config is the body of a `provisioner "scaffolding"` block. Files are
// uploaded first, in order, then the inline commands run, in order.
//
// Packer itself reads `max_retries`, `timeout` and `pause_before` in every
// provisioner block, and never passes them to the plugin: they re-run or
// bound the whole provisioner. `retries` and `command_timeout` below act on
// one upload or command at a time, so a flaky step is retried without
// repeating the steps before it.
type Config struct {
	common.PackerConfig `mapstructure:",squash"`

	// Files to put into the machine, one `file` block each, uploaded in
	// order before any command runs.
	Files []FileConfig `mapstructure:"file" required:"false"`
	// Commands to run in the machine, in order, each through the
	// communicator's shell. The first one to exit non-zero (after its
	// retries) fails the provisioner. Build data is available as in
	// `content`.
	Inline []string `mapstructure:"inline" required:"false"`
	// Environment variables exported to every inline command. Keys must be
	// shell identifiers (`[A-Za-z_][A-Za-z0-9_]*`); values are quoted for
	// the shell, so they reach the command verbatim. Values may use build
	// data as `content` does.
	Env map[string]string `mapstructure:"env" required:"false"`
	// How many times a failed upload or command (including one exiting
	// non-zero or running out of `command_timeout`) is tried again before
	// the provisioner fails. Defaults to 0.
	Retries int `mapstructure:"retries" required:"false"`
	// How long one try of one inline command may run, as a Go duration
	// string (`90s`, `10m`). The machine itself enforces it: the command
	// runs under `timeout -s KILL` (coreutils or busybox, on the machine's
	// PATH), which kills the try and every process it started in its
	// process group before the next try begins; the try then fails. (Over
	// WinRM, or where the machine has no `timeout`, the plugin stops waiting
	// instead, and the command may run on.)
	// Defaults to `5m`. Bound the whole provisioner with Packer's `timeout`.
	CommandTimeout string `mapstructure:"command_timeout" required:"false"`
	// How long to wait between two tries of a failed upload or command, as
	// a Go duration string (`500ms`, `10s`). Defaults to `2s`. There is no
	// wait after the last try.
	RetryDelay string `mapstructure:"retry_delay" required:"false"`

	ctx interpolate.Context
}

// FileConfig is one `file` block: a local file or directory, or inline
// content, and where to put it in the machine.
type FileConfig struct {
	// A local file or directory to upload. A directory is uploaded
	// recursively; as with rsync, `dir` creates `dir` under `destination`
	// while `dir/` uploads only its contents. Exactly one of `source` and
	// `content` must be set.
	Source string `mapstructure:"source" required:"false"`
	// Text to write to `destination`, rendered when the provisioner runs, so
	// build data is available: `${build.ID}` in HCL2, ``{{ build `ID` }}``
	// in JSON templates. Exactly one of `source` and `content` must be set.
	Content string `mapstructure:"content" required:"false"`
	// The path in the machine to write to. When `source` is a file and
	// `destination` ends in `/`, the file keeps its name inside that
	// directory. With `content`, it must name a file.
	Destination string `mapstructure:"destination" required:"true"`
	// The uploaded file's permissions as an octal string such as `0644` or
	// `755`. Defaults to the source file's mode, or `0644` for `content`.
	// Files only: a directory keeps its files' own modes.
	Mode string `mapstructure:"mode" required:"false"`
}

// settings are the parsed forms of Config fields that HCL carries as
// strings.
type settings struct {
	commandTimeout time.Duration
	retryDelay     time.Duration
	// modes[i] is file[i]'s parsed mode, or 0 when unset.
	modes []os.FileMode
	// dirs[i] says file[i].source is a directory.
	dirs []bool
}

// envKeyRe is what a POSIX shell accepts as a variable name.
var envKeyRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// prepare decodes raws into c, applies defaults and validates every field,
// reporting all problems at once.
func (c *Config) prepare(raws ...interface{}) (settings, error) {
	var s settings
	err := config.Decode(c, &config.DecodeOpts{
		PluginType:         "scaffolding",
		Interpolate:        true,
		InterpolateContext: &c.ctx,
		// These may reference build data, which only exists once the build
		// runs: Provision renders them then. Decode renders everything else.
		InterpolateFilter: &interpolate.RenderFilter{
			Exclude: []string{"file", "inline", "env"},
		},
	}, raws...)
	if err != nil {
		return s, err
	}

	if c.CommandTimeout == "" {
		c.CommandTimeout = DefaultCommandTimeout.String()
	}
	if c.RetryDelay == "" {
		c.RetryDelay = DefaultRetryDelay.String()
	}

	var errs []error
	s.modes = make([]os.FileMode, len(c.Files))
	s.dirs = make([]bool, len(c.Files))
	for i := range c.Files {
		f := &c.Files[i]
		field := fmt.Sprintf("file[%d]", i)

		// A source path must be known now to be checked now; only content
		// and destination wait for build data.
		if f.Source != "" {
			src, err := interpolate.Render(f.Source, &c.ctx)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s.source: %v", field, err))
			} else {
				f.Source = src
			}
		}

		switch {
		case f.Source == "" && f.Content == "":
			errs = append(errs, fmt.Errorf("%s: set one of source or content", field))
		case f.Source != "" && f.Content != "":
			errs = append(errs, fmt.Errorf("%s: source and content are mutually exclusive; set only one", field))
		case f.Source != "":
			fi, err := os.Stat(f.Source)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s.source: %v", field, err))
			} else {
				s.dirs[i] = fi.IsDir()
			}
		}

		switch {
		case f.Destination == "":
			errs = append(errs, fmt.Errorf("%s.destination: required", field))
		case f.Content != "" && strings.HasSuffix(f.Destination, "/"):
			errs = append(errs, fmt.Errorf("%s.destination: %q ends in / but content needs a file name", field, f.Destination))
		}

		if f.Mode != "" {
			m, err := strconv.ParseUint(f.Mode, 8, 32)
			switch {
			case err != nil || m > 0o7777:
				errs = append(errs, fmt.Errorf("%s.mode: %q is not an octal file mode such as \"0644\"", field, f.Mode))
			case s.dirs[i]:
				errs = append(errs, fmt.Errorf("%s.mode: applies to files only, and source %q is a directory", field, f.Source))
			default:
				s.modes[i] = modeFromUnix(uint32(m))
			}
		}
	}

	for i, cmd := range c.Inline {
		if strings.TrimSpace(cmd) == "" {
			errs = append(errs, fmt.Errorf("inline[%d]: command is empty", i))
		}
	}

	for _, k := range slices.Sorted(maps.Keys(c.Env)) {
		if !envKeyRe.MatchString(k) {
			errs = append(errs, fmt.Errorf("env: key %q is not a valid variable name (letters, digits and _, not starting with a digit)", k))
		}
	}

	if c.Retries < 0 {
		errs = append(errs, fmt.Errorf("retries: %d must be 0 or more", c.Retries))
	}

	if d, err := time.ParseDuration(c.CommandTimeout); err != nil {
		errs = append(errs, fmt.Errorf("command_timeout: %q is not a duration such as \"90s\" or \"10m\"", c.CommandTimeout))
	} else if d <= 0 {
		errs = append(errs, fmt.Errorf("command_timeout: %q must be greater than zero", c.CommandTimeout))
	} else {
		s.commandTimeout = d
	}

	if d, err := time.ParseDuration(c.RetryDelay); err != nil {
		errs = append(errs, fmt.Errorf("retry_delay: %q is not a duration such as \"500ms\" or \"10s\"", c.RetryDelay))
	} else if d < 0 {
		errs = append(errs, fmt.Errorf("retry_delay: %q must not be negative", c.RetryDelay))
	} else {
		s.retryDelay = d
	}

	if len(c.Files) == 0 && len(c.Inline) == 0 {
		errs = append(errs, errors.New("nothing to do: add a file block or inline commands"))
	}

	if len(errs) > 0 {
		return s, &packersdk.MultiError{Errors: errs}
	}
	return s, nil
}

// modeFromUnix turns Unix permission bits, including setuid, setgid and
// sticky, into an os.FileMode, whose bits for those differ.
func modeFromUnix(m uint32) os.FileMode {
	mode := os.FileMode(m & 0o777)
	if m&0o4000 != 0 {
		mode |= os.ModeSetuid
	}
	if m&0o2000 != 0 {
		mode |= os.ModeSetgid
	}
	if m&0o1000 != 0 {
		mode |= os.ModeSticky
	}
	return mode
}
