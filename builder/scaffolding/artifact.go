package scaffolding

import (
	"context"
	"fmt"
	"log"

	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	registryimage "github.com/hashicorp/packer-plugin-sdk/packer/registry/image"

	"github.com/example/packer-plugin-scaffolding/cloud"
)

// BuilderID identifies artifacts made by this builder. Post-processors
// check it before they trust an artifact's State keys.
const BuilderID = "example.scaffolding"

// ProviderName is the provider recorded for our images in HCP Packer
// registry metadata, where other plugins record their cloud's short name.
const ProviderName = "scaffolding"

// State keys the artifact answers besides "generated_data" and the registry
// metadata key, for post-processors that work on the same store.
const (
	// StateStore is the key of the store directory (a string).
	StateStore = "store"
	// StateRegion is the key of the region the image is in (a string).
	StateRegion = "region"
	// StateImageName is the key of the image's name (a string). With the
	// id and the region it names exactly one image.
	StateImageName = "image_name"
)

// Artifact is the image a build registered in the store.
type Artifact struct {
	// Image is the image as the store registered it.
	Image cloud.Image
	// Store is the store directory the image is in.
	Store string
	// Driver deregisters the image on Destroy.
	Driver cloud.Driver
	// Reused says the image was already registered, identical, by an
	// earlier build: this artifact reports it but does not own it, so
	// Destroy leaves it alone.
	Reused bool
	// StateData holds "generated_data" and anything else a post-processor
	// may ask for with State.
	StateData map[string]interface{}
}

var _ packersdk.Artifact = (*Artifact)(nil)

// BuilderId returns BuilderID.
func (a *Artifact) BuilderId() string { return BuilderID }

// Id returns the image id, "sha256:<hex>".
func (a *Artifact) Id() string { return a.Image.ID }

// Files returns the path of the image archive.
func (a *Artifact) Files() []string {
	if a.Image.Location == "" {
		return nil
	}
	return []string{a.Image.Location}
}

// String describes the image for the build summary.
func (a *Artifact) String() string {
	return fmt.Sprintf("Image %q (%s) in region %q of store %s", a.Image.Name, a.Image.ID, a.Image.Region, a.Store)
}

// State answers the registry metadata key, StateStore, StateRegion,
// StateImageName and the keys of StateData.
func (a *Artifact) State(name string) interface{} {
	switch name {
	case registryimage.ArtifactStateURI:
		return a.registryImage()
	case StateStore:
		return a.Store
	case StateRegion:
		return a.Image.Region
	case StateImageName:
		return a.Image.Name
	}
	return a.StateData[name]
}

// registryImage is what HCP Packer records for the build. The source image
// id is taken from generated data when the image itself lacks it, which is
// the case for an artifact rebuilt from a manifest.
func (a *Artifact) registryImage() *registryimage.Image {
	source := a.Image.SourceImageID
	if source == "" {
		if data, ok := a.StateData["generated_data"].(map[string]interface{}); ok {
			source, _ = data["SourceImageID"].(string)
		} else {
			log.Printf("[DEBUG] artifact %s has no generated data", a.Image.ID)
		}
	}
	labels := make(map[string]interface{}, len(a.Image.Labels))
	for k, v := range a.Image.Labels {
		labels[k] = v
	}
	img, err := registryimage.FromArtifact(a,
		registryimage.WithProvider(ProviderName),
		registryimage.WithRegion(a.Image.Region),
		registryimage.WithSourceID(source),
		registryimage.SetLabels(labels),
	)
	if err != nil {
		log.Printf("[WARN] building registry metadata for %s: %v", a.Image.ID, err)
		return nil
	}
	return img
}

// Destroy deregisters the image from its region, unless the build reused
// an image it did not make.
func (a *Artifact) Destroy() error {
	if a.Reused {
		log.Printf("[INFO] image %s was made by an earlier build; not deregistering it", a.Image.ID)
		return nil
	}
	if a.Driver == nil {
		return fmt.Errorf("image %s: artifact has no driver to delete it with", a.Image.ID)
	}
	return a.Driver.DeregisterImage(context.Background(), a.Image)
}
