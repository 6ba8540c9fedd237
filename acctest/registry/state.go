package registry

import (
	"fmt"
	"regexp"
	"slices"
)

// bucketNameRE is the rule the service (and Packer's HCL parser) applies to
// bucket names.
var bucketNameRE = regexp.MustCompile(`^[a-zA-Z0-9-]{3,36}$`)

// Buckets returns a copy of the recorded buckets in creation order.
func (s *Server) Buckets() []Bucket {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tick()
	out := make([]Bucket, 0, len(s.buckets))
	for _, b := range s.buckets {
		out = append(out, b.clone())
	}
	return out
}

// Versions returns a copy of the recorded versions in creation order.
func (s *Server) Versions() []Version {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tick()
	out := make([]Version, 0, len(s.versions))
	for _, v := range s.versions {
		out = append(out, *v)
	}
	return out
}

// Builds returns a copy of the recorded builds in creation order.
func (s *Server) Builds() []Build {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tick()
	out := make([]Build, 0, len(s.builds))
	for _, b := range s.builds {
		out = append(out, b.clone())
	}
	return out
}

// Channels returns a copy of the recorded channels in creation order.
func (s *Server) Channels() []Channel {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tick()
	out := make([]Channel, 0, len(s.channels))
	for _, c := range s.channels {
		out = append(out, c.clone())
	}
	return out
}

// EnforcedBlocks returns a copy of the enforced blocks added with
// AddEnforcedBlock.
func (s *Server) EnforcedBlocks() []EnforcedBlock {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]EnforcedBlock, 0, len(s.enforced))
	for _, e := range s.enforced {
		out = append(out, *e)
	}
	return out
}

// Requests returns a copy of every request received, in arrival order,
// including token requests, unknown routes and requests answered by faults.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requestsLocked()
}

func (s *Server) requestsLocked() []Request {
	out := make([]Request, 0, len(s.requests))
	for _, r := range s.requests {
		out = append(out, r.clone())
	}
	return out
}

// State returns a consistent snapshot of everything recorded.
func (s *Server) State() State {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tick()
	st := State{
		Buckets:        make([]Bucket, 0, len(s.buckets)),
		Versions:       make([]Version, 0, len(s.versions)),
		Builds:         make([]Build, 0, len(s.builds)),
		Channels:       make([]Channel, 0, len(s.channels)),
		EnforcedBlocks: make([]EnforcedBlock, 0, len(s.enforced)),
		Requests:       s.requestsLocked(),
	}
	for _, b := range s.buckets {
		st.Buckets = append(st.Buckets, b.clone())
	}
	for _, v := range s.versions {
		st.Versions = append(st.Versions, *v)
	}
	for _, b := range s.builds {
		st.Builds = append(st.Builds, b.clone())
	}
	for _, c := range s.channels {
		st.Channels = append(st.Channels, c.clone())
	}
	for _, e := range s.enforced {
		st.EnforcedBlocks = append(st.EnforcedBlocks, *e)
	}
	return st
}

// AddBucket creates an empty bucket, as a user would in the HCP portal
// before the first build, so that a test can add channels or enforced
// blocks to it. Packer then finds the bucket and updates it.
func (s *Server) AddBucket(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !bucketNameRE.MatchString(name) {
		return fmt.Errorf("registry: bucket name %q: must be 3 to 36 letters, digits or dashes", name)
	}
	if s.bucket(name) != nil {
		return fmt.Errorf("registry: bucket %q already exists", name)
	}
	s.newBucket(name, "", nil)
	return nil
}

// SetChannel points the bucket's channel at the version with the given
// fingerprint, creating the channel if needed; an empty fingerprint leaves
// the channel (or makes it) unassigned. Use it between builds, for example to
// publish the version a first build made so that a second build reads it
// with an hcp-packer-artifact data source.
//
// Unlike the API, SetChannel also accepts versions that are not complete
// and the managed "latest" channel, so tests can set up states the service
// would refuse to produce.
func (s *Server) SetChannel(bucket, channel, fingerprint string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.bucket(bucket) == nil {
		return fmt.Errorf("registry: bucket %q does not exist", bucket)
	}
	if channel == "" {
		return fmt.Errorf("registry: channel name is empty")
	}
	if fingerprint != "" && s.version(bucket, fingerprint) == nil {
		return fmt.Errorf("registry: bucket %q has no version with fingerprint %q", bucket, fingerprint)
	}
	c := s.channel(bucket, channel)
	if c == nil {
		c = s.newChannel(bucket, channel, false)
	}
	s.assignChannel(c, fingerprint)
	return nil
}

