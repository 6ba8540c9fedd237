#!/bin/sh
# Usage: scripts/release-snapshot.sh [--single-target]
#
# Builds a local, unpublished release into dist/ with the pinned goreleaser
# and the same .goreleaser.yml a tag uses. --single-target builds only the
# host's OS/arch (or GOOS/GOARCH when set), which is what CI needs to prove
# that the archive installs into Packer, in a fraction of the time.
#
# Signing happens only when GPG_FINGERPRINT names a key in the local keyring.
set -eu

root=$(CDPATH='' cd -- "$(dirname -- "$0")/.." && pwd)
cd "$root"

single=false
for arg in "$@"; do
	case "$arg" in
	--single-target) single=true ;;
	*)
		echo "release-snapshot.sh: unknown argument '$arg' (usage: $0 [--single-target])" >&2
		exit 2
		;;
	esac
done

goreleaser=$(scripts/tool.sh goreleaser)
API_VERSION=$(scripts/api-version.sh)
export API_VERSION

set -- release --snapshot --clean
if [ -z "${GPG_FINGERPRINT:-}" ]; then
	set -- "$@" --skip=sign
fi

if ! $single; then
	exec "$goreleaser" "$@"
fi

target="${GOOS:-$(go env GOOS)}_${GOARCH:-$(go env GOARCH)}"
# goreleaser's release command has no --single-target, so the build matrix
# between the markers in .goreleaser.yml is swapped for one target and the
# result fed to goreleaser on stdin. Everything else stays as released.
config=$(awk -v target="$target" '
	/# targets:begin/ { began++; print "    targets: [" target "]"; skipping = 1; next }
	/# targets:end/   { ended++; skipping = 0; next }
	!skipping         { print }
	END { if (began != 1 || ended != 1) exit 3 }
' .goreleaser.yml) || {
	echo "release-snapshot.sh: .goreleaser.yml must hold exactly one '# targets:begin' ... '# targets:end' block" >&2
	exit 1
}
printf '%s\n' "$config" | "$goreleaser" "$@" --config -
