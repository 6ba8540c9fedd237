#!/bin/sh
# Usage: scripts/check-release.sh [DIST_DIR]
#
# Proves that a release built by goreleaser (dist/ by default, e.g. from
# `scripts/release-snapshot.sh --single-target`) is what Packer accepts:
#   1. the SHA256SUMS file matches every archive it lists (and its .sig, if
#      there is one, verifies);
#   2. the host's zip holds exactly one binary named like the zip;
#   3. the binary's `describe` reports the version and API version that the
#      file name carries, and the version is a plain release (no prerelease);
#   4. a real Packer installs it with `packer plugins install --path`, into
#      the exact path its loader looks for, lists it, and `packer init`
#      accepts it for a template pinning that version;
#   5. `packer build` runs that installed binary (Packer's log says so) and
#      the image id it reports is in the store it wrote;
#   6. served as a GitHub release (tools/releasecheck: a local server behind
#      an HTTPS proxy with a test CA, answering what Packer's GitHub getter
#      asks), it installs with `packer init` from required_plugins and with
#      `packer plugins install github.com/ORG/NAME`, and a build uses it.
# Packer comes from PACKER_BIN or PATH, and runs with its own HOME, config,
# cache and plugin directories, so nothing touches the user's ~/.packer.d.
set -eu

root=$(CDPATH='' cd -- "$(dirname -- "$0")/.." && pwd)
dist=${1:-$root/dist}

fail() {
	echo "check-release.sh: $*" >&2
	exit 1
}

packer=${PACKER_BIN:-$(command -v packer || true)}
if [ -z "$packer" ] || [ ! -x "$packer" ]; then
	fail "no packer binary: set PACKER_BIN (the last line of 'make packer' is one) or put packer on PATH"
fi

# The plugin address follows from the module path .../ORG/packer-plugin-NAME
# (an optional /vN suffix aside), so this script survives `make rename`.
module=$(sed -n 's/^module[[:space:]]\{1,\}\([^[:space:]]*\).*/\1/p' "$root/go.mod")
base=$module
case "${base##*/}" in v[0-9]*) base=${base%/*} ;; esac
project=${base##*/}
name=${project#packer-plugin-}
if [ "$name" = "$project" ] || [ -z "$name" ]; then
	fail "module path '$module' in go.mod does not end in packer-plugin-NAME"
fi
address=${base%/*}/$name

goos=$(go env GOOS)
goarch=$(go env GOARCH)
exe=""
[ "$goos" = windows ] && exe=.exe

[ -d "$dist" ] || fail "no release directory '$dist': run scripts/release-snapshot.sh first"

set -- "$dist"/*_SHA256SUMS
if [ $# -ne 1 ] || [ ! -f "$1" ]; then
	fail "expected exactly one *_SHA256SUMS file in $dist, found: $*"
fi
sums=$1
case "${sums##*/}" in
"${project}"_v*_SHA256SUMS) ;;
*) fail "checksums file '${sums##*/}' is not named ${project}_v<version>_SHA256SUMS" ;;
esac
if command -v sha256sum >/dev/null 2>&1; then
	(cd "$dist" && sha256sum -c "${sums##*/}" >/dev/null) || fail "checksums in $sums do not match the archives"
else
	(cd "$dist" && shasum -a 256 -c "${sums##*/}" >/dev/null) || fail "checksums in $sums do not match the archives"
fi

# A signed release (GPG_FINGERPRINT was set) carries a detached signature;
# the signing key must be in the local keyring to verify it.
if [ -f "$sums.sig" ]; then
	gpg --batch --verify "$sums.sig" "$sums" 2>/dev/null ||
		fail "the signature $sums.sig does not verify against $sums with the local keyring"
fi

