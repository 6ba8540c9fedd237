package acctest

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-version"
)

// The harness's own acceptance tests install the fixture plugin
// (internal/fixture) rather than the module's plugin, so they run whatever
// state the plugin's components are in.
var fixture = &Plugin{Dir: "internal/fixture", Name: "fixture", Address: "github.com/acctest/fixture"}

// fixtureDigestID is the fixture post-processor's builder id.
const fixtureDigestID = "acctest.fixture-digest"

// idleSource is a build with the fixture's idle builder and its
// provisioner configured by prov. (Packer's null builder would do, but Packer
// runs a built-in component as one more Packer process, which costs several
// times a plugin's start on every run.)
func idleSource(prov string) string {
	return `
source "fixture-idle" "a" {}

build {
  sources = ["source.fixture-idle.a"]
  provisioner "fixture" {
` + prov + `
  }
}
`
}

func requireAcc(t *testing.T) {
	t.Helper()
	if !accEnabled() {
		t.Skipf("acceptance test: set %s=1 to run it", EnvAcc)
	}
	SkipOutsideShard(t)
}

// harnessOnly is the wire mode of a case about the harness's own logic (how
// it writes files, runs commands, judges a step, reaps processes), which is
// the same whatever wire the plugin speaks: the plugin's side of both wires
// is what every plugin case runs in both modes, and
// TestAccHarness_wireModesAndIsolation proves each mode is really used. One
// mode halves the Packer runs such a case costs make testacc.
var harnessOnly = []WireMode{Protobuf}

// execBoth runs the case in both wire modes as parallel subtests and hands
// each result to judge, for cases whose failure is the expected outcome.
func execBoth(t *testing.T, c Case, judge func(t *testing.T, run *Run, err error)) {
	t.Helper()
	execIn(t, []WireMode{Protobuf, Gob}, c, judge)
}

// execHarnessOnly is execBoth in the harnessOnly mode.
func execHarnessOnly(t *testing.T, c Case, judge func(t *testing.T, run *Run, err error)) {
	t.Helper()
	execIn(t, harnessOnly, c, judge)
}

func execIn(t *testing.T, modes []WireMode, c Case, judge func(t *testing.T, run *Run, err error)) {
	t.Helper()
	requireAcc(t)
	for _, mode := range modes {
		t.Run(mode.String(), func(t *testing.T) {
			t.Parallel()
			run, err := execCase(t, &c, mode)
			var skip *skipError
			if errors.As(err, &skip) {
				t.Skip(skip.reason) // a mode this Packer cannot speak
			}
			judge(t, run, err)
		})
	}
}

func TestAccHarness_basic(t *testing.T) {
	t.Parallel()
	Test(t, Case{
		Plugin: fixture,
		Files:  map[string]string{"input.txt": "from Files\n"},
		Setup: func(t testing.TB, dir string) {
			if _, err := os.Stat(filepath.Join(dir, "input.txt")); err != nil {
				t.Fatalf("Files were not written before Setup: %v", err)
			}
		},
		Steps: []Step{{
			Template: `
variable "content" {
  type = string
}

source "fixture-idle" "a" {}

build {
  sources = ["source.fixture-idle.a"]
  provisioner "fixture" {
    say = "hello, from the fixture"
  }
  post-processor "fixture-digest" {
    output  = "out/image.raw"
    content = var.content
  }
}
`,
			Vars: map[string]string{"content": "disk bytes"},
			Checks: []Check{
				ArtifactCount(2), // the idle builder's, kept, and the digest
				ArtifactsFrom(fixtureDigestID, 1),
				ArtifactID(fixtureDigestID, regexp.MustCompile(`^sha256:`)),
				ArtifactFilesExist(fixtureDigestID),
				ArtifactIDIsFileDigest(fixtureDigestID),
				FileContains("out/image.raw", "disk bytes"),
				UIContains("hello, from the fixture"),
				CheckFunc(func(r *Result) error {
					if len(r.Builds) != 1 || r.Builds[0] != "fixture-idle.a" {
						return errors.New("expected builds [fixture-idle.a], found " + strings.Join(r.Builds, ","))
					}
					return nil
				}),
			},
		}},
	})
}

