package registry_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-version"

	"github.com/example/packer-plugin-scaffolding/acctest/registry"
)

// These tests run the real Packer against the emulator, with builders that
// ship inside Packer (null, file), so they need no plugin. They run when
// PACKER_ACC is set, with the Packer binary from PACKER_BIN or PATH.

func packerBinary(t *testing.T) string {
	t.Helper()
	if os.Getenv("PACKER_ACC") == "" {
		t.Skip("set PACKER_ACC=1 to run tests against a real Packer")
	}
	bin := os.Getenv("PACKER_BIN")
	if bin == "" {
		var err error
		if bin, err = exec.LookPath("packer"); err != nil {
			t.Skip("no Packer binary: set PACKER_BIN or put packer on PATH")
		}
	}
	skipBelowTopLevelRegistryBlock(t, bin)
	return bin
}

// topLevelRegistryBlock is the first Packer that reads a top-level
// hcp_packer_registry block, which every template here uses (older ones
// reject it: `Blocks of type "hcp_packer_registry" are not expected here`).
var topLevelRegistryBlock = version.Must(version.NewVersion("1.13.0"))

var packerVersions sync.Map // binary path -> *version.Version

// skipBelowTopLevelRegistryBlock skips the test on a Packer older than
// topLevelRegistryBlock, saying so, so the suite runs on every Packer the
// harness supports.
func skipBelowTopLevelRegistryBlock(t *testing.T, bin string) {
	t.Helper()
	v, ok := packerVersions.Load(bin)
	if !ok {
		out, err := exec.Command(bin, "version").Output()
		if err != nil {
			t.Fatalf("%s version: %v", bin, err)
		}
		fields := strings.Fields(string(out))
		if len(fields) < 2 {
			t.Fatalf("%s version printed %q, not \"Packer vX.Y.Z\"", bin, out)
		}
		parsed, err := version.NewVersion(strings.TrimPrefix(fields[1], "v"))
		if err != nil {
			t.Fatalf("%s version printed %q: %v", bin, out, err)
		}
		v, _ = packerVersions.LoadOrStore(bin, parsed)
	}
	if got := v.(*version.Version); got.Core().LessThan(topLevelRegistryBlock) {
		t.Skipf("Packer %s is older than %s, the first to read the top-level hcp_packer_registry block these templates use", got, topLevelRegistryBlock)
	}
}

// packerRun is one `packer build` in its own directory, with HOME and
// Packer's directories isolated, pointed at the emulator.
type packerRun struct {
	t   *testing.T
	bin string
	dir string
	s   *registry.Server
	// unset names variables of the emulator's Env that Packer must not
	// get, for example HCP_PROJECT_ID to make it look the project up.
	unset []string
}

func newPackerRun(t *testing.T, s *registry.Server) *packerRun {
	t.Helper()
	return &packerRun{t: t, bin: packerBinary(t), dir: t.TempDir(), s: s}
}

func (p *packerRun) write(name, content string) {
	p.t.Helper()
	if err := os.WriteFile(filepath.Join(p.dir, name), []byte(content), 0o644); err != nil {
		p.t.Fatal(err)
	}
}

func (p *packerRun) command(template string) *exec.Cmd {
	return p.commandArgs("build", "-color=false", template)
}

// commandArgs is a Packer command with any arguments, in the run's
// directory and environment.
func (p *packerRun) commandArgs(args ...string) *exec.Cmd {
	home := filepath.Join(p.dir, ".home")
	cmd := exec.CommandContext(p.t.Context(), p.bin, args...)
	cmd.Dir = p.dir
	cmd.WaitDelay = 10 * time.Second
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "HCP_") || strings.HasPrefix(name, "PACKER_") || name == "HOME" || name == "CHECKPOINT_DISABLE" {
			continue
		}
		env = append(env, kv)
	}
	env = append(env,
		"HOME="+home,
		"PACKER_CONFIG_DIR="+home,
		"PACKER_CACHE_DIR="+filepath.Join(home, "cache"),
		"PACKER_PLUGIN_PATH="+filepath.Join(home, "plugins"),
		"CHECKPOINT_DISABLE=1",
	)
	// As the harness runs Packer (acctest's isolatedEnv): collecting the
	// garbage of Packer's start-up was a quarter of its CPU, and a
	// processor per core wakes idle threads when several tests run at once.
	if os.Getenv("GOGC") == "" && os.Getenv("GOMEMLIMIT") == "" {
		env = append(env, "GOGC=off", "GOMEMLIMIT=256MiB")
	}
	if os.Getenv("GOMAXPROCS") == "" {
		env = append(env, "GOMAXPROCS=1")
	}
	for _, kv := range p.s.Env() {
		name, _, _ := strings.Cut(kv, "=")
		if !slices.Contains(p.unset, name) {
			env = append(env, kv)
		}
	}
	cmd.Env = env
	return cmd
}

