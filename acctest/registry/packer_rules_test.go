package registry_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/example/packer-plugin-scaffolding/acctest/registry"
)

// These tests prove, through the real Packer, the service rules the
// emulator keeps (docs/registry-emulator.md, "Rules it follows").

const nullTemplate = `
source "null" "example" {
  communicator = "none"
}
hcp_packer_registry {
  bucket_name = "acc-lookup"
}
build {
  sources = ["source.null.example"]
}
`

func TestPackerLooksUpOrganizationAndProject(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		unset []string
		// lookups are the resource-manager calls Packer has to make.
		lookups []registry.Op
	}{
		{"only credentials", []string{"HCP_ORGANIZATION_ID", "HCP_PROJECT_ID"}, []registry.Op{registry.OpListOrganizations, registry.OpListProjects}},
		{"no project", []string{"HCP_PROJECT_ID"}, []registry.Op{registry.OpListProjects}},
		{"no organization", []string{"HCP_ORGANIZATION_ID"}, []registry.Op{registry.OpListOrganizations}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := registry.NewServer(t)
			p := newPackerRun(t, s)
			p.unset = tc.unset
			p.write("null.pkr.hcl", nullTemplate)
			out, err := p.build("null.pkr.hcl")
			if err != nil {
				t.Fatalf("packer build without %v: %v\n%s", tc.unset, err, out)
			}
			assertNoUnknownCalls(t, s)
			for _, op := range tc.lookups {
				if !called(s, op) {
					t.Errorf("expected Packer to call %s, found requests %v", op, ops(s))
				}
			}
			if v := s.Versions(); len(v) != 1 || v[0].Name != "v1" || v[0].Status != registry.VersionActive {
				t.Errorf("expected Packer to publish version v1 to the emulator's project, found %+v", v)
			}
		})
	}
}

func called(s *registry.Server, op registry.Op) bool {
	for _, r := range s.Requests() {
		if r.Op == op && r.Status == 200 {
			return true
		}
	}
	return false
}

func ops(s *registry.Server) []string {
	var out []string
	for _, r := range s.Requests() {
		out = append(out, string(r.Op)+" "+r.Method+" "+r.Path)
	}
	return out
}

func TestPackerLeavesAVersionIncomplete(t *testing.T) {
	t.Parallel()
	s := registry.NewServer(t)
	p := newPackerRun(t, s)
	p.write("two.pkr.hcl", `
source "null" "a" {
  communicator = "none"
}
source "null" "b" {
  communicator = "none"
}
hcp_packer_registry {
  bucket_name = "acc-incomplete"
}
build {
  sources = ["source.null.a", "source.null.b"]
}
`)
	// Packer registers every build of the template, then runs only a: b
	// stays BUILD_UNSET, it never ran.
	out, err := p.run("build", "-color=false", "-only=null.a", "two.pkr.hcl")
	if err != nil {
		t.Fatalf("packer build -only: %v\n%s", err, out)
	}
	if b := findBuild(t, s, "acc-incomplete", "null.b"); b.Status != registry.BuildUnset {
		t.Fatalf("expected build null.b never run (BUILD_UNSET), found %s", b.Status)
	}
	v := s.Versions()[0]
	if v.Status != registry.VersionIncomplete || v.Name != registry.IncompleteVersionName {
		t.Errorf("expected version v0 VERSION_INCOMPLETE, found %s %s", v.Name, v.Status)
	}
	if !strings.Contains(flat(out), "null.b") {
		t.Errorf("expected Packer's summary to name the build that did not run, found:\n%s", out)
	}
}