set -- "$dist"/"${project}"_v*_"${goos}"_"${goarch}".zip
if [ $# -ne 1 ] || [ ! -f "$1" ]; then
	fail "expected exactly one ${project}_v*_${goos}_${goarch}.zip in $dist, found: $*"
fi
zip=$1
stem=${zip##*/}
stem=${stem%.zip}
grep -q "  ${stem}.zip\$" "$sums" || fail "${stem}.zip is not listed in ${sums##*/}"

# <project>_v<version>_<api>_<os>_<arch>: peel the known ends off.
rest=${stem#"${project}"_v}
rest=${rest%_"${goos}"_"${goarch}"}
api=${rest##*_}
version=${rest%_*}
case "$version" in
*-* | *+* | "") fail "release version '$version' in ${stem}.zip is not a plain release version" ;;
esac

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

# Built now, while HOME is still the user's (and so is Go's build cache).
(cd "$root" && go build -o "$tmp/releasecheck" ./tools/releasecheck) || fail "go build ./tools/releasecheck failed"

entries=$(unzip -Z1 "$zip") || fail "cannot list $zip (is unzip installed?)"
[ "$entries" = "${stem}${exe}" ] || fail "$zip must hold only '${stem}${exe}', holds: $entries"
unzip -q "$zip" -d "$tmp/unzipped"
bin="$tmp/unzipped/${stem}${exe}"

desc=$("$bin" describe) || fail "'${stem}${exe} describe' failed"
got_version=$(printf '%s\n' "$desc" | sed -n 's/.*"version"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p')
got_api=$(printf '%s\n' "$desc" | sed -n 's/.*"api_version"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p')
[ "$got_version" = "$version" ] ||
	fail "describe reports version '$got_version', the file name says '$version' (Packer would not load it)"
[ "$got_api" = "$api" ] ||
	fail "describe reports api_version '$got_api', the file name says '$api'"

export HOME="$tmp/home" PACKER_CONFIG_DIR="$tmp/config" PACKER_CACHE_DIR="$tmp/cache"
export PACKER_PLUGIN_PATH="$tmp/plugins" CHECKPOINT_DISABLE=1
mkdir -p "$HOME" "$PACKER_CONFIG_DIR" "$PACKER_CACHE_DIR" "$PACKER_PLUGIN_PATH"

"$packer" plugins install --path "$bin" "$address" >"$tmp/install.log" 2>&1 || {
	cat "$tmp/install.log" >&2
	fail "packer plugins install --path refused $stem"
}
installed="$PACKER_PLUGIN_PATH/$address/${project}_v${version}_${api}_${goos}_${goarch}${exe}"
[ -x "$installed" ] || fail "packer did not install the plugin at $installed"
[ -f "${installed}_SHA256SUM" ] || fail "packer wrote no ${installed}_SHA256SUM"

"$packer" plugins installed >"$tmp/installed.log" 2>&1 || {
	cat "$tmp/installed.log" >&2
	fail "packer plugins installed failed"
}
grep -qxF "$installed" "$tmp/installed.log" || {
	cat "$tmp/installed.log" >&2
	fail "packer plugins installed does not list $installed"
}

# packer init resolves required_plugins against what is installed; with the
# exact version present it must be satisfied without fetching anything.
mkdir -p "$tmp/template"
cat >"$tmp/template/plugins.pkr.hcl" <<EOF
packer {
  required_plugins {
    $name = {
      source  = "$address"
      version = "= $version"
    }
  }
}
EOF
"$packer" init "$tmp/template" >"$tmp/init.log" 2>&1 || {
	cat "$tmp/init.log" >&2
	fail "packer init does not accept the installed $address v$version"
}

# And a build runs on it: the released binary, not some other copy, does the
# work, and the image it reports is in the store.
cat >"$tmp/template/build.pkr.hcl" <<EOF
source "$name" "release" {
  store      = "store"
  image_name = "release-check"
}

build {
  sources = ["source.$name.release"]

  provisioner "$name" {
    inline = ["echo released > released.txt"]
  }
}
EOF
(cd "$tmp/template" && HCP_PACKER_REGISTRY=off PACKER_LOG=1 PACKER_LOG_PATH="$tmp/build.packer.log" \
	"$packer" build -machine-readable -color=false . >"$tmp/build.log" 2>&1) || {
	cat "$tmp/build.log" >&2
	fail "packer build with the installed $address v$version failed"
}
grep -qF "Starting plugin: $installed" "$tmp/build.packer.log" ||
	fail "packer build did not run the installed $installed"
image=$(sed -n 's/^[0-9]*,[^,]*,artifact,0,id,//p' "$tmp/build.log")
case "$image" in
sha256:*) ;;
*)
	cat "$tmp/build.log" >&2
	fail "packer build reported no image id (found '$image')"
	;;
esac
grep -qF "\"$image\"" "$tmp/template/store/index.json" ||
	fail "image $image is not in the store's index"

echo "check-release.sh: ${stem}.zip installs into Packer as $address v$version ($api) and builds image $image"

"$tmp/releasecheck" -dist "$dist" -packer "$packer" -module "$module" ||
	fail "the release does not install from a GitHub-shaped release"
