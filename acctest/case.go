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
	// Setup, if set, runs after Files are written and before the first
	// step, once per run, with the run's work directory. Use t.Fatal to
	// stop the run.
	Setup func(t testing.TB, dir string)
	// Steps are the builds, run in order; at least one. A step that fails
	// stops the run.
	Steps []Step
	// Env is added to the environment of every step (a step's Env wins).
	Env map[string]string
	// SkipBelow skips the case before the first build when the Packer in use
	// is older than this version; see the predeclared VersionX_Y values.
	SkipBelow *version.Version
	// SkipAbove skips the case before the first build when the Packer in use
	// is newer than this version.
	SkipAbove *version.Version
	// Plugin is the plugin to build and install; nil means the plugin of the
	// module the test runs in (DefaultPlugin).
	Plugin *Plugin
	// Registry starts a local HCP Packer registry for each run and points
	// Packer at it; without it HCP_PACKER_REGISTRY=off.
	Registry bool
}

// Step is one `packer build` of a case.
type Step struct {
	// Template is the HCL2 template's text; it is written to
	// stepN.pkr.hcl in the work directory. Set exactly one of Template and
	// TemplateFile.
	Template string
	// TemplateFile is a template file or a directory of templates, relative
	// to the test's package directory (like "testdata/basic.pkr.hcl"). Packer
	// still runs in the work directory, so relative paths in the template
	// resolve there; ${path.root} is the template's own directory.
	TemplateFile string
	// Vars are passed as -var name=value, sorted by name.
	Vars map[string]string
	// Env is added to this step's environment, after Case.Env.
	Env map[string]string
	// Args are extra `packer build` flags placed before the template, such
	// as "-only=scaffolding.a" or "-parallel-builds=1". The harness sets
	// -machine-readable, -color and the -var flags itself.
	Args []string
	// Checks run on the step's Result; all run and their errors are joined.
	// They also run when the step expected an error.
	Checks []Check
	// ExpectError, when set, requires the build to fail with error output
	// (Result.ErrorText) matching it. When nil, a failing build fails the test.
	ExpectError *regexp.Regexp
	// PreBuild, if set, runs just before this step's build with the run
	// (work directory, earlier steps' Results, the registry of Registry
	// cases) and a copy of this step that it may change, for instance to
	// pass an earlier step's artifact id in Vars.
	PreBuild func(t testing.TB, run *Run, step *Step)
}

// Test runs the case as two parallel subtests, "protobuf" and "gob", one per
// wire mode Packer speaks to plugins (gob is forced with PACKER_FORCE_GOB=1),
// and proves from Packer's log that each really used its mode (in every
// step that got as far as starting a plugin). It skips
// unless PACKER_ACC is set. A bad case fails before anything runs. Call
// t.Parallel() before Test to run the case alongside others.
func Test(t *testing.T, c Case) {
	t.Helper()
	if err := c.validate(); err != nil {
		t.Fatalf("invalid acctest.Case: %v", err)
	}
	if !accEnabled() {
		t.Skipf("acceptance test: set %s=1 to run it against a real Packer (or run `make testacc`)", EnvAcc)
	}
	for _, mode := range []WireMode{Protobuf, Gob} {
		t.Run(mode.String(), func(t *testing.T) {
			t.Parallel()
			runCase(t, c, mode)
		})
	}
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
