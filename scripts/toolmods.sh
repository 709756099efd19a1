#!/usr/bin/env bash
# The tool modules the tests build (tools/k8s-testenv, its kubectl,
# tools/fake-gcs-server) share most of their dependencies with the spinops
# module: client-go, apimachinery, grpc, protobuf, the Google API client,
# OpenTelemetry... The Go build cache compiles such a package once for all of
# them only when every module it is built from is at the same version in each
# (and the flags match: make test builds all of them, and its own tests, with
# -trimpath and CGO_ENABLED=0). On a cold
# machine that is most of what the k8s-testenv and fake-gcs-server builds
# would otherwise compile a second time (see README "How long make test
# takes").
#
#   scripts/toolmods.sh check   fail, naming each module, when a module that
#                               a tool builds with is at another version than
#                               in the spinops module's test build
#   scripts/toolmods.sh align   fix that: raise the lower side with go get
#                               (the tool, or the spinops module when the
#                               tool's dependency needs the newer one), tidy,
#                               repeat until nothing differs
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
export GOWORK=off

# dir|package(s) the tool builds
tools=(
	"tools/k8s-testenv|."
	"tools/k8s-testenv/kubectl|."
	"tools/fake-gcs-server|github.com/fsouza/fake-gcs-server"
	"tools/terraform-docs|github.com/terraform-docs/terraform-docs"
)

# mods DIR PKG...: "module version" of every package DIR's build of PKG uses
# (a replaced module reports its replacement's version).
mods() {
	local dir=$1
	shift
	(cd "$dir" && go list -deps -test -f '{{with .Module}}{{if .Replace}}{{.Path}} {{.Replace.Version}}{{else}}{{.Path}} {{.Version}}{{end}}{{end}}' "$@") |
		grep -v ' $' | sort -u
}

# newer A B: true when version A sorts after B (semver, via go's own order:
# go list -m reports the higher of the two for a module in MVS terms; a
# plain sort -V is close enough for the release and pseudo-versions here).
newer() { [[ $1 != "$2" && $(printf '%s\n%s\n' "$1" "$2" | sort -V | tail -1) == "$1" ]]; }

mismatches() {
	local main_mods=$1 entry dir pkg
	for entry in "${tools[@]}"; do
		dir=${entry%%|*} pkg=${entry#*|}
		# shellcheck disable=SC2086
		join <(mods "$dir" $pkg) "$main_mods" | awk -v d="$dir" '$2 != $3 && $1 !~ /^github.com\/spinops\// {print d, $1, $2, $3}'
	done
}

cmd=${1:-check}
main_mods=$(mktemp)
trap 'rm -f "$main_mods"' EXIT
case $cmd in
check)
	mods . ./... >"$main_mods"
	out=$(mismatches "$main_mods")
	if [[ -n $out ]]; then
		echo "toolmods: these modules are at another version in a tool module than in the spinops module, so a cold build compiles them (and everything above them) twice:" >&2
		echo "$out" | awk '{printf "  %s: %s %s (spinops module: %s)\n", $1, $2, $3, $4}' >&2
		echo "toolmods: run scripts/toolmods.sh align (then re-run the tests: it may raise a version in go.mod)" >&2
		exit 1
	fi
	echo "toolmods: the tool modules build with the spinops module's versions"
	;;
align)
	for round in 1 2 3 4 5; do
		mods . ./... >"$main_mods"
		out=$(mismatches "$main_mods")
		[[ -n $out ]] || { echo "toolmods: aligned"; exit 0; }
		while read -r dir mod tv mv; do
			if newer "$tv" "$mv"; then
				echo "toolmods: spinops module: $mod $mv -> $tv (needed by $dir)"
				go get "$mod@$tv"
			else
				echo "toolmods: $dir: $mod $tv -> $mv"
				(cd "$dir" && go get "$mod@$mv")
			fi
		done <<<"$out"
		go mod tidy
		for entry in "${tools[@]}"; do (cd "${entry%%|*}" && go mod tidy); done
		echo "toolmods: round $round done"
	done
	echo "toolmods: still not aligned after 5 rounds:" >&2
	mismatches "$main_mods" >&2
	exit 1
	;;
*)
	echo "usage: $0 check|align" >&2
	exit 2
	;;
esac
