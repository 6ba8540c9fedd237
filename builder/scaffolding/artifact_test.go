package scaffolding

import (
	"errors"
	"strings"
	"testing"

	registryimage "github.com/hashicorp/packer-plugin-sdk/packer/registry/image"

	"github.com/example/packer-plugin-scaffolding/cloud"
)

func testArtifact(driver cloud.Driver) *Artifact {
	return &Artifact{
		Image: cloud.Image{
			ID:       "sha256:" + strings.Repeat("ab", 32),
			Name:     "web",
			Region:   "eu",
			Labels:   map[string]string{"role": "web"},
			Location: "/store/images/eu/abab.tar.gz",
		},
		Store:  "/store",
		Driver: driver,
	}
}

func TestArtifact(t *testing.T) {
	a := testArtifact(nil)
	if a.BuilderId() != BuilderID || BuilderID != "example.scaffolding" {
		t.Errorf("BuilderId = %q", a.BuilderId())
	}
	if a.Id() != a.Image.ID {
		t.Errorf("Id = %q", a.Id())
	}
	if files := a.Files(); len(files) != 1 || files[0] != a.Image.Location {
		t.Errorf("Files = %v", files)
	}
	for _, want := range []string{a.Image.ID, `"web"`, `"eu"`, "/store"} {
		if !strings.Contains(a.String(), want) {
			t.Errorf("String %q lacks %s", a.String(), want)
		}
	}
	if a.State(StateStore) != "/store" || a.State(StateRegion) != "eu" {
		t.Errorf("store/region state = %v / %v", a.State(StateStore), a.State(StateRegion))
	}
	if a.State("no such key") != nil {
		t.Error("unknown state key answered")
	}
	if (&Artifact{}).Files() != nil {
		t.Error("Files of an artifact without a location")
	}
}

func TestArtifact_registryMetadata(t *testing.T) {
	a := testArtifact(nil)
	img, ok := a.State(registryimage.ArtifactStateURI).(*registryimage.Image)
	if !ok {
		t.Fatalf("metadata = %#v, want *image.Image", a.State(registryimage.ArtifactStateURI))
	}
	if err := img.Validate(); err != nil {
		t.Error(err)
	}
	if img.ImageID != a.Image.ID || img.ProviderName != "scaffolding" || img.ProviderRegion != "eu" {
		t.Errorf("metadata = %+v", img)
	}
	if img.SourceImageID != "" {
		t.Errorf("source id = %q without a source", img.SourceImageID)
	}
	if len(img.Labels) != 1 || img.Labels["role"] != "web" {
		t.Errorf("labels = %v", img.Labels)
	}
}

func TestArtifact_registryMetadataWithGeneratedData(t *testing.T) {
	src := "sha256:" + strings.Repeat("cd", 32)
	a := testArtifact(nil)
	a.StateData = map[string]interface{}{
		"generated_data": map[string]interface{}{"SourceImageID": src, "ImageID": a.Image.ID},
	}
	img := a.State(registryimage.ArtifactStateURI).(*registryimage.Image)
	if img.SourceImageID != src {
		t.Errorf("source id = %q, want %q from generated data", img.SourceImageID, src)
	}
	if gd, ok := a.State("generated_data").(map[string]interface{}); !ok || gd["ImageID"] != a.Image.ID {
		t.Errorf("generated_data = %#v", a.State("generated_data"))
	}

	// The image's own source id wins over generated data.
	own := "sha256:" + strings.Repeat("ef", 32)
	a.Image.SourceImageID = own
	if img := a.State(registryimage.ArtifactStateURI).(*registryimage.Image); img.SourceImageID != own {
		t.Errorf("source id = %q, want the image's %q", img.SourceImageID, own)
	}
}

func TestArtifact_destroy(t *testing.T) {
	driver := &cloud.MockDriver{}
	a := testArtifact(driver)
	if err := a.Destroy(); err != nil {
		t.Fatal(err)
	}
	if len(driver.DeregisterImageImages) != 1 || driver.DeregisterImageImages[0].ID != a.Image.ID || driver.DeregisterImageImages[0].Region != "eu" {
		t.Errorf("deleted %+v", driver.DeregisterImageImages)
	}
	driver.DeregisterImageErr = errors.New("busy")
	if err := a.Destroy(); err == nil {
		t.Error("Destroy hid the driver's error")
	}
	if err := testArtifact(nil).Destroy(); err == nil {
		t.Error("Destroy without a driver succeeded")
	}
}
