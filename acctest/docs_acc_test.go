package acctest_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/example/packer-plugin-scaffolding/acctest"
	"github.com/example/packer-plugin-scaffolding/acctest/registry"
)

// The code samples of README.md and docs/harness.md are these tests, copied
// verbatim (TestDocSamplesAreTests checks that). Most install the harness's
// fixture plugin (a provisioner "fixture" and a post-processor
// "fixture-digest") beside Packer's built-in null builder; a plugin's own
// tests leave Plugin nil and get the plugin of their module.
var fixturePlugin = &acctest.Plugin{Dir: "internal/fixture", Name: "fixture", Address: "github.com/acctest/fixture"}

// The README's headline sample: the plugin of this module (Plugin is nil),
// a build published to a local HCP Packer registry.
func TestAccReadme_headline(t *testing.T) {
	t.Parallel()
	acctest.Test(t, acctest.Case{
		Registry: true, // a local HCP Packer registry for this case
		Steps: []acctest.Step{{
			Template: `
source "scaffolding" "basic" {
  store        = "store"
  image_name   = "basic"
  image_labels = { role = "test" }
}

build {
  hcp_packer_registry {
    bucket_name = "basic" # the registry needs a bucket to publish to
  }
  sources = ["source.scaffolding.basic"]
  provisioner "scaffolding" {
    inline = ["echo hello > /etc/motd"]
  }
}
`,
			Checks: []acctest.Check{
				acctest.ArtifactsFrom("example.scaffolding", 1), // the builder's id
				acctest.ArtifactID("example.scaffolding", regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)),
				acctest.RegistryBuildStatus("scaffolding.basic", registry.BuildDone),
				acctest.RegistryBuildLabels("scaffolding.basic", map[string]string{"role": "test"}),
			},
		}},
	})
}

// A build that made nothing fails, even when Packer exits 0: here the
// registry refuses to start the build. ExpectError turns it into a pass.
func TestAccDocs_noFalsePass(t *testing.T) {
	t.Parallel()
	acctest.Test(t, acctest.Case{
		Plugin:   fixturePlugin,
		Registry: true,
		PackerVersionChecks: []acctest.VersionCheck{
			acctest.SkipBelow(acctest.Version1_13), // top-level hcp_packer_registry
		},
		Steps: []acctest.Step{{
			Template: `
source "null" "a" {
  communicator = "none"
}
hcp_packer_registry {
  bucket_name = "refused"
}
build {
  sources = ["source.null.a"]
}
`,
			PreBuild: func(t testing.TB, run *acctest.Run, step *acctest.Step) {
				run.Registry().Fail(registry.OpUpdateBuild, 0, registry.CodeUnavailable, "registry-unavailable")
			},
			// Without this the step fails: "expected the build to succeed,
			// found exit code 0 but 1 error(s) reported by Packer".
			ExpectError: regexp.MustCompile(`registry-unavailable`),
		}},
	})
}

// Version checks and wire modes are per case.
func TestAccDocs_versions(t *testing.T) {
	t.Parallel()
	acctest.Test(t, acctest.Case{
		Plugin: fixturePlugin,
		PackerVersionChecks: []acctest.VersionCheck{
			acctest.RequireAbove(acctest.Version1_11),                     // fail, not skip, below 1.11
			acctest.SkipBetween(acctest.Version1_14, acctest.Version1_15), // a Packer bug there
		},
		// Only gob; protobuf is also skipped by itself, with the reason, on
		// Packer 1.11 or for a plugin whose describe lacks protocol v2.
		WireModes: []acctest.WireMode{acctest.Gob},
		Steps: []acctest.Step{{Template: `
source "null" "a" {
  communicator = "none"
}
build {
  sources = ["source.null.a"]
}
`}},
	})
}

// Steps can run validate, init, inspect and fmt -check, judged like builds.
func TestAccDocs_commands(t *testing.T) {
	t.Parallel()
	template := `
packer {
  required_plugins {
    fixture = {
      source  = "github.com/acctest/fixture"
      version = ">= 0.0.1"
    }
  }
}

source "null" "a" {
  communicator = "none"
}

build {
  sources = ["source.null.a"]
  provisioner "fixture" {
    say = "hello"
  }
}
`
	// packer init ignores prerelease (-dev) builds: build the plugin as a
	// release for a case that runs it.
	release := *fixturePlugin
	release.BuildFlags = []string{"-ldflags=-X main.prerelease="}
	acctest.Test(t, acctest.Case{
		Plugin: &release,
		Steps: []acctest.Step{
			{Command: acctest.CommandInit, Template: template}, // resolves to the installed plugin
			{Command: acctest.CommandValidate, Template: template},
			{Command: acctest.CommandInspect, Template: template, Checks: []acctest.Check{acctest.UIContains("null.a")}},
			{Command: acctest.CommandFmt, Template: template},
			{Template: template, Checks: []acctest.Check{acctest.UIContains("hello")}},
			{
				// A legacy JSON template is written as .json.
				Template: `{"builders": [{"type": "null", "communicator": "none"}]}`,
			},
		},
	})
}

