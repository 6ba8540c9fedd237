package registry

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The wire types follow the JSON of the HCP Packer API 2023-01-01 (the
// hashicorp/hcp-sdk-go models Packer decodes replies into). Fields Packer
// dereferences without a nil check, such as a build's status, are always
// sent.

type wireLocation struct {
	OrganizationID string `json:"organization_id"`
	ProjectID      string `json:"project_id"`
}

type wireBucket struct {
	ID            string            `json:"id"`
	Name          string            `json:"name"`
	Description   string            `json:"description,omitempty"`
	Labels        map[string]string `json:"labels"`
	Platforms     []string          `json:"platforms"`
	VersionCount  string            `json:"version_count"`
	LatestVersion *wireVersion      `json:"latest_version,omitempty"`
	Location      wireLocation      `json:"location"`
	ResourceName  string            `json:"resource_name"`
	CreatedAt     string            `json:"created_at"`
	UpdatedAt     string            `json:"updated_at"`
}

type wireVersion struct {
	ID           string       `json:"id"`
	BucketName   string       `json:"bucket_name"`
	Fingerprint  string       `json:"fingerprint"`
	Name         string       `json:"name"`
	Status       string       `json:"status"`
	TemplateType string       `json:"template_type"`
	AuthorID     string       `json:"author_id"`
	Builds       []*wireBuild `json:"builds"`
	CreatedAt    string       `json:"created_at"`
	UpdatedAt    string       `json:"updated_at"`

	HasDescendants          bool                 `json:"has_descendants"`
	RevokeAt                string               `json:"revoke_at,omitempty"`
	RevocationMessage       string               `json:"revocation_message,omitempty"`
	RevocationAuthor        string               `json:"revocation_author,omitempty"`
	RevocationType          string               `json:"revocation_type,omitempty"`
	RevocationInheritedFrom *wireRevokedAncestor `json:"revocation_inherited_from,omitempty"`
}

type wireRevokedAncestor struct {
	BucketName         string `json:"bucket_name"`
	VersionFingerprint string `json:"version_fingerprint"`
	VersionID          string `json:"version_id"`
	VersionName        string `json:"version_name"`
	Href               string `json:"href"`
}

type wireBuild struct {
	ID                       string            `json:"id"`
	VersionID                string            `json:"version_id"`
	ComponentType            string            `json:"component_type"`
	Platform                 string            `json:"platform,omitempty"`
	PackerRunUUID            string            `json:"packer_run_uuid,omitempty"`
	Status                   string            `json:"status"`
	Labels                   map[string]string `json:"labels"`
	Artifacts                []wireArtifact    `json:"artifacts"`
	SourceExternalIdentifier string            `json:"source_external_identifier,omitempty"`
	Metadata                 json.RawMessage   `json:"metadata,omitempty"`
	CreatedAt                string            `json:"created_at"`
	UpdatedAt                string            `json:"updated_at"`
}

type wireArtifact struct {
	ID                 string `json:"id"`
	ExternalIdentifier string `json:"external_identifier"`
	Region             string `json:"region"`
	CreatedAt          string `json:"created_at"`
}

type wireChannel struct {
	ID         string       `json:"id"`
	Name       string       `json:"name"`
	BucketName string       `json:"bucket_name"`
	AuthorID   string       `json:"author_id"`
	Managed    bool         `json:"managed"`
	Restricted bool         `json:"restricted"`
	Version    *wireVersion `json:"version,omitempty"`
	CreatedAt  string       `json:"created_at"`
	UpdatedAt  string       `json:"updated_at"`
}

// The request bodies Packer sends.

type artifactBody struct {
	ExternalIdentifier string `json:"external_identifier"`
	Region             string `json:"region"`
}

type buildBody struct {
	ComponentType            string            `json:"component_type"`
	PackerRunUUID            string            `json:"packer_run_uuid"`
	Platform                 string            `json:"platform"`
	Status                   *BuildStatus      `json:"status"`
	Labels                   map[string]string `json:"labels"`
	Artifacts                []artifactBody    `json:"artifacts"`
	SourceExternalIdentifier string            `json:"source_external_identifier"`
	ParentVersionID          string            `json:"parent_version_id"`
	ParentChannelID          string            `json:"parent_channel_id"`
	Metadata                 json.RawMessage   `json:"metadata"`
}

func parseForm(body []byte) (url.Values, error) {
	v, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, fmt.Errorf("form body: %w", err)
	}
	return v, nil
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func decode(body []byte, v any) *apiError {
	if len(body) == 0 {
		body = []byte("{}")
	}
	if err := json.Unmarshal(body, v); err != nil {
		return errorf(CodeInvalidArgument, "invalid JSON body: "+err.Error())
	}
	return nil
}

func ok(v any) (int, any) { return http.StatusOK, v }

func (s *Server) location() wireLocation {
	return wireLocation{OrganizationID: s.OrganizationID, ProjectID: s.ProjectID}
}

func (s *Server) wireBucket(b *Bucket) *wireBucket {
	w := &wireBucket{
		ID: b.ID, Name: b.Name, Description: b.Description, Labels: b.Labels,
		Platforms: []string{}, Location: s.location(),
		ResourceName: fmt.Sprintf("packer/project/%s/bucket/%s", s.ProjectID, b.Name),
		CreatedAt:    stamp(b.CreatedAt), UpdatedAt: stamp(b.UpdatedAt),
	}
	n := 0
	for _, v := range s.versions {
		if v.Bucket == b.Name {
			n++
		}
	}
	w.VersionCount = strconv.Itoa(n)
	if c := s.channel(b.Name, LatestChannel); c != nil && c.Fingerprint != "" {
		if v := s.version(b.Name, c.Fingerprint); v != nil {
			w.LatestVersion = s.wireVersion(v)
			for _, build := range w.LatestVersion.Builds {
				if build.Platform != "" && !slices.Contains(w.Platforms, build.Platform) {
					w.Platforms = append(w.Platforms, build.Platform)
				}
			}
		}
	}
	return w
}

func (s *Server) wireVersion(v *Version) *wireVersion {
	w := &wireVersion{
		ID: v.ID, BucketName: v.Bucket, Fingerprint: v.Fingerprint, Name: v.Name,
		Status: string(v.Status), TemplateType: v.TemplateType, AuthorID: s.ClientID,
		Builds:    []*wireBuild{},
		CreatedAt: stamp(v.CreatedAt), UpdatedAt: stamp(v.UpdatedAt),
	}
	for _, b := range s.versionBuilds(v) {
		w.Builds = append(w.Builds, wireBuildOf(b))
	}
	w.HasDescendants = s.hasDescendants(v)
	if !v.RevokeAt.IsZero() {
		w.RevokeAt = stamp(v.RevokeAt)
		w.RevocationMessage = v.RevocationMessage
		w.RevocationAuthor = v.RevocationAuthor
		w.RevocationType = string(v.RevocationType)
		if a := s.versionByID(v.RevocationInheritedFrom); a != nil {
			w.RevocationInheritedFrom = &wireRevokedAncestor{
				BucketName: a.Bucket, VersionFingerprint: a.Fingerprint, VersionID: a.ID, VersionName: a.Name,
				Href: fmt.Sprintf("/packer/2023-01-01/organizations/%s/projects/%s/buckets/%s/versions/%s",
					s.OrganizationID, s.ProjectID, a.Bucket, a.Fingerprint),
			}
		}
	}
	return w
}

func wireBuildOf(b *Build) *wireBuild {
	w := &wireBuild{
		ID: b.ID, VersionID: b.VersionID, ComponentType: b.ComponentType, Platform: b.Platform,
		PackerRunUUID: b.PackerRunUUID, Status: string(b.Status), Labels: b.Labels,
		Artifacts: []wireArtifact{}, SourceExternalIdentifier: b.SourceExternalID,
		Metadata:  b.Metadata,
		CreatedAt: stamp(b.CreatedAt), UpdatedAt: stamp(b.UpdatedAt),
	}
	if w.Labels == nil {
		w.Labels = map[string]string{}
	}
	for _, a := range b.Artifacts {
		w.Artifacts = append(w.Artifacts, wireArtifact{
			ID: a.ID, ExternalIdentifier: a.ExternalID, Region: a.Region, CreatedAt: stamp(a.CreatedAt),
		})
	}
	return w
}

func (s *Server) wireChannel(c *Channel) *wireChannel {
	w := &wireChannel{
		ID: c.ID, Name: c.Name, BucketName: c.Bucket, AuthorID: s.ClientID,
		Managed: c.Managed, Restricted: c.Restricted,
		CreatedAt: stamp(c.CreatedAt), UpdatedAt: stamp(c.UpdatedAt),
	}
	if c.Fingerprint != "" {
		if v := s.version(c.Bucket, c.Fingerprint); v != nil {
			w.Version = s.wireVersion(v)
		}
	}
	return w
}

// Lookups that answer with the service's errors.

func (s *Server) needBucket(name string) (*Bucket, *apiError) {
	if b := s.bucket(name); b != nil {
		return b, nil
	}
	return nil, errorf(CodeNotFound, fmt.Sprintf("bucket %q not found", name))
}

func (s *Server) needVersion(bucket, fingerprint string) (*Version, *apiError) {
	if _, e := s.needBucket(bucket); e != nil {
		return nil, e
	}
	if v := s.version(bucket, fingerprint); v != nil {
		return v, nil
	}
	return nil, errorf(CodeNotFound, fmt.Sprintf("version with fingerprint %q not found in bucket %q", fingerprint, bucket))
}

func (s *Server) needBuild(r *http.Request) (*Version, *Build, *apiError) {
	v, e := s.needVersion(r.PathValue("bucket"), r.PathValue("fingerprint"))
	if e != nil {
		return nil, nil, e
	}
	id := r.PathValue("build")
	for _, b := range s.versionBuilds(v) {
		if b.ID == id {
			return v, b, nil
		}
	}
	return nil, nil, errorf(CodeNotFound, fmt.Sprintf("build %q not found in version %q", id, v.Fingerprint))
}

// Handlers.

func (s *Server) token(r *http.Request, body []byte) (int, any) {
	form, err := parseForm(body)
	if err != nil {
		return http.StatusBadRequest, oauthError{"invalid_request", err.Error()}
	}
	if gt := form.Get("grant_type"); gt != "client_credentials" {
		return http.StatusBadRequest, oauthError{"unsupported_grant_type", fmt.Sprintf("grant_type %q: only client_credentials is supported", gt)}
	}
	id, secret, basic := r.BasicAuth()
	if !basic {
		id, secret = form.Get("client_id"), form.Get("client_secret")
	}
	if id != s.ClientID || secret != s.ClientSecret {
		return http.StatusUnauthorized, oauthError{"invalid_client", fmt.Sprintf("unknown client %q or wrong secret", id)}
	}
	token := "emulator-token-" + newSecret(16)
	s.tokens[token] = true
	return ok(map[string]any{
		"access_token": token,
		"token_type":   "Bearer",
		"expires_in":   int(tokenLifetime / time.Second),
	})
}

func (s *Server) getRegistry(_ *http.Request, _ []byte) (int, any) {
	return ok(map[string]any{"registry": map[string]any{
		"id":       s.ProjectID,
		"config":   map[string]any{"activated": true},
		"location": s.location(),
	}})
}

func (s *Server) getBucket(r *http.Request, _ []byte) (int, any) {
	b, e := s.needBucket(r.PathValue("bucket"))
	if e != nil {
		return errResult(e)
	}
	return ok(map[string]any{"bucket": s.wireBucket(b)})
}

func (s *Server) createBucket(_ *http.Request, body []byte) (int, any) {
	var in struct {
		Name        string            `json:"name"`
		Description string            `json:"description"`
		Labels      map[string]string `json:"labels"`
	}
	if e := decode(body, &in); e != nil {
		return errResult(e)
	}
	if !bucketNameRE.MatchString(in.Name) {
		return errResult(errorf(CodeInvalidArgument, fmt.Sprintf("invalid bucket name %q: it must be 3 to 36 letters, digits or dashes", in.Name)))
	}
	if s.bucket(in.Name) != nil {
		return errResult(errorf(CodeAlreadyExists, fmt.Sprintf("bucket %q already exists", in.Name)))
	}
	return ok(map[string]any{"bucket": s.wireBucket(s.newBucket(in.Name, in.Description, in.Labels))})
}

func (s *Server) updateBucket(r *http.Request, body []byte) (int, any) {
	b, e := s.needBucket(r.PathValue("bucket"))
	if e != nil {
		return errResult(e)
	}
	var in struct {
		Description string            `json:"description"`
		Labels      map[string]string `json:"labels"`
	}
	if e := decode(body, &in); e != nil {
		return errResult(e)
	}
	// Packer always sends the whole wanted state, leaving out what is
	// empty, so an absent field clears the stored one.
	b.Description = in.Description
	b.Labels = in.Labels
	if b.Labels == nil {
		b.Labels = map[string]string{}
	}
	b.UpdatedAt = s.now().UTC()
	return ok(map[string]any{"bucket": s.wireBucket(b)})
}

func (s *Server) getVersion(r *http.Request, _ []byte) (int, any) {
	bucket, fp := r.PathValue("bucket"), r.PathValue("fingerprint")
	if _, e := s.needBucket(bucket); e != nil {
		return errResult(e)
	}
	v := s.version(bucket, fp)
	if v == nil {
		// The service answers a missing version with ABORTED, not
		// NOT_FOUND, and Packer creates the version only on that code.
		return errResult(errorf(CodeAborted, fmt.Sprintf("version with fingerprint %q not found in bucket %q", fp, bucket)))
	}
	return ok(map[string]any{"version": s.wireVersion(v)})
}

func (s *Server) createVersion(r *http.Request, body []byte) (int, any) {
	bucket := r.PathValue("bucket")
	if _, e := s.needBucket(bucket); e != nil {
		return errResult(e)
	}
	var in struct {
		Fingerprint  string `json:"fingerprint"`
		TemplateType string `json:"template_type"`
	}
	if e := decode(body, &in); e != nil {
		return errResult(e)
	}
	if in.Fingerprint == "" {
		return errResult(errorf(CodeInvalidArgument, "fingerprint is required"))
	}
	if in.TemplateType != "HCL2" && in.TemplateType != "JSON" {
		return errResult(errorf(CodeInvalidArgument, fmt.Sprintf("template_type %q: must be HCL2 or JSON", in.TemplateType)))
	}
	if s.version(bucket, in.Fingerprint) != nil {
		return errResult(errorf(CodeAlreadyExists, fmt.Sprintf("a version with fingerprint %q already exists in bucket %q", in.Fingerprint, bucket)))
	}
	now := s.now().UTC()
	v := &Version{
		ID: newULID(now), Bucket: bucket, Fingerprint: in.Fingerprint, Name: IncompleteVersionName,
		Status: VersionRunning, TemplateType: in.TemplateType, CreatedAt: now, UpdatedAt: now,
	}
	s.versions = append(s.versions, v)
	return ok(map[string]any{"version": s.wireVersion(v)})
}

func (s *Server) listBuilds(r *http.Request, _ []byte) (int, any) {
	v, e := s.needVersion(r.PathValue("bucket"), r.PathValue("fingerprint"))
	if e != nil {
		return errResult(e)
	}
	return ok(map[string]any{"builds": s.wireVersion(v).Builds})
}

func (s *Server) createBuild(r *http.Request, body []byte) (int, any) {
	v, e := s.needVersion(r.PathValue("bucket"), r.PathValue("fingerprint"))
	if e != nil {
		return errResult(e)
	}
	var in buildBody
	if e := decode(body, &in); e != nil {
		return errResult(e)
	}
	switch {
	case !v.RevokeAt.IsZero():
		return errResult(errorf(CodeFailedPrecondition, fmt.Sprintf("version %q is revoked; builds cannot be added to it", v.Fingerprint)))
	case v.Name != IncompleteVersionName:
		return errResult(errorf(CodeFailedPrecondition, fmt.Sprintf("version %q is complete; builds cannot be added to it", v.Fingerprint)))
	case in.ComponentType == "":
		return errResult(errorf(CodeInvalidArgument, "component_type is required"))
	case in.Status == nil:
		return errResult(errorf(CodeInvalidArgument, "status is required"))
	case !in.Status.valid():
		return errResult(errorf(CodeInvalidArgument, fmt.Sprintf("status %q is not a build status", *in.Status)))
	}
	for _, b := range s.versionBuilds(v) {
		if b.ComponentType == in.ComponentType {
			return errResult(errorf(CodeAlreadyExists, fmt.Sprintf("a build of component type %q already exists in version %q", in.ComponentType, v.Fingerprint)))
		}
	}
	if e := checkArtifacts(in.Artifacts); e != nil {
		return errResult(e)
	}
	now := s.now().UTC()
	b := &Build{
		ID: newULID(now), Bucket: v.Bucket, Fingerprint: v.Fingerprint, VersionID: v.ID,
		ComponentType: in.ComponentType, Labels: map[string]string{},
		CreatedAt: now, UpdatedAt: now,
	}
	s.builds = append(s.builds, b)
	s.applyBuild(b, in, now)
	s.refreshVersion(v)
	return ok(map[string]any{"build": wireBuildOf(b)})
}

func checkArtifacts(artifacts []artifactBody) *apiError {
	for i, a := range artifacts {
		if a.ExternalIdentifier == "" {
			return errorf(CodeInvalidArgument, fmt.Sprintf("artifacts[%d].external_identifier is required", i))
		}
	}
	return nil
}

// applyBuild stores what a create or update body says. Empty fields leave
// the stored values alone: Packer's status updates and heartbeats send only
// a status.
func (s *Server) applyBuild(b *Build, in buildBody, now time.Time) {
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	set(&b.PackerRunUUID, in.PackerRunUUID)
	set(&b.Platform, in.Platform)
	set(&b.SourceExternalID, in.SourceExternalIdentifier)
	set(&b.ParentVersionID, in.ParentVersionID)
	set(&b.ParentChannelID, in.ParentChannelID)
	if in.Labels != nil {
		b.Labels = in.Labels
	}
	if len(in.Artifacts) > 0 {
		b.Artifacts = b.Artifacts[:0]
		for _, a := range in.Artifacts {
			b.Artifacts = append(b.Artifacts, Artifact{ID: newULID(now), ExternalID: a.ExternalIdentifier, Region: a.Region, CreatedAt: now})
		}
	}
	if len(in.Metadata) > 0 && string(in.Metadata) != "null" {
		b.Metadata = append(json.RawMessage(nil), in.Metadata...)
	}
	if in.Status != nil && *in.Status != b.Status {
		b.Status = *in.Status
		b.StatusHistory = append(b.StatusHistory, b.Status)
	}
	b.UpdatedAt = now
}

func (s *Server) getBuild(r *http.Request, _ []byte) (int, any) {
	_, b, e := s.needBuild(r)
	if e != nil {
		return errResult(e)
	}
	return ok(map[string]any{"build": wireBuildOf(b)})
}

func (s *Server) updateBuild(r *http.Request, body []byte) (int, any) {
	v, b, e := s.needBuild(r)
	if e != nil {
		return errResult(e)
	}
	var in buildBody
	if e := decode(body, &in); e != nil {
		return errResult(e)
	}
	switch {
	case b.Status == BuildDone:
		return errResult(errorf(CodeFailedPrecondition, fmt.Sprintf("build %q (%s) is done and cannot be changed", b.ID, b.ComponentType)))
	case in.Status == nil:
		return errResult(errorf(CodeInvalidArgument, "status is required"))
	case !in.Status.valid():
		return errResult(errorf(CodeInvalidArgument, fmt.Sprintf("status %q is not a build status", *in.Status)))
	case *in.Status == BuildDone && len(in.Artifacts) == 0 && len(b.Artifacts) == 0:
		return errResult(errorf(CodeInvalidArgument, fmt.Sprintf("build %q (%s) cannot be done without artifacts", b.ID, b.ComponentType)))
	}
	if e := checkArtifacts(in.Artifacts); e != nil {
		return errResult(e)
	}
	s.applyBuild(b, in, s.now().UTC())
	s.refreshVersion(v)
	return ok(map[string]any{"build": wireBuildOf(b)})
}

func (s *Server) uploadSbom(r *http.Request, body []byte) (int, any) {
	_, b, e := s.needBuild(r)
	if e != nil {
		return errResult(e)
	}
	var in struct {
		CompressedSbom string `json:"compressed_sbom"`
		Format         string `json:"format"`
		Name           string `json:"name"`
	}
	if e := decode(body, &in); e != nil {
		return errResult(e)
	}
	if in.Format != "CYCLONEDX" && in.Format != "SPDX" {
		return errResult(errorf(CodeInvalidArgument, fmt.Sprintf("format %q: must be CYCLONEDX or SPDX", in.Format)))
	}
	data, err := base64.StdEncoding.DecodeString(in.CompressedSbom)
	if err != nil || len(data) == 0 {
		return errResult(errorf(CodeInvalidArgument, "compressed_sbom must be non-empty base64"))
	}
	b.SBOMs = append(b.SBOMs, SBOM{Name: in.Name, Format: in.Format, Size: len(data)})
	return ok(map[string]any{"sbom": map[string]any{"id": newULID(s.now()), "name": in.Name, "format": in.Format}})
}

func (s *Server) getEnforcedBlocks(r *http.Request, _ []byte) (int, any) {
	bucket := r.PathValue("bucket")
	if _, e := s.needBucket(bucket); e != nil {
		return errResult(e)
	}
	details := []map[string]any{}
	for _, eb := range s.enforced {
		if eb.Bucket != bucket {
			continue
		}
		details = append(details, map[string]any{
			"id":   eb.ID,
			"name": eb.Name,
			"version": map[string]any{
				"id":                eb.ID,
				"enforced_block_id": eb.ID,
				"version":           "v1",
				"block_content":     eb.Content,
				"template_type":     "HCL2",
			},
		})
	}
	return ok(map[string]any{"enforced_block_detail": details})
}

func (s *Server) getChannel(r *http.Request, _ []byte) (int, any) {
	bucket, name := r.PathValue("bucket"), r.PathValue("channel")
	if _, e := s.needBucket(bucket); e != nil {
		return errResult(e)
	}
	c := s.channel(bucket, name)
	if c == nil {
		return errResult(errorf(CodeNotFound, fmt.Sprintf("channel %q not found in bucket %q", name, bucket)))
	}
	return ok(map[string]any{"channel": s.wireChannel(c)})
}

func (s *Server) updateChannel(r *http.Request, body []byte) (int, any) {
	bucket, name := r.PathValue("bucket"), r.PathValue("channel")
	if _, e := s.needBucket(bucket); e != nil {
		return errResult(e)
	}
	c := s.channel(bucket, name)
	if c == nil {
		// Channels are created by users (or by SetChannel), not by
		// assigning a version to them.
		return errResult(errorf(CodeNotFound, fmt.Sprintf("channel %q not found in bucket %q", name, bucket)))
	}
	var in struct {
		VersionFingerprint string `json:"version_fingerprint"`
		UpdateMask         string `json:"update_mask"`
		Restricted         bool   `json:"restricted"`
	}
	if e := decode(body, &in); e != nil {
		return errResult(e)
	}
	if c.Managed {
		return errResult(errorf(CodeFailedPrecondition, fmt.Sprintf("channel %q is managed by HCP Packer and cannot be updated", name)))
	}
	var setVersion, setRestricted bool
	for _, field := range strings.Split(in.UpdateMask, ",") {
		switch strings.TrimSpace(field) {
		case "versionFingerprint", "version_fingerprint":
			setVersion = true
		case "restricted":
			setRestricted = true
		case "":
		default:
			return errResult(errorf(CodeInvalidArgument, fmt.Sprintf("update_mask: unknown field %q", field)))
		}
	}
	if !setVersion && !setRestricted {
		return errResult(errorf(CodeInvalidArgument, "update_mask is required"))
	}
	if setVersion && in.VersionFingerprint != "" {
		v := s.version(bucket, in.VersionFingerprint)
		switch {
		case v == nil:
			return errResult(errorf(CodeNotFound, fmt.Sprintf("version with fingerprint %q not found in bucket %q", in.VersionFingerprint, bucket)))
		case v.Status == VersionRevoked:
			return errResult(errorf(CodeFailedPrecondition, fmt.Sprintf("version %q is revoked", in.VersionFingerprint)))
		case v.Name == IncompleteVersionName:
			return errResult(errorf(CodeFailedPrecondition, fmt.Sprintf("version %q is not complete and cannot be assigned to a channel", in.VersionFingerprint)))
		}
	}
	if setVersion {
		s.assignChannel(c, in.VersionFingerprint)
	}
	if setRestricted {
		c.Restricted = in.Restricted
		c.UpdatedAt = s.now().UTC()
	}
	return ok(map[string]any{"channel": s.wireChannel(c)})
}
