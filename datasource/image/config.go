//go:generate go tool packer-sdc mapstructure-to-hcl2 -type Config,DatasourceOutput
//go:generate go run github.com/example/packer-plugin-scaffolding/tools/structdocs

package image

import (
	"errors"
	"fmt"
	"maps"
	"net/url"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/packer-plugin-sdk/common"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	"github.com/hashicorp/packer-plugin-sdk/template/config"

	"github.com/example/packer-plugin-scaffolding/cloud"
)

// Defaults applied by Configure.
const (
	DefaultTimeout = 30 * time.Second
	DefaultRetries = 3
)

// Config is the body of a `data "scaffolding-image"` block.
type Config struct {
	common.PackerConfig `mapstructure:",squash"`

	// The image store to search: a directory path, or an `http://` or
	// `https://` URL of a store served over HTTP (read only).
	Store string `mapstructure:"store" required:"true"`
	// A glob (`*`, `?`, `[...]`, as in Go's path.Match) matched against the
	// image name. Empty matches every name.
	Name string `mapstructure:"name" required:"false"`
	// Labels the image must carry, every one with exactly this value.
	Labels map[string]string `mapstructure:"labels" required:"false"`
	// The region to search. Defaults to `local`.
	Region string `mapstructure:"region" required:"false"`
	// A bearer token sent to an http(s) store as `Authorization: Bearer
	// <token>`. Sensitive: pass it from a variable declared
	// `sensitive = true` or from the environment, never write it in a
	// template. The plugin keeps it out of its logs, errors and outputs.
	// (A store URL may carry basic-auth credentials instead,
	// `https://user:password@host/`; they are kept out the same way.)
	// Ignored for a directory store.
	Token string `mapstructure:"token" required:"false"`
	// How long each HTTP request to the store may take, as a Go duration
	// string (`30s`, `2m`). Defaults to `30s`. Ignored for a directory store.
	Timeout string `mapstructure:"timeout" required:"false"`
	// How many times an HTTP request is retried after a connection error or
	// a 5xx answer, with exponential backoff. Defaults to 3; 0 disables
	// retries. Ignored for a directory store.
	Retries *int `mapstructure:"retries" required:"false"`
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

// settings are the parsed forms of Config fields that HCL carries as strings.
type settings struct {
	timeout time.Duration
	retries int
}

// prepare decodes raws into c, applies defaults and validates every field,
// reporting all problems at once.
func (c *Config) prepare(raws ...interface{}) (settings, error) {
	var s settings
	if err := config.Decode(c, &config.DecodeOpts{Interpolate: true}, raws...); err != nil {
		return s, err
	}
	// Packer logs plugin output; the filter replaces secrets there.
	if c.Token != "" {
		packersdk.LogSecretFilter.Set(c.Token)
	}
	if u, err := url.Parse(c.Store); err == nil && u.User != nil {
		if pw, ok := u.User.Password(); ok && pw != "" {
			packersdk.LogSecretFilter.Set(pw)
		}
	}

	if c.Region == "" {
		c.Region = cloud.DefaultRegion
	}
	if c.Timeout == "" {
		c.Timeout = DefaultTimeout.String()
	}
	if c.Retries == nil {
		r := DefaultRetries
		c.Retries = &r
	}

	var errs []error
	switch {
	case c.Store == "":
		errs = append(errs, errors.New("store: required: a directory or an http(s) URL"))
	case isURL(c.Store):
		if u, err := url.Parse(c.Store); err != nil || u.Host == "" {
			errs = append(errs, fmt.Errorf("store: %q is not a valid URL", redactURL(c.Store)))
		}
	}
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
	if strings.ContainsAny(c.Token, "\r\n") {
		// Say what is wrong without echoing the secret.
		errs = append(errs, errors.New("token: must not contain line breaks"))
	}
	if d, err := time.ParseDuration(c.Timeout); err != nil {
		errs = append(errs, fmt.Errorf("timeout: %q is not a duration such as \"30s\" or \"2m\"", c.Timeout))
	} else if d <= 0 {
		errs = append(errs, fmt.Errorf("timeout: %q must be greater than zero", c.Timeout))
	} else {
		s.timeout = d
	}
	if *c.Retries < 0 {
		errs = append(errs, fmt.Errorf("retries: %d must be 0 or more", *c.Retries))
	} else {
		s.retries = *c.Retries
	}

	if len(errs) > 0 {
		return s, &packersdk.MultiError{Errors: errs}
	}
	return s, nil
}

func isURL(store string) bool {
	l := strings.ToLower(store)
	return strings.HasPrefix(l, "http://") || strings.HasPrefix(l, "https://")
}

// redactURL hides any credentials a user put in a store URL, even one that
// does not parse.
func redactURL(store string) string {
	u, err := url.Parse(store)
	if err == nil {
		if u.User == nil {
			return store
		}
		u.User = url.User("REDACTED")
		return u.String()
	}
	scheme, rest, ok := strings.Cut(store, "://")
	if at := strings.LastIndex(rest, "@"); ok && at >= 0 {
		return scheme + "://REDACTED@" + rest[at+1:]
	}
	return store
}
