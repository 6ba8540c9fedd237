#!/bin/sh
# Usage: scripts/generate-check.sh
#
# Fails when `make generate` (or the command in GENERATE) changes, adds or
# removes any file. The work tree is recorded before and after as a git tree
# object, through a temporary index holding every tracked and untracked
# (not ignored) file, and the two tree ids are compared: git does the
# hashing, so nothing depends on sha256sum or similar tools, and edits you
# had before the run do not count against it (commit before trusting a
# pass).
set -eu

root=$(CDPATH='' cd -- "$(dirname -- "$0")/.." && pwd)
cd "$root"
generate=${GENERATE:-make --no-print-directory generate}

git rev-parse --git-dir >/dev/null 2>&1 || {
	echo "generate-check.sh: $root is not a git work tree" >&2
	exit 1
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

# snapshot prints the id of a tree object holding the work tree as it is.
snapshot() {
	index="$tmp/index"
	real=$(git rev-parse --git-path index)
	rm -f "$index"
	# Starting from the real index lets git skip files whose stat is unchanged.
	if [ -f "$real" ]; then cp "$real" "$index"; fi
	GIT_INDEX_FILE="$index" git add -A . >/dev/null &&
		GIT_INDEX_FILE="$index" git write-tree
}

before=$(snapshot) || {
	echo "generate-check.sh: cannot record the work tree" >&2
	exit 1
}
sh -c "$generate" >"$tmp/generate.log" 2>&1 || {
	cat "$tmp/generate.log" >&2
	echo "generate-check.sh: '$generate' failed" >&2
	exit 1
}
after=$(snapshot) || {
	echo "generate-check.sh: cannot record the work tree" >&2
	exit 1
}
if [ "$before" != "$after" ]; then
	git diff --stat "$before" "$after" >&2
	echo "generate-check.sh: '$generate' changed the files above: run it and commit the result" >&2
	exit 1
fi
echo "generate-check.sh: '$generate' changes nothing"
