package registry_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/example/packer-plugin-scaffolding/acctest/registry"
)

func TestEnvPointsAtTheServer(t *testing.T) {
	s := registry.NewServer(t)
	env := s.EnvMap()
	want := map[string]string{
		"HCP_CLIENT_ID":       s.ClientID,
		"HCP_CLIENT_SECRET":   s.ClientSecret,
		"HCP_ORGANIZATION_ID": s.OrganizationID,
		"HCP_PROJECT_ID":      s.ProjectID,
		"HCP_API_ADDRESS":     strings.TrimPrefix(s.URL, "http://"),
		"HCP_API_TLS":         "disabled",
		"HCP_AUTH_URL":        s.AuthURL,
		"HCP_AUTH_TLS":        "insecure",
	}
	for k, v := range want {
		if v == "" || env[k] != v {
			t.Errorf("Env %s: expected %q (non-empty), found %q", k, v, env[k])
		}
	}
	if len(env) != len(want) {
		t.Errorf("Env: expected %d variables, found %v", len(want), env)
	}
	if !strings.HasPrefix(s.URL, "http://127.0.0.1:") || !strings.HasPrefix(s.AuthURL, "https://127.0.0.1:") {
		t.Errorf("expected both endpoints on 127.0.0.1, found %s and %s", s.URL, s.AuthURL)
	}
	list := s.Env()
	if !slices.IsSorted(list) || !slices.Contains(list, "HCP_API_TLS=disabled") || len(list) != len(want) {
		t.Errorf("Env: expected sorted NAME=value entries, found %v", list)
	}
}

func TestStartRejectsNonLoopbackAddresses(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", "10.1.2.3:0", "example.com:0", "no-port"} {
		s := registry.NewUnstartedServer()
		s.Addr = addr
		if err := s.Start(); err == nil {
			s.Close()
			t.Errorf("Start with Addr %q: expected an error, found none", addr)
		} else if !strings.Contains(err.Error(), addr) {
			t.Errorf("Start with Addr %q: expected the error to name the address, found %v", addr, err)
		}
	}
}

func TestStartKeepsGivenCredentials(t *testing.T) {
	s := registry.NewUnstartedServer()
	s.ClientID, s.ClientSecret, s.OrganizationID, s.ProjectID = "id", "secret", "org", "proj"
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Start(); err == nil {
		t.Error("second Start: expected an error, found none")
	}
	c := newAPIClient(t, s)
	if c.prefix() != "/packer/2023-01-01/organizations/org/projects/proj" {
		t.Errorf("expected the given organization and project, found %s", c.prefix())
	}
}

func TestCloseTwiceAndRefusesAfterwards(t *testing.T) {
	s := registry.NewServer(t)
	url := s.URL
	s.Close()
	s.Close()
	if resp, err := http.Get(url + "/_emulator/state"); err == nil {
		_ = resp.Body.Close() // unexpected answer: only its status is reported
		t.Errorf("GET after Close: expected a connection error, found status %d", resp.StatusCode)
	}
}

func TestToken(t *testing.T) {
	s := registry.NewServer(t)
	c := newAPIClient(t, s) // Basic auth works, or this fails.

	status, body := c.tokenRequest(s.ClientID, s.ClientSecret, "client_credentials", false)
	if status != http.StatusOK || !strings.Contains(string(body), "access_token") {
		t.Errorf("credentials in the form: expected a token, found %d %s", status, body)
	}
	status, body = c.tokenRequest(s.ClientID, "wrong", "client_credentials", true)
	if status != http.StatusUnauthorized || !strings.Contains(string(body), `"invalid_client"`) {
		t.Errorf("wrong secret: expected 401 invalid_client, found %d %s", status, body)
	}
	status, body = c.tokenRequest(s.ClientID, s.ClientSecret, "password", true)
	if status != http.StatusBadRequest || !strings.Contains(string(body), `"unsupported_grant_type"`) {
		t.Errorf("wrong grant type: expected 400 unsupported_grant_type, found %d %s", status, body)
	}
}

