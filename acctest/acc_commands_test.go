package acctest

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
)

// Steps can run validate, init, inspect and fmt -check as well as build,
// judged the same way.
func TestAccHarness_commands(t *testing.T) {
	t.Parallel()
	tmpl := `packer {
  required_plugins {
    fixture = {
      source  = "github.com/acctest/fixture"
      version = ">= 0.0.1"
    }
  }
}

variable "greeting" {
  type    = string
  default = "hello"
}

source "fixture-idle" "a" {}

build {
  sources = ["source.fixture-idle.a"]
  provisioner "fixture" {
    say = var.greeting
  }
}
`
	// packer init ignores prerelease (-dev) builds, so the plugin is built
	// as a release for it.
	release := &Plugin{Dir: fixture.Dir, Name: fixture.Name, Address: fixture.Address,
		BuildFlags: []string{"-ldflags=-X main.prerelease="}}
	Test(t, Case{
		WireModes: harnessOnly,
		Plugin:    release,
		Files:     map[string]string{"unformatted.pkr.hcl": "source \"null\" \"a\" {\ncommunicator=\"none\"\n}\n"},
		Steps: []Step{
			// init resolves required_plugins to the plugin under test,
			// already installed: nothing is downloaded.
			{Command: CommandInit, Template: tmpl},
			{Command: CommandValidate, Template: tmpl, Vars: map[string]string{"greeting": "hi"}},
			{Command: CommandValidate, Template: idleSource(`nosuch = "x"`),
				ExpectError: regexp.MustCompile(`nosuch`)},
			{Command: CommandInspect, Template: tmpl, Checks: []Check{UIContains("var.greeting")}},
			{Command: CommandFmt, Template: tmpl},
			{Command: CommandFmt, TemplateFile: "testdata/templates/unformatted.pkr.hcl",
				ExpectError: regexp.MustCompile(`not formatted \(packer fmt -check\): .*unformatted.pkr.hcl`)},
			{Template: tmpl, Checks: []Check{UIContains("hello")}},
		},
	})
}

// A legacy JSON template in Step.Template is written as .json, and HCL2's
// JSON syntax as .pkr.json; both build.
func TestAccHarness_jsonTemplates(t *testing.T) {
	t.Parallel()
	Test(t, Case{
		WireModes: harnessOnly,
		Plugin:    fixture,
		Steps: []Step{
			{
				Template: `{
  "builders": [{"type": "null", "name": "legacy", "communicator": "none"}],
  "provisioners": [{"type": "fixture", "say": "from a legacy JSON template"}]
}`,
				Checks: []Check{UIContains("from a legacy JSON template")},
			},
			{
				Template: `{
  "source": {"fixture-idle": {"a": {}}},
  "build": {"sources": ["source.fixture-idle.a"], "provisioner": [{"fixture": {"say": "from HCL2 JSON"}}]}
}`,
				Checks: []Check{UIContains("from HCL2 JSON")},
			},
		},
	})
}

// SetupRun hands values to steps and checks; CheckWith builds a check from
// values that exist only when it runs; CheckDestroy sees every artifact,
// after a failing step too; PreCheck runs before anything is built.
func TestAccHarness_runTimeValues(t *testing.T) {
	t.Parallel()
	digest := func(out string) string {
		return fmt.Sprintf(`
variable "content" {
  type = string
}
source "fixture-idle" "a" {}
build {
  sources = ["source.fixture-idle.a"]
  post-processor "fixture-digest" {
    output  = "%s"
    content = var.content
  }
}
`, out)
	}
	var destroyed []Artifact
	preChecked := false
	c := Case{
		Plugin:   fixture,
		PreCheck: func(t testing.TB) { preChecked = true },
		SetupRun: func(t testing.TB, run *Run) { run.Set("content", "made in "+run.Mode.String()) },
		Steps: []Step{
			{
				Template: digest("first.txt"),
				PreBuild: func(t testing.TB, run *Run, s *Step) {
					s.Vars["content"] = run.Value("content").(string)
				},
				Checks: []Check{
					FileContains("first.txt", "made in"),
					CheckWith(func(r *Result) Check {
						// This step's own artifact id, known only now.
						arts := r.ArtifactsFrom(fixtureDigestID)
						if len(arts) == 0 {
							return ArtifactsFrom(fixtureDigestID, 1) // fails, saying why
						}
						id := arts[0].ID
						r.Run().Set("first", id)
						return ArtifactID(fixtureDigestID, regexp.MustCompile("^"+regexp.QuoteMeta(id)+"$"))
					}),
				},
			},
			{
				Template: digest("second.txt"),
				Vars:     map[string]string{"content": "second"},
				Checks: []Check{
					// An earlier step's artifact id, by value.
					ValueEquals("first step's id", StepArtifactID(1, fixtureDigestID), RunValue("first")),
					ValueMatches("this step's id", StepArtifactID(0, fixtureDigestID), regexp.MustCompile(`^sha256:`)),
				},
			},
			{Template: idleSource(`fail = "boom"`)},
		},
		CheckDestroy: func(t testing.TB, run *Run, arts []Artifact) error {
			destroyed = arts
			return nil
		},
	}
	requireAcc(t)
	t.Run("gob", func(t *testing.T) {
		_, err := execCase(t, &c, Gob)
		if err == nil || !strings.Contains(err.Error(), "step 3/3") {
			t.Fatalf("expected step 3 to fail, found %v", err)
		}
		var digests int
		for _, a := range destroyed {
			if a.BuilderID == fixtureDigestID {
				digests++
			}
		}
		if digests != 2 {
			t.Errorf("expected CheckDestroy to get both digest artifacts after the failure, found %v", destroyed)
		}
	})
	c.Steps = c.Steps[:2]
	c.CheckDestroy = func(t testing.TB, run *Run, arts []Artifact) error {
		return errors.New("image still there")
	}
	t.Run("destroy fails", func(t *testing.T) {
		_, err := execCase(t, &c, Gob)
		if err == nil || !strings.Contains(err.Error(), "CheckDestroy: image still there") {
			t.Fatalf("expected CheckDestroy's error to fail the run, found %v", err)
		}
	})
	t.Run("precheck", func(t *testing.T) {
		c := c
		c.CheckDestroy = nil
		c.WireModes = []WireMode{Gob}
		Test(t, c)
		if !preChecked {
			t.Error("expected PreCheck to run")
		}
	})
}

// A case can install more than one plugin.
func TestAccHarness_twoPlugins(t *testing.T) {
	t.Parallel()
	second := &Plugin{Dir: "internal/fixture", Name: "second", Address: "github.com/acctest/second"}
	Test(t, Case{
		Plugin:  fixture,
		Plugins: []*Plugin{second},
		Steps: []Step{{
			Template: `
source "fixture-idle" "a" {}
build {
  sources = ["source.fixture-idle.a"]
  provisioner "fixture" {
    say = "from the first plugin"
  }
  provisioner "second" {
    say = "from the second plugin"
  }
}
`,
			Checks: []Check{UIContains("from the first plugin"), UIContains("from the second plugin")},
		}},
	})
}

// WireModes limits the subtests; a case in gob only has no protobuf run.
func TestAccHarness_wireModesField(t *testing.T) {
	t.Parallel()
	Test(t, Case{
		Plugin:    fixture,
		WireModes: []WireMode{Gob},
		Steps:     []Step{{Template: idleSource(`say = "gob only"`)}},
	})
}