// Steps share the work dir: the second build sees the first one's output.
func TestAccHarness_stepsShareWorkDir(t *testing.T) {
	t.Parallel()
	pp := `
source "fixture-idle" "a" {}
build {
  sources = ["source.fixture-idle.a"]
  post-processor "fixture-digest" {
    output  = "%s"
    content = "%s"
  }
}
`
	Test(t, Case{
		WireModes: harnessOnly,
		Plugin:    fixture,
		Steps: []Step{
			{
				Template: strings.NewReplacer("%s", "first.txt").Replace(pp),
				Checks:   []Check{FileExists("first.txt")},
			},
			{
				TemplateFile: "testdata/templates/second-step.pkr.hcl",
				Env:          map[string]string{"PKR_VAR_suffix": "again"},
				PreBuild: func(t testing.TB, run *Run, step *Step) {
					if len(run.Results) != 1 {
						t.Fatalf("expected 1 earlier result, found %d", len(run.Results))
					}
					step.Vars["first_id"] = run.Results[0].ArtifactsFrom(fixtureDigestID)[0].ID
				},
				Checks: []Check{
					FileExists("first.txt"),
					FileContains("second.txt", "sha256:"),
					FileContains("second.txt", "again"),
				},
			},
		},
	})
}

func TestAccHarness_expectError(t *testing.T) {
	t.Parallel()
	Test(t, Case{
		WireModes: harnessOnly,
		Plugin:    fixture,
		Steps: []Step{
			{
				Template:    idleSource(`fail = "the disk, it is full"`),
				ExpectError: regexp.MustCompile(`the disk, it is full`),
				Checks:      []Check{UIContains("errored after")},
			},
			{
				// A configuration error stops Packer before any plugin starts.
				Template:    "source \"null\" \"a\" {\n  nosuch = 1\n}\nbuild { sources = [\"source.null.a\"] }\n",
				ExpectError: regexp.MustCompile(`An argument named "nosuch" is not expected here`),
			},
		},
	})
}

// A failing build fails the case when no error is expected, even with no
// checks at all.
func TestAccHarness_failingBuildFails(t *testing.T) {
	t.Parallel()
	c := Case{Plugin: fixture, Steps: []Step{
		{Template: idleSource(`say = "fine"`)},
		{Template: idleSource(`fail = "boom"`)},
	}}
	execHarnessOnly(t, c, func(t *testing.T, run *Run, err error) {
		if err == nil {
			t.Fatal("expected the case to fail, found it passed")
		}
		for _, want := range []string{"step 2/2", "expected the build to succeed", "boom", "step2.packer.log"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("expected the failure to mention %q, found:\n%v", want, err)
			}
		}
	})
}

func TestAccHarness_expectedErrorMissing(t *testing.T) {
	t.Parallel()
	c := Case{Plugin: fixture, Steps: []Step{{
		Template:    idleSource(`say = "fine"`),
		ExpectError: regexp.MustCompile(`anything`),
	}}}
	execHarnessOnly(t, c, func(t *testing.T, run *Run, err error) {
		if err == nil || !strings.Contains(err.Error(), "found a successful build") {
			t.Fatalf("expected a failure for the missing error, found %v", err)
		}
	})
}

func TestAccHarness_failingCheck(t *testing.T) {
	t.Parallel()
	c := Case{Plugin: fixture, Steps: []Step{{
		Template: idleSource(`say = "fine"`),
		Checks:   []Check{ArtifactsFrom(fixtureDigestID, 1), UIContains("fine")},
	}}}
	execHarnessOnly(t, c, func(t *testing.T, run *Run, err error) {
		if err == nil || !strings.Contains(err.Error(), `expected 1 artifact(s) from "acctest.fixture-digest", found 0`) {
			t.Fatalf("expected the artifact check to fail, found %v", err)
		}
		if strings.Contains(err.Error(), "UIContains") {
			t.Errorf("expected only the failing check reported, found:\n%v", err)
		}
	})
}

