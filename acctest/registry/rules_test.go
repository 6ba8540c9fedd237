package registry_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/example/packer-plugin-scaffolding/acctest/registry"
)

func TestEnvWithoutLocation(t *testing.T) {
	s := registry.NewServer(t)
	env := s.EnvWithoutLocation()
	if len(env) != len(s.Env())-2 {
		t.Errorf("expected Env less two variables, found %v", env)
	}
	for _, kv := range env {
		if strings.HasPrefix(kv, "HCP_ORGANIZATION_ID=") || strings.HasPrefix(kv, "HCP_PROJECT_ID=") {
			t.Errorf("expected no organization or project, found %s", kv)
		}
	}
}

func TestResourceManagerLookups(t *testing.T) {
	s := registry.NewServer(t)
	c := newAPIClient(t, s)
	const rm = "/resource-manager/2019-12-10"

	status, body := c.raw("GET", rm+"/organizations", nil, "")
	wantError(t, "organizations without a token", status, body, http.StatusUnauthorized, registry.CodeUnauthenticated)

	var raw struct {
		Organizations []map[string]any `json:"organizations"`
	}
	status, body = c.raw("GET", rm+"/organizations", nil, c.token)
	decodeInto(t, body, &raw)
	if status != http.StatusOK || len(raw.Organizations) != 1 || raw.Organizations[0]["id"] != s.OrganizationID || raw.Organizations[0]["state"] != "ACTIVE" {
		t.Errorf("organizations: expected exactly the emulator's organization %s, found %d %s", s.OrganizationID, status, body)
	}

	var projects struct {
		Projects []struct {
			ID        string `json:"id"`
			CreatedAt string `json:"created_at"`
			Parent    struct {
				ID   string `json:"id"`
				Type string `json:"type"`
			} `json:"parent"`
		} `json:"projects"`
	}
	status, body = c.raw("GET", rm+"/projects?scope.type=ORGANIZATION&scope.id="+s.OrganizationID, nil, c.token)
	decodeInto(t, body, &projects)
	if status != http.StatusOK || len(projects.Projects) != 1 || projects.Projects[0].ID != s.ProjectID ||
		projects.Projects[0].CreatedAt == "" || projects.Projects[0].Parent.ID != s.OrganizationID || projects.Projects[0].Parent.Type != "ORGANIZATION" {
		t.Errorf("projects: expected exactly the emulator's project %s in %s, found %d %s", s.ProjectID, s.OrganizationID, status, body)
	}
	status, body = c.raw("GET", rm+"/projects?scope.type=ORGANIZATION&scope.id=other", nil, c.token)
	wantError(t, "projects of another organization", status, body, http.StatusForbidden, registry.CodePermissionDenied)

	status, _ = c.raw("GET", rm+"/projects/"+s.ProjectID, nil, c.token)
	if status != http.StatusOK {
		t.Errorf("get project: expected 200, found %d", status)
	}
	status, body = c.raw("GET", rm+"/organizations/other", nil, c.token)
	wantError(t, "another organization", status, body, http.StatusForbidden, registry.CodePermissionDenied)
}

// seedChild is seedVersion for one build whose source came from the
// version parentID, as Packer reports ancestry.
func seedChild(c *apiClient, bucket, fingerprint, parentID string) wireVersion {
	c.t.Helper()
	if status, _ := c.call("GET", "/buckets/"+bucket, nil); status == http.StatusNotFound {
		c.mustCall("PUT", "/buckets", map[string]any{"name": bucket}, nil)
	}
	c.mustCall("POST", "/buckets/"+bucket+"/versions", map[string]any{"fingerprint": fingerprint, "template_type": "HCL2"}, nil)
	base := "/buckets/" + bucket + "/versions/" + fingerprint + "/builds"
	var created struct{ Build wireBuild }
	c.mustCall("POST", base, map[string]any{"component_type": "docker.child", "status": "BUILD_UNSET"}, &created)
	c.mustCall("PATCH", base+"/"+created.Build.ID, map[string]any{
		"status":            "BUILD_DONE",
		"parent_version_id": parentID,
		"artifacts":         []map[string]string{{"external_identifier": "img-" + fingerprint, "region": "eu-1"}},
	}, nil)
	var got struct{ Version wireVersion }
	c.mustCall("GET", "/buckets/"+bucket+"/versions/"+fingerprint, nil, &got)
	return got.Version
}

