package acctest

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/go-version"
)

// Case is one acceptance test: files to lay out, then one or more packer
// builds run in order in the same work directory, each checked. Test runs it
// once per wire mode.
type Case struct {
	// Files are written into the work directory before anything runs,
	// keyed by slash-separated path relative to it (no "..", not absolute).
	Files map[string]string
	// PreCheck, if set, runs once per case, only in acceptance mode
	// (PACKER_ACC set), before anything is built or installed: check the
	// credentials or tools the case needs there, and t.Skip or t.Fatal.
	PreCheck func(t testing.TB)
	// Setup, if set, runs after Files are written and before the first
	// step, once per run, with the run's work directory. Use t.Fatal to
	// stop the run. SetupRun is the same with the whole run.
	Setup func(t testing.TB, dir string)
	// SetupRun, if set, runs after Setup, once per run, with the run: its
	// directories, registry, and Values, where it can leave what it made
	// (ids, paths) for PreBuild, Checks (through Result.Run) and
	// CheckDestroy.
	SetupRun func(t testing.TB, run *Run)
	// CheckDestroy, if set, runs once per run after the last step, whether
	// the steps passed or failed (not when the run stopped before its first
	// step), with every artifact the run's steps made: verify they are gone,
	// or remove what a failed run left (the role of terraform-plugin-testing's
	// CheckDestroy). Its error fails the test.
	CheckDestroy func(t testing.TB, run *Run, artifacts []Artifact) error
	// Steps are the builds, run in order; at least one. A step that fails
	// stops the run.
	Steps []Step
	// Env is added to the environment of every step (a step's Env wins).
	Env map[string]string
	// PackerVersionChecks decide, before the first build, whether the case
	// runs with the Packer in use: SkipBelow, SkipAbove, SkipBetween,
	// RequireAbove, RequireBelow, RequireBetween. The first that skips or
	// fails decides.
	PackerVersionChecks []VersionCheck
	// WireModes are the wire modes the case runs in, one subtest each;
	// nil means AllWireModes. A mode the Packer in use or a plugin of the
	// case cannot speak skips with the reason.
	WireModes []WireMode
	// SkipBelow skips the case before the first build when the Packer in use
	// is older than this version; see the predeclared VersionX_Y values.
	// Same as SkipBelow(v) in PackerVersionChecks.
	SkipBelow *version.Version
	// SkipAbove skips the case before the first build when the Packer in use
	// is newer than this version.
	SkipAbove *version.Version
	// Plugin is the plugin to build and install; nil means the plugin of the
	// module the test runs in (DefaultPlugin).
	Plugin *Plugin
	// Plugins are more plugins to build and install beside Plugin, for a
	// template that uses components of several plugins.
	Plugins []*Plugin
	// Registry starts a local HCP Packer registry for each run and points
	// Packer at it; without it HCP_PACKER_REGISTRY=off.
	Registry bool
}

// Step is one packer command of a case: a `packer build` unless Command
// says otherwise.
type Step struct {
	// Command is the packer subcommand the step runs; empty means
	// CommandBuild. Every command is judged the same way (exit code, errors,
	// ExpectError, Checks); only a build must also finish a build.
	Command Command
	// Template is the template's text. It is written to stepN.pkr.hcl in
	// the work directory, or, when the text is JSON, to stepN.json if it is
	// a legacy JSON template (a top-level "builders" key) and to
	// stepN.pkr.json (HCL2 in JSON syntax) otherwise. Set exactly one of
	// Template and TemplateFile.
	Template string
	// TemplateFile is a template file or a directory of templates, relative
	// to the test's package directory (like "testdata/basic.pkr.hcl"). Packer
	// still runs in the work directory, so relative paths in the template
	// resolve there; ${path.root} is the template's own directory.
	TemplateFile string
	// Vars are passed as -var name=value, sorted by name (build, validate
	// and inspect only).
	Vars map[string]string
	// Env is added to this step's environment, after Case.Env.
	Env map[string]string
	// Args are extra flags of the command placed before the template, such
	// as "-only=scaffolding.a" or "-parallel-builds=1" for a build,
	// "-syntax-only" for validate, "-upgrade" for init. The harness sets
	// -machine-readable, -color, the -var flags, and fmt's -check itself.
	Args []string
	// Checks run on the step's Result; all run and their errors are joined.
	// They also run when the step expected an error.
	Checks []Check
	// ExpectError, when set, requires the step to fail with error output
	// (Result.ErrorText) matching it. When nil, a failing step fails the
	// test. A step fails when Packer exits non-zero, when it reports an
	// error of its own even though it exits 0, and, for a build, when a
	// build it started does not finish or none finishes.
	ExpectError *regexp.Regexp
	// AllowNoBuilds lets a build step pass when no build finished (and
	// none errored), for a case where Packer skips every build on purpose,
	// such as a registry version that is already done.
	AllowNoBuilds bool
	// PreBuild, if set, runs just before this step's build with the run
	// (work directory, earlier steps' Results, the registry of Registry
	// cases) and a copy of this step that it may change, for instance to
	// pass an earlier step's artifact id in Vars.
	PreBuild func(t testing.TB, run *Run, step *Step)
}