// Each mode's log shows it really used that mode, and the two runs are
// isolated from each other and from the user's directories.
func TestAccHarness_wireModesAndIsolation(t *testing.T) {
	t.Parallel()
	home, _ := os.UserHomeDir()
	c := Case{Plugin: fixture, Steps: []Step{{Template: idleSource(`say = "fine"`)}}}
	execBoth(t, c, func(t *testing.T, run *Run, err error) {
		if err != nil {
			t.Fatal(err)
		}
		res := run.Results[0]
		log, err := os.ReadFile(res.LogPath)
		if err != nil {
			t.Fatal(err)
		}
		proto := strings.Contains(string(log), protobufLogLine)
		if proto != (run.Mode == Protobuf) {
			t.Errorf("%s run: expected protobuf in the log to be %v, found %v", run.Mode, run.Mode == Protobuf, proto)
		}
		if !strings.Contains(string(log), filepath.Join(run.PluginDir, "github.com", "acctest", "fixture")) {
			t.Errorf("expected the log to show the fixture loaded from %s", run.PluginDir)
		}
		if home != "" && strings.Contains(string(log), filepath.Join(home, ".packer.d")) {
			t.Errorf("expected nothing from %s, found it in the log", filepath.Join(home, ".packer.d"))
		}
	})
}

func TestAccHarness_skipBelow(t *testing.T) {
	requireAcc(t)
	far := version.Must(version.NewVersion("99.0.0"))
	_, err := execCase(t, &Case{Plugin: fixture, SkipBelow: far, Steps: []Step{{Template: idleSource("")}}}, Protobuf)
	var skip *skipError
	if !errors.As(err, &skip) || !strings.Contains(skip.reason, "older than SkipBelow 99.0.0") {
		t.Fatalf("expected a skip below 99.0.0, found %v", err)
	}
	// Every supported Packer (1.11 and newer) is above 1.10.
	below := version.Must(version.NewVersion("1.10.0"))
	_, err = execCase(t, &Case{Plugin: fixture, SkipAbove: below, Steps: []Step{{Template: idleSource("")}}}, Protobuf)
	if !errors.As(err, &skip) || !strings.Contains(skip.reason, "newer than SkipAbove 1.10.0") {
		t.Fatalf("expected a skip above 1.10.0, found %v", err)
	}
	_, err = execCase(t, &Case{Plugin: fixture, PackerVersionChecks: []VersionCheck{RequireAbove(far)}, Steps: []Step{{Template: idleSource("")}}}, Protobuf)
	if err == nil || !strings.Contains(err.Error(), "requires Packer 99.0.0 or newer") {
		t.Fatalf("expected RequireAbove(99.0.0) to fail the case, found %v", err)
	}
}

func TestAccHarness_registryNotWired(t *testing.T) {
	requireAcc(t)
	if registryHook != nil {
		t.Skip("a registry is wired in")
	}
	_, err := execCase(t, &Case{Plugin: fixture, Registry: true, Steps: []Step{{Template: idleSource("")}}}, Protobuf)
	if err == nil || !strings.Contains(err.Error(), "registryHook is nil") {
		t.Fatalf("expected an error about the missing registry, found %v", err)
	}
}