func TestAPIRequiresTokenAndLocation(t *testing.T) {
	s := registry.NewServer(t)
	c := newAPIClient(t, s)
	status, body := c.raw("GET", c.prefix()+"/buckets/abc", nil, "")
	wantError(t, "no token", status, body, http.StatusUnauthorized, registry.CodeUnauthenticated)
	status, body = c.raw("GET", c.prefix()+"/buckets/abc", nil, "made-up")
	wantError(t, "foreign token", status, body, http.StatusUnauthorized, registry.CodeUnauthenticated)
	status, body = c.raw("GET", "/packer/2023-01-01/organizations/other/projects/"+s.ProjectID+"/buckets/abc", nil, c.token)
	wantError(t, "other organization", status, body, http.StatusForbidden, registry.CodePermissionDenied)
	status, body = c.raw("GET", "/packer/2023-01-01/organizations/"+s.OrganizationID+"/projects/other/buckets/abc", nil, c.token)
	wantError(t, "other project", status, body, http.StatusForbidden, registry.CodePermissionDenied)
}

func TestGetRegistry(t *testing.T) {
	c := newAPIClient(t, registry.NewServer(t))
	var got struct {
		Registry *struct {
			ID     string `json:"id"`
			Config struct {
				Activated bool `json:"activated"`
			} `json:"config"`
		} `json:"registry"`
	}
	c.mustCall("GET", "/registry", nil, &got)
	if got.Registry == nil || got.Registry.ID == "" || !got.Registry.Config.Activated {
		t.Errorf("expected an activated registry, found %+v", got.Registry)
	}
}

func TestBuckets(t *testing.T) {
	s := registry.NewServer(t)
	c := newAPIClient(t, s)

	status, body := c.call("GET", "/buckets/web", nil)
	wantError(t, "missing bucket", status, body, http.StatusNotFound, registry.CodeNotFound)

	var created struct{ Bucket wireBucket }
	c.mustCall("PUT", "/buckets", map[string]any{"name": "web", "description": "d1", "labels": map[string]string{"team": "a"}}, &created)
	if created.Bucket.ID == "" || created.Bucket.Name != "web" || created.Bucket.Description != "d1" || created.Bucket.Labels["team"] != "a" {
		t.Errorf("create: expected bucket web with description and labels, found %+v", created.Bucket)
	}
	if created.Bucket.Platforms == nil || created.Bucket.VersionCount != "0" {
		t.Errorf("create: expected an empty platform list and version_count 0, found %+v", created.Bucket)
	}

	status, body = c.call("PUT", "/buckets", map[string]any{"name": "web"})
	wantError(t, "duplicate bucket", status, body, http.StatusConflict, registry.CodeAlreadyExists)
	for _, bad := range []string{"", "ab", "has space", strings.Repeat("x", 37), "under_score"} {
		status, body = c.call("PUT", "/buckets", map[string]any{"name": bad})
		wantError(t, "bucket name "+bad, status, body, http.StatusBadRequest, registry.CodeInvalidArgument)
	}
	status, body = c.call("PUT", "/buckets", "not an object")
	wantError(t, "bad JSON", status, body, http.StatusBadRequest, registry.CodeInvalidArgument)

	// Packer sends the whole wanted state; what it leaves out is cleared.
	var updated struct{ Bucket wireBucket }
	c.mustCall("PATCH", "/buckets/web", map[string]any{"labels": map[string]string{"team": "b"}}, &updated)
	if updated.Bucket.Description != "" || len(updated.Bucket.Labels) != 1 || updated.Bucket.Labels["team"] != "b" {
		t.Errorf("update: expected no description and labels {team: b}, found %+v", updated.Bucket)
	}
	status, body = c.call("PATCH", "/buckets/nope", map[string]any{})
	wantError(t, "update missing bucket", status, body, http.StatusNotFound, registry.CodeNotFound)

	var got struct{ Bucket wireBucket }
	c.mustCall("GET", "/buckets/web", nil, &got)
	if got.Bucket.ID != created.Bucket.ID || got.Bucket.Labels["team"] != "b" {
		t.Errorf("get: expected the updated bucket, found %+v", got.Bucket)
	}
	rec := s.Buckets()
	if len(rec) != 1 || rec[0].Name != "web" || rec[0].Labels["team"] != "b" || rec[0].Description != "" {
		t.Errorf("recorded buckets: expected web with labels {team: b}, found %+v", rec)
	}
}

