#!/usr/bin/env bash
# Acceptance coverage: the unit tests and the acceptance tests (real Packer
# running the plugin built with -cover) write Go coverage counters, which are
# merged and reported for the plugin's own packages (everything in the module
# but the harness and the repository tools; the plugin's main package is not
# instrumented in the plugin binary, see acctest/cover.go).
#
#   scripts/testacc-cover.sh [go test flags...]
#
# Needs PACKER_BIN (make testacc-cover sets it). Writes COVER_DIR (default
# coverage/): unit/, acc/run-*/ (one GOCOVERDIR per packer invocation, shared
# by every plugin process it starts), merged/, coverage.out, coverage.html.
set -euo pipefail

cover_dir=$(realpath -m "${COVER_DIR:-coverage}")
rm -rf "$cover_dir"
mkdir -p "$cover_dir/unit" "$cover_dir/acc"

module=$(go list -m)
pkgs=$(go list ./... | grep -v -e "^$module/acctest" -e "^$module/tools" | paste -sd, -)

echo "testacc-cover: plugin packages: ${pkgs//,/ }"
PACKER_ACC=1 PACKER_ACC_COVERDIR="$cover_dir/acc" PACKER_ACC_COVERPKG="$pkgs" \
	go test -count=1 -cover -covermode=atomic -coverpkg="$pkgs" "$@" ./... -args -test.gocoverdir="$cover_dir/unit"

# Every directory holding a meta file: one per packer invocation (processes
# that exited normally) and one per plugin process (see acctest/cover.go).
acc_dirs=$(find "$cover_dir/acc" -name 'covmeta.*' -printf '%h\n' | sort -u | paste -sd, -)
if [ -z "$acc_dirs" ]; then
	echo "testacc-cover: no acceptance coverage was written (did any acceptance test run?)" >&2
	exit 1
fi
mkdir -p "$cover_dir/acc-merged" "$cover_dir/merged"
go tool covdata merge -i="$acc_dirs" -o "$cover_dir/acc-merged"
go tool covdata merge -i="$cover_dir/unit,$cover_dir/acc-merged" -o "$cover_dir/merged"

echo
echo "== coverage reached through real Packer (acceptance tests only)"
go tool covdata percent -i="$cover_dir/acc-merged" -pkg="$pkgs"
echo
echo "== coverage of unit and acceptance tests together"
go tool covdata percent -i="$cover_dir/merged" -pkg="$pkgs"
go tool covdata textfmt -i="$cover_dir/merged" -pkg="$pkgs" -o "$cover_dir/coverage.out"
go tool cover -html="$cover_dir/coverage.out" -o "$cover_dir/coverage.html"
total=$(go tool cover -func="$cover_dir/coverage.out" | tail -n 1 | awk '{print $NF}')
echo
echo "testacc-cover: total $total; HTML report: $cover_dir/coverage.html"