func assign(c *apiClient, bucket, channel, fingerprint string) {
	c.t.Helper()
	c.mustCall("PATCH", "/buckets/"+bucket+"/channels/"+channel,
		map[string]any{"version_fingerprint": fingerprint, "update_mask": "versionFingerprint"}, nil)
}

// channelAt returns the fingerprint a channel points at, "" for none.
func channelAt(c *apiClient, bucket, channel string) string {
	c.t.Helper()
	var got struct{ Channel wireChannel }
	c.mustCall("GET", "/buckets/"+bucket+"/channels/"+channel, nil, &got)
	if got.Channel.Version == nil {
		return ""
	}
	return got.Channel.Version.Fingerprint
}

type revokedVersion struct {
	Status                  string `json:"status"`
	RevokeAt                string `json:"revoke_at"`
	RevocationType          string `json:"revocation_type"`
	RevocationMessage       string `json:"revocation_message"`
	HasDescendants          bool   `json:"has_descendants"`
	RevocationInheritedFrom *struct {
		VersionFingerprint string `json:"version_fingerprint"`
		BucketName         string `json:"bucket_name"`
	} `json:"revocation_inherited_from"`
}

func versionOf(c *apiClient, bucket, fingerprint string) revokedVersion {
	c.t.Helper()
	var got struct{ Version revokedVersion }
	c.mustCall("GET", "/buckets/"+bucket+"/versions/"+fingerprint, nil, &got)
	return got.Version
}

func revokeNow(c *apiClient, bucket, fingerprint string, extra map[string]any) (int, []byte) {
	c.t.Helper()
	body := map[string]any{"revoke_at": time.Now().UTC().Format(time.RFC3339Nano), "revocation_message": "CVE-1"}
	for k, v := range extra {
		body[k] = v
	}
	return c.call("PATCH", "/buckets/"+bucket+"/versions/"+fingerprint, body)
}

func TestRevocationRollsChannelsBack(t *testing.T) {
	s := registry.NewServer(t)
	c := newAPIClient(t, s)
	for _, fp := range []string{"fp1", "fp2", "fp3"} {
		seedVersion(c, "base", fp, "docker.a")
	}
	if err := s.SetChannel("base", "prod", ""); err != nil {
		t.Fatal(err)
	}
	assign(c, "base", "prod", "fp1")
	assign(c, "base", "prod", "fp2")

	if status, body := revokeNow(c, "base", "fp2", nil); status != http.StatusOK {
		t.Fatalf("revoke fp2: expected 200, found %d %s", status, body)
	}
	if v := versionOf(c, "base", "fp2"); v.Status != "VERSION_REVOKED" || v.RevokeAt == "" || v.RevocationType != "MANUAL" || v.RevocationMessage != "CVE-1" {
		t.Errorf("fp2: expected revoked manually with its message, found %+v", v)
	}
	if at := channelAt(c, "base", "prod"); at != "fp1" {
		t.Errorf("prod pointed at revoked fp2: expected it rolled back to fp1, found %q", at)
	}
	if at := channelAt(c, "base", "latest"); at != "fp3" {
		t.Errorf("latest: expected it to stay at fp3, found %q", at)
	}
	status, body := revokeNow(c, "base", "fp2", nil)
	wantError(t, "revoke twice", status, body, http.StatusBadRequest, registry.CodeFailedPrecondition)

	if status, body := revokeNow(c, "base", "fp3", nil); status != http.StatusOK {
		t.Fatalf("revoke fp3: expected 200, found %d %s", status, body)
	}
	if at := channelAt(c, "base", "latest"); at != "fp1" {
		t.Errorf("latest pointed at revoked fp3: expected the newest valid version fp1, found %q", at)
	}

	// Restore: the version is valid again and latest follows; the user
	// channel stays where the rollback put it.
	c.mustCall("PATCH", "/buckets/base/versions/fp3", map[string]any{"restore": true}, nil)
	if v := versionOf(c, "base", "fp3"); v.Status != "VERSION_ACTIVE" || v.RevokeAt != "" || v.RevocationType != "" {
		t.Errorf("restored fp3: expected active without revocation, found %+v", v)
	}
	if at := channelAt(c, "base", "latest"); at != "fp3" {
		t.Errorf("latest after restoring fp3: expected fp3, found %q", at)
	}
	if at := channelAt(c, "base", "prod"); at != "fp1" {
		t.Errorf("prod after restoring fp3: expected fp1, found %q", at)
	}
	status, body = c.call("PATCH", "/buckets/base/versions/fp3", map[string]any{"restore": true})
	wantError(t, "restore a valid version", status, body, http.StatusBadRequest, registry.CodeFailedPrecondition)

	// Without rollback, an immediate revocation of an assigned version is
	// refused and changes nothing.
	status, body = revokeNow(c, "base", "fp1", map[string]any{"disable_rollback_channels": true})
	wantError(t, "revoke an assigned version without rollback", status, body, http.StatusBadRequest, registry.CodeFailedPrecondition)
	if v := versionOf(c, "base", "fp1"); v.Status != "VERSION_ACTIVE" {
		t.Errorf("refused revocation: expected fp1 still active, found %+v", v)
	}

	// Revoking the only valid version left in prod's history leaves it
	// unassigned (fp2 is revoked).
	if status, body := revokeNow(c, "base", "fp1", nil); status != http.StatusOK {
		t.Fatalf("revoke fp1: %d %s", status, body)
	}
	if at := channelAt(c, "base", "prod"); at != "" {
		t.Errorf("prod with no valid version in its history: expected unassigned, found %q", at)
	}

	for _, bad := range []map[string]any{
		{"revoke_at": "yesterday"},
		{"revoke_in": "3 weeks"},
		{"revoke_in": "1h", "revoke_at": time.Now().Format(time.RFC3339)},
		{"restore": true, "revoke_in": "0s"},
		{},
	} {
		status, body := c.call("PATCH", "/buckets/base/versions/fp3", bad)
		wantError(t, "bad update "+string(body), status, body, http.StatusBadRequest, registry.CodeInvalidArgument)
	}
	status, body = c.call("PATCH", "/buckets/base/versions/nope", map[string]any{"revoke_in": "0s"})
	wantError(t, "revoke a missing version", status, body, http.StatusNotFound, registry.CodeNotFound)
}