// readThroughPacker runs a file build, with the data sources declared in
// decls, whose content is the HCL string content, and returns what Packer
// wrote: what the data sources read. When the build fails it returns
// Packer's output and the error.
func readThroughPacker(t *testing.T, p *packerRun, name, decls, content string) (string, error) {
	t.Helper()
	p.write(name, decls+`
source "file" "read" {
  content = "`+content+`"
  target  = "out-`+name+`.txt"
}
build {
  sources = ["source.file.read"]
}
`)
	out, err := p.build(name)
	if err != nil {
		return out, err
	}
	data, rerr := os.ReadFile(filepath.Join(p.dir, "out-"+name+".txt"))
	if rerr != nil {
		t.Fatalf("packer build %s succeeded without writing its file: %v\n%s", name, rerr, out)
	}
	return string(data), nil
}

// buildEnv runs `packer build` with extra environment variables.
func (p *packerRun) buildEnv(template string, env ...string) (string, error) {
	p.t.Helper()
	cmd := p.command(template)
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.CombinedOutput()
	assertNoCrash(p.t, string(out))
	return string(out), err
}

const parentTemplate = `
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
`

const childTemplate = `
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
`

func TestPackerReadsChannelsRolledBackByRevocation(t *testing.T) {
	t.Parallel()
	s := registry.NewServer(t)
	p := newPackerRun(t, s)
	p.write("parent.pkr.hcl", parentTemplate)
	p.write("child.pkr.hcl", childTemplate)
	for _, fp := range []string{"base-1", "base-2"} {
		if out, err := p.buildEnv("parent.pkr.hcl", "HCP_PACKER_BUILD_FINGERPRINT="+fp); err != nil {
			t.Fatalf("parent build %s: %v\n%s", fp, err, out)
		}
		if err := s.SetChannel("base", "release", fp); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := p.buildEnv("child.pkr.hcl", "HCP_PACKER_BUILD_FINGERPRINT=app-1"); err != nil {
		t.Fatalf("child build: %v\n%s", err, out)
	}
	if child := findBuild(t, s, "app", "file.child"); child.ParentVersionID == "" {
		t.Fatalf("expected the child build to record its parent version, found %+v", child)
	}

	channels := `
data "hcp-packer-version" "release" {
  bucket_name  = "base"
  channel_name = "release"
}
data "hcp-packer-version" "latest" {
  bucket_name  = "base"
  channel_name = "latest"
}
`
	read := func(name string) string {
		t.Helper()
		got, err := readThroughPacker(t, p, name, channels, "${data.hcp-packer-version.release.fingerprint} ${data.hcp-packer-version.latest.fingerprint}")
		if err != nil {
			t.Fatalf("reading the channels through Packer: %v\n%s", err, got)
		}
		return got
	}
	childVersion := `
data "hcp-packer-artifact" "app" {
  bucket_name         = "app"
  version_fingerprint = "app-1"
  platform            = "packer.file"
  region              = "."
}
`
	if got := read("before.pkr.hcl"); got != "base-2 base-2" {
		t.Fatalf("before the revocation: expected release and latest at base-2, found %q", got)
	}

	// Revoke base-2 through the API, as a user in the portal would.
	c := newAPIClient(t, s)
	if status, body := revokeNow(c, "base", "base-2", nil); status != http.StatusOK {
		t.Fatalf("revoking base-2: %d %s", status, body)
	}
	if got := read("revoked.pkr.hcl"); got != "base-1 base-1" {
		t.Errorf("after revoking base-2: expected Packer to read base-1 through release and latest, found %q", got)
	}
	// app-1 was built from base-2: it inherited the revocation.
	out, err := readThroughPacker(t, p, "descendant.pkr.hcl", childVersion, "${data.hcp-packer-artifact.app.external_identifier}")
	if err == nil || !strings.Contains(flat(out), "revoked") {
		t.Errorf("reading the revoked descendant app-1: expected Packer to refuse it as revoked, found err=%v\n%s", err, out)
	}

	c.mustCall("PATCH", "/buckets/base/versions/base-2", map[string]any{"restore": true}, nil)
	// Restoring does not move user channels back; latest follows.
	if got := read("restored.pkr.hcl"); got != "base-1 base-2" {
		t.Errorf("after restoring base-2: expected release at base-1 and latest at base-2, found %q", got)
	}
	got, err := readThroughPacker(t, p, "descendant-restored.pkr.hcl", childVersion, "${data.hcp-packer-artifact.app.external_identifier}")
	if err != nil || got != "child.txt" {
		t.Errorf("reading app-1 after the restore: expected its artifact child.txt, found %q, err=%v", got, err)
	}

	// A scheduled revocation leaves the version usable until its time,
	// then rolls release back through its history (base-1, base-2,
	// base-1): to base-2.
	c.mustCall("PATCH", "/buckets/base/versions/base-1", map[string]any{"revoke_in": "1h"}, nil)
	if got := read("scheduled.pkr.hcl"); got != "base-1 base-2" {
		t.Errorf("with base-1 scheduled for revocation: expected release still at base-1, found %q", got)
	}
	later := time.Now().Add(2 * time.Hour)
	s.SetClock(func() time.Time { return later })
	if got := read("due.pkr.hcl"); got != "base-2 base-2" {
		t.Errorf("after base-1's revocation took effect: expected release rolled back to base-2, found %q", got)
	}
}

func TestPackerDeprecatedDataSources(t *testing.T) {
	t.Parallel()
	s := registry.NewServer(t)
	p := newPackerRun(t, s)
	p.write("parent.pkr.hcl", parentTemplate)
	if out, err := p.buildEnv("parent.pkr.hcl", "HCP_PACKER_BUILD_FINGERPRINT=base-1"); err != nil {
		t.Fatalf("parent build: %v\n%s", err, out)
	}
	if err := s.SetChannel("base", "release", "base-1"); err != nil {
		t.Fatal(err)
	}
	parent := s.Versions()[0]

	// The deprecated data sources, as many templates still have them; the
	// child's source is the image they read, so Packer records ancestry.
	p.write("child.pkr.hcl", `
data "hcp-packer-iteration" "base" {
  bucket_name = "base"
  channel     = "release"
}
data "hcp-packer-image" "base" {
  bucket_name    = "base"
  iteration_id   = data.hcp-packer-iteration.base.id
  cloud_provider = "packer.file"
  region         = "."
}
data "hcp-packer-image" "by-channel" {
  bucket_name    = "base"
  channel        = "release"
  cloud_provider = "packer.file"
  region         = "."
}
source "file" "child" {
  source = data.hcp-packer-image.base.id
  target = "child.txt"
}
source "file" "facts" {
  content = "${data.hcp-packer-iteration.base.fingerprint} v${data.hcp-packer-iteration.base.incremental_version} ${data.hcp-packer-iteration.base.complete} ${data.hcp-packer-image.by-channel.id} ${data.hcp-packer-image.by-channel.iteration_id}"
  target  = "facts.txt"
}
hcp_packer_registry {
  bucket_name = "app"
}
build {
  sources = ["source.file.child", "source.file.facts"]
}
`)
	out, err := p.build("child.pkr.hcl")
	if err != nil {
		t.Fatalf("child build with hcp-packer-iteration and hcp-packer-image: %v\n%s", err, out)
	}
	assertNoUnknownCalls(t, s)
	facts, err := os.ReadFile(filepath.Join(p.dir, "facts.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "base-1 v1 true parent.txt " + parent.ID; string(facts) != want {
		t.Errorf("expected the data sources to read %q, found %q", want, facts)
	}
	var release registry.Channel
	for _, c := range s.Channels() {
		if c.Bucket == "base" && c.Name == "release" {
			release = c
		}
	}
	child := findBuild(t, s, "app", "file.child")
	if child.SourceExternalID != "parent.txt" || child.ParentVersionID != parent.ID || child.ParentChannelID != release.ID {
		t.Errorf("expected ancestry from version %s via channel %s, found source %q, parent version %q, channel %q",
			parent.ID, release.ID, child.SourceExternalID, child.ParentVersionID, child.ParentChannelID)
	}

	// A revoked iteration is refused by id, and its channel no longer
	// points at it.
	if err := s.RevokeVersion("base", "base-1"); err != nil {
		t.Fatal(err)
	}
	got, err := readThroughPacker(t, p, "revoked.pkr.hcl", `
data "hcp-packer-image" "base" {
  bucket_name    = "base"
  iteration_id   = "`+parent.ID+`"
  cloud_provider = "packer.file"
  region         = "."
}
`, "${data.hcp-packer-image.base.id}")
	if err == nil || !strings.Contains(flat(got), "is revoked") {
		t.Errorf("hcp-packer-image of a revoked iteration: expected Packer to refuse it, found err=%v\n%s", err, got)
	}
	got, err = readThroughPacker(t, p, "unassigned.pkr.hcl", `
data "hcp-packer-iteration" "base" {
  bucket_name = "base"
  channel     = "release"
}
`, "${data.hcp-packer-iteration.base.id}")
	if err == nil || !strings.Contains(flat(got), "no iteration associated with the channel") {
		t.Errorf("hcp-packer-iteration of a channel rolled back to nothing: expected Packer to say so, found err=%v\n%s", err, got)
	}
}

func TestPackerFaultsLeaveServiceStates(t *testing.T) {
	t.Parallel()
	t.Run("a build that already exists", func(t *testing.T) {
		s := registry.NewServer(t)
		// The service answers ALREADY_EXISTS only when the build is
		// there: Packer does not run that build, and the version cannot
		// be complete without it.
		f := s.Fail(registry.OpCreateBuild, 409, registry.CodeAlreadyExists, "build exists").Nth(2)
		p := newPackerRun(t, s)
		p.write("two.pkr.hcl", `
source "null" "a" {
  communicator = "none"
}
source "null" "b" {
  communicator = "none"
}
hcp_packer_registry {
  bucket_name = "acc-faults"
}
build {
  sources = ["source.null.a", "source.null.b"]
}
`)
		out, err := p.build("two.pkr.hcl")
		if err != nil {
			t.Fatalf("packer build: %v\n%s", err, out)
		}
		// Packer 1.16 means to skip it quietly, but reports
		// "hcp: failed to start build" (its errors.As misses the
		// pointer) and still exits 0.
		if f.Hits() != 1 || !strings.Contains(out, "build is already done") {
			t.Fatalf("expected one create answered 409 and Packer to skip that build, found %d hits\n%s", f.Hits(), out)
		}
		builds := s.Builds()
		if len(builds) != 2 {
			t.Fatalf("expected both builds in the version (the 409 says the second exists), found %+v", builds)
		}
		v := s.Versions()[0]
		if v.Status == registry.VersionActive || v.Name != registry.IncompleteVersionName {
			t.Errorf("expected the version incomplete, one build never ran; found %s %s", v.Name, v.Status)
		}
		for _, c := range s.Channels() {
			if c.Name == registry.LatestChannel && c.Fingerprint != "" {
				t.Errorf("expected latest not to point at an incomplete version, found %+v", c)
			}
		}
	})

	t.Run("a token error", func(t *testing.T) {
		s := registry.NewServer(t)
		s.Fail(registry.OpToken, 401, registry.CodeUnauthenticated, "service principal disabled")
		p := newPackerRun(t, s)
		p.write("t.pkr.hcl", nullTemplate)
		out, err := p.build("t.pkr.hcl")
		// The OAuth2 client understands the OAuth shape and reports its
		// error code; it would print "cannot fetch token" and the raw body
		// for any other.
		if err == nil || !strings.Contains(out, `oauth2: "invalid_client" "service principal disabled"`) {
			t.Errorf(`expected Packer to fail with oauth2: "invalid_client" "service principal disabled", found err=%v\n%s`, err, out)
		}
		if n := len(s.Buckets()); n != 0 {
			t.Errorf("without a token nothing is published: expected no bucket, found %d", n)
		}
	})
}
