package scaffolding_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/example/packer-plugin-scaffolding/acctest"
	"github.com/example/packer-plugin-scaffolding/acctest/registry"
	"github.com/example/packer-plugin-scaffolding/builder/scaffolding"
	"github.com/example/packer-plugin-scaffolding/cloud"
	"github.com/example/packer-plugin-scaffolding/standin"
	"github.com/example/packer-plugin-scaffolding/standin/imagecheck"
)

// These cases run Packer against the harness's local HCP Packer registry and
// check the metadata our artifacts answer to "par.artifact.metadata", as
// Packer pushed it.

// registryTemplate builds image name from var.source (empty: from nothing)
// and publishes it to bucket.
func registryTemplate(bucket, name, provisioner string) string {
	return `
variable "source" {
  type    = string
  default = ""
}

source "scaffolding" "` + name + `" {
  store        = "store"
  region       = "local"
  image_name   = "` + name + `"
  source_image = var.source
  image_labels = {
    os   = "tinylinux"
    role = "` + name + `"
  }
}

build {
  hcp_packer_registry {
    bucket_name = "` + bucket + `"
    build_labels = {
      team = "platform"
    }
  }

  sources = ["source.scaffolding.` + name + `"]

  provisioner "scaffolding" {
    ` + provisioner + `
  }
}
`
}

// publishedImage checks that the registry holds the artifact the builder
// returned, under its id and region: ImageID is the artifact id.
var publishedImage = acctest.ComposeChecks(
	acctest.ArtifactsFrom(scaffolding.BuilderID, 1),
	acctest.RegistryArtifactOf(acctest.StepArtifactID(0, scaffolding.BuilderID), "local"),
)

// sourceIsFirstImage checks that the build published the first step's image
// as its source: the SourceImageID of our metadata.
var sourceIsFirstImage = acctest.RegistrySourceExternalIDOf("scaffolding.child", acctest.StepArtifactID(1, scaffolding.BuilderID))

func TestAccBuilderRegistry_metadata(t *testing.T) {
	t.Parallel()
	needMachines(t)
	acctest.Test(t, acctest.Case{
		Registry: true,
		Steps: []acctest.Step{
			{
				Template: registryTemplate("acc-parent", "parent", `inline = ["echo parent > /parent.txt"]`),
				Checks: []acctest.Check{
					acctest.RegistryBucketExists("acc-parent"),
					publishedImage,
					acctest.RegistryArtifactCount("scaffolding.parent", 1),
					acctest.RegistryBuildPlatform("scaffolding.parent", scaffolding.ProviderName),
					acctest.RegistryBuildHistory("scaffolding.parent", registry.BuildUnset, registry.BuildRunning, registry.BuildDone),
					acctest.RegistryVersionStatus("acc-parent", registry.VersionActive),
					acctest.RegistryNoUnknownCalls(),
				},
			},
			{
				Template: registryTemplate("acc-child", "child", `inline = ["echo child > /child.txt"]`),
				PreBuild: useFirstImage,
				Checks: []acctest.Check{
					publishedImage,
					// build_labels and the image's own labels, together,
					// and the archive format the image is stored in.
					acctest.RegistryBuildLabels("scaffolding.child", map[string]string{
						"team": "platform", "os": "tinylinux", "role": "child",
						scaffolding.FormatLabel: standin.FormatZstd,
					}),
					sourceIsFirstImage,
					acctest.RegistryBuildPlatform("scaffolding.child", scaffolding.ProviderName),
					acctest.RegistryNoUnknownCalls(),
				},
			},
		},
	})
}

func TestAccBuilderRegistry_failedBuild(t *testing.T) {
	t.Parallel()
	needMachines(t)
	acctest.Test(t, acctest.Case{
		Registry: true,
		Steps: []acctest.Step{{
			Template:    registryTemplate("acc-failing", "failing", `inline = ["exit 3"]`),
			ExpectError: regexp.MustCompile(`exit 3|status 3`),
			Checks: []acctest.Check{
				acctest.RegistryBuildHistory("scaffolding.failing", registry.BuildUnset, registry.BuildRunning, registry.BuildFailed),
				acctest.RegistryArtifactCount("scaffolding.failing", 0),
				imagecheck.StoreImages("store", cloud.ImageFilter{}, 0),
			},
		}},
	})
}

