//go:generate go run github.com/example/packer-plugin-scaffolding/tools/structdocs

package cloud

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"

	"github.com/example/packer-plugin-scaffolding/internal/redact"
)

// Defaults of AccessConfig.
const (
	DefaultTimeout = 30 * time.Second
	DefaultRetries = 3
)

// Access says what a component does with the platform, so Prepare can
// refuse a location that only allows reading to one that writes.
type Access int

const (
	// ReadOnly is for components that only look (the data source).
	ReadOnly Access = iota
	// ReadWrite is for components that launch instances or make images.
	ReadWrite
)

// AccessConfig says where the platform is and how to reach it. Every
// component squashes it into its configuration, so the same HCL fields
// (`store`, `token`, `timeout`, `retries`) mean the same everywhere; a fork
// puts its own endpoint and credentials here.
type AccessConfig struct {
	// The image store: a directory, or an `http://` or `https://` URL of a
	// store served over HTTP, which is read-only (the data source can search
	// it; the builder and the copy post-processor need a directory). A
	// directory is created with the first image.
	Store string `mapstructure:"store" required:"true"`
	// A bearer token sent to an http(s) store as `Authorization: Bearer
	// <token>`. Sensitive: pass it from a variable declared
	// `sensitive = true` or from the environment, never write it in a
	// template. The plugin keeps it out of its logs, errors and outputs.
	// (A store URL may carry basic-auth credentials instead,
	// `https://user:password@host/`; they are kept out the same way.)
	// Ignored for a directory store.
	Token string `mapstructure:"token" required:"false"`
	// How long each HTTP request to the store may take, as a duration
	// string (`30s`, `2m`). Defaults to `30s`. Ignored for a directory store.
	Timeout string `mapstructure:"timeout" required:"false"`
	// How many times an HTTP request is retried after a connection error or
	// a 5xx answer, with exponential backoff. Defaults to 3; 0 disables
	// retries. Ignored for a directory store.
	Retries *int `mapstructure:"retries" required:"false"`
}

// Prepare fills in defaults and checks every field for a component that
// uses the platform as access says. It registers the credentials with
// Packer's log filter, so they never reach a log. Whether `store` is
// required is the component's call: the copy post-processor takes it from
// its input artifact.
func (c *AccessConfig) Prepare(access Access) (warnings []string, errs []error) {
	// Packer logs plugin output; the filter replaces secrets there.
	if c.Token != "" {
		packersdk.LogSecretFilter.Set(c.Token)
	}
	if u, err := url.Parse(c.Store); err == nil && u.User != nil {
		if pw, ok := u.User.Password(); ok && pw != "" {
			packersdk.LogSecretFilter.Set(pw)
		}
	}
	if c.Timeout == "" {
		c.Timeout = DefaultTimeout.String()
	}
	if c.Retries == nil {
		r := DefaultRetries
		c.Retries = &r
	}

	switch {
	case c.Store == "":
	case IsURL(c.Store):
		if u, err := url.Parse(c.Store); err != nil || u.Host == "" {
			errs = append(errs, fmt.Errorf("store: %q is not a valid URL", RedactURL(c.Store)))
		} else if access == ReadWrite {
			errs = append(errs, fmt.Errorf("store: %s is a URL; a store read over http(s) is read-only, and this component writes to it, so it needs a directory", RedactURL(c.Store)))
		}
	default:
		fi, err := os.Stat(c.Store)
		switch {
		case errors.Is(err, os.ErrNotExist):
			if access == ReadWrite {
				warnings = append(warnings, fmt.Sprintf("store: %s does not exist yet; it will be created", c.Store))
			}
		case err != nil:
			errs = append(errs, fmt.Errorf("store: %w", err))
		case !fi.IsDir():
			errs = append(errs, fmt.Errorf("store: %s is not a directory", c.Store))
		}
	}
	if strings.ContainsAny(c.Token, "\r\n") {
		// Say what is wrong without echoing the secret.
		errs = append(errs, errors.New("token: must not contain line breaks"))
	}
	if d, err := time.ParseDuration(c.Timeout); err != nil {
		errs = append(errs, fmt.Errorf("timeout: %q is not a duration such as \"30s\" or \"2m\"", c.Timeout))
	} else if d <= 0 {
		errs = append(errs, fmt.Errorf("timeout: %q must be greater than zero", c.Timeout))
	}
	if *c.Retries < 0 {
		errs = append(errs, fmt.Errorf("retries: %d must be 0 or more", *c.Retries))
	}
	return warnings, errs
}

// timeout is the parsed Timeout, DefaultTimeout when unset or invalid
// (Prepare reports the invalid).
func (c *AccessConfig) timeout() time.Duration {
	if d, err := time.ParseDuration(c.Timeout); err == nil && d > 0 {
		return d
	}
	return DefaultTimeout
}

// retries is Retries, DefaultRetries when unset.
func (c *AccessConfig) retries() int {
	if c.Retries == nil || *c.Retries < 0 {
		return DefaultRetries
	}
	return *c.Retries
}

// IsURL reports whether store names a platform reached over http(s) rather
// than a directory.
func IsURL(store string) bool {
	l := strings.ToLower(store)
	return strings.HasPrefix(l, "http://") || strings.HasPrefix(l, "https://")
}

// RedactURL drops the credentials (userinfo) of a store URL, even of one
// that does not parse, so it can appear in messages.
func RedactURL(s string) string { return redact.URL(s) }