// build runs `packer build template` and returns its output and error.
func (p *packerRun) build(template string) (string, error) {
	p.t.Helper()
	return p.run("build", "-color=false", template)
}

// run runs Packer with args and returns its output and error.
func (p *packerRun) run(args ...string) (string, error) {
	p.t.Helper()
	out, err := p.commandArgs(args...).CombinedOutput()
	assertNoCrash(p.t, string(out))
	return string(out), err
}

func assertNoCrash(t *testing.T, out string) {
	t.Helper()
	for _, sign := range []string{"panic:", "nil pointer", "goroutine "} {
		if strings.Contains(out, sign) {
			t.Errorf("expected Packer not to crash on the emulator's answers, found %q in its output:\n%s", sign, out)
		}
	}
}

// flat undoes Packer's wrapping of long error messages.
func flat(out string) string { return strings.Join(strings.Fields(out), " ") }

func findBuild(t *testing.T, s *registry.Server, bucket, component string) registry.Build {
	t.Helper()
	for _, b := range s.Builds() {
		if b.Bucket == bucket && b.ComponentType == component {
			return b
		}
	}
	t.Fatalf("expected a build %q in bucket %q, found builds %+v", component, bucket, s.Builds())
	return registry.Build{}
}

func assertNoUnknownCalls(t *testing.T, s *registry.Server) {
	t.Helper()
	for _, r := range s.Requests() {
		if r.Op == registry.OpUnknown {
			t.Errorf("expected Packer to call only emulated routes, found %s %s", r.Method, r.Path)
		}
	}
}

func TestPackerPublishesABuild(t *testing.T) {
	t.Parallel()
	s := registry.NewServer(t)
	p := newPackerRun(t, s)
	p.write("null.pkr.hcl", `
source "null" "example" {
  communicator = "none"
}
hcp_packer_registry {
  bucket_name   = "acc-null"
  description   = "null builds"
  bucket_labels = { team = "qa" }
  build_labels  = { os = "none" }
}
build {
  sources = ["source.null.example"]
}
`)
	out, err := p.build("null.pkr.hcl")
	if err != nil {
		t.Fatalf("packer build: %v\n%s", err, out)
	}
	assertNoUnknownCalls(t, s)

	buckets := s.Buckets()
	if len(buckets) != 1 || buckets[0].Name != "acc-null" || buckets[0].Description != "null builds" || buckets[0].Labels["team"] != "qa" {
		t.Errorf("expected bucket acc-null with its description and labels, found %+v", buckets)
	}
	versions := s.Versions()
	if len(versions) != 1 || versions[0].Name != "v1" || versions[0].Status != registry.VersionActive || versions[0].TemplateType != "HCL2" {
		t.Fatalf("expected one complete HCL2 version v1, found %+v", versions)
	}
	b := findBuild(t, s, "acc-null", "null.example")
	wantHistory := []registry.BuildStatus{registry.BuildUnset, registry.BuildRunning, registry.BuildDone}
	if !slices.Equal(b.StatusHistory, wantHistory) {
		t.Errorf("expected status history %v, found %v", wantHistory, b.StatusHistory)
	}
	// Packer's null builder describes its artifact as image "Null" on
	// platform "null", region "null", from source "null".
	if b.Platform != "null" || len(b.Artifacts) != 1 || b.Artifacts[0].ExternalID != "Null" || b.Artifacts[0].Region != "null" ||
		b.SourceExternalID != "null" || b.Labels["os"] != "none" || b.PackerRunUUID == "" || len(b.Metadata) == 0 {
		t.Errorf("expected the null builder's metadata and the build labels, found %+v", b)
	}
	if b.Fingerprint != versions[0].Fingerprint || !strings.Contains(out, versions[0].Fingerprint) {
		t.Errorf("expected the build in the version Packer announced, found fingerprint %q; output:\n%s", b.Fingerprint, out)
	}
	var latest *registry.Channel
	for _, c := range s.Channels() {
		if c.Name == registry.LatestChannel {
			latest = &c
		}
	}
	if latest == nil || latest.Fingerprint != versions[0].Fingerprint {
		t.Errorf("expected the latest channel at the new version, found %+v", latest)
	}

	// A second run with the same fingerprint finds the version complete and
	// stops, as against the real service.
	cmd := p.command("null.pkr.hcl")
	cmd.Env = append(cmd.Env, "HCP_PACKER_BUILD_FINGERPRINT="+versions[0].Fingerprint)
	again, err := cmd.CombinedOutput()
	assertNoCrash(t, string(again))
	if err == nil || !strings.Contains(flat(string(again)), "is complete") {
		t.Errorf("rerun on a complete version: expected Packer to refuse, found err=%v\n%s", err, again)
	}
}