// Command is a packer subcommand a Step can run.
type Command string

// The commands a Step can run.
const (
	// CommandBuild runs `packer build`.
	CommandBuild Command = "build"
	// CommandValidate runs `packer validate`.
	CommandValidate Command = "validate"
	// CommandInit runs `packer init`, which installs what the template's
	// required_plugins block asks for; the plugins of the case are already
	// installed, so a constraint they satisfy resolves to them offline.
	CommandInit Command = "init"
	// CommandInspect runs `packer inspect`.
	CommandInspect Command = "inspect"
	// CommandFmt runs `packer fmt -check`, which fails when the template is
	// not formatted.
	CommandFmt Command = "fmt"
)

// command is the step's command with the default filled in.
func (s *Step) command() Command {
	if s.Command == "" {
		return CommandBuild
	}
	return s.Command
}

// Test runs the case as parallel subtests, one per wire mode, "protobuf"
// and "gob" by default (gob is forced with PACKER_FORCE_GOB=1), and proves
// from Packer's log that each really used its mode (in every step that got
// as far as starting a plugin). It skips unless PACKER_ACC is set, and
// when the case is outside this shard (PACKER_ACC_SHARD). A bad case fails
// before anything runs. Call t.Parallel() before Test to run the case
// alongside others.
func Test(t *testing.T, c Case) {
	t.Helper()
	if err := c.validate(); err != nil {
		t.Fatalf("invalid acctest.Case: %v", err)
	}
	if !accEnabled() {
		t.Skipf("acceptance test: set %s=1 to run it against a real Packer (or run `make testacc`)", EnvAcc)
	}
	SkipOutsideShard(t)
	sweepBeforeOnce(t)
	if c.PreCheck != nil {
		c.PreCheck(t)
	}
	for _, mode := range c.wireModes() {
		t.Run(mode.String(), func(t *testing.T) {
			t.Parallel()
			runCase(t, c, mode)
		})
	}
}

// wireModes are the modes the case runs in.
func (c *Case) wireModes() []WireMode {
	if c.WireModes == nil {
		return AllWireModes
	}
	return c.WireModes
}

func accEnabled() bool { return envTrue(os.Getenv(EnvAcc)) }

func envTrue(v string) bool { return v != "" && v != "0" && !strings.EqualFold(v, "false") }

// reservedArgs are the build flags the harness controls.
var reservedArgs = []string{"-machine-readable", "-color", "-var"}

// validate rejects field combinations that cannot work, naming the field.
func (c *Case) validate() error {
	var errs []error
	if len(c.Steps) == 0 {
		errs = append(errs, fieldErr("Steps", errors.New("at least one step is required")))
	}
	for _, name := range slices.Sorted(maps.Keys(c.Files)) {
		if err := checkRelPath(name); err != nil {
			errs = append(errs, fieldErr(fmt.Sprintf("Files[%q]", name), err))
		}
	}
	if c.SkipBelow != nil && c.SkipAbove != nil && c.SkipAbove.LessThan(c.SkipBelow) {
		errs = append(errs, fieldErr("SkipBelow", fmt.Errorf("%s is above SkipAbove %s: the case could never run", c.SkipBelow, c.SkipAbove)))
	}
	if c.Plugin != nil {
		if err := c.Plugin.validate(); err != nil {
			errs = append(errs, fieldErr("Plugin", err))
		}
	}
	for i, p := range c.Plugins {
		if p == nil {
			errs = append(errs, fieldErr(fmt.Sprintf("Plugins[%d]", i), errors.New("nil plugin")))
			continue
		}
		if err := p.validate(); err != nil {
			errs = append(errs, fieldErr(fmt.Sprintf("Plugins[%d]", i), err))
		}
	}
	for i, chk := range c.PackerVersionChecks {
		if chk == nil {
			errs = append(errs, fieldErr(fmt.Sprintf("PackerVersionChecks[%d]", i), errors.New("nil check")))
		}
	}
	seen := map[WireMode]bool{}
	for i, m := range c.WireModes {
		if m != Protobuf && m != Gob {
			errs = append(errs, fieldErr(fmt.Sprintf("WireModes[%d]", i), fmt.Errorf("unknown wire mode %d", m)))
		}
		if seen[m] {
			errs = append(errs, fieldErr(fmt.Sprintf("WireModes[%d]", i), fmt.Errorf("%s listed twice", m)))
		}
		seen[m] = true
	}
	if c.WireModes != nil && len(c.WireModes) == 0 {
		errs = append(errs, fieldErr("WireModes", errors.New("empty: list at least one mode, or leave it nil for both")))
	}
	for name := range c.Env {
		if err := checkEnvName(name); err != nil {
			errs = append(errs, fieldErr(fmt.Sprintf("Env[%q]", name), err))
		}
	}
	for i, s := range c.Steps {
		for _, err := range s.validate() {
			errs = append(errs, fieldErr(fmt.Sprintf("Steps[%d] (step %d/%d)", i, i+1, len(c.Steps)), err))
		}
	}
	return errors.Join(errs...)
}

