package acctest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// Run is one execution of a case in one wire mode: its own directories,
// its own copy of the plugin, and the results of the steps so far.
type Run struct {
	// Mode is the run's wire mode.
	Mode WireMode
	// Dir is the work directory: Files are written here and packer runs
	// here.
	Dir string
	// Root holds Dir, the logs, and the isolated home, config, cache and
	// plugin directories.
	Root string
	// PluginDir is the run's PACKER_PLUGIN_PATH, holding the plugin under
	// test.
	PluginDir string
	// Packer is the Packer binary in use.
	Packer *Packer
	// Plugin is the plugin under test.
	Plugin *Plugin
	// Plugins are every plugin installed for the run: Plugin first, then
	// Case.Plugins.
	Plugins []*Plugin
	// Results are the results of the steps run so far.
	Results []*Result
	// Values hand run-time values (ids, paths) from SetupRun and PreBuild
	// to later steps, checks (through Result.Run) and CheckDestroy. Use Set
	// and Value; they are safe for concurrent use.
	values sync.Map

	steps    int
	procMu   sync.Mutex
	proc     *stepProcess // the step the run is at (see Interrupt)
	tmpDir   string
	baseEnv  []string
	caseEnv  map[string]string
	registry registryAttachment
}

// registryAttachment is what registryHook gives a run.
type registryAttachment struct {
	// handle is the registry (a *registry.Server), for registry checks; it
	// is reachable from the run and from every Result.
	handle any
	// env returns the variables that point Packer at the registry for step
	// i (counting from 0); nil means none.
	env func(step int) map[string]string
}

// registryHook starts an HCP Packer registry for one run of a case with
// Registry set, and stops it with t.Cleanup. It is set by the file that
// wires in the registry emulator (registry_checks.go); while it is nil, such
// cases fail with an error saying so.
var registryHook func(t testing.TB, run *Run) (registryAttachment, error)

// registryHandle returns the run's registry (a *registry.Server), or nil
// when the case does not use the registry.
func (r *Run) registryHandle() any { return r.registry.handle }

// skipError is returned by execCase when the case must be skipped.
type skipError struct{ reason string }

func (e *skipError) Error() string { return e.reason }

const (
	// protobufLogLine is what packer build logs when it speaks protobuf to
	// plugins (command/build.go in Packer 1.12+).
	protobufLogLine = "Using protobuf for communication with plugins"
	// pluginStartLogLine is logged for every component process Packer starts.
	pluginStartLogLine = "Starting plugin:"
)

// runCase runs the case in one wire mode as the test t.
func runCase(t *testing.T, c Case, mode WireMode) {
	t.Helper()
	_, err := execCase(t, &c, mode)
	var skip *skipError
	switch {
	case errors.As(err, &skip):
		t.Skip(skip.reason)
	case err != nil:
		t.Fatal(err)
	}
}

var (
	packerOnce sync.Once
	packerBin  *Packer
	packerErr  error
)

// sharedPacker finds or installs Packer once per test process.
func sharedPacker(ctx context.Context) (*Packer, error) {
	packerOnce.Do(func() {
		packerBin, packerErr = EnsurePacker(ctx, EnsureOptions{Progress: os.Stderr})
	})
	return packerBin, packerErr
}

// runContext is the context packer runs under: the test's, ended a little
// before the test binary's deadline so packer can still be interrupted and
// clean up, and its output shown, before `go test` panics on the timeout.
func runContext(t testing.TB) context.Context {
	ctx := t.Context()
	dt, ok := t.(interface{ Deadline() (time.Time, bool) })
	if !ok {
		return ctx
	}
	deadline, ok := dt.Deadline()
	if !ok {
		return ctx
	}
	grace := min(time.Until(deadline)/10, time.Minute) + interruptGrace
	ctx, cancel := context.WithDeadlineCause(ctx, deadline.Add(-grace), errors.New("the test binary's -timeout is near"))
	t.Cleanup(cancel)
	return ctx
}

// Set stores a run-time value under key for later steps and checks.
func (r *Run) Set(key string, v any) { r.values.Store(key, v) }

// Value returns the run-time value stored under key, or nil.
func (r *Run) Value(key string) any {
	v, _ := r.values.Load(key)
	return v
}

// Artifacts returns every artifact the run's steps made so far, in step
// order (nil artifacts left out).
func (r *Run) Artifacts() []Artifact {
	var out []Artifact
	for _, res := range r.Results {
		out = append(out, res.ArtifactsFrom("")...)
	}
	return out
}