func TestPackerRecordsAncestry(t *testing.T) {
	t.Parallel()
	s := registry.NewServer(t)
	p := newPackerRun(t, s)
	// The file builder publishes the target's base name as the image id and
	// the source path as its source image, so a relative source equal to
	// the parent's id links the two builds.
	p.write("parent.pkr.hcl", `
source "file" "parent" {
  content = "parent image"
  target  = "parent.txt"
}
hcp_packer_registry {
  bucket_name = "base"
}
build {
  sources = ["source.file.parent"]
}
`)
	p.write("child.pkr.hcl", `
data "hcp-packer-version" "base" {
  bucket_name  = "base"
  channel_name = "release"
}
data "hcp-packer-artifact" "base" {
  bucket_name         = "base"
  version_fingerprint = data.hcp-packer-version.base.fingerprint
  platform            = "packer.file"
  region              = "."
}
source "file" "child" {
  source = data.hcp-packer-artifact.base.external_identifier
  target = "child.txt"
}
hcp_packer_registry {
  bucket_name = "app"
}
build {
  sources = ["source.file.child"]
}
`)
	if out, err := p.build("parent.pkr.hcl"); err != nil {
		t.Fatalf("parent build: %v\n%s", err, out)
	}
	parent := s.Versions()[0]
	if err := s.SetChannel("base", "release", parent.Fingerprint); err != nil {
		t.Fatal(err)
	}
	if out, err := p.build("child.pkr.hcl"); err != nil {
		t.Fatalf("child build: %v\n%s", err, out)
	}
	assertNoUnknownCalls(t, s)

	var release registry.Channel
	for _, c := range s.Channels() {
		if c.Bucket == "base" && c.Name == "release" {
			release = c
		}
	}
	child := findBuild(t, s, "app", "file.child")
	if child.SourceExternalID != "parent.txt" || child.ParentVersionID != parent.ID || child.ParentChannelID != release.ID {
		t.Errorf("expected the child built from parent.txt of version %s via channel %s, found source %q, parent version %q, parent channel %q",
			parent.ID, release.ID, child.SourceExternalID, child.ParentVersionID, child.ParentChannelID)
	}
	if child.Platform != "packer.file" || len(child.Artifacts) != 1 || child.Artifacts[0].ExternalID != "child.txt" {
		t.Errorf("expected artifact child.txt on packer.file, found %+v", child)
	}
}

