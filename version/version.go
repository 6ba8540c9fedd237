// Package version holds the plugin's version, set at release time by
// goreleaser's ldflags (-X .../version.Version=... -X .../version.VersionPrerelease=).
package version

import "github.com/hashicorp/packer-plugin-sdk/version"

var (
	// Version is the main version number that is being run at the moment.
	Version = "0.1.0"

	// VersionPrerelease is a pre-release marker for the version. Packer only
	// installs plugins whose prerelease is empty (a release) or exactly "dev"
	// (a local build), so keep it to one of those two.
	VersionPrerelease = "dev"

	// VersionMetadata is extra build information (semver "+metadata").
	VersionMetadata = ""

	// PluginVersion is what the plugin reports to Packer in `describe`.
	PluginVersion = version.NewPluginVersion(Version, VersionPrerelease, VersionMetadata)
)