func TestRevocationReachesDescendants(t *testing.T) {
	s := registry.NewServer(t)
	c := newAPIClient(t, s)
	base := seedVersion(c, "base", "b1", "docker.a")
	app := seedChild(c, "app", "a1", base.ID)
	seedChild(c, "svc", "s1", app.ID)
	other := seedVersion(c, "other", "o1", "docker.a")
	if err := s.SetChannel("app", "prod", "a1"); err != nil {
		t.Fatal(err)
	}
	if v := versionOf(c, "base", "b1"); !v.HasDescendants {
		t.Errorf("base b1: expected has_descendants, found %+v", v)
	}

	if status, body := revokeNow(c, "base", "b1", nil); status != http.StatusOK {
		t.Fatalf("revoke b1: %d %s", status, body)
	}
	for _, d := range [][2]string{{"app", "a1"}, {"svc", "s1"}} {
		v := versionOf(c, d[0], d[1])
		if v.Status != "VERSION_REVOKED" || v.RevocationType != "INHERITED" || v.RevocationInheritedFrom == nil ||
			v.RevocationInheritedFrom.VersionFingerprint != "b1" || v.RevocationInheritedFrom.BucketName != "base" {
			t.Errorf("%s %s: expected revoked, inherited from base b1, found %+v", d[0], d[1], v)
		}
		if at := channelAt(c, d[0], "latest"); at != "" {
			t.Errorf("%s latest: expected unassigned (its only version is revoked), found %q", d[0], at)
		}
	}
	if at := channelAt(c, "app", "prod"); at != "" {
		t.Errorf("app prod: expected unassigned, found %q", at)
	}
	if v := versionOf(c, "other", other.Fingerprint); v.Status != "VERSION_ACTIVE" {
		t.Errorf("an unrelated version: expected active, found %+v", v)
	}

	c.mustCall("PATCH", "/buckets/base/versions/b1", map[string]any{"restore": true}, nil)
	for _, d := range [][2]string{{"base", "b1"}, {"app", "a1"}, {"svc", "s1"}} {
		if v := versionOf(c, d[0], d[1]); v.Status != "VERSION_ACTIVE" || v.RevokeAt != "" {
			t.Errorf("%s %s after restoring b1: expected active again, found %+v", d[0], d[1], v)
		}
		if at := channelAt(c, d[0], "latest"); at != d[1] {
			t.Errorf("%s latest after restore: expected %s, found %q", d[0], d[1], at)
		}
	}

	// skip_descendants_revocation keeps the children.
	if status, body := revokeNow(c, "base", "b1", map[string]any{"skip_descendants_revocation": true}); status != http.StatusOK {
		t.Fatalf("revoke b1 alone: %d %s", status, body)
	}
	if v := versionOf(c, "app", "a1"); v.Status != "VERSION_ACTIVE" {
		t.Errorf("app a1 with skip_descendants_revocation: expected active, found %+v", v)
	}
}