// A process a plugin leaves in Packer's process group dies with the group:
// the command runner alone (without the harness's later reaping) leaves no
// process from the plugin directory.
func TestAccHarness_groupKill(t *testing.T) {
	t.Parallel()
	requireAcc(t)
	requireProcessListing(t)
	for _, mode := range harnessOnly {
		t.Run(mode.String(), func(t *testing.T) {
			t.Parallel()
			c := Case{Plugin: fixture, Steps: []Step{{Template: idleSource(`linger = "group"`)}}}
			run := prepareRun(t, &c, mode)
			step := c.Steps[0]
			f, err := run.stepFiles(0, &step)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(f.template, []byte(step.Template), 0o644); err != nil {
				t.Fatal(err)
			}
			stdout, _ := createOutput(f.stdout)
			defer func() { _ = stdout.Close() }()
			stderr, _ := createOutput(f.stderr)
			defer func() { _ = stderr.Close() }()
			res, err := run.buildCmd(0, &step, f).run(t.Context(), stdout, stderr)
			if err != nil || res.exitCode != 0 {
				t.Fatalf("expected a successful build, found exit code %d, %v:\n%s%s", res.exitCode, err, res.stdout, res.stderr)
			}
			if !strings.Contains(res.stdout, "left process") {
				t.Fatalf("expected the fixture to leave a process behind, found:\n%s", res.stdout)
			}
			waitNoPluginProcesses(t, run.PluginDir)
		})
	}
}

