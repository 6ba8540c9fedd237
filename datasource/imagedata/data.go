package imagedata

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/hashicorp/packer-plugin-sdk/hcl2helper"
	"github.com/zclconf/go-cty/cty"

	"github.com/example/packer-plugin-scaffolding/cloud"
)

// Datasource is the `data "scaffolding-image"` data source.
type Datasource struct {
	config Config

	// Driver, when set, is used instead of opening the configured store, so
	// tests can pass a cloud.MockDriver. Packer leaves it nil.
	Driver cloud.Driver
}

// ConfigSpec returns the HCL spec of the data source's configuration.
func (d *Datasource) ConfigSpec() hcldec.ObjectSpec {
	return d.config.FlatMapstructure().HCL2Spec()
}

// OutputSpec returns the HCL spec of the data source's result, so Packer can
// type-check references to it before Execute runs.
func (d *Datasource) OutputSpec() hcldec.ObjectSpec {
	return (&DatasourceOutput{}).FlatMapstructure().HCL2Spec()
}

// Configure decodes and validates the configuration.
func (d *Datasource) Configure(raws ...interface{}) error {
	return d.config.prepare(raws...)
}

// Execute finds the newest image matching the filters.
func (d *Datasource) Execute() (cty.Value, error) {
	null := cty.NullVal(cty.EmptyObject)
	c := d.config

	drv := d.Driver
	if drv == nil {
		var err error
		drv, err = cloud.NewDriver(&c.AccessConfig)
		if err != nil {
			return null, d.redact(fmt.Errorf("opening store %s: %w", cloud.RedactURL(c.Store), err))
		}
	}

	filter := cloud.ImageFilter{Name: c.Name, Region: c.Region, Labels: c.Labels}
	images, err := drv.FindImages(context.Background(), filter)
	if err != nil {
		// The driver's error names the index file or URL at fault.
		return null, d.redact(fmt.Errorf("searching store %s: %w", cloud.RedactURL(c.Store), err))
	}
	if len(images) == 0 {
		return null, fmt.Errorf("no image in store %s matches %s", cloud.RedactURL(c.Store), describeFilter(filter))
	}

	img := newest(images)
	labels := img.Labels
	if labels == nil {
		// A map, even empty, so `labels["x"]` lookups in HCL do not hit null.
		labels = map[string]string{}
	}
	out := DatasourceOutput{
		ID:            img.ID,
		Name:          img.Name,
		Region:        img.Region,
		Checksum:      strings.TrimPrefix(img.ID, "sha256:"),
		Location:      img.Location,
		Labels:        labels,
		Created:       img.Created.UTC().Format(time.RFC3339),
		Size:          img.Size,
		SourceImageID: img.SourceImageID,
	}
	return hcl2helper.HCL2ValueFromConfig(out, (&DatasourceOutput{}).FlatMapstructure().HCL2Spec()), nil
}

// newest picks the most recently created image. Drivers already sort newest
// first, but a vendor's API may not, and the first of equals wins so the
// driver's order still breaks ties.
func newest(images []cloud.Image) cloud.Image {
	best := images[0]
	for _, img := range images[1:] {
		if img.Created.After(best.Created) {
			best = img
		}
	}
	return best
}

// describeFilter says which filters were applied, for the "no match" error.
func describeFilter(f cloud.ImageFilter) string {
	parts := []string{fmt.Sprintf("region %q", f.Region)}
	if f.Name != "" {
		parts = append(parts, fmt.Sprintf("name %q", f.Name))
	}
	if len(f.Labels) > 0 {
		kv := make([]string, 0, len(f.Labels))
		for _, k := range slices.Sorted(maps.Keys(f.Labels)) {
			kv = append(kv, fmt.Sprintf("%s=%q", k, f.Labels[k]))
		}
		parts = append(parts, "labels {"+strings.Join(kv, ", ")+"}")
	}
	return strings.Join(parts, ", ")
}

// redact makes sure the token never leaves the plugin in an error, whatever
// a driver put in its message.
func (d *Datasource) redact(err error) error {
	tok := d.config.Token
	if tok == "" || !strings.Contains(err.Error(), tok) {
		return err
	}
	return &redactedError{msg: strings.ReplaceAll(err.Error(), tok, "<token>"), err: err}
}

type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }

// Unwrap keeps errors.Is working (for example with
// cloud.ErrChecksumMismatch) on a redacted error.
func (e *redactedError) Unwrap() error { return e.err }