// clone copies the step deeply enough that PreBuild can change it without
// touching the Case, which the other wire mode's run reads concurrently.
func (s Step) clone() Step {
	s.Vars = cloneMap(s.Vars)
	s.Env = cloneMap(s.Env)
	s.Args = append([]string(nil), s.Args...)
	s.Checks = append([]Check(nil), s.Checks...)
	return s
}

func cloneMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func (s *Step) validate() []error {
	var errs []error
	switch s.command() {
	case CommandBuild, CommandValidate, CommandInspect:
	case CommandInit, CommandFmt:
		if len(s.Vars) > 0 {
			errs = append(errs, fieldErr("Vars", fmt.Errorf("packer %s takes no variables", s.Command)))
		}
	default:
		errs = append(errs, fieldErr("Command", fmt.Errorf("%q is not one of build, validate, init, inspect, fmt", s.Command)))
	}
	if s.AllowNoBuilds && s.command() != CommandBuild {
		errs = append(errs, fieldErr("AllowNoBuilds", fmt.Errorf("only applies to build steps, not %s", s.Command)))
	}
	switch {
	case s.Template == "" && s.TemplateFile == "":
		errs = append(errs, errors.New("set Template or TemplateFile"))
	case s.Template != "" && s.TemplateFile != "":
		errs = append(errs, fieldErr("Template", errors.New("both Template and TemplateFile are set; set one")))
	case s.TemplateFile != "":
		if _, err := os.Stat(s.TemplateFile); err != nil {
			errs = append(errs, fieldErr("TemplateFile", err))
		}
	}
	for _, a := range s.Args {
		for _, r := range reservedArgs {
			if a == r || strings.HasPrefix(a, r+"=") || a == "-"+r || strings.HasPrefix(a, "-"+r+"=") {
				errs = append(errs, fieldErr("Args", fmt.Errorf("%q is set by the harness (use Vars for variables)", a)))
			}
		}
		if !strings.HasPrefix(a, "-") {
			errs = append(errs, fieldErr("Args", fmt.Errorf("%q is not a flag; the template is given by Template or TemplateFile", a)))
		}
	}
	for name := range s.Env {
		if err := checkEnvName(name); err != nil {
			errs = append(errs, fieldErr(fmt.Sprintf("Env[%q]", name), err))
		}
	}
	for name := range s.Vars {
		if name == "" || strings.ContainsAny(name, "= \t\n") {
			errs = append(errs, fieldErr(fmt.Sprintf("Vars[%q]", name), errors.New("not a variable name")))
		}
	}
	for i, c := range s.Checks {
		if c == nil {
			errs = append(errs, fieldErr(fmt.Sprintf("Checks[%d]", i), errors.New("nil check")))
		}
	}
	return errs
}

// harnessEnv are variables the harness owns; a case must not override them,
// or the isolation and the wire-mode proof would no longer hold.
var harnessEnv = map[string]bool{
	"HOME": true, "PACKER_CONFIG_DIR": true, "PACKER_CACHE_DIR": true,
	"PACKER_PLUGIN_PATH": true, "PACKER_LOG": true, "PACKER_LOG_PATH": true,
	"PACKER_FORCE_GOB": true, "CHECKPOINT_DISABLE": true, "TMPDIR": true,
	envProcessMark: true, "GOCOVERDIR": true,
}

// fieldErr prefixes err with the name of the field it is about.
func fieldErr(field string, err error) error { return fmt.Errorf("%s: %w", field, err) }

func checkEnvName(name string) error {
	if name == "" || strings.ContainsAny(name, "=\x00") {
		return errors.New("not an environment variable name")
	}
	if harnessEnv[name] {
		return errors.New("set by the harness for isolation")
	}
	return nil
}

func checkRelPath(name string) error {
	if name == "" {
		return errors.New("empty path")
	}
	if filepath.IsAbs(name) || strings.HasPrefix(name, "/") {
		return errors.New("must be relative to the work directory")
	}
	clean := filepath.Clean(filepath.FromSlash(name))
	if clean == "." || clean == ".." || strings.HasPrefix(clean, ".."+string(filepath.Separator)) {
		return errors.New("must stay inside the work directory")
	}
	return nil
}
