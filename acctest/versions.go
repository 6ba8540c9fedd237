package acctest

import "github.com/hashicorp/go-version"

// Packer versions for Case.SkipBelow and Case.SkipAbove.
var (
	// Version1_12 is the first Packer that speaks protobuf to plugins.
	Version1_12 = version.Must(version.NewVersion("1.12.0"))
	Version1_13 = version.Must(version.NewVersion("1.13.0"))
	Version1_14 = version.Must(version.NewVersion("1.14.0"))
	Version1_15 = version.Must(version.NewVersion("1.15.0"))
	Version1_16 = version.Must(version.NewVersion("1.16.0"))
)

// WireMode is how Packer encodes what it sends to plugins.
type WireMode int

const (
	// Protobuf is the default of Packer 1.12+ with SDK 0.6+ plugins: HCL
	// specs as protobuf, data source results as cty msgpack.
	Protobuf WireMode = iota
	// Gob is the older encoding, forced with PACKER_FORCE_GOB=1, and what
	// Packer falls back to for every plugin if any one lacks protobuf.
	Gob
)

// String returns the subtest name of the mode: "protobuf" or "gob".
func (m WireMode) String() string {
	switch m {
	case Protobuf:
		return "protobuf"
	case Gob:
		return "gob"
	}
	return "unknown"
}

// skipReason says why a case does not run with Packer v, or "" if it does.
// A prerelease counts as its release, so a dev build of 1.16.0 is 1.16.0.
func (c *Case) skipReason(v *version.Version) string {
	v = v.Core()
	if c.SkipBelow != nil && v.LessThan(c.SkipBelow) {
		return "Packer " + v.String() + " is older than SkipBelow " + c.SkipBelow.String()
	}
	if c.SkipAbove != nil && v.GreaterThan(c.SkipAbove) {
		return "Packer " + v.String() + " is newer than SkipAbove " + c.SkipAbove.String()
	}
	return ""
}
