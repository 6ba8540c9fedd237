package copy

import (
	"context"
	"errors"
	"fmt"

	"github.com/hashicorp/hcl/v2/hcldec"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"

	"github.com/example/packer-plugin-scaffolding/builder/scaffolding"
	"github.com/example/packer-plugin-scaffolding/cloud"
)

// PostProcessor is the `post-processor "scaffolding-copy"`.
type PostProcessor struct {
	config Config

	// Driver, when set, is used instead of a scaffolding.LocalDriver for the
	// store, so tests can pass a cloud.MockDriver. Packer leaves it
	// nil.
	Driver cloud.Driver
}

var _ packersdk.PostProcessor = (*PostProcessor)(nil)

// ConfigSpec returns the HCL spec of the post-processor's configuration.
func (p *PostProcessor) ConfigSpec() hcldec.ObjectSpec {
	return p.config.FlatMapstructure().HCL2Spec()
}

// Configure decodes and validates the configuration.
func (p *PostProcessor) Configure(raws ...interface{}) error {
	return p.config.prepare(raws...)
}

// PostProcess copies the input image to every configured region. Either
// every copy is made or none is left behind.
//
// It returns keep=true and forceOverride=false, so the input artifact (the
// source image) is kept unless the user sets `keep_input_artifact = false`.
func (p *PostProcessor) PostProcess(ctx context.Context, ui packersdk.Ui, input packersdk.Artifact) (packersdk.Artifact, bool, bool, error) {
	if id := input.BuilderId(); id != scaffolding.BuilderID {
		return nil, true, false, fmt.Errorf(
			"scaffolding-copy copies images made by the scaffolding builder (builder id %q), but its input came from builder id %q",
			scaffolding.BuilderID, id)
	}
	srcRegion, _ := input.State(scaffolding.StateRegion).(string)
	if srcRegion == "" {
		return nil, true, false, fmt.Errorf("the input artifact %s does not say which region its image is in", input.Id())
	}
	store := p.config.Store
	if store == "" {
		store, _ = input.State(scaffolding.StateStore).(string)
	}
	if store == "" {
		return nil, true, false, errors.New("store: not set, and the input artifact does not say which store its image is in")
	}
	driver := p.Driver
	if driver == nil {
		// cloud.NewDriver is the one place that decides which Driver talks to
		// the platform, for every component.
		var err error
		if driver, err = cloud.NewDriver(&cloud.AccessConfig{Store: store}); err != nil {
			return nil, true, false, fmt.Errorf("store: %w", err)
		}
	}

	src, err := findOne(ctx, driver, cloud.ImageFilter{ID: input.Id(), Region: srcRegion})
	if err != nil {
		return nil, true, false, fmt.Errorf("finding image %s in region %q of store %s: %w", input.Id(), srcRegion, store, err)
	}
	if src == nil {
		return nil, true, false, fmt.Errorf("image %s is not in region %q of store %s", input.Id(), srcRegion, store)
	}

	art := &Artifact{
		Store:         store,
		Source:        *src,
		generatedData: input.State("generated_data"),
		driver:        driver,
	}
	for _, region := range p.config.Regions {
		img, made, err := p.copyTo(ctx, ui, driver, *src, region)
		if err != nil {
			err = fmt.Errorf("copying image %s to region %q: %w", src.ID, region, err)
			if cerr := art.Destroy(); cerr != nil {
				err = errors.Join(err, fmt.Errorf("removing the copies already made: %w", cerr))
			}
			return nil, true, false, err
		}
		art.Images = append(art.Images, img)
		if made {
			art.Copies = append(art.Copies, img)
		}
	}
	ui.Say(art.String())
	return art, true, false, nil
}

// copyTo puts src into region and says whether it made a new copy: an image
// that is already there (the source itself, or an earlier copy) is reused
// and must not be deleted by this artifact.
func (p *PostProcessor) copyTo(ctx context.Context, ui packersdk.Ui, driver cloud.Driver, src cloud.Image, region string) (cloud.Image, bool, error) {
	if region == src.Region {
		return src, false, nil
	}
	existing, err := driver.FindImages(ctx, cloud.ImageFilter{ID: src.ID, Region: region})
	if err != nil {
		return cloud.Image{}, false, err
	}
	for _, img := range existing {
		if img.Name == src.Name {
			ui.Say(fmt.Sprintf("Image %s is already in region %q", src.ID, region))
			return img, false, nil
		}
	}
	ui.Say(fmt.Sprintf("Copying image %s from region %q to %q...", src.ID, src.Region, region))
	img, err := driver.CopyImage(ctx, src, region)
	if err != nil {
		return cloud.Image{}, false, err
	}
	return img, true, nil
}

// findOne returns the newest image matching filter, or nil.
func findOne(ctx context.Context, driver cloud.Driver, filter cloud.ImageFilter) (*cloud.Image, error) {
	images, err := driver.FindImages(ctx, filter)
	if err != nil || len(images) == 0 {
		return nil, err
	}
	return &images[0], nil
}
