package acctest

import (
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
)

func testRun(mode WireMode) *Run {
	return &Run{
		Mode:      mode,
		Root:      "/r",
		Dir:       "/r/work",
		PluginDir: "/r/plugins",
		Packer:    &Packer{Path: "/opt/packer"},
		steps:     2,
		tmpDir:    "/t/pkacc-1",
		baseEnv: []string{
			"PATH=/usr/bin", "GOFLAGS=-mod=mod", "HOME=/home/me", "TMPDIR=/var/tmp",
			"PACKER_LOG=0", "PACKER_PLUGIN_PATH=/home/me/plugins", "PACKER_FORCE_GOB=1",
			"PKR_VAR_region=leaked", "HCP_CLIENT_ID=real-id", "CHECKPOINT_DISABLE=",
			"XDG_CONFIG_HOME=/home/me/.config", "malformed",
		},
		caseEnv: map[string]string{"A": "case", "B": "case"},
	}
}

func TestBuildCmd(t *testing.T) {
	run := testRun(Gob)
	step := &Step{
		Template: "x",
		Vars:     map[string]string{"b": "2", "a": "1 2"},
		Args:     []string{"-only=null.a"},
		Env:      map[string]string{"B": "step"},
	}
	f, err := run.stepFiles(1, step)
	if err != nil {
		t.Fatal(err)
	}
	pc := run.buildCmd(1, step, f)

	if pc.Path != "/opt/packer" || pc.Dir != "/r/work" {
		t.Errorf("expected /opt/packer in /r/work, found %s in %s", pc.Path, pc.Dir)
	}
	wantArgs := []string{"build", "-machine-readable", "-color=false", "-var", "a=1 2", "-var", "b=2", "-only=null.a", filepath.Join("/r/work", "step2.pkr.hcl")}
	if !reflect.DeepEqual(pc.Args, wantArgs) {
		t.Errorf("expected args %q, found %q", wantArgs, pc.Args)
	}
	want := map[string]string{
		"PATH":                "/usr/bin",
		"GOFLAGS":             "-mod=mod",
		"HOME":                filepath.Join("/r", "home"),
		"XDG_CONFIG_HOME":     filepath.Join("/r", "home", ".config"),
		"PACKER_CONFIG_DIR":   filepath.Join("/r", "config"),
		"PACKER_CACHE_DIR":    filepath.Join("/r", "cache"),
		"PACKER_PLUGIN_PATH":  "/r/plugins",
		"PACKER_LOG":          "1",
		"PACKER_LOG_PATH":     filepath.Join("/r", "logs", "step2.packer.log"),
		"CHECKPOINT_DISABLE":  "1",
		"HCP_PACKER_REGISTRY": "off",
		"TMPDIR":              "/t/pkacc-1",
		"PACKER_FORCE_GOB":    "1",
		"A":                   "case",
		"B":                   "step",
	}
	for k, v := range want {
		if got, ok := lookupEnv(pc.Env, k); !ok || got != v {
			t.Errorf("expected %s=%q, found %q (set: %v)", k, v, got, ok)
		}
	}
	for _, k := range []string{"PKR_VAR_region", "HCP_CLIENT_ID", "malformed"} {
		if v, ok := lookupEnv(pc.Env, k); ok {
			t.Errorf("expected %s left out, found %q", k, v)
		}
	}
	seen := map[string]bool{}
	for _, kv := range pc.Env {
		k, _, _ := strings.Cut(kv, "=")
		if seen[k] {
			t.Errorf("expected each variable once, found %s twice", k)
		}
		seen[k] = true
	}
}