func TestVersionAndBuildLifecycle(t *testing.T) {
	s := registry.NewServer(t)
	c := newAPIClient(t, s)
	c.mustCall("PUT", "/buckets", map[string]any{"name": "web"}, nil)
	const fp = "01HXYZFINGERPRINT"
	vpath := "/buckets/web/versions/" + fp

	status, body := c.call("GET", vpath, nil)
	wantError(t, "missing version", status, body, http.StatusConflict, registry.CodeAborted)
	status, body = c.call("GET", "/buckets/nope/versions/"+fp, nil)
	wantError(t, "version of missing bucket", status, body, http.StatusNotFound, registry.CodeNotFound)
	status, body = c.call("POST", "/buckets/web/versions", map[string]any{"template_type": "HCL2"})
	wantError(t, "version without fingerprint", status, body, http.StatusBadRequest, registry.CodeInvalidArgument)
	status, body = c.call("POST", "/buckets/web/versions", map[string]any{"fingerprint": fp})
	wantError(t, "version without template type", status, body, http.StatusBadRequest, registry.CodeInvalidArgument)
	status, body = c.call("POST", "/buckets/nope/versions", map[string]any{"fingerprint": fp, "template_type": "HCL2"})
	wantError(t, "version in missing bucket", status, body, http.StatusNotFound, registry.CodeNotFound)

	var created struct{ Version wireVersion }
	c.mustCall("POST", "/buckets/web/versions", map[string]any{"fingerprint": fp, "template_type": "HCL2"}, &created)
	v := created.Version
	if v.ID == "" || v.Name != "v0" || v.Status == nil || *v.Status != "VERSION_RUNNING" || v.Fingerprint != fp || v.TemplateType != "HCL2" || v.Builds == nil {
		t.Fatalf("create version: expected an incomplete version v0, VERSION_RUNNING, with an empty build list, found %+v", v)
	}
	status, body = c.call("POST", "/buckets/web/versions", map[string]any{"fingerprint": fp, "template_type": "HCL2"})
	wantError(t, "duplicate version", status, body, http.StatusConflict, registry.CodeAlreadyExists)

	bpath := vpath + "/builds"
	status, body = c.call("POST", bpath, map[string]any{"status": "BUILD_UNSET"})
	wantError(t, "build without component type", status, body, http.StatusBadRequest, registry.CodeInvalidArgument)
	status, body = c.call("POST", bpath, map[string]any{"component_type": "docker.a"})
	wantError(t, "build without status", status, body, http.StatusBadRequest, registry.CodeInvalidArgument)
	status, body = c.call("POST", bpath, map[string]any{"component_type": "docker.a", "status": "BUILD_WHATEVER"})
	wantError(t, "build with bad status", status, body, http.StatusBadRequest, registry.CodeInvalidArgument)
	status, body = c.call("POST", "/buckets/web/versions/other/builds", map[string]any{"component_type": "docker.a", "status": "BUILD_UNSET"})
	wantError(t, "build in missing version", status, body, http.StatusNotFound, registry.CodeNotFound)

	ids := map[string]string{}
	for _, comp := range []string{"docker.a", "docker.b"} {
		var b struct{ Build wireBuild }
		c.mustCall("POST", bpath, map[string]any{"component_type": comp, "status": "BUILD_UNSET", "packer_run_uuid": "run-1"}, &b)
		if b.Build.ID == "" || b.Build.Status == nil || *b.Build.Status != "BUILD_UNSET" || b.Build.VersionID != v.ID || b.Build.Artifacts == nil {
			t.Fatalf("create build %s: expected id, status BUILD_UNSET, the version id and an artifact list, found %+v", comp, b.Build)
		}
		ids[comp] = b.Build.ID
	}
	status, body = c.call("POST", bpath, map[string]any{"component_type": "docker.a", "status": "BUILD_UNSET"})
	wantError(t, "duplicate build", status, body, http.StatusConflict, registry.CodeAlreadyExists)

	var list struct{ Builds []wireBuild }
	c.mustCall("GET", bpath, nil, &list)
	if len(list.Builds) != 2 {
		t.Errorf("list builds: expected 2, found %d", len(list.Builds))
	}

	a := bpath + "/" + ids["docker.a"]
	status, body = c.call("PATCH", bpath+"/nope", map[string]any{"status": "BUILD_RUNNING"})
	wantError(t, "update missing build", status, body, http.StatusNotFound, registry.CodeNotFound)
	status, body = c.call("PATCH", a, map[string]any{"platform": "docker"})
	wantError(t, "update without status", status, body, http.StatusBadRequest, registry.CodeInvalidArgument)
	c.mustCall("PATCH", a, map[string]any{"status": "BUILD_RUNNING"}, nil)
	c.mustCall("PATCH", a, map[string]any{"status": "BUILD_RUNNING", "artifacts": nil}, nil) // a heartbeat
	status, body = c.call("PATCH", a, map[string]any{"status": "BUILD_DONE"})
	wantError(t, "done without artifacts", status, body, http.StatusBadRequest, registry.CodeInvalidArgument)
	status, body = c.call("PATCH", a, map[string]any{"status": "BUILD_DONE", "artifacts": []map[string]string{{"region": "eu"}}})
	wantError(t, "artifact without id", status, body, http.StatusBadRequest, registry.CodeInvalidArgument)

	var done struct{ Build wireBuild }
	c.mustCall("PATCH", a, map[string]any{
		"status":                     "BUILD_DONE",
		"platform":                   "docker",
		"labels":                     map[string]string{"os": "linux"},
		"source_external_identifier": "sha256:src",
		"parent_version_id":          "parent-v",
		"parent_channel_id":          "parent-c",
		"metadata":                   map[string]any{"packer": map[string]any{"version": "1.16.0"}},
		"artifacts":                  []map[string]string{{"external_identifier": "img-1", "region": "eu-1"}, {"external_identifier": "img-2", "region": "us-1"}},
	}, &done)
	if len(done.Build.Artifacts) != 2 || done.Build.Artifacts[1].ExternalIdentifier != "img-2" || done.Build.Artifacts[1].ID == "" || done.Build.Artifacts[1].CreatedAt == "" {
		t.Errorf("done: expected two artifacts with ids and times, found %+v", done.Build.Artifacts)
	}
	status, body = c.call("PATCH", a, map[string]any{"status": "BUILD_FAILED"})
	wantError(t, "update a done build", status, body, http.StatusBadRequest, registry.CodeFailedPrecondition)

	// One build done, the other never started: incomplete.
	var mid struct{ Version wireVersion }
	c.mustCall("GET", vpath, nil, &mid)
	if mid.Version.Name != "v0" || *mid.Version.Status != "VERSION_INCOMPLETE" {
		t.Errorf("half done: expected v0 VERSION_INCOMPLETE, found %s %s", mid.Version.Name, *mid.Version.Status)
	}

	b := bpath + "/" + ids["docker.b"]
	c.mustCall("PATCH", b, map[string]any{"status": "BUILD_RUNNING"}, nil)
	c.mustCall("PATCH", b, map[string]any{"status": "BUILD_DONE", "platform": "docker", "artifacts": []map[string]string{{"external_identifier": "img-3", "region": "eu-1"}}}, nil)

	var end struct{ Version wireVersion }
	c.mustCall("GET", vpath, nil, &end)
	if end.Version.Name != "v1" || *end.Version.Status != "VERSION_ACTIVE" || len(end.Version.Builds) != 2 {
		t.Errorf("all done: expected v1 VERSION_ACTIVE with 2 builds, found %+v", end.Version)
	}
	status, body = c.call("POST", bpath, map[string]any{"component_type": "docker.c", "status": "BUILD_UNSET"})
	wantError(t, "build in complete version", status, body, http.StatusBadRequest, registry.CodeFailedPrecondition)

	var single struct{ Build wireBuild }
	c.mustCall("GET", a, nil, &single)
	if single.Build.ID != ids["docker.a"] || single.Build.SourceExternalIdentifier != "sha256:src" {
		t.Errorf("get build: expected docker.a with its source, found %+v", single.Build)
	}

	builds := s.Builds()
	if len(builds) != 2 {
		t.Fatalf("recorded builds: expected 2, found %d", len(builds))
	}
	got := builds[0]
	wantHistory := []registry.BuildStatus{registry.BuildUnset, registry.BuildRunning, registry.BuildDone}
	if !slices.Equal(got.StatusHistory, wantHistory) {
		t.Errorf("status history: expected %v (heartbeats not repeated), found %v", wantHistory, got.StatusHistory)
	}
	if got.ComponentType != "docker.a" || got.Platform != "docker" || got.Labels["os"] != "linux" || got.PackerRunUUID != "run-1" ||
		got.SourceExternalID != "sha256:src" || got.ParentVersionID != "parent-v" || got.ParentChannelID != "parent-c" ||
		!strings.Contains(string(got.Metadata), "1.16.0") || got.Fingerprint != fp || got.Bucket != "web" {
		t.Errorf("recorded build: expected every field Packer sent, found %+v", got)
	}
	if len(got.Artifacts) != 2 || got.Artifacts[0].ExternalID != "img-1" || got.Artifacts[0].Region != "eu-1" {
		t.Errorf("recorded artifacts: expected img-1/eu-1 and img-2/us-1, found %+v", got.Artifacts)
	}

	// The bucket now shows its latest version and platforms.
	var bucket struct{ Bucket wireBucket }
	c.mustCall("GET", "/buckets/web", nil, &bucket)
	if bucket.Bucket.LatestVersion == nil || bucket.Bucket.LatestVersion.Fingerprint != fp || !slices.Equal(bucket.Bucket.Platforms, []string{"docker"}) || bucket.Bucket.VersionCount != "1" {
		t.Errorf("bucket after completion: expected latest version %s on platform docker, found %+v", fp, bucket.Bucket)
	}

	// A second complete version is v2 and moves "latest".
	seedVersion(c, "web", "second", "docker.a")
	versions := s.Versions()
	if len(versions) != 2 || versions[1].Name != "v2" || versions[1].Status != registry.VersionActive {
		t.Errorf("second version: expected v2 VERSION_ACTIVE, found %+v", versions)
	}
	channels := s.Channels()
	if len(channels) != 1 || channels[0].Name != registry.LatestChannel || !channels[0].Managed ||
		channels[0].Fingerprint != "second" || !slices.Equal(channels[0].History, []string{fp, "second"}) {
		t.Errorf("latest channel: expected managed, at second after %s, found %+v", fp, channels)
	}
}