func TestPackerUsesEnforcedBlocksAndChannels(t *testing.T) {
	t.Parallel()
	s := registry.NewServer(t)
	// As a user would prepare it in the portal: the bucket, a channel for
	// Packer to assign, and an enforced provisioner.
	if err := s.AddBucket("acc-enforced"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetChannel("acc-enforced", "dev", ""); err != nil {
		t.Fatal(err)
	}
	if err := s.AddEnforcedBlock("acc-enforced", "audit", `provisioner "shell-local" {
  inline = ["echo ENFORCED-BLOCK-RAN"]
}`); err != nil {
		t.Fatal(err)
	}
	p := newPackerRun(t, s)
	p.write("null.pkr.hcl", `
source "null" "example" {
  communicator = "none"
}
hcp_packer_registry {
  bucket_name = "acc-enforced"
  description = "updated by Packer"
  channels    = ["dev", "missing"]
}
build {
  sources = ["source.null.example"]
}
`)
	out, err := p.build("null.pkr.hcl")
	if err != nil {
		t.Fatalf("packer build: %v\n%s", err, out)
	}
	if !strings.Contains(out, "ENFORCED-BLOCK-RAN") {
		t.Errorf("expected the enforced provisioner to run, found output:\n%s", out)
	}
	if b := s.Buckets(); len(b) != 1 || b[0].Description != "updated by Packer" {
		t.Errorf("expected Packer to update the existing bucket, found %+v", b)
	}
	version := s.Versions()[0]
	for _, c := range s.Channels() {
		if c.Name == "dev" && c.Fingerprint != version.Fingerprint {
			t.Errorf("expected channel dev at %s, found %+v", version.Fingerprint, c)
		}
	}
	// Assigning "missing" fails (channels are not created on assignment);
	// Packer only reports it.
	var missing bool
	for _, r := range s.Requests() {
		if r.Op == registry.OpUpdateChannel && r.Params["channel"] == "missing" && r.Status == 404 {
			missing = true
		}
	}
	if !missing {
		t.Error("expected the assignment of channel missing answered 404")
	}
}

func TestPackerSurvivesFaults(t *testing.T) {
	t.Parallel()
	template := `
source "null" "example" {
  communicator = "none"
}
hcp_packer_registry {
  bucket_name = "acc-faults"
}
build {
  sources = ["source.null.example"]
}
`
	t.Run("create version fails", func(t *testing.T) {
		s := registry.NewServer(t)
		s.Fail(registry.OpCreateVersion, 500, registry.CodeInternal, "registry exploded")
		p := newPackerRun(t, s)
		p.write("t.pkr.hcl", template)
		out, err := p.build("t.pkr.hcl")
		if err == nil || !strings.Contains(flat(out), "registry exploded") {
			t.Errorf("expected packer build to fail with the injected message, found err=%v\n%s", err, out)
		}
		if n := len(s.Builds()); n != 0 {
			t.Errorf("expected no build registered, found %d", n)
		}
	})

	t.Run("completing the build fails", func(t *testing.T) {
		s := registry.NewServer(t)
		s.Fail(registry.OpUpdateBuild, 503, registry.CodeUnavailable, "try later").
			When(func(r registry.Request) bool { return strings.Contains(r.Body, `"BUILD_DONE"`) })
		p := newPackerRun(t, s)
		p.write("t.pkr.hcl", template)
		out, err := p.build("t.pkr.hcl")
		if err == nil || !strings.Contains(flat(out), "try later") {
			t.Errorf("expected packer build to fail with the injected message, found err=%v\n%s", err, out)
		}
		b := findBuild(t, s, "acc-faults", "null.example")
		want := []registry.BuildStatus{registry.BuildUnset, registry.BuildRunning, registry.BuildFailed}
		if !slices.Equal(b.StatusHistory, want) {
			t.Errorf("expected Packer to mark the build failed: history %v, found %v", want, b.StatusHistory)
		}
		if v := s.Versions()[0]; v.Name != registry.IncompleteVersionName || v.Status != registry.VersionFailed {
			t.Errorf("expected the version incomplete and failed, found %s %s", v.Name, v.Status)
		}
	})

	t.Run("a stalled call resumes", func(t *testing.T) {
		s := registry.NewServer(t)
		f := s.Stall(registry.OpGetBucket)
		p := newPackerRun(t, s)
		p.write("t.pkr.hcl", template)
		cmd := p.command("t.pkr.hcl")
		var out strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		<-f.Hit()
		if n := len(s.Buckets()); n != 0 {
			t.Errorf("while GetBucket is stalled: expected no bucket, found %d", n)
		}
		f.Release()
		err := cmd.Wait()
		assertNoCrash(t, out.String())
		if err != nil {
			t.Errorf("expected the build to finish after the release, found %v\n%s", err, out.String())
		}
		if v := s.Versions(); len(v) != 1 || v[0].Name != "v1" {
			t.Errorf("expected version v1, found %+v", v)
		}
	})
}
