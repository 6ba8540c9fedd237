package acctest

import (
	"regexp"
	"strings"
	"testing"

	"github.com/example/packer-plugin-scaffolding/acctest/registry"
)

// These run Packer's built-in null and file builders (with the fixture
// plugin installed, as every harness case has a plugin) against the
// registry emulator, through Case.Registry and the registry checks.

func TestAccRegistry_publish(t *testing.T) {
	t.Parallel()
	Test(t, Case{
		Plugin:   fixture,
		Registry: true,
		Steps: []Step{{
			Template: `
source "null" "a" {
  communicator = "none"
}

hcp_packer_registry {
  bucket_name  = "acc-publish"
  build_labels = { os = "none" }
}

build {
  sources = ["source.null.a"]
}
`,
			Checks: []Check{
				RegistryBucketExists("acc-publish"),
				RegistryVersionStatus("acc-publish", registry.VersionActive),
				RegistryBuildHistory("null.a", registry.BuildUnset, registry.BuildRunning, registry.BuildDone),
				// Packer's null builder publishes image "Null" on platform
				// "null" in region "null", from source "null".
				RegistryBuildPlatform("null.a", "null"),
				RegistryArtifact("Null", "null"),
				RegistryArtifactCount("null.a", 1),
				RegistryBuildLabels("null.a", map[string]string{"os": "none"}),
				RegistrySourceExternalID("null.a", "null"),
				RegistryChannel("acc-publish", registry.LatestChannel),
				RegistryNoUnknownCalls(),
			},
		}},
	})
}

func TestAccRegistry_ancestry(t *testing.T) {
	t.Parallel()
	Test(t, Case{
		Plugin:   fixture,
		Registry: true,
		Steps: []Step{
			{
				// The file builder publishes the target's base name as the
				// image and its source path as the source image.
				Template: `
source "file" "parent" {
  content = "parent"
  target  = "parent.txt"
}

hcp_packer_registry {
  bucket_name = "acc-parent"
}

build {
  sources = ["source.file.parent"]
}
`,
				Checks: []Check{RegistryBuildStatus("file.parent", registry.BuildDone)},
			},
			{
				PreBuild: func(t testing.TB, run *Run, _ *Step) {
					reg := run.Registry()
					versions := reg.Versions()
					if err := reg.SetChannel("acc-parent", "release", versions[len(versions)-1].Fingerprint); err != nil {
						t.Fatal(err)
					}
				},
				Template: `
data "hcp-packer-artifact" "parent" {
  bucket_name  = "acc-parent"
  channel_name = "release"
  platform     = "packer.file"
  region       = "."
}

source "file" "child" {
  source = data.hcp-packer-artifact.parent.external_identifier
  target = "child.txt"
}

hcp_packer_registry {
  bucket_name = "acc-child"
}

build {
  sources = ["source.file.child"]
}
`,
				Checks: []Check{
					RegistrySourceExternalID("file.child", "parent.txt"),
					RegistryParentVersion("file.child", "acc-parent", "release"),
					RegistryNoUnknownCalls(),
				},
			},
		},
	})
}

func TestAccRegistry_failedPublishFailsTheStep(t *testing.T) {
	t.Parallel()
	Test(t, Case{
		Plugin:   fixture,
		Registry: true,
		Steps: []Step{{
			PreBuild: func(t testing.TB, run *Run, _ *Step) {
				run.Registry().Fail(registry.OpUpdateBuild, 0, registry.CodeUnavailable, "registry is down").
					When(func(r registry.Request) bool { return strings.Contains(r.Body, `"BUILD_DONE"`) })
			},
			Template: `
source "null" "a" {
  communicator = "none"
}

hcp_packer_registry {
  bucket_name = "acc-fault"
}

build {
  sources = ["source.null.a"]
}
`,
			ExpectError: regexp.MustCompile(`registry is down`),
			Checks: []Check{
				RegistryBuildHistory("null.a", registry.BuildUnset, registry.BuildRunning, registry.BuildFailed),
				RegistryVersionStatus("acc-fault", registry.VersionFailed),
			},
		}},
	})
}