func TestVersionStatusFollowsBuilds(t *testing.T) {
	for _, tc := range []struct {
		final []string
		want  registry.VersionStatus
	}{
		{[]string{"BUILD_FAILED", "BUILD_DONE"}, registry.VersionFailed},
		{[]string{"BUILD_CANCELLED", "BUILD_DONE"}, registry.VersionCancelled},
		{[]string{"BUILD_RUNNING", "BUILD_FAILED"}, registry.VersionRunning},
		{[]string{"BUILD_UNSET", "BUILD_DONE"}, registry.VersionIncomplete},
		{[]string{"BUILD_UNSET", "BUILD_UNSET"}, registry.VersionIncomplete},
		{[]string{"BUILD_UNSET", "BUILD_RUNNING"}, registry.VersionRunning},
	} {
		s := registry.NewServer(t)
		c := newAPIClient(t, s)
		c.mustCall("PUT", "/buckets", map[string]any{"name": "web"}, nil)
		c.mustCall("POST", "/buckets/web/versions", map[string]any{"fingerprint": "fp", "template_type": "JSON"}, nil)
		for i, st := range tc.final {
			var b struct{ Build wireBuild }
			c.mustCall("POST", "/buckets/web/versions/fp/builds", map[string]any{"component_type": string(rune('a' + i)), "status": "BUILD_UNSET"}, &b)
			body := map[string]any{"status": st}
			if st == "BUILD_DONE" {
				body["artifacts"] = []map[string]string{{"external_identifier": "x"}}
			}
			c.mustCall("PATCH", "/buckets/web/versions/fp/builds/"+b.Build.ID, body, nil)
		}
		v := s.Versions()[0]
		if v.Status != tc.want || v.Name != "v0" {
			t.Errorf("builds %v: expected version v0 %s, found %s %s", tc.final, tc.want, v.Name, v.Status)
		}
	}
}

