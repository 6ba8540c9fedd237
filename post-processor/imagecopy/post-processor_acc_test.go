package imagecopy_test

import (
	"regexp"
	"testing"

	"github.com/example/packer-plugin-scaffolding/acctest"
	"github.com/example/packer-plugin-scaffolding/acctest/registry"
	"github.com/example/packer-plugin-scaffolding/builder/scaffolding"
	"github.com/example/packer-plugin-scaffolding/cloud"
	"github.com/example/packer-plugin-scaffolding/post-processor/imagecopy"
	"github.com/example/packer-plugin-scaffolding/standin/imagecheck"
)

// copyTemplate builds one image and copies it with the given post-processor
// body.
func copyTemplate(body string) string {
	return `
source "scaffolding" "app" {
  store      = "store"
  image_name = "app"
  image_labels = {
    tier = "app"
  }
}

build {
  sources = ["source.scaffolding.app"]

  provisioner "scaffolding" {
    inline = ["echo app > /app.txt"]
  }

  post-processor "scaffolding-copy" {
` + body + `
  }
}
`
}

func TestAccPostProcessor_copy(t *testing.T) {
	t.Parallel()
	imagecheck.NeedMachines(t)
	acctest.Test(t, acctest.Case{
		Steps: []acctest.Step{{
			Template: copyTemplate(`regions = ["eu-west", "ap-south"]`),
			Checks: []acctest.Check{
				// The builder's image is kept by default, beside the copies.
				acctest.ArtifactsFrom(scaffolding.BuilderID, 1),
				acctest.ArtifactsFrom(imagecopy.BuilderID, 1),
				imagecheck.Regions(imagecopy.BuilderID, "store", "eu-west", "ap-south"),
				imagecheck.ArtifactImagesInStore(imagecopy.BuilderID, "store"),
				imagecheck.ArtifactImagesInStore(scaffolding.BuilderID, "store"),
				imagecheck.FileInImage(imagecopy.BuilderID, "/app.txt", "app"),
				acctest.CheckFunc(sameIDAsBuilder),
				imagecheck.StoreImages("store", cloud.ImageFilter{Name: "app", Labels: map[string]string{"tier": "app"}}, 3),
				imagecheck.NoTempFiles("store"),
			},
		}},
	})
}

// sameIDAsBuilder checks that a copy keeps the image's id: ids are content
// digests, and copying does not change content.
func sameIDAsBuilder(r *acctest.Result) error {
	built := r.ArtifactsFrom(scaffolding.BuilderID)
	return acctest.ArtifactID(imagecopy.BuilderID, regexp.MustCompile("^"+regexp.QuoteMeta(built[0].ID)+"$")).Check(r)
}

func TestAccPostProcessor_discardInput(t *testing.T) {
	t.Parallel()
	imagecheck.NeedMachines(t)
	acctest.Test(t, acctest.Case{
		Steps: []acctest.Step{{
			Template: copyTemplate(`
    regions             = ["eu-west"]
    keep_input_artifact = false
`),
			Checks: []acctest.Check{
				acctest.ArtifactsFrom(scaffolding.BuilderID, 0),
				imagecheck.Regions(imagecopy.BuilderID, "store", "eu-west"),
				// Packer destroyed the input: only the copy is left.
				imagecheck.StoreImages("store", cloud.ImageFilter{Region: "local"}, 0),
				imagecheck.StoreImages("store", cloud.ImageFilter{Region: "eu-west"}, 1),
			},
		}},
	})
}

// With the source's own region among the regions, the result includes the
// input image, so keep_input_artifact = false must not delete it: the final
// artifact lists no deleted file.
func TestAccPostProcessor_discardInputListedInResult(t *testing.T) {
	t.Parallel()
	acctest.Test(t, acctest.Case{
		Steps: []acctest.Step{{
			Template: copyTemplate(`
    regions             = ["local", "eu-west"]
    keep_input_artifact = false
`),
			Checks: []acctest.Check{
				imagecheck.Regions(imagecopy.BuilderID, "store", "local", "eu-west"),
				acctest.ArtifactFilesExist(imagecopy.BuilderID),
				imagecheck.ArtifactImagesInStore(imagecopy.BuilderID, "store"),
				imagecheck.StoreImages("store", cloud.ImageFilter{Region: "local"}, 1),
			},
		}},
	})
}

func TestAccPostProcessor_invalidRegions(t *testing.T) {
	t.Parallel()
	imagecheck.NeedMachines(t)
	acctest.Test(t, acctest.Case{
		Steps: []acctest.Step{{
			Template:    copyTemplate(`regions = ["eu-west", "eu-west", "Bad Region"]`),
			ExpectError: regexp.MustCompile(`regions`),
			Checks: []acctest.Check{
				acctest.ErrorMentions("eu-west", "Bad Region"),
				imagecheck.StoreImages("store", cloud.ImageFilter{}, 0),
			},
		}},
	})
}

func TestAccPostProcessor_wrongBuilder(t *testing.T) {
	t.Parallel()
	imagecheck.NeedMachines(t)
	acctest.Test(t, acctest.Case{
		Steps: []acctest.Step{{
			Template: `
source "null" "other" {
  communicator = "none"
}

build {
  sources = ["source.null.other"]

  post-processor "scaffolding-copy" {
    regions = ["eu-west"]
    store   = "store"
  }
}
`,
			ExpectError: regexp.MustCompile(regexp.QuoteMeta(scaffolding.BuilderID)),
		}},
	})
}

func TestAccPostProcessorRegistry_multiRegion(t *testing.T) {
	t.Parallel()
	imagecheck.NeedMachines(t)
	acctest.Test(t, acctest.Case{
		Registry: true,
		Steps: []acctest.Step{{
			Template: `
source "scaffolding" "app" {
  store      = "store"
  image_name = "app"
}

build {
  hcp_packer_registry {
    bucket_name = "acc-copies"
  }

  sources = ["source.scaffolding.app"]

  post-processor "scaffolding-copy" {
    regions             = ["eu-west", "ap-south"]
    keep_input_artifact = false
  }
}
`,
			Checks: []acctest.Check{
				// One registry artifact per region the copy made.
				acctest.RegistryArtifactCount("scaffolding.app", 2),
				acctest.CheckFunc(func(r *acctest.Result) error {
					id := r.ArtifactsFrom(imagecopy.BuilderID)[0].ID
					return acctest.ComposeChecks(
						acctest.RegistryArtifact(id, "eu-west"),
						acctest.RegistryArtifact(id, "ap-south"),
					).Check(r)
				}),
				acctest.RegistryBuildPlatform("scaffolding.app", scaffolding.ProviderName),
				acctest.RegistryBuildHistory("scaffolding.app", registry.BuildUnset, registry.BuildRunning, registry.BuildDone),
			},
		}},
	})
}
