#!/bin/sh
# Usage: scripts/api-version.sh [PLUGIN_BINARY]
#
# Prints the plugin API version (for example x5.0) that `PLUGIN_BINARY
# describe` reports; without an argument it builds the plugin first. Release
# file names must carry exactly this value, so it is read from the binary
# rather than written down a second time. Needs only go, sed and a POSIX sh.
set -eu

root=$(CDPATH='' cd -- "$(dirname -- "$0")/.." && pwd)

bin=${1:-}
if [ -z "$bin" ]; then
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	trap 'exit 129' HUP
	trap 'exit 130' INT
	trap 'exit 143' TERM
	bin="$tmp/plugin"
	(cd "$root" && go build -o "$bin" .) || {
		echo "api-version.sh: go build of the plugin in $root failed" >&2
		exit 1
	}
fi

desc=$("$bin" describe) || {
	echo "api-version.sh: '$bin describe' failed" >&2
	exit 1
}
api=$(printf '%s\n' "$desc" | sed -n 's/.*"api_version"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p')
case "$api" in
x[0-9]*.[0-9]*) echo "$api" ;;
*)
	echo "api-version.sh: no api_version like x5.0 in '$bin describe' output: $desc" >&2
	exit 1
	;;
esac
