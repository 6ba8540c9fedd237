#!/bin/sh
# Usage: scripts/go-test.sh [go test flags...]
#
# go test ./... with every test binary kept at a stable path under
# .testbin/ (go test -o DIR/): when a package did not change, the go
# command finds its binary up to date there and runs it without linking
# it again. A plain go test links each of the ~20 test binaries on every
# run, which was a sixth of a warm `make testacc`'s CPU on 2 cores.
#
# go test -o DIR/ names each binary after the last element of its import
# path and refuses two packages that share one (builder/mycloud and
# provisioner/mycloud): such packages go into further groups, each its own
# go test run after the first (the template has none; they cost the
# parallelism between the groups). Every package runs once, and the exit
# status is the first failing group's.
set -eu

root=$(CDPATH='' cd -- "$(dirname -- "$0")/.." && pwd)
bindir="$root/.testbin"

# "group<TAB>import path": the nth package to claim a binary name goes to
# group n. A trailing major version (.../v2) is not the name, as in
# go's DefaultExecName.
groups=$(cd "$root" && go list -f '{{.ImportPath}}' ./... | awk '{
	n = split($0, el, "/"); name = el[n]
	if (n > 1 && name ~ /^v[0-9]+$/) name = el[n - 1]
	printf "%d\t%s\n", seen[name]++, $0
}')

status=0
for g in $(printf '%s\n' "$groups" | cut -f1 | sort -nu); do
	pkgs=$(printf '%s\n' "$groups" | awk -F '\t' -v g="$g" '$1 == g { print $2 }')
	mkdir -p "$bindir/$g"
	rc=0
	# shellcheck disable=SC2086 # one word per package
	(cd "$root" && go test "$@" -o "$bindir/$g/" $pkgs) || rc=$?
	[ "$status" -ne 0 ] || status=$rc
done
exit "$status"