func TestBuildCmd_protobufAndTemplateFile(t *testing.T) {
	run := testRun(Protobuf)
	step := &Step{TemplateFile: "testdata/templates"}
	f, err := run.stepFiles(0, step)
	if err != nil {
		t.Fatal(err)
	}
	pc := run.buildCmd(0, step, f)
	if v, ok := lookupEnv(pc.Env, "PACKER_FORCE_GOB"); ok {
		t.Errorf("expected no PACKER_FORCE_GOB in protobuf mode, found %q", v)
	}
	abs, _ := filepath.Abs("testdata/templates")
	if last := pc.Args[len(pc.Args)-1]; last != abs {
		t.Errorf("expected the template path %s last, found %s", abs, last)
	}
	if want := []string{"build", "-machine-readable", "-color=false", abs}; !reflect.DeepEqual(pc.Args, want) {
		t.Errorf("expected args %q, found %q", want, pc.Args)
	}
}

func TestBuildCmd_registryEnv(t *testing.T) {
	run := testRun(Protobuf)
	var asked []int
	run.registry = registryAttachment{env: func(i int) map[string]string {
		asked = append(asked, i)
		return map[string]string{"HCP_PACKER_REGISTRY": "on", "HCP_API_ADDRESS": "127.0.0.1:1", "A": "registry"}
	}}
	step := &Step{Template: "x"}
	f, _ := run.stepFiles(1, step)
	pc := run.buildCmd(1, step, f)
	if v, _ := lookupEnv(pc.Env, "HCP_PACKER_REGISTRY"); v != "on" {
		t.Errorf("expected the registry to turn HCP_PACKER_REGISTRY on, found %q", v)
	}
	if v, _ := lookupEnv(pc.Env, "HCP_API_ADDRESS"); v != "127.0.0.1:1" {
		t.Errorf("expected HCP_API_ADDRESS from the registry, found %q", v)
	}
	if v, _ := lookupEnv(pc.Env, "A"); v != "case" {
		t.Errorf("expected Case.Env to win over the registry, found A=%q", v)
	}
	if !reflect.DeepEqual(asked, []int{1}) {
		t.Errorf("expected the registry asked for step index 1, found %v", asked)
	}
}

func TestIsolatedEnv_tmpDirKeptWithoutOwn(t *testing.T) {
	env := isolatedEnv([]string{"TMPDIR=/var/tmp"}, isolation{Root: "/r"}, Protobuf)
	if v, _ := lookupEnv(env, "TMPDIR"); v != "/var/tmp" {
		t.Errorf("expected the caller's TMPDIR without a TmpDir of its own, found %q", v)
	}
}

func TestIsolatedEnv_windowsVariables(t *testing.T) {
	env := isolatedEnv([]string{"USERPROFILE=C:\\Users\\me", "TEMP=C:\\t"}, isolation{Root: "/r", TmpDir: "/t"}, Protobuf)
	if runtime.GOOS == "windows" {
		if v, _ := lookupEnv(env, "USERPROFILE"); v != filepath.Join("/r", "home") {
			t.Errorf("expected USERPROFILE isolated, found %q", v)
		}
		return
	}
	for _, k := range []string{"USERPROFILE", "TEMP"} {
		if v, ok := lookupEnv(env, k); ok {
			t.Errorf("expected %s dropped, found %q", k, v)
		}
	}
}

func TestPackerCmdString(t *testing.T) {
	pc := packerCmd{Path: "/opt/packer", Args: []string{"build", "-var", "a=1 2", ""}}
	if got, want := pc.String(), `/opt/packer build -var "a=1 2" ""`; got != want {
		t.Errorf("expected %s, found %s", want, got)
	}
}