func TestChannels(t *testing.T) {
	s := registry.NewServer(t)
	c := newAPIClient(t, s)
	seedVersion(c, "base", "fp1", "docker.a", "docker.b")

	status, body := c.call("GET", "/buckets/base/channels/prod", nil)
	wantError(t, "missing channel", status, body, http.StatusNotFound, registry.CodeNotFound)
	status, body = c.call("GET", "/buckets/nope/channels/latest", nil)
	wantError(t, "channel of missing bucket", status, body, http.StatusNotFound, registry.CodeNotFound)

	// hcp-packer-artifact reads the builds and artifacts nested in the
	// channel's version.
	var latest struct{ Channel wireChannel }
	c.mustCall("GET", "/buckets/base/channels/latest", nil, &latest)
	ch := latest.Channel
	if ch.ID == "" || !ch.Managed || ch.Version == nil || ch.Version.Fingerprint != "fp1" || *ch.Version.Status != "VERSION_ACTIVE" {
		t.Fatalf("latest: expected a managed channel at fp1, found %+v", ch)
	}
	if len(ch.Version.Builds) != 2 || ch.Version.Builds[1].Platform != "docker" || len(ch.Version.Builds[1].Artifacts) != 1 ||
		ch.Version.Builds[1].Artifacts[0].ExternalIdentifier != "img-docker.b" || ch.Version.Builds[1].Artifacts[0].Region != "eu-1" {
		t.Errorf("latest: expected the version's builds with their artifacts, found %+v", ch.Version.Builds)
	}

	mask := map[string]any{"version_fingerprint": "fp1", "update_mask": "versionFingerprint"}
	status, body = c.call("PATCH", "/buckets/base/channels/prod", mask)
	wantError(t, "assign missing channel", status, body, http.StatusNotFound, registry.CodeNotFound)
	status, body = c.call("PATCH", "/buckets/base/channels/latest", mask)
	wantError(t, "assign managed channel", status, body, http.StatusBadRequest, registry.CodeFailedPrecondition)

	if err := s.SetChannel("base", "prod", ""); err != nil {
		t.Fatal(err)
	}
	var unassigned struct{ Channel wireChannel }
	c.mustCall("GET", "/buckets/base/channels/prod", nil, &unassigned)
	if unassigned.Channel.Version != nil || unassigned.Channel.Managed {
		t.Errorf("new channel: expected no version and not managed, found %+v", unassigned.Channel)
	}
	status, body = c.call("PATCH", "/buckets/base/channels/prod", map[string]any{"version_fingerprint": "fp1"})
	wantError(t, "assign without mask", status, body, http.StatusBadRequest, registry.CodeInvalidArgument)
	status, body = c.call("PATCH", "/buckets/base/channels/prod", map[string]any{"version_fingerprint": "nope", "update_mask": "versionFingerprint"})
	wantError(t, "assign missing version", status, body, http.StatusNotFound, registry.CodeNotFound)
	c.mustCall("POST", "/buckets/base/versions", map[string]any{"fingerprint": "open", "template_type": "HCL2"}, nil)
	status, body = c.call("PATCH", "/buckets/base/channels/prod", map[string]any{"version_fingerprint": "open", "update_mask": "versionFingerprint"})
	wantError(t, "assign incomplete version", status, body, http.StatusBadRequest, registry.CodeFailedPrecondition)

	var assigned struct{ Channel wireChannel }
	c.mustCall("PATCH", "/buckets/base/channels/prod", mask, &assigned)
	if assigned.Channel.Version == nil || assigned.Channel.Version.Fingerprint != "fp1" {
		t.Errorf("assign: expected prod at fp1, found %+v", assigned.Channel)
	}
	c.mustCall("PATCH", "/buckets/base/channels/prod", map[string]any{"restricted": true, "update_mask": "restricted"}, &assigned)
	if !assigned.Channel.Restricted || assigned.Channel.Version == nil {
		t.Errorf("restrict: expected a restricted channel still at fp1, found %+v", assigned.Channel)
	}

	// SetChannel accepts what the API refuses, for test setups.
	if err := s.SetChannel("base", "prod", "open"); err != nil {
		t.Errorf("SetChannel to an incomplete version: %v", err)
	}
	for _, bad := range [][3]string{{"nope", "prod", ""}, {"base", "", ""}, {"base", "prod", "missing"}} {
		if err := s.SetChannel(bad[0], bad[1], bad[2]); err == nil {
			t.Errorf("SetChannel%q: expected an error, found none", bad)
		}
	}
	var prod registry.Channel
	for _, ch := range s.Channels() {
		if ch.Name == "prod" {
			prod = ch
		}
	}
	if prod.Fingerprint != "open" || !slices.Equal(prod.History, []string{"fp1", "open"}) || !prod.Restricted {
		t.Errorf("recorded prod channel: expected at open after fp1, restricted, found %+v", prod)
	}
}

