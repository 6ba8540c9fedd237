#!/bin/sh
# Usage: scripts/bench-compare.sh [benchcompare flags...]
#
# What `make bench-compare` runs: every speed figure of the project as a
# ratio against a baseline measured beside it in the same run (see
# standin/benchcompare). It first makes sure of what the baselines need:
#   - tar with --zstd, gzip and zstd (zstd is installed with apt-get when it
#     is missing and this runs as root; otherwise it says what is missing);
#   - the pinned Packer (acctest/cmd/ensure-packer, or PACKER_BIN);
#   - the plugin, built with `make build` (BINARY and PLUGIN_ADDRESS come
#     from the GNUmakefile).
# Flags go to benchcompare, e.g. `-rounds 3 -lookup-sizes 1000,10000`;
# BENCH_ARGS does the same through make.
set -eu

root=$(CDPATH='' cd -- "$(dirname -- "$0")/.." && pwd)
cd "$root"

fail() {
	echo "bench-compare.sh: $*" >&2
	exit 1
}

if ! command -v zstd >/dev/null 2>&1; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
		echo "bench-compare.sh: installing zstd with apt-get" >&2
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q zstd >&2 ||
			{ apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q zstd >&2; } ||
			fail "could not install zstd with apt-get; install the zstd package"
	else
		fail "zstd is missing: install the zstd package (apt-get install zstd, dnf install zstd, brew install zstd)"
	fi
fi
for tool in tar gzip sh; do
	command -v "$tool" >/dev/null 2>&1 || fail "$tool is missing"
done
tar --zstd -cf /dev/null --files-from /dev/null 2>/dev/null ||
	fail "this tar has no --zstd (GNU tar 1.31 or later has it)"

: "${BINARY:?set BINARY (make bench-compare does)}"
: "${PLUGIN_ADDRESS:?set PLUGIN_ADDRESS (make bench-compare does)}"
[ -x "$BINARY" ] || fail "$BINARY is not built: run make build"

if [ -n "${PACKER_BIN:-}" ]; then
	packer=$PACKER_BIN
else
	packer=$(go run ./acctest/cmd/ensure-packer | tail -n 1) || fail "could not provide Packer (acctest/cmd/ensure-packer)"
fi

# One build of the tool, run from its binary, so compiling it is not measured.
tooldir=$(mktemp -d)
trap 'rm -rf "$tooldir"' EXIT INT TERM
go build -o "$tooldir/benchcompare" ./standin/benchcompare

# shellcheck disable=SC2086 # BENCH_ARGS is a list of flags
"$tooldir/benchcompare" -packer "$packer" -plugin "$root/$BINARY" -plugin-address "$PLUGIN_ADDRESS" ${BENCH_ARGS:-} "$@"

# The last figure, `harness case vs packer build by hand`, comes from
# scripts/bench-harness.sh, measured the same way (median ratio of
# alternating rounds) with the same Packer.
PACKER_BIN=$packer scripts/bench-harness.sh
