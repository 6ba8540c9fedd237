package registry

import (
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"time"
)

// BuildStatus is the status of a build, spelled as on the wire.
type BuildStatus string

// The build statuses of the HCP Packer API (2023-01-01).
const (
	BuildUnset     BuildStatus = "BUILD_UNSET"
	BuildRunning   BuildStatus = "BUILD_RUNNING"
	BuildDone      BuildStatus = "BUILD_DONE"
	BuildCancelled BuildStatus = "BUILD_CANCELLED"
	BuildFailed    BuildStatus = "BUILD_FAILED"
)

func (s BuildStatus) valid() bool {
	switch s {
	case BuildUnset, BuildRunning, BuildDone, BuildCancelled, BuildFailed:
		return true
	}
	return false
}

// VersionStatus is the status of a version, spelled as on the wire. The
// emulator derives it from the statuses of the version's builds.
type VersionStatus string

// The version statuses the emulator uses, as hcp-sdk-go's
// HashicorpCloudPacker20230101VersionStatus documents them.
const (
	// VersionRunning: some build is running, or the version has no builds
	// yet.
	VersionRunning VersionStatus = "VERSION_RUNNING"
	// VersionIncomplete: some build never ran (it is still BUILD_UNSET)
	// and none is running.
	VersionIncomplete VersionStatus = "VERSION_INCOMPLETE"
	// VersionActive: every build is done; the version has a name "v<N>".
	VersionActive VersionStatus = "VERSION_ACTIVE"
	// VersionFailed: no build is running and some build failed.
	VersionFailed VersionStatus = "VERSION_FAILED"
	// VersionCancelled: no build is running and some build was cancelled.
	VersionCancelled VersionStatus = "VERSION_CANCELLED"
	// VersionRevoked: the version was revoked (Server.RevokeVersion or a
	// PATCH of the version with revoke_at or revoke_in), directly or
	// inherited from a revoked ancestor.
	VersionRevoked VersionStatus = "VERSION_REVOKED"
	// VersionRevocationScheduled: the version will be revoked at its
	// RevokeAt, which is in the future; until then it stays usable.
	VersionRevocationScheduled VersionStatus = "VERSION_REVOCATION_SCHEDULED"
)

// IncompleteVersionName is the name of every version that is not complete
// yet. Packer relies on it: a version with any other name is complete, and
// `packer build` refuses to add builds to it.
const IncompleteVersionName = "v0"

// LatestChannel is the channel the service manages itself: it always points
// at the bucket's most recently completed version.
const LatestChannel = "latest"

// Bucket is a recorded bucket.
type Bucket struct {
	ID          string            `json:"id"`
	Name        string            `json:"name"`
	Description string            `json:"description"`
	Labels      map[string]string `json:"labels"`
	CreatedAt   time.Time         `json:"created_at"`
	UpdatedAt   time.Time         `json:"updated_at"`
}

// Version is a recorded version: one fingerprint in one bucket.
type Version struct {
	ID     string `json:"id"`
	Bucket string `json:"bucket"`
	// Fingerprint is what Packer chose (HCP_PACKER_BUILD_FINGERPRINT or a
	// fresh ULID); Packer addresses versions by it.
	Fingerprint string `json:"fingerprint"`
	// Name is IncompleteVersionName until every build is done, then "v<N>".
	Name         string        `json:"name"`
	Status       VersionStatus `json:"status"`
	TemplateType string        `json:"template_type"`
	CreatedAt    time.Time     `json:"created_at"`
	UpdatedAt    time.Time     `json:"updated_at"`
	// RevokeAt is when the version is (or will be) revoked; zero when it
	// is not. See Server.RevokeVersion.
	RevokeAt          time.Time      `json:"revoke_at,omitzero"`
	RevocationMessage string         `json:"revocation_message,omitempty"`
	RevocationAuthor  string         `json:"revocation_author,omitempty"`
	RevocationType    RevocationType `json:"revocation_type,omitempty"`
	// RevocationInheritedFrom is the ID of the revoked ancestor whose
	// revocation this version inherited.
	RevocationInheritedFrom string `json:"revocation_inherited_from,omitempty"`

	revocation *revocationState
}

