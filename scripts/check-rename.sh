#!/bin/sh
# Usage: scripts/check-rename.sh [--acc] [--keep]
#
# Proves that a fork can be renamed, and renamed again:
#   1. the rename tool's repository-copy test (TestRenameRepositoryCopy with
#      RENAME_CHECK=1): copies renamed to hard names (see the test) vet,
#      build and pass the name-sensitive tests, and a second rename changes
#      exactly the lines the first one did;
#   2. a copy of the repository (tracked files plus untracked ones git does
#      not ignore) renamed one after the other to the modules listed in
#      tools/rename/testdata/check-rename-modules keeps no trace of any
#      earlier name (rename -leftovers; for a name that is also an ordinary
#      word of the tree, such as image, only its module path, address
#      and project name), is byte for byte the copy renamed straight
#      to the last module (so no word was damaged on the way), and
#      `make build test` passes there; with --acc also `make testacc`,
#      against a real Packer.
# --keep leaves the copy on disk and prints where. The repository itself is
# never modified.
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
[ -n "$module" ] || fail "no module path in $root/go.mod"

echo "check-rename.sh: renaming copies to hard names (go test ./tools/rename, RENAME_CHECK=1)"
(cd "$root" && RENAME_CHECK=1 go test -count=1 -timeout 30m -run '^TestRenameRepositoryCopy$' ./tools/rename) ||
	fail "the rename tool's repository-copy test failed"

# The names are kept in the rename tool's directory, which no rename
# rewrites (see that file).
modules=$(grep -v -e '^#' -e '^[[:space:]]*$' "$root/tools/rename/testdata/check-rename-modules") ||
	fail "no modules in tools/rename/testdata/check-rename-modules"

tmp=$(mktemp -d)
# mktemp -d is private to its owner; the copy's acceptance tests include
# one that runs as a throwaway user, which must reach the copy.
chmod 755 "$tmp"
if $keep; then
	trap 'echo "check-rename.sh: the renamed copy is in $tmp/repo" >&2' EXIT
else
	trap 'rm -rf "$tmp"' EXIT
fi
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

# copy_repo DIR copies the repository (tracked files plus untracked ones
# git does not ignore) to DIR.
copy_repo() {
	mkdir -p "$1"
	(
		cd "$root"
		git -c core.quotePath=off ls-files --cached --others --exclude-standard |
			while IFS= read -r f; do
				# Files deleted in the work tree are still in git's index.
				if [ -f "$f" ]; then printf '%s\n' "$f"; fi
			done |
			tar -cf - -T -
	) | (cd "$1" && tar -xf -) || fail "copying the repository to $1 failed"
}

copy="$tmp/repo"
copy_repo "$copy"

gone=$module
# Names the tree already uses as words (image): the rename records where it
# wrote them (tools/rename/record.json), and only their whole identities
# (module path, address and project name) can be told apart later.
worded=
for next in $modules; do
	[ "$next" != "$module" ] || continue
	echo "check-rename.sh: renaming the copy to $next"
	(cd "$copy" && go run ./tools/rename -module "$next") || fail "the rename to $next failed"
	if [ -f "$copy/tools/rename/record.json" ]; then worded="$worded $next"; fi
	gone="$gone $next"
done
# Whole tokens, as the tool sees them: other modules' paths, go.sum,
# LICENSE and the changelog are not the plugin's name.
for old in $gone; do
	[ "$old" != "$next" ] || continue
	exact=
	case " $worded " in *" $old "*) exact=-exact ;; esac
	(cd "$copy" && go run ./tools/rename $exact -leftovers "$old") ||
		fail "the renamed copy at $copy still names $old (places above)"
done
# No word damaged on the way: the copy renamed in turn is the copy renamed
# straight to the last module, byte for byte.
direct="$tmp/direct"
copy_repo "$direct"
(cd "$direct" && go run ./tools/rename -module "$next" >/dev/null) || fail "the rename of a fresh copy to $next failed"
diff -r "$direct" "$copy" ||
	fail "the copy renamed in turn to every module differs from a copy renamed straight to $next (diff above)"

(cd "$copy" && make build test) || fail "make build test failed in the renamed copy at $copy"
if $acc; then
	(cd "$copy" && make testacc) || fail "make testacc failed in the renamed copy at $copy"
fi
echo "check-rename.sh: a copy renamed in turn to every module in tools/rename/testdata/check-rename-modules (last $next) builds and passes its tests"