// execCase runs every step of the case in one wire mode. It uses t for temp
// dirs, cleanups and logs only, and returns what went wrong, so that the
// harness's own tests can run cases that must fail.
func execCase(t testing.TB, c *Case, mode WireMode) (run *Run, err error) {
	if err := c.validate(); err != nil {
		return nil, fmt.Errorf("invalid acctest.Case: %w", err)
	}
	ctx := runContext(t)
	pk, err := sharedPacker(ctx)
	if err != nil {
		return nil, fmt.Errorf("no usable Packer: %w", err)
	}
	reason, err := c.versionVerdict(pk.Version)
	if err != nil {
		return nil, fmt.Errorf("Packer %s: %w", pk.Version, err)
	}
	if reason != "" {
		return nil, &skipError{reason}
	}
	if mode == Protobuf && pk.Version.Core().LessThan(Version1_12) {
		// Known without building anything.
		return nil, &skipError{wireModeSkip(mode, pk.Version, nil)}
	}
	plugins, infos, err := c.ensurePlugins(ctx, pk)
	if err != nil {
		return nil, err
	}
	if reason := wireModeSkip(mode, pk.Version, infos); reason != "" {
		return nil, &skipError{reason}
	}
	run, err = newRun(t, c, mode, pk, plugins, infos)
	if err != nil {
		return nil, err
	}
	if c.Setup != nil {
		c.Setup(t, run.Dir)
	}
	if c.SetupRun != nil {
		c.SetupRun(t, run)
	}
	if c.CheckDestroy != nil {
		defer func() {
			if derr := c.CheckDestroy(t, run, run.Artifacts()); derr != nil {
				err = errors.Join(err, fmt.Errorf("CheckDestroy: %w", derr))
			}
		}()
	}
	for i := range c.Steps {
		step := c.Steps[i].clone()
		run.beginStep(i)
		if step.PreBuild != nil {
			step.PreBuild(t, run, &step)
			if errs := step.validate(); len(errs) > 0 {
				return run, fmt.Errorf("step %d/%d: after PreBuild: %w", i+1, run.steps, errors.Join(errs...))
			}
		}
		if _, err := run.runStep(ctx, i, &step); err != nil {
			return run, err
		}
	}
	return run, nil
}

// ensurePlugins resolves, builds and installs every plugin of the case.
func (c *Case) ensurePlugins(ctx context.Context, pk *Packer) ([]*Plugin, []*pluginInfo, error) {
	all := []*Plugin{c.Plugin}
	all = append(all, c.Plugins...)
	var plugins []*Plugin
	var infos []*pluginInfo
	for i, cp := range all {
		p := &Plugin{}
		if cp != nil {
			*p = *cp
		}
		if err := p.resolve(); err != nil {
			if i == 0 {
				return nil, nil, fmt.Errorf("plugin under test: %w", err)
			}
			return nil, nil, fmt.Errorf("case field Plugins[%d]: %w", i-1, err)
		}
		if i == 0 {
			p.prebuilt = os.Getenv(EnvPluginBinary)
		}
		info, err := ensurePlugin(ctx, p, pk)
		if err != nil {
			return nil, nil, err
		}
		plugins = append(plugins, p)
		infos = append(infos, info)
	}
	return plugins, infos, nil
}

// newRun lays out the run's directories, its plugin directory and Files,
// and starts the registry if the case uses one.
func newRun(t testing.TB, c *Case, mode WireMode, pk *Packer, plugins []*Plugin, infos []*pluginInfo) (*Run, error) {
	root := t.TempDir()
	if envTrue(os.Getenv(EnvKeep)) {
		var err error
		root, err = os.MkdirTemp("", "packer-acc-"+sanitizeName(t.Name())+"-")
		if err != nil {
			return nil, err
		}
		t.Cleanup(func() { t.Logf("%s is set: kept %s", EnvKeep, root) })
	}
	// A short TMPDIR of its own: see isolation.TmpDir.
	tmp, err := os.MkdirTemp("", "pkacc-")
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { _ = os.RemoveAll(tmp) })

	run := &Run{
		Mode:      mode,
		Root:      root,
		Dir:       filepath.Join(root, "work"),
		PluginDir: filepath.Join(root, "plugins"),
		Packer:    pk,
		Plugin:    plugins[0],
		Plugins:   plugins,
		steps:     len(c.Steps),
		tmpDir:    tmp,
		baseEnv:   os.Environ(),
		caseEnv:   c.Env,
	}
	if err := mkdirs(run.Dir, filepath.Join(root, "logs"), filepath.Join(root, "home"), filepath.Join(root, "config"), filepath.Join(root, "cache")); err != nil {
		return nil, err
	}
	for _, info := range infos {
		if err := linkTree(info.Dir, run.PluginDir); err != nil {
			return nil, fmt.Errorf("laying out plugin directory %s: %w", run.PluginDir, err)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(c.Files)) {
		p := filepath.Join(run.Dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return nil, fieldErr(fmt.Sprintf("Files[%q]", name), err)
		}
		if err := os.WriteFile(p, []byte(c.Files[name]), 0o644); err != nil {
			return nil, fieldErr(fmt.Sprintf("Files[%q]", name), err)
		}
	}
	if c.Registry {
		if registryHook == nil {
			return nil, errors.New("the case sets Registry but no registry emulator is wired into acctest (registryHook is nil)")
		}
		att, err := registryHook(t, run)
		if err != nil {
			return nil, fmt.Errorf("starting the HCP Packer registry: %w", err)
		}
		run.registry = att
	}
	return run, nil
}

