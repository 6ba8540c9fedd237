package acctest

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/example/packer-plugin-scaffolding/acctest/registry"
)

// registryFeed drives a registry emulator through its HTTP API the way
// Packer does, so the registry checks can be tested without Packer.
type registryFeed struct {
	t     *testing.T
	s     *registry.Server
	token string
}

func newRegistryFeed(t *testing.T) *registryFeed {
	t.Helper()
	s := registry.NewServer(t)
	f := &registryFeed{t: t, s: s}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	form := url.Values{"grant_type": {"client_credentials"}}
	req, _ := http.NewRequest("POST", s.AuthURL+"/oauth2/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(s.ClientID, s.ClientSecret)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	// Response bodies here are only read: a Close error would say nothing
	// about the registry, so it is dropped.
	defer func() { _ = resp.Body.Close() }()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || tok.AccessToken == "" {
		t.Fatalf("token: %v", err)
	}
	f.token = tok.AccessToken
	return f
}

func (f *registryFeed) call(method, path string, body any) []byte {
	f.t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, f.s.URL+"/packer/2023-01-01/organizations/"+f.s.OrganizationID+"/projects/"+f.s.ProjectID+path, bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+f.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		f.t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, out)
	}
	return out
}

// build runs one build of component in a new version of bucket and ends it
// with final; done builds publish the given update fields.
func (f *registryFeed) build(bucket, fingerprint, component string, final registry.BuildStatus, done map[string]any) {
	f.t.Helper()
	if len(f.s.Buckets()) == 0 || !hasBucket(f.s, bucket) {
		f.call("PUT", "/buckets", map[string]any{"name": bucket})
	}
	f.call("POST", "/buckets/"+bucket+"/versions", map[string]any{"fingerprint": fingerprint, "template_type": "HCL2"})
	base := "/buckets/" + bucket + "/versions/" + fingerprint + "/builds"
	var created struct {
		Build struct {
			ID string `json:"id"`
		} `json:"build"`
	}
	if err := json.Unmarshal(f.call("POST", base, map[string]any{"component_type": component, "status": "BUILD_UNSET"}), &created); err != nil {
		f.t.Fatal(err)
	}
	f.call("PATCH", base+"/"+created.Build.ID, map[string]any{"status": "BUILD_RUNNING"})
	body := map[string]any{"status": string(final)}
	if final == registry.BuildDone {
		for k, v := range done {
			body[k] = v
		}
	}
	f.call("PATCH", base+"/"+created.Build.ID, body)
}

func hasBucket(s *registry.Server, name string) bool {
	for _, b := range s.Buckets() {
		if b.Name == name {
			return true
		}
	}
	return false
}

// result is a Result of a run whose registry is the feed's server.
func (f *registryFeed) result() *Result {
	return &Result{Step: 1, run: &Run{registry: registryAttachment{handle: f.s}}}
}

// scenario: a parent image in bucket base (published on channel release),
// a child built from it in bucket app, and a failed build in bucket broken.
func scenario(t *testing.T) (*registryFeed, *Result) {
	f := newRegistryFeed(t)
	f.build("base", "fp-base", "scaffolding.base", registry.BuildDone, map[string]any{
		"platform":  "scaffolding",
		"labels":    map[string]string{"os": "alpine", "team": "img"},
		"artifacts": []map[string]string{{"external_identifier": "sha256:aaa", "region": "eu-1"}, {"external_identifier": "sha256:aaa", "region": "us-1"}},
	})
	if err := f.s.SetChannel("base", "release", "fp-base"); err != nil {
		t.Fatal(err)
	}
	var baseVersion registry.Version
	var release registry.Channel
	for _, v := range f.s.Versions() {
		baseVersion = v
	}
	for _, c := range f.s.Channels() {
		if c.Name == "release" {
			release = c
		}
	}
	f.build("app", "fp-app", "scaffolding.app", registry.BuildDone, map[string]any{
		"platform":                   "scaffolding",
		"source_external_identifier": "sha256:aaa",
		"parent_version_id":          baseVersion.ID,
		"parent_channel_id":          release.ID,
		"artifacts":                  []map[string]string{{"external_identifier": "sha256:bbb", "region": "eu-1"}},
	})
	f.build("broken", "fp-broken", "scaffolding.broken", registry.BuildFailed, nil)
	return f, f.result()
}

