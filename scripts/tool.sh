#!/bin/sh
# Usage: scripts/tool.sh NAME
#
# Prints the path of a pinned development tool, installing it into
# .tools/bin with `go install` first when it is missing or at another
# version. Pins live here, in one place, so CI and laptops run the same
# binaries; .tools/ is gitignored.
set -eu

root=$(CDPATH='' cd -- "$(dirname -- "$0")/.." && pwd)
bin="$root/.tools/bin"

case "${1:-}" in
goreleaser)
	pkg=github.com/goreleaser/goreleaser/v2
	mod=github.com/goreleaser/goreleaser/v2
	version=v2.16.0
	;;
actionlint)
	pkg=github.com/rhysd/actionlint/cmd/actionlint
	mod=github.com/rhysd/actionlint
	version=v1.7.12
	;;
golangci-lint)
	# Keep in step with the version in .github/workflows/test.yml.
	pkg=github.com/golangci/golangci-lint/v2/cmd/golangci-lint
	mod=github.com/golangci/golangci-lint/v2
	version=v2.14.0
	;;
*)
	echo "tool.sh: unknown tool '${1:-}' (known: goreleaser, actionlint, golangci-lint)" >&2
	exit 2
	;;
esac
name=$1
exe="$bin/$name"

# `go version -m` reads the module version the binary was built from, so a
# stale binary left by an older pin is replaced rather than trusted.
installed=""
if [ -x "$exe" ]; then
	installed=$(go version -m "$exe" 2>/dev/null | awk -v m="$mod" '$1 == "mod" && $2 == m { print $3 }')
fi
if [ "$installed" != "$version" ]; then
	echo "tool.sh: installing $pkg@$version into $bin (first use; may take minutes)" >&2
	mkdir -p "$bin"
	# Outside the module so its go.mod (and its replace directives) cannot
	# interfere, and -mod settings from GOFLAGS cannot break `go install x@v`.
	(cd "$bin" && GOFLAGS='' GOBIN="$bin" go install "$pkg@$version") || {
		echo "tool.sh: go install $pkg@$version failed" >&2
		exit 1
	}
fi
echo "$exe"
