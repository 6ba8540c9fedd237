package imagecopy

import (
	"context"
	"errors"
	"fmt"
	"strings"

	registryimage "github.com/hashicorp/packer-plugin-sdk/packer/registry/image"

	"github.com/example/packer-plugin-scaffolding/builder/scaffolding"
	"github.com/example/packer-plugin-scaffolding/cloud"
)

// BuilderID identifies artifacts made by this post-processor.
const BuilderID = "example.scaffolding-copy"

// Artifact is one image present in several regions of a store.
type Artifact struct {
	// Store is the store directory.
	Store string
	// Source is the input image.
	Source cloud.Image
	// Images holds the image in every configured region, in configuration
	// order.
	Images []cloud.Image
	// Copies are the images this post-processor created, a subset of
	// Images: Destroy deletes these and nothing else.
	Copies []cloud.Image

	generatedData interface{}
	driver        cloud.Driver
}

// BuilderId returns BuilderID.
func (a *Artifact) BuilderId() string { return BuilderID }

// Files returns the archive of the image in every region.
func (a *Artifact) Files() []string {
	files := make([]string, 0, len(a.Images))
	for _, img := range a.Images {
		if img.Location != "" {
			files = append(files, img.Location)
		}
	}
	return files
}

// Id returns the image id, the same in every region.
func (a *Artifact) Id() string { return a.Source.ID }

// String describes the artifact for Packer's final summary.
func (a *Artifact) String() string {
	return fmt.Sprintf("Image %s (%s) in regions: %s", a.Source.ID, a.Source.Name, strings.Join(a.regions(), ", "))
}

func (a *Artifact) regions() []string {
	regions := make([]string, len(a.Images))
	for i, img := range a.Images {
		regions[i] = img.Region
	}
	return regions
}

// State answers the HCP Packer registry with one image per region, passes
// the build's generated data through, and tells a later post-processor
// which store the image is in.
func (a *Artifact) State(name string) interface{} {
	switch name {
	case registryimage.ArtifactStateURI:
		images := make([]*registryimage.Image, 0, len(a.Images))
		for _, img := range a.Images {
			labels := make(map[string]string, len(img.Labels))
			for k, v := range img.Labels {
				labels[k] = v
			}
			images = append(images, &registryimage.Image{
				ImageID:        img.ID,
				ProviderName:   scaffolding.ProviderName,
				ProviderRegion: img.Region,
				SourceImageID:  img.SourceImageID,
				Labels:         labels,
			})
		}
		return images
	case "generated_data":
		return a.generatedData
	case scaffolding.StateStore:
		return a.Store
	}
	return nil
}

// Destroy deletes the copies this artifact made. The source image, and
// copies that already existed, are left alone.
func (a *Artifact) Destroy() error {
	var errs []error
	// Undo in the reverse order of the copies.
	for i := len(a.Copies) - 1; i >= 0; i-- {
		img := a.Copies[i]
		// Not the build's context: cleanup must run after a cancellation too.
		if err := a.driver.DeregisterImage(context.Background(), img); err != nil {
			errs = append(errs, fmt.Errorf("deleting image %s in region %q: %w", img.ID, img.Region, err))
			continue
		}
		a.Copies = append(a.Copies[:i], a.Copies[i+1:]...)
	}
	return errors.Join(errs...)
}