func TestRegistryChecksPass(t *testing.T) {
	_, r := scenario(t)
	checks := []Check{
		RegistryBucketExists("base"),
		RegistryVersionStatus("base", registry.VersionActive),
		RegistryVersionStatus("broken", registry.VersionFailed),
		RegistryBuildStatus("scaffolding.app", registry.BuildDone),
		RegistryBuildHistory("scaffolding.broken", registry.BuildUnset, registry.BuildRunning, registry.BuildFailed),
		RegistryBuildPlatform("scaffolding.base", "scaffolding"),
		RegistryArtifact("sha256:aaa", "us-1"),
		RegistryArtifactCount("scaffolding.base", 2),
		RegistryBuildLabels("scaffolding.base", map[string]string{"os": "alpine"}),
		RegistrySourceExternalID("scaffolding.app", "sha256:aaa"),
		RegistryParentVersion("scaffolding.app", "base", ""),
		RegistryParentVersion("scaffolding.app", "base", "release"),
		RegistryChannel("base", "release"),
		RegistryChannel("app", registry.LatestChannel),
		RegistryNoUnknownCalls(),
	}
	if err := ComposeChecks(checks...).Check(r); err != nil {
		t.Errorf("expected every check to pass, found:\n%v", err)
	}
}

func TestRegistryChecksFail(t *testing.T) {
	f, r := scenario(t)
	// A later version of base that the release channel does not follow.
	f.build("base", "fp-base-2", "scaffolding.base", registry.BuildDone, map[string]any{
		"artifacts": []map[string]string{{"external_identifier": "sha256:ccc", "region": "eu-1"}},
	})
	if err := f.s.SetChannel("app", "empty", ""); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(f.s.URL + "/packer/2023-01-01/something/new")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close() // only the recorded request matters

	for _, tc := range []struct {
		check Check
		want  string
	}{
		{RegistryBucketExists("nope"), `expected bucket "nope" in the registry, found base, app, broken`},
		{RegistryVersionStatus("broken", registry.VersionActive), `expected version v0 (fp-broken) of bucket "broken" to be VERSION_ACTIVE, found VERSION_FAILED`},
		{RegistryVersionStatus("nope", registry.VersionActive), `expected a version in bucket "nope", found none`},
		{RegistryBuildStatus("scaffolding.broken", registry.BuildDone), `expected build "scaffolding.broken" to be BUILD_DONE, found BUILD_FAILED`},
		{RegistryBuildStatus("scaffolding.nope", registry.BuildDone), `expected a build of component "scaffolding.nope" in the registry, found base/scaffolding.base`},
		{RegistryBuildHistory("scaffolding.app", registry.BuildRunning, registry.BuildDone), `expected build "scaffolding.app" to go through [BUILD_RUNNING BUILD_DONE], found [BUILD_UNSET BUILD_RUNNING BUILD_DONE]`},
		// The most recent build of the component is the one checked.
		{RegistryBuildPlatform("scaffolding.base", "scaffolding"), `expected build "scaffolding.base" on platform "scaffolding", found ""`},
		{RegistryArtifact("sha256:aaa", "ap-1"), `expected artifact sha256:aaa in region "ap-1" in the registry, found sha256:aaa in "eu-1" (scaffolding.base)`},
		{RegistryArtifactCount("scaffolding.app", 2), `expected 2 artifact(s) for build "scaffolding.app", found 1: sha256:bbb in "eu-1"`},
		{RegistryBuildLabels("scaffolding.app", map[string]string{"os": "alpine"}), `expected build "scaffolding.app" to have labels {os="alpine"}, found {} (wrong or missing: os)`},
		{RegistrySourceExternalID("scaffolding.base", "sha256:zzz"), `expected build "scaffolding.base" to come from source image "sha256:zzz", found ""`},
		{RegistryParentVersion("scaffolding.base", "base", ""), `expected build "scaffolding.base" to have a parent version in bucket "base", found none`},
		{RegistryParentVersion("scaffolding.app", "broken", ""), `expected build "scaffolding.app" to have a parent version in bucket "broken", found v1 of bucket "base"`},
		{RegistryParentVersion("scaffolding.app", "base", "latest"), `expected build "scaffolding.app" to have parent channel "latest" of bucket "base"`},
		{RegistryParentVersion("scaffolding.app", "base", "gone"), `expected channel "gone" in bucket "base" for the parent of build "scaffolding.app", found no such channel`},
		{RegistryChannel("base", "release"), `expected channel "release" of bucket "base" at version v2 (fp-base-2), found fp-base`},
		{RegistryChannel("app", "empty"), `expected channel "empty" of bucket "app" at version v1 (fp-app), found none`},
		{RegistryChannel("app", "nope"), `expected channel "nope" in bucket "app", found channels latest, empty`},
		{RegistryNoUnknownCalls(), `expected only emulated registry calls, found 1 unknown: GET /packer/2023-01-01/something/new`},
	} {
		err := tc.check.Check(r)
		if err == nil {
			t.Errorf("%s: expected an error, found none", checkName(tc.check))
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s:\nexpected an error containing %s\nfound %s", checkName(tc.check), tc.want, err)
		}
	}
}