// stepFiles are the paths of one step's outputs.
type stepFiles struct {
	template, stdout, stderr, log string
}

func (r *Run) stepFiles(i int, s *Step) (stepFiles, error) {
	logs := filepath.Join(r.Root, "logs")
	f := stepFiles{
		stdout: r.stdoutPath(i),
		stderr: filepath.Join(logs, fmt.Sprintf("step%d.stderr", i+1)),
		log:    filepath.Join(logs, fmt.Sprintf("step%d.packer.log", i+1)),
	}
	if s.Template != "" {
		f.template = filepath.Join(r.Dir, fmt.Sprintf("step%d%s", i+1, templateExt(s.Template)))
		return f, nil
	}
	abs, err := filepath.Abs(s.TemplateFile)
	if err != nil {
		return f, fmt.Errorf("TemplateFile %q: %w", s.TemplateFile, err)
	}
	f.template = abs
	return f, nil
}

// stdoutPath is where step i's standard output goes.
func (r *Run) stdoutPath(i int) string {
	return filepath.Join(r.Root, "logs", fmt.Sprintf("step%d.stdout", i+1))
}

// templateExt picks the file name extension that makes Packer read text
// the way it is written: legacy JSON (a "builders" list) as .json, other
// JSON as HCL2's JSON syntax (.pkr.json), anything else as HCL2.
func templateExt(text string) string {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal([]byte(text), &obj); err != nil {
		return ".pkr.hcl"
	}
	if _, legacy := obj["builders"]; legacy {
		return ".json"
	}
	return ".pkr.json"
}

// buildCmd describes step i's packer command without running it.
func (r *Run) buildCmd(i int, s *Step, f stepFiles) packerCmd {
	cmd := s.command()
	args := []string{string(cmd), "-machine-readable"}
	switch cmd {
	case CommandBuild:
		args = append(args, "-color=false")
	case CommandFmt:
		// fmt prints nothing in machine-readable mode, not even the files
		// it would change; plainly, it lists them.
		args = []string{string(cmd), "-check"}
	}
	for _, k := range slices.Sorted(maps.Keys(s.Vars)) {
		args = append(args, "-var", k+"="+s.Vars[k])
	}
	args = append(args, s.Args...)
	args = append(args, f.template)
	var regEnv map[string]string
	if r.registry.env != nil {
		regEnv = r.registry.env(i)
	}
	iso := isolation{Root: r.Root, PluginDir: r.PluginDir, TmpDir: r.tmpDir, LogPath: f.log}
	return packerCmd{
		Path: r.Packer.Path,
		Args: args,
		Dir:  r.Dir,
		Env:  isolatedEnv(r.baseEnv, iso, r.Mode, regEnv, r.caseEnv, s.Env),
	}
}