func TestAccBuilderRegistry_faultOnFinalUpdate(t *testing.T) {
	t.Parallel()
	needMachines(t)
	acctest.Test(t, acctest.Case{
		Registry: true,
		// Packer 1.11 exits 0 and never marks the build FAILED when its
		// final update is refused (seen with 1.11.2); 1.16 fails the build.
		PackerVersionChecks: []acctest.VersionCheck{acctest.SkipBelow(acctest.Version1_12)},
		Steps: []acctest.Step{{
			PreBuild: func(t testing.TB, run *acctest.Run, _ *acctest.Step) {
				// Fail only the update that marks the build done.
				run.Registry().Fail(registry.OpUpdateBuild, 503, registry.CodeUnavailable, "registry is down for maintenance").
					When(func(r registry.Request) bool { return strings.Contains(r.Body, `"BUILD_DONE"`) })
			},
			Template:    registryTemplate("acc-fault", "faulty", `inline = ["echo built > /built.txt"]`),
			ExpectError: regexp.MustCompile(`registry\s+is\s+down\s+for\s+maintenance`), // Packer wraps its diagnostics at 80 columns
			Checks: []acctest.Check{
				// The registry never heard of success...
				acctest.RegistryBuildHistory("scaffolding.faulty", registry.BuildUnset, registry.BuildRunning, registry.BuildFailed),
				// ...but the image the builder made is intact in the store.
				imagecheck.StoreImages("store", cloud.ImageFilter{Name: "faulty"}, 1),
				acctest.CheckFunc(storedImageVerifies),
				imagecheck.NoTempFiles("store"),
			},
		}},
	})
}

// storedImageVerifies checks that every image in the store still hashes to
// its id, whatever happened to the build's registry updates.
func storedImageVerifies(r *acctest.Result) error {
	return verifyAll(r.Dir + "/store")
}

func verifyAll(store string) error {
	d := standin.NewLocalDriver(store)
	images, err := d.FindImages(context.Background(), standin.ImageFilter{})
	if err != nil {
		return err
	}
	for _, img := range images {
		if err := d.VerifyImage(context.Background(), img); err != nil {
			return fmt.Errorf("image %s in %s: %w", img.ID, img.Region, err)
		}
	}
	return nil
}

func TestAccBuilderRegistry_ancestry(t *testing.T) {
	t.Parallel()
	needMachines(t)
	acctest.Test(t, acctest.Case{
		Registry: true,
		Steps: []acctest.Step{
			{Template: registryTemplate("acc-base", "parent", `inline = ["echo parent > /parent.txt"]`)},
			{
				PreBuild: func(t testing.TB, run *acctest.Run, _ *acctest.Step) {
					// What a release process does: point a channel at the
					// version the first step completed.
					reg := run.Registry()
					versions := reg.Versions()
					if err := reg.SetChannel("acc-base", "release", versions[len(versions)-1].Fingerprint); err != nil {
						t.Fatal(err)
					}
				},
				Template: `
data "hcp-packer-artifact" "base" {
  bucket_name  = "acc-base"
  channel_name = "release"
  platform     = "scaffolding"
  region       = "local"
}

source "scaffolding" "child" {
  store        = "store"
  image_name   = "child"
  source_image = data.hcp-packer-artifact.base.external_identifier
}

build {
  hcp_packer_registry {
    bucket_name = "acc-app"
  }

  sources = ["source.scaffolding.child"]

  provisioner "scaffolding" {
    inline = ["test -f /parent.txt && echo child > /child.txt"]
  }
}
`,
				Checks: []acctest.Check{
					sourceIsFirstImage,
					acctest.RegistryParentVersion("scaffolding.child", "acc-base", "release"),
					imagecheck.FileInImage(scaffolding.BuilderID, "/child.txt", "child"),
					acctest.RegistryNoUnknownCalls(),
				},
			},
		},
	})
}