func TestRegistryChecksWithoutRegistry(t *testing.T) {
	r := &Result{Step: 1, run: &Run{}}
	for _, c := range []Check{
		RegistryBucketExists("x"), RegistryVersionStatus("x", registry.VersionActive),
		RegistryBuildStatus("x", registry.BuildDone), RegistryBuildHistory("x"),
		RegistryBuildPlatform("x", "y"), RegistryArtifact("x", "y"), RegistryArtifactCount("x", 1),
		RegistryBuildLabels("x", nil), RegistrySourceExternalID("x", "y"),
		RegistryParentVersion("x", "y", ""), RegistryChannel("x", "y"), RegistryNoUnknownCalls(),
	} {
		if err := c.Check(r); err == nil || !strings.Contains(err.Error(), "set Case.Registry") {
			t.Errorf("%s without a registry: expected an error naming Case.Registry, found %v", checkName(c), err)
		}
	}
	if (&Result{}).Registry() != nil {
		t.Error("Registry of a parsed-only Result: expected nil")
	}
}

func TestRegistryCheckNames(t *testing.T) {
	for _, tc := range []struct {
		check Check
		want  string
	}{
		{RegistryBuildLabels("a.b", map[string]string{"z": "1", "a": "2"}), `RegistryBuildLabels("a.b", {a="2", z="1"})`},
		{RegistryBuildHistory("a.b", registry.BuildUnset, registry.BuildDone), `RegistryBuildHistory("a.b", [BUILD_UNSET BUILD_DONE])`},
		{RegistryParentVersion("a.b", "base", "prod"), `RegistryParentVersion("a.b", "base", "prod")`},
	} {
		if got := checkName(tc.check); got != tc.want {
			t.Errorf("expected name %s, found %s", tc.want, got)
		}
	}
}

func TestRegistryHookStartsOneServerPerRun(t *testing.T) {
	a, err := startRegistry(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := startRegistry(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	sa, sb := a.handle.(*registry.Server), b.handle.(*registry.Server)
	if sa == sb || sa.URL == sb.URL {
		t.Error("expected each run to get its own registry")
	}
	env := a.env(0)
	if env["HCP_API_ADDRESS"] != strings.TrimPrefix(sa.URL, "http://") || env["HCP_CLIENT_ID"] != sa.ClientID {
		t.Errorf("expected the env to point at the run's registry, found %v", env)
	}
	for k := range env {
		if harnessEnv[k] {
			t.Errorf("expected the registry env to leave harness variables alone, found %s", k)
		}
	}
}