func TestRevokeVersion(t *testing.T) {
	s := registry.NewServer(t)
	c := newAPIClient(t, s)
	seedVersion(c, "base", "fp1", "docker.a")
	if err := s.RevokeVersion("base", "fp1"); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeVersion("base", "nope"); err == nil {
		t.Error("RevokeVersion of a missing version: expected an error, found none")
	}
	var got struct{ Version wireVersion }
	c.mustCall("GET", "/buckets/base/versions/fp1", nil, &got)
	if got.Version.Status == nil || *got.Version.Status != "VERSION_REVOKED" {
		t.Errorf("expected the version revoked, found %+v", got.Version)
	}
	// It was the only version: "latest" has nothing left to point at.
	var latest struct{ Channel wireChannel }
	c.mustCall("GET", "/buckets/base/channels/latest", nil, &latest)
	if latest.Channel.Version != nil {
		t.Errorf("expected latest unassigned, found %+v", latest.Channel.Version)
	}
	if err := s.SetChannel("base", "prod", ""); err != nil {
		t.Fatal(err)
	}
	status, body := c.call("PATCH", "/buckets/base/channels/prod", map[string]any{"version_fingerprint": "fp1", "update_mask": "versionFingerprint"})
	wantError(t, "assign revoked version", status, body, http.StatusBadRequest, registry.CodeFailedPrecondition)
}

