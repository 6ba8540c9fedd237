#!/bin/sh
# Usage: scripts/vet-all.sh [-l]
#
# Runs `go vet ./...` (which type-checks tests too) once per GOOS/GOARCH that
# .goreleaser.yml releases, so a target whose build tags leave a symbol
# undefined (a dependency without solaris code, say) fails here rather than
# in a user's `go test`. The target list is read from the block between
# "# targets:begin" and "# targets:end" in .goreleaser.yml: its goos and
# goarch lists, minus its ignore pairs. -l only lists the targets.
set -eu

root=$(CDPATH='' cd -- "$(dirname -- "$0")/.." && pwd)
cd "$root"

list=false
for arg in "$@"; do
	case "$arg" in
	-l) list=true ;;
	*)
		echo "vet-all.sh: unknown argument '$arg' (usage: $0 [-l])" >&2
		exit 2
		;;
	esac
done

# The block is ours and kept in flow style (goos: [a, b], { goos: x, goarch: y }),
# which is what this reads; anything else is an error, not a silent empty list.
targets=$(awk '
	function items(line,   s, n, a, i, out) {
		s = line; sub(/^[^[]*\[/, "", s); sub(/\].*$/, "", s); gsub(/["[:space:]]/, "", s)
		n = split(s, a, ","); out = ""
		for (i = 1; i <= n; i++) if (a[i] != "") out = out " " a[i]
		return out
	}
	/# targets:begin/ { inside = 1; next }
	/# targets:end/   { inside = 0; next }
	!inside           { next }
	/^[[:space:]]*goos:[[:space:]]*\[/   { goos = items($0); next }
	/^[[:space:]]*goarch:[[:space:]]*\[/ { goarch = items($0); next }
	/goos:.*goarch:/ {
		s = $0; gsub(/[{}",[:space:]]/, " ", s); n = split(s, f, " ")
		for (i = 1; i < n; i++) { if (f[i] == "goos:") o = f[i+1]; if (f[i] == "goarch:") a = f[i+1] }
		ignore[o "/" a] = 1; next
	}
	END {
		if (goos == "" || goarch == "") { print "no goos/goarch lists between the targets markers" > "/dev/stderr"; exit 3 }
		no = split(goos, os, " "); na = split(goarch, ar, " ")
		for (i = 1; i <= no; i++) for (j = 1; j <= na; j++)
			if (!((os[i] "/" ar[j]) in ignore)) print os[i] "/" ar[j]
	}
' .goreleaser.yml) || {
	echo "vet-all.sh: cannot read the release targets from .goreleaser.yml" >&2
	exit 1
}

if $list; then
	printf '%s\n' "$targets"
	exit 0
fi

failed=""
n=0
for t in $targets; do
	n=$((n + 1))
	echo "vet-all.sh: GOOS=${t%/*} GOARCH=${t#*/} go vet ./..." >&2
	if ! GOOS=${t%/*} GOARCH=${t#*/} CGO_ENABLED=0 go vet ./...; then
		failed="$failed $t"
	fi
done
if [ -n "$failed" ]; then
	echo "vet-all.sh: go vet failed for:$failed" >&2
	exit 1
fi
echo "vet-all.sh: go vet passes for all $n release targets"