// SetupRun hands values to steps and checks; checks can use values that
// exist only when they run.
func TestAccDocs_runTimeValues(t *testing.T) {
	t.Parallel()
	template := `
variable "content" {
  type = string
}
source "null" "a" {
  communicator = "none"
}
build {
  sources = ["source.null.a"]
  post-processor "fixture-digest" {
    output  = "image.raw"
    content = var.content
  }
}
`
	acctest.Test(t, acctest.Case{
		Plugin: fixturePlugin,
		SetupRun: func(t testing.TB, run *acctest.Run) {
			run.Set("content", "made for "+run.Mode.String()) // a per-run value
		},
		Steps: []acctest.Step{
			{
				Template: template,
				PreBuild: func(t testing.TB, run *acctest.Run, step *acctest.Step) {
					step.Vars["content"] = run.Value("content").(string)
				},
				Checks: []acctest.Check{
					acctest.FileContains("image.raw", "made for"),
					// A check built from this step's artifact, when it runs.
					acctest.CheckWith(func(r *acctest.Result) acctest.Check {
						r.Run().Set("first id", r.ArtifactsFrom("acctest.fixture-digest")[0].ID)
						return acctest.ArtifactIDIsFileDigest("acctest.fixture-digest")
					}),
				},
			},
			{
				Template: template,
				Vars:     map[string]string{"content": "something else"},
				Checks: []acctest.Check{
					// Step 1's id, as the run recorded it.
					acctest.ValueEquals("step 1's image", acctest.StepArtifactID(1, "acctest.fixture-digest"), acctest.RunValue("first id")),
				},
			},
		},
	})
}

// CheckDestroy runs after the last step, pass or fail, with every artifact;
// a sweeper removes what killed runs left. Here the "platform" is a
// directory; a cloud plugin lists and deletes instances and images.
func TestAccDocs_teardown(t *testing.T) {
	t.Parallel()
	acctest.Test(t, acctest.Case{
		Plugin: fixturePlugin,
		Steps: []acctest.Step{{
			Template: `
variable "platform" {
  type = string
}
source "null" "a" {
  communicator = "none"
}
build {
  sources = ["source.null.a"]
  post-processor "fixture-digest" {
    output  = "${var.platform}/acc-${uuidv4()}.raw"
    content = "disk"
  }
}
`,
			Vars: map[string]string{"platform": platformDir},
		}},
		CheckDestroy: func(t testing.TB, run *acctest.Run, artifacts []acctest.Artifact) error {
			var errs []error
			for _, a := range artifacts {
				for _, f := range a.Files {
					errs = append(errs, os.Remove(f)) // delete what the case made
				}
			}
			return errors.Join(errs...)
		},
	})
}

// platformDir stands in for a cloud account in the sweeper sample.
var platformDir = filepath.Join(os.TempDir(), "acctest-docs-platform")

func init() {
	// Sweepers are registered in init; `make sweep` runs them.
	acctest.AddSweeper(acctest.Sweeper{
		Name: "docs-images",
		F: func(ctx context.Context) error {
			entries, err := os.ReadDir(platformDir)
			if errors.Is(err, os.ErrNotExist) {
				return nil
			}
			if err != nil {
				return err
			}
			var errs []error
			for _, e := range entries {
				if strings.HasPrefix(e.Name(), "acc-") { // only what tests made
					errs = append(errs, os.RemoveAll(filepath.Join(platformDir, e.Name())))
				}
			}
			return errors.Join(errs...)
		},
	})
}

// TestSweepers runs the sweepers of this package under `make sweep`.
func TestSweepers(t *testing.T) { acctest.RunSweepers(t) }

// More than one plugin per case; PreCheck runs once, before anything is
// built, only in acceptance mode.
func TestAccDocs_twoPlugins(t *testing.T) {
	t.Parallel()
	other := &acctest.Plugin{Dir: "internal/fixture", Name: "other", Address: "github.com/acctest/other"}
	acctest.Test(t, acctest.Case{
		PreCheck: func(t testing.TB) {
			if _, err := os.Stat(other.Dir); err != nil {
				t.Skipf("the other plugin is not here: %v", err)
			}
		},
		Plugin:  fixturePlugin,
		Plugins: []*acctest.Plugin{other},
		Steps: []acctest.Step{{Template: `
source "null" "a" {
  communicator = "none"
}
build {
  sources = ["source.null.a"]
  provisioner "fixture" {
    say = "one"
  }
  provisioner "other" {
    say = "two"
  }
}
`, Checks: []acctest.Check{acctest.UIContains("one"), acctest.UIContains("two")}}},
	})
}

// TestDocSamplesAreTests fails when a Go sample in README.md or
// docs/harness.md is not, line for line, part of a test in this package.
func TestDocSamplesAreTests(t *testing.T) {
	var tests strings.Builder
	files, _ := filepath.Glob("*_test.go")
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		tests.WriteString(normalizeSample(string(data)))
	}
	for _, doc := range []string{"../README.md", "../docs/harness.md"} {
		data, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		for i, sample := range goSamples(string(data)) {
			if !strings.Contains(tests.String(), normalizeSample(sample)) {
				t.Errorf("%s: Go sample %d is not in any test of acctest (copy it from docs_acc_test.go):\n%s", doc, i+1, sample)
			}
		}
	}
}

var goFence = regexp.MustCompile("(?s)```go\n(.*?)```")

func goSamples(md string) []string {
	var out []string
	for _, m := range goFence.FindAllStringSubmatch(md, -1) {
		out = append(out, m[1])
	}
	return out
}

// normalizeSample drops indentation and blank lines, so a sample may be
// shown less indented than in its test.
func normalizeSample(s string) string {
	var b strings.Builder
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			fmt.Fprintln(&b, l)
		}
	}
	return b.String()
}