// AddEnforcedBlock links a block of provisioners, written in HCL, to the
// bucket. Packer fetches it at the start of every build of the bucket and
// injects its provisioners into each build.
func (s *Server) AddEnforcedBlock(bucket, name, content string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.bucket(bucket) == nil {
		return fmt.Errorf("registry: bucket %q does not exist", bucket)
	}
	if name == "" {
		return fmt.Errorf("registry: enforced block name is empty")
	}
	s.enforced = append(s.enforced, &EnforcedBlock{ID: newULID(s.now()), Bucket: bucket, Name: name, Content: content})
	return nil
}

// The helpers below run with s.mu held.

func (s *Server) bucket(name string) *Bucket {
	for _, b := range s.buckets {
		if b.Name == name {
			return b
		}
	}
	return nil
}

func (s *Server) newBucket(name, description string, labels map[string]string) *Bucket {
	now := s.now().UTC()
	if labels == nil {
		labels = map[string]string{}
	}
	b := &Bucket{ID: newULID(now), Name: name, Description: description, Labels: labels, CreatedAt: now, UpdatedAt: now}
	s.buckets = append(s.buckets, b)
	return b
}

func (s *Server) version(bucket, fingerprint string) *Version {
	for _, v := range s.versions {
		if v.Bucket == bucket && v.Fingerprint == fingerprint {
			return v
		}
	}
	return nil
}

func (s *Server) versionBuilds(v *Version) []*Build {
	var out []*Build
	for _, b := range s.builds {
		if b.VersionID == v.ID {
			out = append(out, b)
		}
	}
	return out
}

func (s *Server) channel(bucket, name string) *Channel {
	for _, c := range s.channels {
		if c.Bucket == bucket && c.Name == name {
			return c
		}
	}
	return nil
}

func (s *Server) newChannel(bucket, name string, managed bool) *Channel {
	now := s.now().UTC()
	c := &Channel{ID: newULID(now), Bucket: bucket, Name: name, Managed: managed, CreatedAt: now, UpdatedAt: now}
	s.channels = append(s.channels, c)
	return c
}

func (s *Server) assignChannel(c *Channel, fingerprint string) {
	c.Fingerprint = fingerprint
	if fingerprint != "" {
		c.History = append(c.History, fingerprint)
	}
	c.UpdatedAt = s.now().UTC()
}

// refreshVersion derives a version's status from its builds, the way the
// service does. When the last build is done the version is complete: it
// gets the next name "v<N>" in its bucket and the managed "latest" channel
// moves to it.
func (s *Server) refreshVersion(v *Version) {
	if !v.RevokeAt.IsZero() || v.Name != IncompleteVersionName {
		return
	}
	builds := s.versionBuilds(v)
	v.UpdatedAt = s.now().UTC()
	v.Status = deriveStatus(builds)
	if v.Status != VersionActive {
		return
	}
	n := 1
	for _, other := range s.versions {
		if other.Bucket == v.Bucket && other.Name != IncompleteVersionName {
			n++
		}
	}
	v.Name = fmt.Sprintf("v%d", n)
	latest := s.channel(v.Bucket, LatestChannel)
	if latest == nil {
		latest = s.newChannel(v.Bucket, LatestChannel, true)
	}
	s.assignChannel(latest, v.Fingerprint)
}

func deriveStatus(builds []*Build) VersionStatus {
	if len(builds) == 0 {
		// Packer creates the version and then its builds: in between
		// the service reports the version running, as Packer's own
		// mock does.
		return VersionRunning
	}
	statuses := make([]BuildStatus, 0, len(builds))
	for _, b := range builds {
		statuses = append(statuses, b.Status)
	}
	switch {
	case !slices.ContainsFunc(statuses, func(st BuildStatus) bool { return st != BuildDone }):
		return VersionActive
	case slices.Contains(statuses, BuildRunning):
		return VersionRunning
	case slices.Contains(statuses, BuildFailed):
		return VersionFailed
	case slices.Contains(statuses, BuildCancelled):
		return VersionCancelled
	default:
		// Builds that never ran (still BUILD_UNSET), for example those a
		// `packer build -only` left out. The API documents this state as
		// VERSION_INCOMPLETE; the version stays open for a later run.
		return VersionIncomplete
	}
}