// Each command gets the flags it accepts, and JSON templates the file name
// that makes Packer read them as written.
func TestBuildCmd_commands(t *testing.T) {
	run := testRun(Protobuf)
	for _, tc := range []struct {
		step Step
		want []string
	}{
		{Step{Command: CommandValidate, Template: "x", Vars: map[string]string{"a": "1"}, Args: []string{"-syntax-only"}},
			[]string{"validate", "-machine-readable", "-var", "a=1", "-syntax-only", "/r/work/step1.pkr.hcl"}},
		{Step{Command: CommandInit, Template: "x", Args: []string{"-upgrade"}},
			[]string{"init", "-machine-readable", "-upgrade", "/r/work/step1.pkr.hcl"}},
		{Step{Command: CommandInspect, Template: "x"},
			[]string{"inspect", "-machine-readable", "/r/work/step1.pkr.hcl"}},
		{Step{Command: CommandFmt, Template: "x"},
			[]string{"fmt", "-check", "/r/work/step1.pkr.hcl"}},
		{Step{Template: `{"builders": [{"type": "null"}]}`},
			[]string{"build", "-machine-readable", "-color=false", "/r/work/step1.json"}},
		{Step{Template: ` {"source": {"null": {"a": {}}}}`},
			[]string{"build", "-machine-readable", "-color=false", "/r/work/step1.pkr.json"}},
	} {
		f, err := run.stepFiles(0, &tc.step)
		if err != nil {
			t.Fatal(err)
		}
		if got := run.buildCmd(0, &tc.step, f).Args; !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: expected %q, found %q", tc.step.command(), tc.want, got)
		}
	}
	for _, bad := range []Step{
		{Command: "plan", Template: "x"},
		{Command: CommandInit, Template: "x", Vars: map[string]string{"a": "1"}},
		{Command: CommandValidate, Template: "x", AllowNoBuilds: true},
	} {
		if errs := bad.validate(); len(errs) == 0 {
			t.Errorf("expected %+v to be rejected", bad)
		}
	}
}

func TestIsolatedEnv_oneProcessor(t *testing.T) {
	// Left to the harness, Packer and its plugins run on one processor each.
	env := isolatedEnv(nil, isolation{Root: "/r"}, Protobuf)
	if v, ok := lookupEnv(env, "GOMAXPROCS"); !ok || v != packerProcs {
		t.Errorf("expected GOMAXPROCS=%s, found %q (set: %v)", packerProcs, v, ok)
	}
	// Yours, or a case's, wins.
	env = isolatedEnv([]string{"GOMAXPROCS=8"}, isolation{Root: "/r"}, Protobuf)
	if v, _ := lookupEnv(env, "GOMAXPROCS"); v != "8" {
		t.Errorf("expected your GOMAXPROCS=8 passed on, found %q", v)
	}
	env = isolatedEnv(nil, isolation{Root: "/r"}, Protobuf, map[string]string{"GOMAXPROCS": "4"})
	if v, _ := lookupEnv(env, "GOMAXPROCS"); v != "4" {
		t.Errorf("expected the case's GOMAXPROCS=4 to win, found %q", v)
	}
}

func TestIsolatedEnv_garbageCollector(t *testing.T) {
	// Left to the harness, Packer collects only near a memory limit.
	env := isolatedEnv(nil, isolation{Root: "/r"}, Protobuf)
	gogc, _ := lookupEnv(env, "GOGC")
	limit, _ := lookupEnv(env, "GOMEMLIMIT")
	if gogc != "off" || limit != goMemLimit {
		t.Errorf("expected GOGC=off and GOMEMLIMIT=%s, found GOGC=%q GOMEMLIMIT=%q", goMemLimit, gogc, limit)
	}
	// Either variable of your own keeps your tuning, whole.
	for _, own := range []string{"GOGC=50", "GOMEMLIMIT=2GiB"} {
		env := isolatedEnv([]string{own}, isolation{Root: "/r"}, Protobuf)
		var found []string
		for _, kv := range env {
			if strings.HasPrefix(kv, "GOGC=") || strings.HasPrefix(kv, "GOMEMLIMIT=") {
				found = append(found, kv)
			}
		}
		if !reflect.DeepEqual(found, []string{own}) {
			t.Errorf("with %s in the environment, expected only it passed on, found %q", own, found)
		}
	}
	// A case can set them too.
	env = isolatedEnv(nil, isolation{Root: "/r"}, Protobuf, map[string]string{"GOGC": "100"})
	if v, _ := lookupEnv(env, "GOGC"); v != "100" {
		t.Errorf("expected the case's GOGC=100 to win, found %q", v)
	}
}
