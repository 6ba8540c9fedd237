package acctest

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/example/packer-plugin-scaffolding/acctest/registry"
)

// The registry checks look at what the run's HCP Packer registry emulator
// recorded up to the step being checked (all steps so far: a run has one
// registry). They need Case.Registry. A component names a build the way
// Packer does ("scaffolding.example"); when several steps built the same
// component, a check looks at the most recent build.

func init() {
	registryHook = startRegistry
}

// startRegistry gives each run of a Registry case its own emulator, closed
// when the test ends.
func startRegistry(t testing.TB, _ *Run) (registryAttachment, error) {
	s := registry.NewUnstartedServer()
	if err := s.Start(); err != nil {
		return registryAttachment{}, err
	}
	t.Cleanup(s.Close)
	env := s.EnvMap()
	// The harness turns the registry off for every other case; here it is
	// on, which also makes Packer refuse a template that names no bucket
	// instead of silently publishing nothing.
	env["HCP_PACKER_REGISTRY"] = "on"
	return registryAttachment{
		handle: s,
		env:    func(int) map[string]string { return env },
	}, nil
}

// Registry returns the run's HCP Packer registry emulator, or nil when the
// case does not set Registry. A Step's PreBuild can use it to prepare the
// registry, for example to point a channel at a version an earlier step
// built.
func (r *Run) Registry() *registry.Server {
	if r == nil {
		return nil
	}
	s, _ := r.registryHandle().(*registry.Server)
	return s
}

// Registry returns the registry emulator of the run the result belongs to,
// or nil.
func (r *Result) Registry() *registry.Server { return r.Run().Registry() }

var errNoRegistry = errors.New("expected the run to have an HCP Packer registry, found none (set Case.Registry)")

func registryOf(r *Result) (*registry.Server, error) {
	if s := r.Registry(); s != nil {
		return s, nil
	}
	return nil, errNoRegistry
}

// latestBuild returns the most recent build of the component.
func latestBuild(r *Result, component string) (registry.Build, error) {
	s, err := registryOf(r)
	if err != nil {
		return registry.Build{}, err
	}
	builds := s.Builds()
	for i := len(builds) - 1; i >= 0; i-- {
		if builds[i].ComponentType == component {
			return builds[i], nil
		}
	}
	names := make([]string, 0, len(builds))
	for _, b := range builds {
		names = append(names, b.Bucket+"/"+b.ComponentType)
	}
	return registry.Build{}, fmt.Errorf("expected a build of component %q in the registry, found %s", component, listOrNone(names))
}

// latestVersion returns the most recently created version of the bucket.
func latestVersion(s *registry.Server, bucket string) (registry.Version, error) {
	versions := s.Versions()
	for i := len(versions) - 1; i >= 0; i-- {
		if versions[i].Bucket == bucket {
			return versions[i], nil
		}
	}
	return registry.Version{}, fmt.Errorf("expected a version in bucket %q, found none (buckets: %s)", bucket, listOrNone(bucketNames(s)))
}

func bucketNames(s *registry.Server) []string {
	var names []string
	for _, b := range s.Buckets() {
		names = append(names, b.Name)
	}
	return names
}

func listOrNone(items []string) string {
	if len(items) == 0 {
		return "none"
	}
	return strings.Join(items, ", ")
}