// runStep runs step i and judges it; the error says which step failed and
// where its output is.
func (r *Run) runStep(ctx context.Context, i int, s *Step) (*Result, error) {
	prefix := fmt.Sprintf("step %d/%d", i+1, r.steps)
	sp := r.current()
	if sp == nil || sp.step != i+1 || sp.ended() {
		// Run directly (the harness's own tests), without beginStep.
		sp = r.beginStep(i)
	}
	// Closed early when packer does not start; see Interrupt and WaitForUI.
	defer sp.end()
	f, err := r.stepFiles(i, s)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", prefix, err)
	}
	if s.Template != "" {
		if err := os.WriteFile(f.template, []byte(s.Template), 0o644); err != nil {
			return nil, fmt.Errorf("%s: writing template: %w", prefix, err)
		}
	}
	pc := r.buildCmd(i, s, f)
	if reg := r.registry.env; reg != nil {
		for k := range reg(i) {
			if harnessEnv[k] {
				return nil, fmt.Errorf("%s: the registry sets %s, which the harness owns", prefix, k)
			}
		}
	}
	stdoutF, err := createOutput(f.stdout)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", prefix, err)
	}
	defer func() { _ = stdoutF.Close() }()
	stderrF, err := createOutput(f.stderr)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", prefix, err)
	}
	defer func() { _ = stderrF.Close() }()

	pc.started = func(cmd *exec.Cmd) {
		sp.mu.Lock()
		sp.cmd = cmd
		sp.mu.Unlock()
	}
	out, runErr := pc.runReaping(ctx, stdoutF, stderrF, r.PluginDir)
	sp.end()
	res := ParseMachineReadable(out.stdout)
	res.Step, res.Mode, res.ExitCode = i+1, r.Mode, out.exitCode
	res.Stderr, res.Dir, res.LogPath = out.stderr, r.Dir, f.log
	res.Command = s.command()
	res.run = r
	if res.Command == CommandFmt && res.ExitCode != 0 {
		for _, file := range res.Unparsed {
			res.Errors = append(res.Errors, BuildError{Message: "not formatted (packer fmt -check): " + file})
		}
	}
	r.Results = append(r.Results, res)

	if runErr != nil {
		return res, fmt.Errorf("%s: %w\n%s", prefix, runErr, describeOutputs(pc, res))
	}
	log, _ := os.ReadFile(f.log)
	res.Started = startedBuilds(string(log))
	if err := judgeStep(s, res, string(log), out.interrupted); err != nil {
		return res, fmt.Errorf("%s: %w\n%s", prefix, err, describeOutputs(pc, res))
	}
	return res, nil
}

// runReaping runs the command, then makes sure no process of it is left:
// none from pluginDir and no descendant of packer (any process carrying
// its mark). One that escaped packer's process group (its own group or
// session, so the group kill missed it) is killed and is an error.
func (pc packerCmd) runReaping(ctx context.Context, stdoutW, stderrW *os.File, pluginDir string) (cmdResult, error) {
	res, err := pc.run(ctx, stdoutW, stderrW)
	escaped, reapErr := reapLeftovers(pluginDir, res.mark, res.pgid)
	if err != nil {
		return res, err
	}
	if reapErr != nil {
		return res, reapErr
	}
	if len(escaped) > 0 {
		return res, fmt.Errorf("processes outlived packer outside its process group (killed now; a plugin must stop what it starts): %v", escaped)
	}
	return res, nil
}

var pluginCrash = regexp.MustCompile(`(?m)^.* plugin: (panic: |fatal error: ).*$`)

// judgeStep decides whether a finished step passed: the build's outcome
// against ExpectError, no crash, the wire mode proven from the log, and
// every check. All problems are reported together.
func judgeStep(s *Step, res *Result, log string, interrupted error) error {
	var errs []error
	if interrupted != nil {
		errs = append(errs, fmt.Errorf("packer was interrupted: %w", interrupted))
	}
	if strings.Contains(res.Stdout, "PACKER CRASH") || strings.Contains(res.Stderr, "PACKER CRASH") {
		errs = append(errs, errors.New("packer crashed (PACKER CRASH in its output)"))
	}
	if m := pluginCrash.FindString(log); m != "" {
		errs = append(errs, fmt.Errorf("a plugin crashed: %s", strings.TrimSpace(m)))
	}
	failure := stepFailure(s, res)
	switch {
	case s.ExpectError == nil && failure != "":
		errs = append(errs, fmt.Errorf("expected the %s to succeed, found %s:\n%s", s.command(), failure, indent(errorSummary(res))))
	case s.ExpectError != nil && failure == "":
		errs = append(errs, fmt.Errorf("expected an error matching %q, found a successful %s", s.ExpectError, s.command()))
	case s.ExpectError != nil && !s.ExpectError.MatchString(res.ErrorText()):
		errs = append(errs, fmt.Errorf("expected an error matching %q, found %s:\n%s", s.ExpectError, failure, indent(errorSummary(res))))
	}
	if err := checkWireMode(res.Mode, log); err != nil {
		errs = append(errs, err)
	}
	for i, c := range s.Checks {
		if err := c.Check(res); err != nil {
			errs = append(errs, fmt.Errorf("check %d (%s): %w", i+1, checkName(c), err))
		}
	}
	return errors.Join(errs...)
}

