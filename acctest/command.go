package acctest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"
)

// packerCmd is one packer invocation, fully described before it runs so
// that its arguments and environment can be tested without running it.
type packerCmd struct {
	// Path is the packer binary.
	Path string
	// Args follow the binary name.
	Args []string
	// Env is the complete environment.
	Env []string
	// Dir is the working directory.
	Dir string
	// started, if set, is called once packer has started (see
	// Run.Interrupt).
	started func(*exec.Cmd)
}

// isolation names the directories that keep a packer invocation away from
// the user's configuration, cache and plugins.
type isolation struct {
	// Root holds home/, config/ and cache/.
	Root string
	// PluginDir is PACKER_PLUGIN_PATH.
	PluginDir string
	// TmpDir is TMPDIR. Plugins put their unix socket there, and a socket
	// path must stay under ~104 bytes, so it is a short directory of its own
	// rather than one under a test's (long) temp dir. Empty: not set.
	TmpDir string
	// LogPath is PACKER_LOG_PATH.
	LogPath string
}

// interruptGrace is how long packer gets to clean up after an interrupt
// before it is killed.
const interruptGrace = 30 * time.Second

// inheritedEnvDropped reports whether a variable of the caller's environment
// is left out of packer's: anything that configures Packer, HCP or where
// configuration lives would leak the user's setup into the test.
func inheritedEnvDropped(name string) bool {
	upper := strings.ToUpper(name)
	for _, p := range []string{"PACKER_", "PKR_VAR_", "HCP_", "CHECKPOINT_"} {
		if strings.HasPrefix(upper, p) {
			return true
		}
	}
	switch upper {
	case "HOME", "USERPROFILE",
		"XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME":
		return true
	}
	return false
}

func isTempVar(name string) bool {
	switch strings.ToUpper(name) {
	case "TMPDIR", "TMP", "TEMP":
		return true
	}
	return false
}

// goMemLimit is the soft memory limit of each Packer and plugin process a
// test runs (see isolatedEnv): far above what a build needs to start, low
// enough that a few dozen processes at once fit in a CI runner.
const goMemLimit = "256MiB"

// packerProcs is the GOMAXPROCS of each Packer and plugin process a test
// runs, unless the environment sets one (see isolatedEnv).
const packerProcs = "1"

// isolatedEnv is base without the variables that would leak the caller's
// setup, plus the isolation, the wire mode, and layers of extra variables
// applied in order (later wins).
func isolatedEnv(base []string, iso isolation, mode WireMode, layers ...map[string]string) []string {
	vars := map[string]string{}
	var order []string
	set := func(k, v string) {
		if _, ok := vars[k]; !ok {
			order = append(order, k)
		}
		vars[k] = v
	}
	for _, kv := range base {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" || inheritedEnvDropped(k) || iso.TmpDir != "" && isTempVar(k) {
			continue
		}
		set(k, v)
	}
	// Packer and its plugins are short-lived here and allocate mostly while
	// starting (a heap of about 15 MB), yet collect garbage three times
	// doing so: a quarter of a null build's CPU. So the collector waits for
	// a memory limit instead, unless you tune it yourself.
	if _, ok := vars["GOGC"]; !ok {
		if _, ok := vars["GOMEMLIMIT"]; !ok {
			set("GOGC", "off")
			set("GOMEMLIMIT", goMemLimit)
		}
	}
	// A suite runs several cases at once, each starting a dozen Go
	// processes that mostly wait on one another; each with a processor per
	// core spends CPU waking idle threads to look for work (finish_task_switch
	// and friends were about 8% of a run). One processor each: make testacc
	// warm on 2 cores took 40-41 s instead of 42-46 s, 75 s of CPU instead of
	// 78-85 s. A GOMAXPROCS of your own wins.
	if _, ok := vars["GOMAXPROCS"]; !ok {
		set("GOMAXPROCS", packerProcs)
	}
	home := filepath.Join(iso.Root, "home")
	set("HOME", home)
	if runtime.GOOS == "windows" {
		set("USERPROFILE", home)
	}
	set("XDG_CONFIG_HOME", filepath.Join(home, ".config"))
	set("XDG_CACHE_HOME", filepath.Join(home, ".cache"))
	set("PACKER_CONFIG_DIR", filepath.Join(iso.Root, "config"))
	set("PACKER_CACHE_DIR", filepath.Join(iso.Root, "cache"))
	set("PACKER_PLUGIN_PATH", iso.PluginDir)
	set("CHECKPOINT_DISABLE", "1")
	set("PACKER_LOG", "1")
	set("PACKER_LOG_PATH", iso.LogPath)
	set("HCP_PACKER_REGISTRY", "off")
	if iso.TmpDir != "" {
		set("TMPDIR", iso.TmpDir)
		if runtime.GOOS == "windows" {
			set("TMP", iso.TmpDir)
			set("TEMP", iso.TmpDir)
		}
	}
	if mode == Gob {
		set("PACKER_FORCE_GOB", "1")
	}
	for _, layer := range layers {
		for _, k := range slices.Sorted(maps.Keys(layer)) {
			set(k, layer[k])
		}
	}
	env := make([]string, 0, len(order))
	for _, k := range order {
		env = append(env, k+"="+vars[k])
	}
	return env
}

