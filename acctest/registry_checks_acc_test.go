package acctest

import (
	"regexp"
	"strings"
	"testing"

	"github.com/example/packer-plugin-scaffolding/acctest/registry"
)

// These run Packer's built-in null and file builders (with the fixture
// plugin installed, as every harness case has a plugin) against the
// registry emulator, through Case.Registry and the registry checks. They
// test the harness's checks, in one wire mode (harnessOnly): a plugin's
// registry metadata crossing both wires is the builder's registry cases'.

func TestAccRegistry_publish(t *testing.T) {
	t.Parallel()
	Test(t, Case{
		Plugin:    fixture,
		Registry:  true,
		WireModes: harnessOnly,
		// The top-level hcp_packer_registry block is Packer 1.13+.
		PackerVersionChecks: []VersionCheck{SkipBelow(Version1_13)},
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
		Plugin:    fixture,
		Registry:  true,
		WireModes: harnessOnly,
		// The top-level hcp_packer_registry block is Packer 1.13+.
		PackerVersionChecks: []VersionCheck{SkipBelow(Version1_13)},
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
		Plugin:    fixture,
		Registry:  true,
		WireModes: harnessOnly,
		// The top-level hcp_packer_registry block is Packer 1.13+.
		PackerVersionChecks: []VersionCheck{SkipBelow(Version1_13)},
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

// No false pass: when the registry refuses a build's BUILD_RUNNING update,
// Packer 1.16 skips the build and still exits 0, with one error line. The
// step must fail with what Packer said, and pass only when it expects that.
func TestAccRegistry_refusedBuildFailsStep(t *testing.T) {
	t.Parallel()
	tmpl := `
source "null" "a" {
  communicator = "none"
}

hcp_packer_registry {
  bucket_name = "acc-refused"
}

build {
  sources = ["source.null.a"]
}
`
	refuseRunning := func(t testing.TB, run *Run, _ *Step) {
		run.Registry().Fail(registry.OpUpdateBuild, 0, registry.CodeInternal, "down-for-maintenance").
			When(func(r registry.Request) bool { return strings.Contains(r.Body, string(registry.BuildRunning)) })
	}
	c := Case{
		Plugin:   fixture,
		Registry: true,
		// The top-level hcp_packer_registry block is Packer 1.13+.
		PackerVersionChecks: []VersionCheck{SkipBelow(Version1_13)},
		Steps:               []Step{{Template: tmpl, PreBuild: refuseRunning}},
	}
	execHarnessOnly(t, c, func(t *testing.T, run *Run, err error) {
		if err == nil {
			t.Fatal("expected the step to fail: Packer built nothing, found it passed")
		}
		for _, want := range []string{"step 1/1", "expected the build to succeed, found exit code", "down-for-maintenance"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("expected the failure to mention %q, found:\n%v", want, err)
			}
		}
		if res := run.Results[0]; len(res.Finished) != 0 {
			t.Errorf("expected no finished build, found %v", res.Finished)
		}
	})
	// The same step passes when it expects the error.
	expected := c
	expected.WireModes = harnessOnly
	expected.Steps = []Step{{Template: tmpl, PreBuild: refuseRunning, ExpectError: regexp.MustCompile(`down-for-maintenance`)}}
	t.Run("expected", func(t *testing.T) {
		t.Parallel()
		Test(t, expected)
	})
}
