package acctest

import (
	"fmt"

	"github.com/hashicorp/go-version"
)

// Packer versions for version checks (SkipBelow, RequireAbove, ...) and for
// Case.SkipBelow and Case.SkipAbove.
var (
	// Version1_11 is the oldest Packer the harness supports, and the last
	// that speaks only gob to plugins.
	Version1_11 = version.Must(version.NewVersion("1.11.0"))
	// Version1_12 is the first Packer that speaks protobuf to plugins.
	Version1_12 = version.Must(version.NewVersion("1.12.0"))
	// Version1_13 is the first Packer with the top-level
	// hcp_packer_registry block.
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

// AllWireModes are the modes a case runs in by default.
var AllWireModes = []WireMode{Protobuf, Gob}

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

// VersionCheck decides, before anything is built, whether a case runs with
// the Packer in use: it returns a reason to skip the case, or an error to
// fail it, or neither. Build one with SkipBelow, SkipAbove, SkipBetween,
// RequireAbove, RequireBelow or RequireBetween (the model is
// terraform-plugin-testing's TerraformVersionChecks).
type VersionCheck interface {
	CheckPackerVersion(v *version.Version) (skip string, err error)
}

type versionCheck struct {
	name string
	f    func(v *version.Version) (string, error)
}

func (c versionCheck) CheckPackerVersion(v *version.Version) (string, error) { return c.f(v.Core()) }
func (c versionCheck) String() string                                        { return c.name }

// SkipBelow skips the case on a Packer older than min.
func SkipBelow(min *version.Version) VersionCheck {
	return versionCheck{"SkipBelow(" + min.String() + ")", func(v *version.Version) (string, error) {
		if v.LessThan(min) {
			return fmt.Sprintf("Packer %s is older than SkipBelow %s", v, min), nil
		}
		return "", nil
	}}
}

// SkipAbove skips the case on a Packer newer than max.
func SkipAbove(max *version.Version) VersionCheck {
	return versionCheck{"SkipAbove(" + max.String() + ")", func(v *version.Version) (string, error) {
		if v.GreaterThan(max) {
			return fmt.Sprintf("Packer %s is newer than SkipAbove %s", v, max), nil
		}
		return "", nil
	}}
}

// SkipBetween skips the case on a Packer from min (included) up to max
// (excluded), for a range with a known Packer bug.
func SkipBetween(min, max *version.Version) VersionCheck {
	return versionCheck{"SkipBetween(" + min.String() + ", " + max.String() + ")", func(v *version.Version) (string, error) {
		if !v.LessThan(min) && v.LessThan(max) {
			return fmt.Sprintf("Packer %s is in SkipBetween [%s, %s)", v, min, max), nil
		}
		return "", nil
	}}
}

// RequireAbove fails the case on a Packer older than min: the case must
// not silently skip there.
func RequireAbove(min *version.Version) VersionCheck {
	return versionCheck{"RequireAbove(" + min.String() + ")", func(v *version.Version) (string, error) {
		if v.LessThan(min) {
			return "", fmt.Errorf("the case requires Packer %s or newer, found %s (RequireAbove)", min, v)
		}
		return "", nil
	}}
}

// RequireBelow fails the case on a Packer at or above max.
func RequireBelow(max *version.Version) VersionCheck {
	return versionCheck{"RequireBelow(" + max.String() + ")", func(v *version.Version) (string, error) {
		if !v.LessThan(max) {
			return "", fmt.Errorf("the case requires a Packer older than %s, found %s (RequireBelow)", max, v)
		}
		return "", nil
	}}
}

// RequireBetween fails the case on a Packer outside [min, max).
func RequireBetween(min, max *version.Version) VersionCheck {
	return versionCheck{"RequireBetween(" + min.String() + ", " + max.String() + ")", func(v *version.Version) (string, error) {
		if v.LessThan(min) || !v.LessThan(max) {
			return "", fmt.Errorf("the case requires Packer in [%s, %s), found %s (RequireBetween)", min, max, v)
		}
		return "", nil
	}}
}

// versionVerdict runs the case's version checks against Packer v: a skip
// reason, or an error, or neither. A prerelease counts as its release, so a
// dev build of 1.16.0 is 1.16.0.
func (c *Case) versionVerdict(v *version.Version) (string, error) {
	core := v.Core()
	checks := append([]VersionCheck(nil), c.PackerVersionChecks...)
	if c.SkipBelow != nil {
		checks = append(checks, SkipBelow(c.SkipBelow))
	}
	if c.SkipAbove != nil {
		checks = append(checks, SkipAbove(c.SkipAbove))
	}
	for _, chk := range checks {
		skip, err := chk.CheckPackerVersion(core)
		if err != nil {
			return "", err
		}
		if skip != "" {
			return skip, nil
		}
	}
	return "", nil
}

// skipReason says why a case does not run with Packer v, or "" if it does.
func (c *Case) skipReason(v *version.Version) string {
	s, _ := c.versionVerdict(v)
	return s
}

// wireModeSkip says why mode cannot apply with Packer v and plugins that
// report the given protocol versions, or "" when it can.
func wireModeSkip(mode WireMode, v *version.Version, plugins []*pluginInfo) string {
	if mode != Protobuf {
		return ""
	}
	if v.Core().LessThan(Version1_12) {
		return fmt.Sprintf("wire mode protobuf: Packer %s speaks only gob to plugins (protobuf needs Packer 1.12 or newer)", v)
	}
	for _, p := range plugins {
		if p.ProtocolVersion != "v2" {
			pv := p.ProtocolVersion
			if pv == "" {
				pv = "none"
			}
			return fmt.Sprintf("wire mode protobuf: plugin %s reports protocol_version %s in describe, not v2 (its SDK predates protobuf), so Packer speaks gob to every plugin", p.Name, pv)
		}
	}
	return ""
}