func TestScheduledRevocation(t *testing.T) {
	s := registry.NewServer(t)
	c := newAPIClient(t, s)
	seedVersion(c, "base", "fp1", "docker.a")
	seedVersion(c, "base", "fp2", "docker.a")
	status, body := c.call("PATCH", "/buckets/base/versions/fp2", map[string]any{"revoke_in": "30d"})
	if status != http.StatusOK {
		t.Fatalf("schedule: %d %s", status, body)
	}
	if v := versionOf(c, "base", "fp2"); v.Status != "VERSION_REVOCATION_SCHEDULED" || v.RevokeAt == "" {
		t.Errorf("scheduled: expected VERSION_REVOCATION_SCHEDULED with revoke_at, found %+v", v)
	}
	if at := channelAt(c, "base", "latest"); at != "fp2" {
		t.Errorf("latest before the revocation is due: expected fp2, found %q", at)
	}
	later := time.Now().Add(31 * 24 * time.Hour)
	s.SetClock(func() time.Time { return later })
	if v := versionOf(c, "base", "fp2"); v.Status != "VERSION_REVOKED" {
		t.Errorf("after revoke_at: expected VERSION_REVOKED, found %+v", v)
	}
	if at := channelAt(c, "base", "latest"); at != "fp1" {
		t.Errorf("latest after the revocation took effect: expected fp1, found %q", at)
	}
}

func TestRevokeVersionHelpers(t *testing.T) {
	s := registry.NewServer(t)
	c := newAPIClient(t, s)
	seedVersion(c, "base", "fp1", "docker.a")
	seedVersion(c, "base", "fp2", "docker.a")
	if err := s.RevokeVersion("base", "fp2"); err != nil {
		t.Fatal(err)
	}
	if at := channelAt(c, "base", "latest"); at != "fp1" {
		t.Errorf("latest after RevokeVersion(fp2): expected fp1, found %q", at)
	}
	if err := s.RevokeVersion("base", "fp2"); err == nil || !strings.Contains(err.Error(), "already revoked") {
		t.Errorf("RevokeVersion twice: expected an error saying so, found %v", err)
	}
	if err := s.RestoreVersion("base", "fp2"); err != nil {
		t.Fatal(err)
	}
	if at := channelAt(c, "base", "latest"); at != "fp2" {
		t.Errorf("latest after RestoreVersion(fp2): expected fp2, found %q", at)
	}
	if err := s.RestoreVersion("base", "nope"); err == nil {
		t.Error("RestoreVersion of a missing version: expected an error, found none")
	}
	if err := s.RevokeVersionWith("base", "fp1", registry.Revocation{At: time.Now().Add(time.Hour), Message: "old"}); err != nil {
		t.Fatal(err)
	}
	for _, v := range s.Versions() {
		if v.Fingerprint == "fp1" && (v.Status != registry.VersionRevocationScheduled || v.RevocationMessage != "old" || v.RevocationType != registry.RevocationManual) {
			t.Errorf("RevokeVersionWith in an hour: expected a scheduled manual revocation, found %+v", v)
		}
	}
}