func TestEnforcedBlocks(t *testing.T) {
	s := registry.NewServer(t)
	c := newAPIClient(t, s)
	status, body := c.call("GET", "/enforced_blocks/bucket/base", nil)
	wantError(t, "blocks of missing bucket", status, body, http.StatusNotFound, registry.CodeNotFound)

	if err := s.AddEnforcedBlock("base", "audit", "x"); err == nil {
		t.Error("AddEnforcedBlock to a missing bucket: expected an error, found none")
	}
	if err := s.AddBucket("base"); err != nil {
		t.Fatal(err)
	}
	if err := s.AddBucket("base"); err == nil {
		t.Error("AddBucket twice: expected an error, found none")
	}
	if err := s.AddBucket("a"); err == nil {
		t.Error("AddBucket with a too short name: expected an error, found none")
	}
	if err := s.AddEnforcedBlock("base", "", "x"); err == nil {
		t.Error("AddEnforcedBlock without a name: expected an error, found none")
	}

	var none struct {
		Detail []any `json:"enforced_block_detail"`
	}
	c.mustCall("GET", "/enforced_blocks/bucket/base", nil, &none)
	if none.Detail == nil || len(none.Detail) != 0 {
		t.Errorf("no blocks: expected an empty list (not null), found %v", none.Detail)
	}

	content := `provisioner "shell-local" { inline = ["echo audit"] }`
	if err := s.AddEnforcedBlock("base", "audit", content); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Detail []struct {
			ID      string `json:"id"`
			Name    string `json:"name"`
			Version *struct {
				ID           string `json:"id"`
				BlockContent string `json:"block_content"`
				TemplateType string `json:"template_type"`
			} `json:"version"`
		} `json:"enforced_block_detail"`
	}
	c.mustCall("GET", "/enforced_blocks/bucket/base", nil, &got)
	if len(got.Detail) != 1 || got.Detail[0].Name != "audit" || got.Detail[0].Version == nil ||
		got.Detail[0].Version.BlockContent != content || got.Detail[0].Version.TemplateType != "HCL2" {
		t.Errorf("expected block audit with its content, found %+v", got.Detail)
	}
	if eb := s.EnforcedBlocks(); len(eb) != 1 || eb[0].Bucket != "base" {
		t.Errorf("recorded enforced blocks: expected audit on base, found %+v", eb)
	}
}

func TestUploadSbom(t *testing.T) {
	s := registry.NewServer(t)
	c := newAPIClient(t, s)
	c.mustCall("PUT", "/buckets", map[string]any{"name": "web"}, nil)
	c.mustCall("POST", "/buckets/web/versions", map[string]any{"fingerprint": "fp", "template_type": "HCL2"}, nil)
	var b struct{ Build wireBuild }
	c.mustCall("POST", "/buckets/web/versions/fp/builds", map[string]any{"component_type": "a", "status": "BUILD_UNSET"}, &b)
	path := "/buckets/web/versions/fp/builds/" + b.Build.ID + "/sboms"

	status, body := c.call("PUT", path, map[string]any{"name": "s", "format": "XML", "compressed_sbom": "aGk="})
	wantError(t, "unknown format", status, body, http.StatusBadRequest, registry.CodeInvalidArgument)
	status, body = c.call("PUT", path, map[string]any{"name": "s", "format": "SPDX", "compressed_sbom": "!!"})
	wantError(t, "bad base64", status, body, http.StatusBadRequest, registry.CodeInvalidArgument)
	c.mustCall("PUT", path, map[string]any{"name": "s", "format": "SPDX", "compressed_sbom": "aGVsbG8="}, nil)
	sboms := s.Builds()[0].SBOMs
	if len(sboms) != 1 || sboms[0].Name != "s" || sboms[0].Format != "SPDX" || sboms[0].Size != 5 {
		t.Errorf("expected SBOM s, SPDX, 5 bytes, found %+v", sboms)
	}
}