func formatLabels(m map[string]string) string {
	keys := slices.Sorted(maps.Keys(m))
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%q", k, m[k]))
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// RegistryBucketExists checks that Packer created or updated the bucket.
func RegistryBucketExists(name string) Check { return registryBucketExists{name: name} }

type registryBucketExists struct{ name string }

func (c registryBucketExists) Check(r *Result) error {
	s, err := registryOf(r)
	if err != nil {
		return err
	}
	names := bucketNames(s)
	if !slices.Contains(names, c.name) {
		return fmt.Errorf("expected bucket %q in the registry, found %s", c.name, listOrNone(names))
	}
	return nil
}

func (c registryBucketExists) String() string { return fmt.Sprintf("RegistryBucketExists(%q)", c.name) }

// RegistryVersionStatus checks the status of the bucket's most recent
// version, such as registry.VersionActive once all its builds are done.
func RegistryVersionStatus(bucket string, status registry.VersionStatus) Check {
	return registryVersionStatus{bucket: bucket, status: status}
}

type registryVersionStatus struct {
	bucket string
	status registry.VersionStatus
}

func (c registryVersionStatus) Check(r *Result) error {
	s, err := registryOf(r)
	if err != nil {
		return err
	}
	v, err := latestVersion(s, c.bucket)
	if err != nil {
		return err
	}
	if v.Status != c.status {
		return fmt.Errorf("expected version %s (%s) of bucket %q to be %s, found %s", v.Name, v.Fingerprint, c.bucket, c.status, v.Status)
	}
	return nil
}

func (c registryVersionStatus) String() string {
	return fmt.Sprintf("RegistryVersionStatus(%q, %s)", c.bucket, c.status)
}

// RegistryBuildStatus checks the current status of the component's build,
// such as registry.BuildDone.
func RegistryBuildStatus(component string, status registry.BuildStatus) Check {
	return registryBuildStatus{component: component, status: status}
}

type registryBuildStatus struct {
	component string
	status    registry.BuildStatus
}

func (c registryBuildStatus) Check(r *Result) error {
	b, err := latestBuild(r, c.component)
	if err != nil {
		return err
	}
	if b.Status != c.status {
		return fmt.Errorf("expected build %q to be %s, found %s (history %v)", c.component, c.status, b.Status, b.StatusHistory)
	}
	return nil
}

func (c registryBuildStatus) String() string {
	return fmt.Sprintf("RegistryBuildStatus(%q, %s)", c.component, c.status)
}

// RegistryBuildHistory checks the whole sequence of statuses the
// component's build went through, starting with the status Packer created it
// with (BUILD_UNSET): a successful build is UNSET, RUNNING, DONE. Repeated
// heartbeats do not appear twice.
func RegistryBuildHistory(component string, statuses ...registry.BuildStatus) Check {
	return registryBuildHistory{component: component, statuses: statuses}
}

type registryBuildHistory struct {
	component string
	statuses  []registry.BuildStatus
}

func (c registryBuildHistory) Check(r *Result) error {
	b, err := latestBuild(r, c.component)
	if err != nil {
		return err
	}
	if !slices.Equal(b.StatusHistory, c.statuses) {
		return fmt.Errorf("expected build %q to go through %v, found %v", c.component, c.statuses, b.StatusHistory)
	}
	return nil
}

func (c registryBuildHistory) String() string {
	return fmt.Sprintf("RegistryBuildHistory(%q, %v)", c.component, c.statuses)
}

// RegistryBuildPlatform checks the platform Packer published for the
// component's build: the ProviderName of its first image.
func RegistryBuildPlatform(component, platform string) Check {
	return registryBuildPlatform{component: component, platform: platform}
}

type registryBuildPlatform struct{ component, platform string }

func (c registryBuildPlatform) Check(r *Result) error {
	b, err := latestBuild(r, c.component)
	if err != nil {
		return err
	}
	if b.Platform != c.platform {
		return fmt.Errorf("expected build %q on platform %q, found %q", c.component, c.platform, b.Platform)
	}
	return nil
}

func (c registryBuildPlatform) String() string {
	return fmt.Sprintf("RegistryBuildPlatform(%q, %q)", c.component, c.platform)
}

// RegistryArtifact checks that some build in the registry published an
// artifact with this external id in this region.
func RegistryArtifact(externalID, region string) Check {
	return registryArtifact{id: externalID, region: region}
}

type registryArtifact struct{ id, region string }

func (c registryArtifact) Check(r *Result) error {
	s, err := registryOf(r)
	if err != nil {
		return err
	}
	var found []string
	for _, b := range s.Builds() {
		for _, a := range b.Artifacts {
			if a.ExternalID == c.id && a.Region == c.region {
				return nil
			}
			found = append(found, fmt.Sprintf("%s in %q (%s)", a.ExternalID, a.Region, b.ComponentType))
		}
	}
	return fmt.Errorf("expected artifact %s in region %q in the registry, found %s", c.id, c.region, listOrNone(found))
}

func (c registryArtifact) String() string {
	return fmt.Sprintf("RegistryArtifact(%q, %q)", c.id, c.region)
}

// RegistryArtifactCount checks how many artifacts the component's build
// published (one per image: a multi-region post-processor publishes one per
// region).
func RegistryArtifactCount(component string, n int) Check {
	return registryArtifactCount{component: component, n: n}
}

type registryArtifactCount struct {
	component string
	n         int
}

func (c registryArtifactCount) Check(r *Result) error {
	b, err := latestBuild(r, c.component)
	if err != nil {
		return err
	}
	if len(b.Artifacts) != c.n {
		var found []string
		for _, a := range b.Artifacts {
			found = append(found, fmt.Sprintf("%s in %q", a.ExternalID, a.Region))
		}
		return fmt.Errorf("expected %d artifact(s) for build %q, found %d: %s", c.n, c.component, len(b.Artifacts), listOrNone(found))
	}
	return nil
}

func (c registryArtifactCount) String() string {
	return fmt.Sprintf("RegistryArtifactCount(%q, %d)", c.component, c.n)
}

// RegistryBuildLabels checks that the component's build carries at least
// these labels with these values (Packer may add others, such as a git
// commit).
func RegistryBuildLabels(component string, labels map[string]string) Check {
	return registryBuildLabels{component: component, labels: maps.Clone(labels)}
}

type registryBuildLabels struct {
	component string
	labels    map[string]string
}

func (c registryBuildLabels) Check(r *Result) error {
	b, err := latestBuild(r, c.component)
	if err != nil {
		return err
	}
	var wrong []string
	for _, k := range slices.Sorted(maps.Keys(c.labels)) {
		if got, ok := b.Labels[k]; !ok || got != c.labels[k] {
			wrong = append(wrong, k)
		}
	}
	if len(wrong) > 0 {
		return fmt.Errorf("expected build %q to have labels %s, found %s (wrong or missing: %s)",
			c.component, formatLabels(c.labels), formatLabels(b.Labels), strings.Join(wrong, ", "))
	}
	return nil
}

func (c registryBuildLabels) String() string {
	return fmt.Sprintf("RegistryBuildLabels(%q, %s)", c.component, formatLabels(c.labels))
}

// RegistrySourceExternalID checks the source image id Packer published for
// the component's build: the SourceImageID of its images.
func RegistrySourceExternalID(component, id string) Check {
	return registrySourceExternalID{component: component, id: id}
}

type registrySourceExternalID struct{ component, id string }

func (c registrySourceExternalID) Check(r *Result) error {
	b, err := latestBuild(r, c.component)
	if err != nil {
		return err
	}
	if b.SourceExternalID != c.id {
		return fmt.Errorf("expected build %q to come from source image %q, found %q", c.component, c.id, b.SourceExternalID)
	}
	return nil
}

func (c registrySourceExternalID) String() string {
	return fmt.Sprintf("RegistrySourceExternalID(%q, %q)", c.component, c.id)
}

// RegistryParentVersion checks the component's build's ancestry: its
// parent version is a version of parentBucket, and, when channel is not
// empty, its parent channel is that channel of parentBucket. Packer sets
// both when the build's source image is an artifact read with an
// hcp-packer-artifact data source.
func RegistryParentVersion(component, parentBucket, channel string) Check {
	return registryParentVersion{component: component, bucket: parentBucket, channel: channel}
}

type registryParentVersion struct{ component, bucket, channel string }

func (c registryParentVersion) Check(r *Result) error {
	b, err := latestBuild(r, c.component)
	if err != nil {
		return err
	}
	s := r.Registry()
	if b.ParentVersionID == "" {
		return fmt.Errorf("expected build %q to have a parent version in bucket %q, found none (source image %q)", c.component, c.bucket, b.SourceExternalID)
	}
	var parent *registry.Version
	for _, v := range s.Versions() {
		if v.ID == b.ParentVersionID {
			parent = &v
			break
		}
	}
	switch {
	case parent == nil:
		return fmt.Errorf("expected build %q to have a parent version in bucket %q, found unknown version id %q", c.component, c.bucket, b.ParentVersionID)
	case parent.Bucket != c.bucket:
		return fmt.Errorf("expected build %q to have a parent version in bucket %q, found %s of bucket %q", c.component, c.bucket, parent.Name, parent.Bucket)
	}
	if c.channel == "" {
		return nil
	}
	for _, ch := range s.Channels() {
		if ch.Bucket == c.bucket && ch.Name == c.channel {
			if ch.ID != b.ParentChannelID {
				return fmt.Errorf("expected build %q to have parent channel %q of bucket %q (id %s), found channel id %q", c.component, c.channel, c.bucket, ch.ID, b.ParentChannelID)
			}
			return nil
		}
	}
	return fmt.Errorf("expected channel %q in bucket %q for the parent of build %q, found no such channel", c.channel, c.bucket, c.component)
}

func (c registryParentVersion) String() string {
	return fmt.Sprintf("RegistryParentVersion(%q, %q, %q)", c.component, c.bucket, c.channel)
}

// RegistryChannel checks that the bucket's channel points at the bucket's
// most recent version, as after Packer assigned it (hcp_packer_registry's
// channels) or, for registry.LatestChannel, after the version completed.
func RegistryChannel(bucket, channel string) Check {
	return registryChannel{bucket: bucket, channel: channel}
}

type registryChannel struct{ bucket, channel string }

func (c registryChannel) Check(r *Result) error {
	s, err := registryOf(r)
	if err != nil {
		return err
	}
	v, err := latestVersion(s, c.bucket)
	if err != nil {
		return err
	}
	var names []string
	for _, ch := range s.Channels() {
		if ch.Bucket != c.bucket {
			continue
		}
		if ch.Name == c.channel {
			if ch.Fingerprint != v.Fingerprint {
				return fmt.Errorf("expected channel %q of bucket %q at version %s (%s), found %s", c.channel, c.bucket, v.Name, v.Fingerprint, orNone(ch.Fingerprint))
			}
			return nil
		}
		names = append(names, ch.Name)
	}
	return fmt.Errorf("expected channel %q in bucket %q, found channels %s", c.channel, c.bucket, listOrNone(names))
}

func (c registryChannel) String() string {
	return fmt.Sprintf("RegistryChannel(%q, %q)", c.bucket, c.channel)
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// RegistryNoUnknownCalls checks that Packer called only routes the emulator
// knows. An unknown call means Packer started using an API the emulator does
// not answer (an API drift), and whatever depended on it went untested.
func RegistryNoUnknownCalls() Check { return registryNoUnknownCalls{} }

type registryNoUnknownCalls struct{}

func (registryNoUnknownCalls) Check(r *Result) error {
	s, err := registryOf(r)
	if err != nil {
		return err
	}
	var unknown []string
	for _, req := range s.Requests() {
		if req.Op == registry.OpUnknown {
			unknown = append(unknown, req.Method+" "+req.Path)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return fmt.Errorf("expected only emulated registry calls, found %d unknown: %s", len(unknown), strings.Join(slices.Compact(unknown), "; "))
	}
	return nil
}

func (registryNoUnknownCalls) String() string { return "RegistryNoUnknownCalls()" }

// RegistryArtifactOf is RegistryArtifact for an id known only at run time,
// such as StepArtifactID(0, builderID): the registry holds the artifact
// this step's builder returned.
func RegistryArtifactOf(externalID Value, region string) Check {
	return registryArtifactOf{externalID, region}
}

type registryArtifactOf struct {
	id     Value
	region string
}

func (c registryArtifactOf) Check(r *Result) error {
	id, err := c.id.Value(r)
	if err != nil {
		return fmt.Errorf("%s: %w", c.id, err)
	}
	return RegistryArtifact(id, c.region).Check(r)
}

func (c registryArtifactOf) String() string {
	return fmt.Sprintf("RegistryArtifactOf(%s, %q)", c.id, c.region)
}

// RegistrySourceExternalIDOf is RegistrySourceExternalID for an id known
// only at run time, such as StepArtifactID(1, builderID): the build
// recorded an earlier step's image as its source.
func RegistrySourceExternalIDOf(component string, id Value) Check {
	return registrySourceExternalIDOf{component, id}
}

type registrySourceExternalIDOf struct {
	component string
	id        Value
}

func (c registrySourceExternalIDOf) Check(r *Result) error {
	id, err := c.id.Value(r)
	if err != nil {
		return fmt.Errorf("%s: %w", c.id, err)
	}
	return RegistrySourceExternalID(c.component, id).Check(r)
}

func (c registrySourceExternalIDOf) String() string {
	return fmt.Sprintf("RegistrySourceExternalIDOf(%q, %s)", c.component, c.id)
}