func TestDeprecatedIterationRoutes(t *testing.T) {
	s := registry.NewServer(t)
	c := newAPIClient(t, s)
	v := seedVersion(c, "base", "fp1", "docker.a")
	old := "/packer/2021-04-30/organizations/" + s.OrganizationID + "/projects/" + s.ProjectID + "/images/base"
	type iteration struct {
		ID                 string `json:"id"`
		Fingerprint        string `json:"fingerprint"`
		Complete           bool   `json:"complete"`
		IncrementalVersion int    `json:"incremental_version"`
		Builds             []struct {
			IterationID   string `json:"iteration_id"`
			CloudProvider string `json:"cloud_provider"`
			Status        string `json:"status"`
			Images        []struct {
				ImageID string `json:"image_id"`
				Region  string `json:"region"`
			} `json:"images"`
		} `json:"builds"`
	}
	for _, q := range []string{"iteration_id=" + v.ID, "fingerprint=fp1", "incremental_version=1"} {
		var got struct{ Iteration iteration }
		status, body := c.raw("GET", old+"/iteration?"+q, nil, c.token)
		if status != http.StatusOK {
			t.Fatalf("iteration by %s: %d %s", q, status, body)
		}
		decodeInto(t, body, &got)
		it := got.Iteration
		if it.ID != v.ID || it.Fingerprint != "fp1" || !it.Complete || it.IncrementalVersion != 1 || len(it.Builds) != 1 ||
			it.Builds[0].IterationID != v.ID || it.Builds[0].CloudProvider != "docker" || it.Builds[0].Status != "DONE" ||
			len(it.Builds[0].Images) != 1 || it.Builds[0].Images[0].ImageID != "img-docker.a" || it.Builds[0].Images[0].Region != "eu-1" {
			t.Errorf("iteration by %s: expected version %s as an iteration, found %s", q, v.ID, body)
		}
	}
	status, body := c.raw("GET", old+"/iteration?fingerprint=nope", nil, c.token)
	wantError(t, "missing iteration", status, body, http.StatusNotFound, registry.CodeNotFound)
	status, body = c.raw("GET", old+"/iteration", nil, c.token)
	wantError(t, "iteration without a query", status, body, http.StatusBadRequest, registry.CodeInvalidArgument)

	var ch struct {
		Channel struct {
			ID        string     `json:"id"`
			Slug      string     `json:"slug"`
			Managed   bool       `json:"managed"`
			Iteration *iteration `json:"iteration"`
		} `json:"channel"`
	}
	status, body = c.raw("GET", old+"/channels/latest", nil, c.token)
	decodeInto(t, body, &ch)
	if status != http.StatusOK || ch.Channel.Slug != "latest" || !ch.Channel.Managed || ch.Channel.Iteration == nil || ch.Channel.Iteration.ID != v.ID {
		t.Errorf("channel latest: expected it with iteration %s, found %d %s", v.ID, status, body)
	}
	status, body = c.raw("GET", old+"/channels/prod", nil, c.token)
	wantError(t, "missing channel", status, body, http.StatusNotFound, registry.CodeNotFound)
	status, body = c.raw("GET", "/packer/2021-04-30/organizations/other/projects/"+s.ProjectID+"/images/base/channels/latest", nil, c.token)
	wantError(t, "other organization", status, body, http.StatusForbidden, registry.CodePermissionDenied)
}

func TestRevokeInDurations(t *testing.T) {
	for _, tc := range []struct {
		in     string
		want   time.Duration
		status registry.VersionStatus
	}{
		{"0s", 0, registry.VersionRevoked},
		{"-1h", 0, registry.VersionRevoked},
		{"2h45m", 2*time.Hour + 45*time.Minute, registry.VersionRevocationScheduled},
		{"30d", 30 * 24 * time.Hour, registry.VersionRevocationScheduled},
		{"1.5h", 90 * time.Minute, registry.VersionRevocationScheduled},
	} {
		s := registry.NewServer(t)
		now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
		s.SetClock(func() time.Time { return now })
		c := newAPIClient(t, s)
		seedVersion(c, "base", "fp1", "docker.a")
		c.mustCall("PATCH", "/buckets/base/versions/fp1", map[string]any{"revoke_in": tc.in}, nil)
		v := s.Versions()[0]
		if v.Status != tc.status || !v.RevokeAt.Equal(now.Add(tc.want)) {
			t.Errorf("revoke_in %q: expected %s at %s, found %s at %s", tc.in, tc.status, now.Add(tc.want), v.Status, v.RevokeAt)
		}
	}
}