func TestUnknownRoutesAreRecorded(t *testing.T) {
	s := registry.NewServer(t)
	c := newAPIClient(t, s)
	status, body := c.call("GET", "/buckets/web/versions", nil) // ListVersions: not emulated
	wantError(t, "unknown route", status, body, http.StatusNotFound, registry.CodeNotFound)
	status, body = c.call("DELETE", "/buckets/web", nil) // known path, other method
	wantError(t, "unknown method", status, body, http.StatusNotFound, registry.CodeNotFound)
	status, body = c.raw("GET", "/somewhere/else", nil, "")
	wantError(t, "unknown path", status, body, http.StatusNotFound, registry.CodeNotFound)

	var unknown []string
	for _, r := range s.Requests() {
		if r.Op == registry.OpUnknown {
			unknown = append(unknown, r.Method+" "+r.Path)
		}
	}
	want := []string{"GET " + c.prefix() + "/buckets/web/versions", "DELETE " + c.prefix() + "/buckets/web", "GET /somewhere/else"}
	if !slices.Equal(unknown, want) {
		t.Errorf("expected unknown requests %q, found %q", want, unknown)
	}
}

func TestRequestsAreRecordedInOrder(t *testing.T) {
	s := registry.NewServer(t)
	var hooked []registry.Op
	c := newAPIClient(t, s)
	c.mustCall("PUT", "/buckets", map[string]any{"name": "web"}, nil)
	c.call("GET", "/buckets/web/versions/fp", nil)

	reqs := s.Requests()
	if len(reqs) != 3 {
		t.Fatalf("expected 3 requests (token, create, get), found %d", len(reqs))
	}
	for i, r := range reqs {
		if r.Seq != i+1 || r.Time.IsZero() {
			t.Errorf("request %d: expected Seq %d and a time, found %d %v", i, i+1, r.Seq, r.Time)
		}
		hooked = append(hooked, r.Op)
	}
	if want := []registry.Op{registry.OpToken, registry.OpCreateBucket, registry.OpGetVersion}; !slices.Equal(hooked, want) {
		t.Errorf("expected ops %v, found %v", want, hooked)
	}
	create, get := reqs[1], reqs[2]
	if create.Method != "PUT" || create.Status != 200 || !strings.Contains(create.Body, `"name":"web"`) ||
		!strings.HasPrefix(create.Header.Get("Authorization"), "Bearer ") {
		t.Errorf("create request: expected PUT, 200, the body and the token, found %+v", create)
	}
	if get.Status != http.StatusConflict || get.Params["bucket"] != "web" || get.Params["fingerprint"] != "fp" {
		t.Errorf("get request: expected 409 with bucket and fingerprint params, found %+v", get)
	}

	// Snapshots are copies.
	reqs[1].Params["bucket"] = "changed"
	if s.Requests()[1].Params["bucket"] == "changed" {
		t.Error("Requests: expected a copy, found the server's own record changed")
	}
}

func TestOnRequestSeesEveryAnswer(t *testing.T) {
	s := registry.NewUnstartedServer()
	got := make(chan registry.Request, 10)
	s.OnRequest = func(r registry.Request) { got <- r }
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c := newAPIClient(t, s)
	c.call("GET", "/buckets/web", nil)
	for _, want := range []struct {
		op     registry.Op
		status int
	}{{registry.OpToken, 200}, {registry.OpGetBucket, 404}} {
		r := <-got
		if r.Op != want.op || r.Status != want.status {
			t.Errorf("OnRequest: expected %s answered %d, found %s answered %d", want.op, want.status, r.Op, r.Status)
		}
	}
}

func TestStateEndpoint(t *testing.T) {
	s := registry.NewServer(t)
	c := newAPIClient(t, s)
	seedVersion(c, "web", "fp", "docker.a")
	var st registry.State
	status, body := c.raw("GET", "/_emulator/state", nil, "")
	if status != http.StatusOK {
		t.Fatalf("state: expected 200, found %d %s", status, body)
	}
	decodeInto(t, body, &st)
	if len(st.Buckets) != 1 || len(st.Versions) != 1 || len(st.Builds) != 1 || len(st.Channels) != 1 || len(st.Requests) == 0 {
		t.Errorf("state: expected one bucket, version, build and channel and the requests, found %s", body)
	}
	for _, r := range st.Requests {
		if r.Path == "/_emulator/state" {
			t.Error("state: expected its own requests left out of the record, found one")
		}
	}
}