// Build is a recorded build: one source of one version.
type Build struct {
	ID          string `json:"id"`
	Bucket      string `json:"bucket"`
	Fingerprint string `json:"fingerprint"`
	VersionID   string `json:"version_id"`
	// ComponentType is Packer's name for the build, e.g. "null.example" or,
	// when a source is used twice, "<build name>.null.example".
	ComponentType string      `json:"component_type"`
	Platform      string      `json:"platform"`
	Status        BuildStatus `json:"status"`
	// StatusHistory lists the statuses the build went through, starting with
	// the one it was created with. Repeats of the current status (Packer's
	// heartbeats) are not listed again; they are in Server.Requests.
	StatusHistory []BuildStatus     `json:"status_history"`
	PackerRunUUID string            `json:"packer_run_uuid"`
	Labels        map[string]string `json:"labels"`
	Artifacts     []Artifact        `json:"artifacts"`
	// SourceExternalID is the id of the image this build started from.
	SourceExternalID string `json:"source_external_identifier"`
	// ParentVersionID and ParentChannelID are set when the source image was
	// read from this registry with an hcp-packer-artifact data source.
	ParentVersionID string          `json:"parent_version_id"`
	ParentChannelID string          `json:"parent_channel_id"`
	Metadata        json.RawMessage `json:"metadata,omitempty"`
	SBOMs           []SBOM          `json:"sboms,omitempty"`
	CreatedAt       time.Time       `json:"created_at"`
	UpdatedAt       time.Time       `json:"updated_at"`
}

// Artifact is one image a build produced.
type Artifact struct {
	ID         string    `json:"id"`
	ExternalID string    `json:"external_identifier"`
	Region     string    `json:"region"`
	CreatedAt  time.Time `json:"created_at"`
}

// SBOM is a software bill of materials uploaded for a build.
type SBOM struct {
	Name   string `json:"name"`
	Format string `json:"format"`
	// Size is the length of the compressed document in bytes.
	Size int `json:"size"`
}

// Channel is a recorded channel of a bucket.
type Channel struct {
	ID     string `json:"id"`
	Bucket string `json:"bucket"`
	Name   string `json:"name"`
	// Fingerprint is the version the channel points at; empty when none.
	Fingerprint string `json:"fingerprint"`
	// History lists every fingerprint assigned to the channel, in order.
	History    []string  `json:"history"`
	Managed    bool      `json:"managed"`
	Restricted bool      `json:"restricted"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// EnforcedBlock is a block of provisioners the registry makes Packer inject
// into every build of the buckets it is linked to.
type EnforcedBlock struct {
	ID      string `json:"id"`
	Bucket  string `json:"bucket"`
	Name    string `json:"name"`
	Content string `json:"content"`
}

// Request is one HTTP request the emulator received.
type Request struct {
	// Seq numbers requests from 1 in the order they arrived.
	Seq    int       `json:"seq"`
	Time   time.Time `json:"time"`
	Op     Op        `json:"op"`
	Method string    `json:"method"`
	Path   string    `json:"path"`
	Query  string    `json:"query,omitempty"`
	// Params holds the path parameters of the route: bucket, fingerprint,
	// build, channel.
	Params map[string]string `json:"params,omitempty"`
	Header http.Header       `json:"header"`
	Body   string            `json:"body,omitempty"`
	// Status is the HTTP status of the answer; 0 while the request is being
	// answered (for example while it is stalled).
	Status int `json:"status"`
	// Fault is true when an injected fault answered the request.
	Fault bool `json:"fault,omitempty"`
}

// State is a snapshot of everything the emulator recorded.
type State struct {
	Buckets        []Bucket        `json:"buckets"`
	Versions       []Version       `json:"versions"`
	Builds         []Build         `json:"builds"`
	Channels       []Channel       `json:"channels"`
	EnforcedBlocks []EnforcedBlock `json:"enforced_blocks"`
	Requests       []Request       `json:"requests"`
}

func (b Bucket) clone() Bucket {
	b.Labels = maps.Clone(b.Labels)
	return b
}

func (b Build) clone() Build {
	b.StatusHistory = slices.Clone(b.StatusHistory)
	b.Labels = maps.Clone(b.Labels)
	b.Artifacts = slices.Clone(b.Artifacts)
	b.Metadata = slices.Clone(b.Metadata)
	b.SBOMs = slices.Clone(b.SBOMs)
	return b
}

func (c Channel) clone() Channel {
	c.History = slices.Clone(c.History)
	return c
}

func (r Request) clone() Request {
	r.Params = maps.Clone(r.Params)
	r.Header = r.Header.Clone()
	return r
}