// waitNoPluginProcesses fails unless every process from dir is gone soon:
// a SIGKILLed process is still listed until the kernel finishes it off.
func waitNoPluginProcesses(t *testing.T, dir string) {
	t.Helper()
	var left []pluginProcess
	for range 500 {
		var err error
		if left, err = pluginProcesses(dir); err != nil {
			t.Fatal(err)
		}
		if len(left) == 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, p := range left {
		if proc, err := os.FindProcess(p.pid); err == nil {
			_ = proc.Kill()
		}
	}
	t.Fatalf("expected no process from %s after the run, found %v", dir, left)
}

// prepareRun sets up a run of c without running any step.
func prepareRun(t *testing.T, c *Case, mode WireMode) *Run {
	t.Helper()
	if err := c.validate(); err != nil {
		t.Fatal(err)
	}
	pk, err := sharedPacker(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	p := *c.Plugin
	if err := p.resolve(); err != nil {
		t.Fatal(err)
	}
	installed, err := ensurePlugin(t.Context(), &p, pk)
	if err != nil {
		t.Fatal(err)
	}
	run, err := newRun(t, c, mode, pk, []*Plugin{&p}, []*pluginInfo{installed})
	if err != nil {
		t.Fatal(err)
	}
	return run
}

// A process that escapes the group (its own session) is killed and reported.
func TestAccHarness_escapedPluginProcessFails(t *testing.T) {
	t.Parallel()
	requireProcessListing(t)
	c := Case{Plugin: fixture, Steps: []Step{{Template: idleSource(`linger = "escape"`)}}}
	execHarnessOnly(t, c, func(t *testing.T, run *Run, err error) {
		if err == nil || !strings.Contains(err.Error(), "outlived packer outside its process group") {
			t.Fatalf("expected the escaped process to fail the run, found %v", err)
		}
		left, lerr := pluginProcesses(run.PluginDir)
		if lerr != nil || len(left) > 0 {
			t.Fatalf("expected the escaped process killed, found %v (%v)", left, lerr)
		}
	})
}

// Any descendant of the build that outlives it is found, whatever it runs:
// here `sleep` in a session of its own, started by the plugin.
func TestAccHarness_leftoverDescendantFails(t *testing.T) {
	t.Parallel()
	requireProcessListing(t)
	c := Case{Plugin: fixture, Steps: []Step{{Template: idleSource(`linger = "descendant"`)}}}
	execHarnessOnly(t, c, func(t *testing.T, run *Run, err error) {
		if err == nil || !strings.Contains(err.Error(), "outlived packer outside its process group") || !strings.Contains(err.Error(), "sleep") {
			t.Fatalf("expected the leftover sleep to fail the run, found %v", err)
		}
	})
}

// Cancelling the context interrupts packer, which stops its plugins; none
// is left behind.
func TestAccHarness_cancel(t *testing.T) {
	t.Parallel()
	requireAcc(t)
	requireProcessListing(t)
	c := Case{Plugin: fixture, Steps: []Step{{Template: idleSource(`hang = "hanging.txt"`)}}}
	run := prepareRun(t, &c, Protobuf)
	ctx, cancel := context.WithCancelCause(t.Context())
	defer cancel(nil)
	go func() {
		// Cancel once the provisioner is inside Provision.
		for ctx.Err() == nil {
			if _, err := os.Stat(filepath.Join(run.Dir, "hanging.txt")); err == nil {
				cancel(errors.New("cancelled by the test"))
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	step := c.Steps[0].clone()
	_, err := run.runStep(ctx, 0, &step)
	if err == nil || !strings.Contains(err.Error(), "packer was interrupted: cancelled by the test") {
		t.Fatalf("expected the step to report the interrupt, found %v", err)
	}
	left, err := pluginProcesses(run.PluginDir)
	if err != nil || len(left) > 0 {
		t.Fatalf("expected no plugin process after the cancel, found %v (%v)", left, err)
	}
}

// PACKER_ACC_KEEP keeps a run's directory, with its logs, after the test.
func TestAccHarness_keep(t *testing.T) {
	requireAcc(t)
	t.Setenv(EnvKeep, "1")
	var run *Run
	t.Run("run", func(t *testing.T) {
		var err error
		run, err = execCase(t, &Case{Plugin: fixture, Steps: []Step{{Template: idleSource(`say = "kept"`)}}}, Gob)
		if err != nil {
			t.Fatal(err)
		}
	})
	if run == nil {
		t.Fatal("expected a run")
	}
	defer func() { _ = os.RemoveAll(run.Root) }()
	for _, p := range []string{run.Results[0].LogPath, filepath.Join(run.Root, "logs", "step1.stdout"), filepath.Join(run.Dir, "step1.pkr.hcl")} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("expected %s kept after the test, found %v", p, err)
		}
	}
	if !strings.Contains(filepath.Base(run.Root), "TestAccHarness_keep_run") {
		t.Errorf("expected the kept directory named after the test, found %s", run.Root)
	}
}

// TestAccHarness_benchCase is the case scripts/bench-harness.sh times
// against the same `packer build` run by hand: one wire mode, one build.
func TestAccHarness_benchCase(t *testing.T) {
	t.Parallel()
	Test(t, Case{
		Plugin:    fixture,
		WireModes: []WireMode{Protobuf},
		Steps: []Step{{
			TemplateFile: "testdata/templates/bench.pkr.hcl",
			Checks:       []Check{UIContains("benchmark build")},
		}},
	})
}

// A plugin on SDK 0.5 (its own module under testdata, built with its own
// go.mod) lacks protocol v2: the protobuf subtest skips, saying so, and gob
// runs.
func TestAccHarness_sdk05Plugin(t *testing.T) {
	t.Parallel()
	c := Case{
		Plugin: &Plugin{Dir: "testdata/sdk05plugin"},
		Steps: []Step{{
			Template: `
source "null" "a" {
  communicator = "none"
}
build {
  sources = ["source.null.a"]
  provisioner "hello" {}
}
`,
			Checks: []Check{UIContains("hello from SDK 0.5")},
		}},
	}
	requireAcc(t)
	_, err := execCase(t, &c, Protobuf)
	var skip *skipError
	want := "plugin hello reports protocol_version none in describe, not v2"
	if pk, _ := sharedPacker(t.Context()); pk != nil && pk.Version.Core().LessThan(Version1_12) {
		want = "speaks only gob to plugins"
	}
	if !errors.As(err, &skip) || !strings.Contains(skip.reason, want) {
		t.Fatalf("expected the protobuf run to skip with %q, found %v", want, err)
	}
	if _, err := execCase(t, &c, Gob); err != nil {
		t.Fatal(err)
	}
}
