#!/usr/bin/env bash
# One harness case against the same `packer build` run by hand.
#
#   PACKER_BIN=... scripts/bench-harness.sh
#
# Prints the median, over ROUNDS (default 5) alternating rounds, of
#   harness case vs packer build by hand: N.NNx
# The harness side is a prebuilt test binary running one acceptance case
# (TestAccHarness_benchCase: the fixture plugin, one wire mode, the template
# acctest/testdata/templates/bench.pkr.hcl) in a build session, as under
# make testacc, so the plugin is built once before the rounds. The by-hand
# side is `packer build` of the same template with the same plugin installed
# into a plugin directory of its own.
set -euo pipefail

: "${PACKER_BIN:?set PACKER_BIN to a packer binary (make bench-harness does)}"
rounds=${ROUNDS:-5}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cd "$root"
go test -c -o "$work/acctest.test" ./acctest
# Linked as the harness links plugins under test (acctest.Plugin.BuildFlags).
# Built as the harness builds a plugin (acctest's buildFlags, pluginBuildEnv).
CGO_ENABLED=0 go build -ldflags='-s -w' -o "$work/packer-plugin-fixture" ./acctest/internal/fixture

# By hand: the plugin installed once, as a user would after `make dev`.
# The garbage-collector and GOMAXPROCS settings are the ones the harness
# gives Packer (docs/harness.md): exported here they apply to both sides,
# so the ratio is the harness's own cost.
export CHECKPOINT_DISABLE=1 HCP_PACKER_REGISTRY=off GOGC=off GOMEMLIMIT=256MiB GOMAXPROCS=1
hand_env=(env HOME="$work/home" PACKER_CONFIG_DIR="$work/config" PACKER_CACHE_DIR="$work/cache" PACKER_PLUGIN_PATH="$work/plugins")
mkdir -p "$work/home" "$work/config" "$work/cache" "$work/plugins" "$work/hand"
"${hand_env[@]}" "$PACKER_BIN" plugins install --path "$work/packer-plugin-fixture" github.com/acctest/fixture >/dev/null
cp acctest/testdata/templates/bench.pkr.hcl "$work/hand/"

harness() {
	(cd acctest && PACKER_ACC=1 PACKER_BIN="$PACKER_BIN" PACKER_ACC_BUILD_SESSION="$session" \
		"$work/acctest.test" -test.run '^TestAccHarness_benchCase$' -test.count=1 >"$work/harness.out" 2>&1) ||
		{ cat "$work/harness.out" >&2; exit 1; }
}
by_hand() {
	(cd "$work/hand" && "${hand_env[@]}" "$PACKER_BIN" build -color=false bench.pkr.hcl >"$work/hand.out" 2>&1) ||
		{ cat "$work/hand.out" >&2; exit 1; }
}
now() { date +%s%N; }

session="bench-$$-$(now)"
harness # builds and installs the plugin for the session: not timed
by_hand # warms the page cache for packer: not timed

ratios=()
for i in $(seq "$rounds"); do
	# Alternate which side goes first, so neither always runs warmer.
	if ((i % 2)); then
		t0=$(now); harness; t1=$(now); by_hand; t2=$(now)
		h=$((t1 - t0)) b=$((t2 - t1))
	else
		t0=$(now); by_hand; t1=$(now); harness; t2=$(now)
		b=$((t1 - t0)) h=$((t2 - t1))
	fi
	ratios+=("$(awk -v h="$h" -v b="$b" 'BEGIN { printf "%.4f", h / b }')")
	printf 'round %d: harness %d ms, by hand %d ms\n' "$i" $((h / 1000000)) $((b / 1000000)) >&2
done
median=$(printf '%s\n' "${ratios[@]}" | sort -g | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }')
printf 'harness case vs packer build by hand: %.2fx\n' "$median"
