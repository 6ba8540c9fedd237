package imagecopy

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

	// Driver, when set, is used instead of the one cloud.NewDriver returns,
	// so tests can pass a cloud.MockDriver. Packer leaves it nil.
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
// It returns keep=true, so the input artifact (the source image) is kept
// unless the user sets `keep_input_artifact = false`. When the source's own
// region is among the regions, the result includes the source image itself,
// so it also returns forceOverride=true: destroying the input would delete
// an image the result lists.
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
	srcName, _ := input.State(scaffolding.StateImageName).(string)
	if srcName == "" {
		return nil, true, false, fmt.Errorf("the input artifact %s does not say the name of its image", input.Id())
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
		// cloud.NewDriver is the one place that decides which Driver talks
		// to the platform, for every component.
		var err error
		access := p.config.AccessConfig
		access.Store = store
		if driver, err = cloud.NewDriver(&access); err != nil {
			return nil, true, false, fmt.Errorf("store: %w", err)
		}
	}

	ctx = cloud.WithProgress(ctx, ui.Say)
	src, err := findExact(ctx, driver, input.Id(), srcRegion, srcName)
	if err != nil {
		return nil, true, false, fmt.Errorf("finding image %q (%s) in region %q of store %s: %w", srcName, input.Id(), srcRegion, store, err)
	}
	if src == nil {
		return nil, true, false, fmt.Errorf("image %q (%s) is not in region %q of store %s", srcName, input.Id(), srcRegion, store)
	}

	art := &Artifact{
		Store:         store,
		Source:        *src,
		generatedData: input.State("generated_data"),
		driver:        driver,
	}
	includesSource := false
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
		if region == src.Region {
			includesSource = true
		}
	}
	if includesSource {
		ui.Say(fmt.Sprintf("Region %q is the source image's own: the input artifact is kept whatever keep_input_artifact says", src.Region))
	}
	ui.Say(art.String())
	return art, true, includesSource, nil
}

// copyTo puts src into region and says whether it made a new copy: an image
// that is already there (the source itself, or an earlier copy) is reused
// and must not be deleted by this artifact.
func (p *PostProcessor) copyTo(ctx context.Context, ui packersdk.Ui, driver cloud.Driver, src cloud.Image, region string) (cloud.Image, bool, error) {
	if region == src.Region {
		return src, false, nil
	}
	ui.Say(fmt.Sprintf("Copying image %q (%s) from region %q to %q...", src.Name, src.ID, src.Region, region))
	img, err := driver.CopyImage(ctx, src, region)
	switch {
	case errors.Is(err, cloud.ErrImageExists) && img.ID != "":
		ui.Say(fmt.Sprintf("Image %q (%s) is already in region %q", img.Name, img.ID, region))
		return img, false, nil
	case err != nil:
		return cloud.Image{}, false, err
	}
	return img, true, nil
}

// findExact returns the image with exactly this id, region and name, or
// nil: never another image that merely shares its content.
func findExact(ctx context.Context, driver cloud.Driver, id, region, name string) (*cloud.Image, error) {
	images, err := driver.FindImages(ctx, cloud.ImageFilter{ID: id, Region: region, Name: name})
	if err != nil {
		return nil, err
	}
	for _, img := range images {
		// The filter's name is a glob; image names hold no glob characters,
		// but a driver may still return more than asked for.
		if img.ID == id && img.Region == region && img.Name == name {
			return &img, nil
		}
	}
	return nil, nil
}
