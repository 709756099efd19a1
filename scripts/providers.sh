#!/usr/bin/env bash
# Builds the HashiCorp providers the HCL modules are tested with from the Go
# module proxy (the Terraform registry is not reachable here) and lays them
# out as a filesystem mirror:
#
#   <cache>/providers/<name>/<key>/terraform-provider-<name>   (the build)
#   <repo>/.testenv/mirror/registry.terraform.io/hashicorp/<name>/<version>/<os_arch>/terraform-provider-<name>_v<version>
#
# aws and google are built from a trimmed copy of their module source that
# registers only the services our HCL names (aws: and within them only the
# types it names, since every provider start builds the schema of every
# registered type and terraform decodes it) (tools/providertrim: the
# resources we use are the provider's own code, unmodified; the full aws
# build was half of a cold `make test`). Everything is cached by module
# version, Go version, flags and the kept services, and reused.
#
# Usage: scripts/providers.sh [NAME...]      (default: aws google)
#        scripts/providers.sh --print-mirror
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
mirror=$repo/.testenv/mirror
cache=${SPINOPS_CACHE_DIR:-$HOME/.cache/spinops}

if [[ ${1:-} == --print-mirror ]]; then
	echo "$mirror"
	exit 0
fi

# name|go install target|real version (the proxy serves exactly one
# pseudo-version of each; see shared/design/TESTING.md)
providers=(
	"aws|github.com/hashicorp/terraform-provider-aws@v1.60.1-0.20260602190131-5f2286d6d836|6.48.0"
	"google|github.com/hashicorp/terraform-provider-google@v1.20.1-0.20260828184646-f3721fb45fa3|8.0.0"
	"random|github.com/terraform-providers/terraform-provider-random@v1.3.2-0.20260824155315-e1092b0cfc07|3.9.0"
	"tls|github.com/hashicorp/terraform-provider-tls@v1.2.1-0.20260819085117-d044ca7c6f52|4.3.0"
	"kubernetes|github.com/hashicorp/terraform-provider-kubernetes@v1.13.4-0.20260821094251-3a33fb6cc605|3.2.1"
)

want=("$@")
[[ ${#want[@]} -gt 0 ]] || want=(aws google)

log() { printf 'providers: %s\n' "$*"; }
# Compiler flags for the providers (part of the cache key). Default: none.
# PROVIDER_GCFLAGS='all=-N -l' (no optimisation or inlining) was measured on
# 2026-12-01, not side by side: aws built in 1,377 s at load 8-14 with it
# and in 1,458 s at load 1-4 without (both with partly warm caches), so it
# probably compiles faster; one schema load of the aws provider costs 7.4 s
# of CPU with it and 6.1 s without (the binary is ~0.9-1 GB either way), and
# the module tests load it many times. Default flags are kept until a
# side-by-side cold measurement on an idle machine decides.
gcflags=${PROVIDER_GCFLAGS-}
go_version=$(go version)
plat="$(go env GOOS)_$(go env GOARCH)"

# The directories whose HCL names the aws_*/google_* types to keep.
scan=$repo/modules,$repo/examples,$repo/internal/modtest

# module_dir TARGET: the module cache's copy of pkg@version's module.
module_dir() {
	local mod=${1%@*} ver=${1##*@}
	mod=${mod%/cmd/*}
	(cd "$cache" && GOWORK=off GOFLAGS=-mod=mod go mod download -json "$mod@$ver") |
		sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p'
}
# trimmer ARGS: tools/providertrim, built once per run (stdlib only, seconds;
# under the cache lock taken below).
trimmer_built=
trimmer() {
	if [[ -z $trimmer_built ]]; then
		(cd "$repo" && go build -o "$cache/providers/.providertrim" ./tools/providertrim)
		trimmer_built=1
	fi
	"$cache/providers/.providertrim" "$@"
}

mkdir -p "$cache/providers"
if command -v flock >/dev/null; then
	exec 9>"$cache/providers/.lock"
	flock 9
fi

for name in "${want[@]}"; do
	line=
	for p in "${providers[@]}"; do [[ ${p%%|*} == "$name" ]] && line=$p; done
	[[ -n $line ]] || { echo "providers: unknown provider $name" >&2; exit 2; }
	IFS='|' read -r _ target version <<<"$line"
	trim=
	case $name in aws | google) trim=$name ;; esac
	services=
	if [[ -n $trim ]]; then
		# The services our HCL names, from the module source (part of the key:
		# a module that starts using another service rebuilds the provider).
		src=$(module_dir "$target")
		services=$(trimmer -provider "$trim" -src "$src" -scan "$scan" -list | paste -sd, -)
		# The trimmer's own source, and for aws the types it keeps (it
		# registers only those: a module naming another type of a service
		# already kept must rebuild it too).
		tool=$(cat $(ls "$repo"/tools/providertrim/*.go | grep -v '_test\.go$') | sha256sum | cut -c1-16)
		types=
		[[ $trim == aws ]] && types=$(trimmer -provider aws -src "$src" -scan "$scan" -list-types | sha256sum | cut -c1-16)
		services="$services $tool$types"
	fi
	key=$(printf '%s\n%s\n%s\n%s\n' "$target" "$go_version" "$gcflags" "$services" | sha256sum | cut -c1-16)
	bin=$cache/providers/$name/$key/terraform-provider-$name
	if [[ -x $bin ]]; then
		log "$name $version: cached $bin${trim:+ (services: ${services% *})}"
	else
		start=$(date +%s)
		mkdir -p "$(dirname "$bin")"
		gobin=$(mktemp -d "$(dirname "$bin")/gobin.XXXXXX")
		trap 'rm -rf "$gobin"' EXIT
		if [[ -n $trim ]]; then
			log "$name $version: building from the module proxy with the services ${services% *} (aws ≈8 min, google ≈5 min cold) ..."
			trimmer -provider "$trim" -src "$src" -scan "$scan" -out "$gobin/src" >/dev/null
			(cd "$gobin/src" && GOWORK=off GOFLAGS=-mod=mod go build -trimpath -gcflags="$gcflags" -ldflags '-s -w' -o "$gobin/terraform-provider-$name" .)
		else
			log "$name $version: building from the module proxy ..."
			(cd "$gobin" && GOWORK=off GOBIN=$gobin go install -trimpath -gcflags="$gcflags" -ldflags '-s -w' "$target")
		fi
		mv -f "$gobin"/terraform-provider-* "$bin"
		rm -rf "$gobin"
		trap - EXIT
		log "$name $version: built in $(($(date +%s) - start))s"
	fi
	dst=$mirror/registry.terraform.io/hashicorp/$name/$version/$plat
	mkdir -p "$dst"
	# A real copy, not a symlink: terraform hashes the file it finds.
	cp -f "$bin" "$dst/terraform-provider-${name}_v$version"
done
log "mirror: $mirror"
