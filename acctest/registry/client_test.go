package registry_test

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

// apiClient talks to a Server over plain HTTP the way Packer's HCP client
// does: a client-credentials token first, then JSON calls under the
// organization and project prefix.
type apiClient struct {
	t     *testing.T
	s     *registry.Server
	http  *http.Client
	token string
}

func newAPIClient(t *testing.T, s *registry.Server) *apiClient {
	t.Helper()
	c := &apiClient{t: t, s: s, http: &http.Client{Transport: &http.Transport{
		// The token endpoint's certificate is self-signed; Packer is told
		// the same with HCP_AUTH_TLS=insecure.
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true},
	}}}
	status, body := c.tokenRequest(s.ClientID, s.ClientSecret, "client_credentials", true)
	if status != http.StatusOK {
		t.Fatalf("token request: status %d, body %s", status, body)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		ExpiresIn   int    `json:"expires_in"`
	}
	decodeInto(t, body, &tok)
	if tok.AccessToken == "" || tok.TokenType != "Bearer" || tok.ExpiresIn <= 0 {
		t.Fatalf("token answer: expected an access token of type Bearer with a lifetime, found %s", body)
	}
	c.token = tok.AccessToken
	return c
}

func (c *apiClient) tokenRequest(id, secret, grant string, basic bool) (int, []byte) {
	c.t.Helper()
	form := url.Values{"grant_type": {grant}, "audience": {"https://api.hashicorp.cloud"}}
	if !basic {
		form.Set("client_id", id)
		form.Set("client_secret", secret)
	}
	req, err := http.NewRequest("POST", c.s.AuthURL+"/oauth2/token", strings.NewReader(form.Encode()))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basic {
		req.SetBasicAuth(id, secret)
	}
	return c.send(req)
}

func (c *apiClient) send(req *http.Request) (int, []byte) {
	c.t.Helper()
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	// Read to the end below, so Close has nothing left to report.
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("%s %s: reading the answer: %v", req.Method, req.URL.Path, err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		c.t.Errorf("%s %s: expected Content-Type application/json, found %q", req.Method, req.URL.Path, ct)
	}
	return resp.StatusCode, body
}

// prefix is the location part of every API path for this server.
func (c *apiClient) prefix() string {
	return "/packer/2023-01-01/organizations/" + c.s.OrganizationID + "/projects/" + c.s.ProjectID
}

// call sends an authenticated API call; path is relative to the project.
func (c *apiClient) call(method, path string, body any) (int, []byte) {
	c.t.Helper()
	return c.raw(method, c.prefix()+path, body, c.token)
}

func (c *apiClient) raw(method, path string, body any, token string) (int, []byte) {
	c.t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			c.t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.s.URL+path, r)
	if err != nil {
		c.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	return c.send(req)
}

// mustCall sends a call that has to succeed and decodes its answer into out.
func (c *apiClient) mustCall(method, path string, body, out any) {
	c.t.Helper()
	status, b := c.call(method, path, body)
	if status != http.StatusOK {
		c.t.Fatalf("%s %s: expected status 200, found %d: %s", method, path, status, b)
	}
	if out != nil {
		decodeInto(c.t, b, out)
	}
}

// wantError checks an error answer: HTTP status and google.rpc code.
func wantError(t *testing.T, what string, status int, body []byte, wantStatus, wantCode int) {
	t.Helper()
	var e struct {
		Code    *int   `json:"code"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal(body, &e); err != nil {
		t.Errorf("%s: expected a JSON error body, found %q: %v", what, body, err)
		return
	}
	if status != wantStatus || e.Code == nil || *e.Code != wantCode || e.Message == "" {
		t.Errorf("%s: expected status %d with code %d and a message, found status %d with body %s",
			what, wantStatus, wantCode, status, body)
	}
}

func decodeInto(t *testing.T, body []byte, out any) {
	t.Helper()
	if err := json.Unmarshal(body, out); err != nil {
		t.Fatalf("decoding %s: %v", body, err)
	}
}

// Answer shapes, trimmed to what the tests look at, with the JSON names
// of the HCP Packer API.

type wireArtifact struct {
	ID                 string `json:"id"`
	ExternalIdentifier string `json:"external_identifier"`
	Region             string `json:"region"`
	CreatedAt          string `json:"created_at"`
}

type wireBuild struct {
	ID                       string            `json:"id"`
	VersionID                string            `json:"version_id"`
	ComponentType            string            `json:"component_type"`
	Platform                 string            `json:"platform"`
	Status                   *string           `json:"status"`
	Labels                   map[string]string `json:"labels"`
	Artifacts                []wireArtifact    `json:"artifacts"`
	SourceExternalIdentifier string            `json:"source_external_identifier"`
}

type wireVersion struct {
	ID           string       `json:"id"`
	BucketName   string       `json:"bucket_name"`
	Fingerprint  string       `json:"fingerprint"`
	Name         string       `json:"name"`
	Status       *string      `json:"status"`
	TemplateType string       `json:"template_type"`
	Builds       []*wireBuild `json:"builds"`
}

type wireChannel struct {
	ID         string       `json:"id"`
	Name       string       `json:"name"`
	BucketName string       `json:"bucket_name"`
	Managed    bool         `json:"managed"`
	Restricted bool         `json:"restricted"`
	Version    *wireVersion `json:"version"`
}

type wireBucket struct {
	ID            string            `json:"id"`
	Name          string            `json:"name"`
	Description   string            `json:"description"`
	Labels        map[string]string `json:"labels"`
	Platforms     []string          `json:"platforms"`
	VersionCount  string            `json:"version_count"`
	LatestVersion *wireVersion      `json:"latest_version"`
}

// seedVersion drives one complete Packer run through the API: bucket,
// version, one build per component, each done with one artifact. It
// returns the version as the API answered it at the end.
func seedVersion(c *apiClient, bucket, fingerprint string, components ...string) wireVersion {
	c.t.Helper()
	if status, _ := c.call("GET", "/buckets/"+bucket, nil); status == http.StatusNotFound {
		c.mustCall("PUT", "/buckets", map[string]any{"name": bucket}, nil)
	}
	c.mustCall("POST", "/buckets/"+bucket+"/versions", map[string]any{"fingerprint": fingerprint, "template_type": "HCL2"}, nil)
	base := "/buckets/" + bucket + "/versions/" + fingerprint + "/builds"
	// All builds first, as Packer registers them before running any: a
	// version completes as soon as every build it has is done.
	ids := make([]string, len(components))
	for i, comp := range components {
		var created struct{ Build wireBuild }
		c.mustCall("POST", base, map[string]any{"component_type": comp, "status": "BUILD_UNSET", "packer_run_uuid": "run-1"}, &created)
		ids[i] = created.Build.ID
	}
	for i, comp := range components {
		c.mustCall("PATCH", base+"/"+ids[i], map[string]any{"status": "BUILD_RUNNING"}, nil)
		c.mustCall("PATCH", base+"/"+ids[i], map[string]any{
			"status":    "BUILD_DONE",
			"platform":  "docker",
			"labels":    map[string]string{"os": "linux"},
			"artifacts": []map[string]string{{"external_identifier": "img-" + comp, "region": "eu-1"}},
		}, nil)
	}
	var got struct{ Version wireVersion }
	c.mustCall("GET", "/buckets/"+bucket+"/versions/"+fingerprint, nil, &got)
	return got.Version
}