// checkWireMode proves from the Packer log that the run used its mode.
// Packer logs protobufLogLine right after it starts the plugins it
// configures; a build that stopped before starting any plugin proves
// nothing either way.
func checkWireMode(mode WireMode, log string) error {
	proto := strings.Contains(log, protobufLogLine)
	switch mode {
	case Gob:
		if proto {
			return fmt.Errorf("wire mode: expected gob (PACKER_FORCE_GOB=1), found %q in the Packer log: is the plugin under test installed?", protobufLogLine)
		}
	case Protobuf:
		if !proto && strings.Contains(log, pluginStartLogLine) {
			return fmt.Errorf("wire mode: expected protobuf, found plugins started without %q in the Packer log: Packer fell back to gob, so some installed plugin lacks protocol v2", protobufLogLine)
		}
	}
	return nil
}

// stepFailure says how Packer failed the step, or "" when it succeeded: it
// exited 0, reported no error of its own, and (for a build) every build it
// started finished, and at least one did. Packer's exit code alone is not
// enough: Packer 1.16 exits 0 when the registry refuses to start a build,
// having built nothing, with only an error line to say so.
func stepFailure(s *Step, res *Result) string {
	if res.ExitCode != 0 {
		return fmt.Sprintf("exit code %d with errors", res.ExitCode)
	}
	if errs := res.packerErrors(); len(errs) > 0 {
		return fmt.Sprintf("exit code 0 but %d error(s) reported by Packer", len(errs))
	}
	if s.command() != CommandBuild {
		return ""
	}
	if len(res.Errored) > 0 {
		return fmt.Sprintf("exit code 0 but build(s) %s errored", strings.Join(res.Errored, ", "))
	}
	var unfinished []string
	for _, b := range res.Started {
		if !slices.Contains(res.Finished, b) {
			unfinished = append(unfinished, b)
		}
	}
	if len(unfinished) > 0 {
		return fmt.Sprintf("exit code 0 but build(s) %s started and never finished", strings.Join(unfinished, ", "))
	}
	if len(res.Finished) == 0 && !s.AllowNoBuilds {
		return "exit code 0 but no build finished (Packer built nothing; set AllowNoBuilds if that is expected)"
	}
	return ""
}

func errorSummary(res *Result) string {
	var b strings.Builder
	for _, e := range res.Errors {
		if e.Build != "" {
			fmt.Fprintf(&b, "%s: ", e.Build)
		}
		b.WriteString(strings.TrimSpace(e.Message))
		b.WriteByte('\n')
	}
	if s := strings.TrimSpace(res.Stderr); s != "" {
		b.WriteString("stderr: ")
		b.WriteString(s)
		b.WriteByte('\n')
	}
	if b.Len() == 0 {
		return "(no error output)"
	}
	return b.String()
}

const tailLines = 30

// describeOutputs tells where a step's output is, with the end of each.
func describeOutputs(pc packerCmd, res *Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "command (in %s): %s\n", pc.Dir, pc)
	stdoutPath := filepath.Join(filepath.Dir(res.LogPath), fmt.Sprintf("step%d.stdout", res.Step))
	stderrPath := filepath.Join(filepath.Dir(res.LogPath), fmt.Sprintf("step%d.stderr", res.Step))
	log, _ := os.ReadFile(res.LogPath)
	for _, o := range []struct{ name, path, text string }{
		{"stdout", stdoutPath, res.UIText()},
		{"stderr", stderrPath, res.Stderr},
		{"packer log", res.LogPath, string(log)},
	} {
		fmt.Fprintf(&b, "--- %s: %s", o.name, o.path)
		if o.name == "stdout" {
			b.WriteString(" (UI lines shown)")
		}
		b.WriteByte('\n')
		b.WriteString(indent(tail(o.text, tailLines)))
	}
	if !envTrue(os.Getenv(EnvKeep)) {
		fmt.Fprintf(&b, "(set %s=1 to keep these files after the test)\n", EnvKeep)
	}
	return b.String()
}

func tail(s string, n int) string {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return "(empty)\n"
	}
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = append([]string{fmt.Sprintf("... (%d lines before)", len(lines)-n)}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n") + "\n"
}

func indent(s string) string {
	s = strings.TrimRight(s, "\n")
	return "    " + strings.ReplaceAll(s, "\n", "\n    ") + "\n"
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

func sanitizeName(name string) string {
	s := unsafeName.ReplaceAllString(name, "_")
	if len(s) > 64 {
		s = s[:64]
	}
	return s
}