// lookupEnv returns the value of name in env, the last one winning.
func lookupEnv(env []string, name string) (string, bool) {
	val, found := "", false
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && k == name {
			val, found = v, true
		}
	}
	return val, found
}

// cmdResult is what a packer invocation produced.
type cmdResult struct {
	exitCode       int
	stdout, stderr string
	// interrupted is set when ctx ended the run.
	interrupted error
	// pgid is packer's process group (0 if it never started).
	pgid int
	// mark is the value of envProcessMark every process of the
	// invocation inherits.
	mark string
}

// envProcessMark is set, to a value unique to each packer invocation, in
// packer's environment; every descendant inherits it, which is how the leak
// check finds them (see leftovers).
const envProcessMark = "PACKER_ACC_PROCESS_MARK"

func newMark() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// run executes the command in its own process group with its output going
// straight to the given files, then reads them back. Files rather than pipes:
// Packer hands its stdout and stderr on to every plugin (panicwrap passes
// them as extra descriptors), so a pipe would stay open, and Wait would
// block, for as long as any plugin descendant lives. When ctx ends, packer
// is interrupted (so it cleans up what it made), and killed after
// interruptGrace. Whatever happens, every process left in its group is
// killed before run returns, so no plugin outlives the invocation.
func (pc packerCmd) run(ctx context.Context, stdout, stderr *os.File) (cmdResult, error) {
	cmd := exec.CommandContext(ctx, pc.Path, pc.Args...)
	mark := newMark()
	cmd.Env = append(append([]string(nil), pc.Env...), envProcessMark+"="+mark)
	if dir, err := newCoverDir(); err != nil {
		return cmdResult{exitCode: -1}, fmt.Errorf("coverage directory: %w", err)
	} else if dir != "" {
		cmd.Env = append(cmd.Env, "GOCOVERDIR="+dir)
	}
	cmd.Dir = pc.Dir
	cmd.Stdout = stdout
	cmd.Stderr = stderr
	setProcessGroup(cmd)
	cmd.Cancel = func() error { return interruptProcessGroup(cmd) }
	cmd.WaitDelay = interruptGrace

	err := cmd.Start()
	if err == nil {
		if pc.started != nil {
			pc.started(cmd)
		}
		err = cmd.Wait()
	}
	// Best effort: the group is usually gone already, and the leak check
	// after the run catches what survives.
	_ = killProcessGroup(cmd)
	res := cmdResult{exitCode: -1, mark: mark}
	if cmd.Process != nil {
		res.pgid = cmd.Process.Pid
	}
	if cmd.ProcessState != nil {
		res.exitCode = cmd.ProcessState.ExitCode()
	}
	if ctx.Err() != nil {
		res.interrupted = context.Cause(ctx)
	}
	out, rerr := os.ReadFile(stdout.Name())
	res.stdout = string(out)
	errOut, rerr2 := os.ReadFile(stderr.Name())
	res.stderr = string(errOut)
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) && res.interrupted == nil {
		return res, fmt.Errorf("running %s: %w", pc.Path, err)
	}
	if rerr != nil || rerr2 != nil {
		return res, fmt.Errorf("reading packer's output back: %w", errors.Join(rerr, rerr2))
	}
	return res, nil
}

// String renders the command as a shell-like line for failure messages.
func (pc packerCmd) String() string {
	parts := append([]string{pc.Path}, pc.Args...)
	for i, p := range parts {
		if p == "" || strings.ContainsAny(p, " \t\n'\"\\$") {
			parts[i] = fmt.Sprintf("%q", p)
		}
	}
	return strings.Join(parts, " ")
}

// createOutput creates a file for a stream, naming it in the error.
func createOutput(path string) (*os.File, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("creating %s: %w", path, err)
	}
	return f, nil
}
