package main

import (
	"regexp"
	"testing"

	"github.com/example/packer-plugin-scaffolding/acctest"
	"github.com/example/packer-plugin-scaffolding/acctest/registry"
	"github.com/example/packer-plugin-scaffolding/builder/scaffolding"
	"github.com/example/packer-plugin-scaffolding/post-processor/imagecopy"
	"github.com/example/packer-plugin-scaffolding/standin/imagecheck"
)

// TestAccPipeline runs the example's own templates, so the pipeline a vendor
// first sees is the one CI proves: the base build, then the data source
// finding it, the app build on top of it, its provisioner, and the copy to
// two more regions, all published to the local HCP Packer registry.
func TestAccPipeline(t *testing.T) {
	t.Parallel()
	imagecheck.NeedMachines(t)
	store := map[string]string{"store": "store"}
	acctest.Test(t, acctest.Case{
		Registry: true,
		// The example's templates declare required_version >= 1.13.0: they
		// use the top-level hcp_packer_registry block.
		PackerVersionChecks: []acctest.VersionCheck{acctest.SkipBelow(acctest.Version1_13)},
		Steps: []acctest.Step{
			{
				// Before anything exists: the app's source_image comes from
				// a data source, so validate sees it unknown and must not
				// judge it as an image id.
				Command:      acctest.CommandValidate,
				TemplateFile: "app",
				Vars:         map[string]string{"store": "store", "app_version": "2.3.4"},
			},
			{
				TemplateFile: "base",
				Vars:         store,
				Checks: []acctest.Check{
					acctest.ArtifactsFrom(scaffolding.BuilderID, 1),
					acctest.ArtifactIDIsFileDigest(scaffolding.BuilderID),
					imagecheck.FileInImage(scaffolding.BuilderID, "/etc/os-release", "IMAGE=base"),
					imagecheck.FileInImage(scaffolding.BuilderID, "/etc/role", "base"),
					acctest.RegistryBuildStatus("scaffolding.base", registry.BuildDone),
					acctest.RegistryBuildLabels("scaffolding.base", map[string]string{"pipeline": "example", "tier": "base"}),
				},
			},
			{
				TemplateFile: "app",
				Vars:         map[string]string{"store": "store", "app_version": "2.3.4"},
				Checks: []acctest.Check{
					acctest.ArtifactsFrom(scaffolding.BuilderID, 1),
					acctest.ArtifactsFrom(imagecopy.BuilderID, 1),
					acctest.ArtifactIDIsFileDigest(scaffolding.BuilderID),
					// The app image holds the base's files and its own.
					imagecheck.FileInImage(scaffolding.BuilderID, "/etc/role", "base"),
					imagecheck.FileInImage(scaffolding.BuilderID, "/etc/app/app.conf", "version=2.3.4"),
					imagecheck.FileInImage(scaffolding.BuilderID, "/var/log/install.log", "installed app 2.3.4 on base"),
					imagecheck.Regions(imagecopy.BuilderID, "store", "eu-west", "ap-south"),
					imagecheck.ArtifactImagesInStore(imagecopy.BuilderID, "store"),
					appBuiltOnBase,
					acctest.RegistryBuildPlatform("scaffolding.app", scaffolding.ProviderName),
					acctest.RegistryBuildLabels("scaffolding.app", map[string]string{"app_version": "2.3.4", "tier": "app"}),
					acctest.RegistryNoUnknownCalls(),
				},
			},
			{
				// The same app build again finds the same base and makes the
				// same image: snapshots are deterministic.
				TemplateFile: "app",
				Vars:         map[string]string{"store": "store", "app_version": "2.3.4"},
				Env:          map[string]string{"HCP_PACKER_BUILD_FINGERPRINT": "second-app-build"},
				Checks: []acctest.Check{
					// The identical image is the first build's: reused, not
					// registered again.
					acctest.UIContains("reuses it"),
					acctest.ArtifactFilesExist(imagecopy.BuilderID),
					acctest.CheckFunc(func(r *acctest.Result) error {
						first := r.Run().Results[2].ArtifactsFrom(scaffolding.BuilderID)[0].ID
						return acctest.ArtifactID(scaffolding.BuilderID, regexp.MustCompile("^"+regexp.QuoteMeta(first)+"$")).Check(r)
					}),
				},
			},
		},
	})
}

// appBuiltOnBase checks ancestry in the registry: the app build's source
// image is the base build's image.
var appBuiltOnBase = acctest.RegistrySourceExternalIDOf("scaffolding.app", acctest.StepArtifactID(2, scaffolding.BuilderID))
