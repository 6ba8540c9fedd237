package registry

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// deprecatedPrefix is where the 2021-04-30 Packer service lives. Packer 1.16
// still reads it for the deprecated hcp-packer-iteration and
// hcp-packer-image data sources (internal/hcp/api/deprecated_service.go):
// a channel with its iteration, and an iteration by id. The same records
// answer both APIs: an iteration is a version (same ULID), its
// incremental_version the number of its name "v<N>", a bucket's slug its
// name, an image an artifact, a build's cloud_provider its platform.
const deprecatedPrefix = "/packer/2021-04-30/organizations/{org}/projects/{proj}"

type wireIteration struct {
	ID                      string                   `json:"id"`
	BucketSlug              string                   `json:"bucket_slug"`
	Fingerprint             string                   `json:"fingerprint"`
	AuthorID                string                   `json:"author_id"`
	Complete                bool                     `json:"complete"`
	IncrementalVersion      int                      `json:"incremental_version"`
	TemplateType            string                   `json:"template_type"`
	Builds                  []*wireIterationBuild    `json:"builds"`
	HasDescendants          bool                     `json:"has_descendants"`
	RevokeAt                string                   `json:"revoke_at,omitempty"`
	RevocationMessage       string                   `json:"revocation_message,omitempty"`
	RevocationAuthor        string                   `json:"revocation_author,omitempty"`
	RevocationType          string                   `json:"revocation_type,omitempty"`
	RevocationInheritedFrom *wireIterationRevokedFor `json:"revocation_inherited_from,omitempty"`
	CreatedAt               string                   `json:"created_at"`
	UpdatedAt               string                   `json:"updated_at"`
}

type wireIterationRevokedFor struct {
	BucketSlug                  string `json:"bucket_slug"`
	IterationFingerprint        string `json:"iteration_fingerprint"`
	IterationID                 string `json:"iteration_id"`
	IterationIncrementalVersion int    `json:"iteration_incremental_version"`
	Href                        string `json:"href"`
}

type wireIterationBuild struct {
	ID            string            `json:"id"`
	IterationID   string            `json:"iteration_id"`
	ComponentType string            `json:"component_type"`
	CloudProvider string            `json:"cloud_provider,omitempty"`
	PackerRunUUID string            `json:"packer_run_uuid,omitempty"`
	Status        string            `json:"status"`
	Labels        map[string]string `json:"labels"`
	Images        []wireImage       `json:"images"`
	SourceImageID string            `json:"source_image_id,omitempty"`
	CreatedAt     string            `json:"created_at"`
	UpdatedAt     string            `json:"updated_at"`
}

type wireImage struct {
	ID        string `json:"id"`
	ImageID   string `json:"image_id"`
	Region    string `json:"region"`
	CreatedAt string `json:"created_at"`
}

type wireDeprecatedChannel struct {
	ID         string         `json:"id"`
	Slug       string         `json:"slug"`
	BucketSlug string         `json:"bucket_slug"`
	AuthorID   string         `json:"author_id"`
	Managed    bool           `json:"managed"`
	Restricted bool           `json:"restricted"`
	Iteration  *wireIteration `json:"iteration,omitempty"`
	Pointer    *wirePointer   `json:"pointer,omitempty"`
	CreatedAt  string         `json:"created_at"`
	UpdatedAt  string         `json:"updated_at"`
}

type wirePointer struct {
	AuthorID  string         `json:"author_id"`
	CreatedAt string         `json:"created_at"`
	Iteration *wireIteration `json:"iteration,omitempty"`
}

// incrementalVersion is N of a name "v<N>", 0 for an incomplete version.
func incrementalVersion(name string) int {
	n, err := strconv.Atoi(strings.TrimPrefix(name, "v"))
	if err != nil {
		return 0
	}
	return n
}

