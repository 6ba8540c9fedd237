package acctest_test

import (
	"testing"

	"github.com/example/packer-plugin-scaffolding/acctest"
	"github.com/example/packer-plugin-scaffolding/acctest/registry"
)

// publishing is a template whose build publishes to the bucket "images".
const publishing = `
source "scaffolding" "example" {
  # ...
}

hcp_packer_registry {
  bucket_name  = "images"
  build_labels = { os = "alpine" }
  channels     = ["dev"]
}

build {
  sources = ["source.scaffolding.example"]
}
`

// A case with Registry set gets its own local HCP Packer registry per run
// (pass it to acctest.Test); the checks read what Packer published to it.
func ExampleRegistryBucketExists() {
	_ = acctest.Case{
		Registry: true,
		Steps: []acctest.Step{{
			Template: publishing,
			Checks:   []acctest.Check{acctest.RegistryBucketExists("images")},
		}},
	}
}

func ExampleRegistryVersionStatus() {
	_ = acctest.Step{
		Template: publishing,
		Checks: []acctest.Check{
			// Every build of the version is done, so it is complete ("v1").
			acctest.RegistryVersionStatus("images", registry.VersionActive),
		},
	}
}

func ExampleRegistryBuildStatus() {
	_ = acctest.Step{
		Template: publishing,
		Checks:   []acctest.Check{acctest.RegistryBuildStatus("scaffolding.example", registry.BuildDone)},
	}
}

func ExampleRegistryBuildHistory() {
	_ = acctest.Step{
		Template: publishing,
		Checks: []acctest.Check{
			acctest.RegistryBuildHistory("scaffolding.example",
				registry.BuildUnset, registry.BuildRunning, registry.BuildDone),
		},
	}
}

func ExampleRegistryBuildPlatform() {
	_ = acctest.Step{
		Template: publishing,
		// The platform is the ProviderName of the build's first image.
		Checks: []acctest.Check{acctest.RegistryBuildPlatform("scaffolding.example", "scaffolding")},
	}
}

func ExampleRegistryArtifact() {
	_ = acctest.Step{
		Template: publishing,
		Checks:   []acctest.Check{acctest.RegistryArtifact("sha256:0123abcd", "eu-west")},
	}
}

func ExampleRegistryArtifactCount() {
	_ = acctest.Step{
		Template: publishing,
		// One artifact per image: a copy to two more regions makes three.
		Checks: []acctest.Check{acctest.RegistryArtifactCount("scaffolding.example", 3)},
	}
}

func ExampleRegistryBuildLabels() {
	_ = acctest.Step{
		Template: publishing,
		Checks: []acctest.Check{
			acctest.RegistryBuildLabels("scaffolding.example", map[string]string{"os": "alpine"}),
		},
	}
}

func ExampleRegistrySourceExternalID() {
	_ = acctest.Step{
		Template: publishing,
		Checks:   []acctest.Check{acctest.RegistrySourceExternalID("scaffolding.example", "sha256:0123abcd")},
	}
}

// A second step builds from the image the first one published, read with
// hcp-packer-artifact from a channel the first step's version was put on.
func ExampleRegistryParentVersion() {
	_ = acctest.Case{
		Registry: true,
		Steps: []acctest.Step{
			{Template: publishing},
			{
				PreBuild: func(t testing.TB, run *acctest.Run, _ *acctest.Step) {
					reg := run.Registry()
					versions := reg.Versions()
					if err := reg.SetChannel("images", "release", versions[len(versions)-1].Fingerprint); err != nil {
						t.Fatal(err)
					}
				},
				Template: `
data "hcp-packer-artifact" "base" {
  bucket_name  = "images"
  channel_name = "release"
  platform     = "scaffolding"
  region       = "eu-west"
}

source "scaffolding" "child" {
  source_image = data.hcp-packer-artifact.base.external_identifier
}

hcp_packer_registry {
  bucket_name = "apps"
}

build {
  sources = ["source.scaffolding.child"]
}
`,
				Checks: []acctest.Check{acctest.RegistryParentVersion("scaffolding.child", "images", "release")},
			},
		},
	}
}

func ExampleRegistryChannel() {
	_ = acctest.Case{
		Registry: true,
		Steps: []acctest.Step{{
			// hcp_packer_registry assigns channels that exist: create "dev" first.
			PreBuild: func(t testing.TB, run *acctest.Run, _ *acctest.Step) {
				if err := run.Registry().AddBucket("images"); err != nil {
					t.Fatal(err)
				}
				if err := run.Registry().SetChannel("images", "dev", ""); err != nil {
					t.Fatal(err)
				}
			},
			Template: publishing,
			Checks: []acctest.Check{
				acctest.RegistryChannel("images", "dev"),
				acctest.RegistryChannel("images", registry.LatestChannel),
			},
		}},
	}
}

func ExampleRegistryNoUnknownCalls() {
	_ = acctest.Step{
		Template: publishing,
		Checks:   []acctest.Check{acctest.RegistryNoUnknownCalls()},
	}
}
