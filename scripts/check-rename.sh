#!/bin/sh
# Usage: scripts/check-rename.sh [--acc] [--keep]
#
# Proves that a fork can be renamed: copies the repository's files (tracked,
# plus untracked ones git does not ignore) into a temporary directory, renames
# the copy to a made-up plugin, checks that the old name is gone from every
# path and file but CHANGELOG.md, and runs `make build test` there; with
# --acc also `make testacc`, against a real Packer. --keep leaves the copy on
# disk and prints where. The repository itself is never modified.
set -eu

root=$(CDPATH='' cd -- "$(dirname -- "$0")/.." && pwd)

acc=false
keep=false
for arg in "$@"; do
	case "$arg" in
	--acc) acc=true ;;
	--keep) keep=true ;;
	*)
		echo "check-rename.sh: unknown argument '$arg' (usage: $0 [--acc] [--keep])" >&2
		exit 2
		;;
	esac
done

fail() {
	echo "check-rename.sh: $*" >&2
	exit 1
}

# The old name comes from go.mod, like the rename tool's, so this script
# keeps working after the rename it checks.
module=$(sed -n 's/^module[[:space:]]\{1,\}\([^[:space:]]*\).*/\1/p' "$root/go.mod")
base=$module
case "${base##*/}" in v[0-9]*) base=${base%/*} ;; esac
old=${base##*/}
old=${old#packer-plugin-}
if [ -z "$old" ] || [ "$old" = "${base##*/}" ]; then
	fail "module path '$module' in go.mod does not end in packer-plugin-NAME"
fi

new_name=night-owl
new_module=github.com/zoo-corp/packer-plugin-$new_name
if [ "$old" = "$new_name" ]; then
	new_name=day-owl
	new_module=github.com/zoo-corp/packer-plugin-$new_name
fi

tmp=$(mktemp -d)
if $keep; then
	trap 'echo "check-rename.sh: the renamed copy is in $tmp/repo" >&2' EXIT
else
	trap 'rm -rf "$tmp"' EXIT
fi
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

copy="$tmp/repo"
mkdir -p "$copy"
(
	cd "$root"
	git -c core.quotePath=off ls-files --cached --others --exclude-standard |
		while IFS= read -r f; do
			# Files deleted in the work tree are still in git's index.
			if [ -f "$f" ]; then printf '%s\n' "$f"; fi
		done |
		tar -cf - -T -
) | (cd "$copy" && tar -xf -) || fail "copying the repository to $copy failed"

echo "check-rename.sh: renaming a copy from $old to $new_name ($new_module)"
(cd "$copy" && go run ./tools/rename -name "$new_name" -module "$new_module") ||
	fail "the rename failed"

# Case-insensitive, like `grep -ri`; the changelog keeps its history and the
# rename tool never names the plugin (its examples are made-up names).
left=$(cd "$copy" && {
	find . -type f ! -path ./CHANGELOG.md ! -path './tools/rename/*' | grep -i -e "$old" || true
	grep -rIil -e "$old" --exclude=CHANGELOG.md --exclude-dir=rename . || true
})
if [ -n "$left" ]; then
	echo "$left" >&2
	fail "'$old' is still in the renamed copy (paths or files above)"
fi

(cd "$copy" && make build test) || fail "make build test failed in the renamed copy at $copy"
if $acc; then
	(cd "$copy" && make testacc) || fail "make testacc failed in the renamed copy at $copy"
fi
echo "check-rename.sh: a copy renamed to $new_name builds and passes its tests"