func (s *Server) wireIteration(v *Version) *wireIteration {
	w := &wireIteration{
		ID: v.ID, BucketSlug: v.Bucket, Fingerprint: v.Fingerprint, AuthorID: s.ClientID,
		Complete: v.Name != IncompleteVersionName, IncrementalVersion: incrementalVersion(v.Name),
		TemplateType: v.TemplateType, Builds: []*wireIterationBuild{}, HasDescendants: s.hasDescendants(v),
		CreatedAt: stamp(v.CreatedAt), UpdatedAt: stamp(v.UpdatedAt),
	}
	for _, b := range s.versionBuilds(v) {
		wb := &wireIterationBuild{
			ID: b.ID, IterationID: v.ID, ComponentType: b.ComponentType, CloudProvider: b.Platform,
			PackerRunUUID: b.PackerRunUUID, Status: strings.TrimPrefix(string(b.Status), "BUILD_"),
			Labels: b.Labels, Images: []wireImage{}, SourceImageID: b.SourceExternalID,
			CreatedAt: stamp(b.CreatedAt), UpdatedAt: stamp(b.UpdatedAt),
		}
		if wb.Labels == nil {
			wb.Labels = map[string]string{}
		}
		for _, a := range b.Artifacts {
			wb.Images = append(wb.Images, wireImage{ID: a.ID, ImageID: a.ExternalID, Region: a.Region, CreatedAt: stamp(a.CreatedAt)})
		}
		w.Builds = append(w.Builds, wb)
	}
	if !v.RevokeAt.IsZero() {
		// The deprecated data sources refuse an iteration whose
		// revoke_at is in the past; a scheduled one is still usable.
		w.RevokeAt = stamp(v.RevokeAt)
		w.RevocationMessage = v.RevocationMessage
		w.RevocationAuthor = v.RevocationAuthor
		w.RevocationType = string(v.RevocationType)
		if a := s.versionByID(v.RevocationInheritedFrom); a != nil {
			w.RevocationInheritedFrom = &wireIterationRevokedFor{
				BucketSlug: a.Bucket, IterationFingerprint: a.Fingerprint, IterationID: a.ID,
				IterationIncrementalVersion: incrementalVersion(a.Name),
				Href: fmt.Sprintf("/packer/2021-04-30/organizations/%s/projects/%s/images/%s/iteration?iteration_id=%s",
					s.OrganizationID, s.ProjectID, a.Bucket, a.ID),
			}
		}
	}
	return w
}

func (s *Server) getDeprecatedChannel(r *http.Request, _ []byte) (int, any) {
	bucket, name := r.PathValue("bucket"), r.PathValue("channel")
	if _, e := s.needBucket(bucket); e != nil {
		return errResult(e)
	}
	c := s.channel(bucket, name)
	if c == nil {
		return errResult(errorf(CodeNotFound, fmt.Sprintf("channel %q not found in bucket %q", name, bucket)))
	}
	w := &wireDeprecatedChannel{
		ID: c.ID, Slug: c.Name, BucketSlug: c.Bucket, AuthorID: s.ClientID,
		Managed: c.Managed, Restricted: c.Restricted,
		CreatedAt: stamp(c.CreatedAt), UpdatedAt: stamp(c.UpdatedAt),
	}
	if c.Fingerprint != "" {
		if v := s.version(c.Bucket, c.Fingerprint); v != nil {
			w.Iteration = s.wireIteration(v)
			w.Pointer = &wirePointer{AuthorID: s.ClientID, CreatedAt: stamp(c.UpdatedAt), Iteration: w.Iteration}
		}
	}
	return ok(map[string]any{"channel": w})
}

// getIteration answers GET .../images/{bucket}/iteration with exactly one
// of the queries iteration_id, fingerprint or incremental_version.
func (s *Server) getIteration(r *http.Request, _ []byte) (int, any) {
	bucket := r.PathValue("bucket")
	if _, e := s.needBucket(bucket); e != nil {
		return errResult(e)
	}
	q := r.URL.Query()
	id, fp, inc := q.Get("iteration_id"), q.Get("fingerprint"), q.Get("incremental_version")
	set := 0
	for _, x := range []string{id, fp, inc} {
		if x != "" {
			set++
		}
	}
	if set != 1 {
		return errResult(errorf(CodeInvalidArgument, "exactly one of iteration_id, fingerprint and incremental_version is required"))
	}
	for _, v := range s.versions {
		if v.Bucket != bucket {
			continue
		}
		if (id != "" && v.ID == id) || (fp != "" && v.Fingerprint == fp) ||
			(inc != "" && v.Name != IncompleteVersionName && strconv.Itoa(incrementalVersion(v.Name)) == inc) {
			return ok(map[string]any{"iteration": s.wireIteration(v)})
		}
	}
	return errResult(errorf(CodeNotFound, fmt.Sprintf("iteration (%s) not found in bucket %q", strings.TrimPrefix(r.URL.RawQuery, "?"), bucket)))
}
