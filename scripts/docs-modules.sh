#!/usr/bin/env bash
# The generated part of every HCL module's README (modules/*/*/README.md of a
# directory with a versions.tf): terraform-docs writes the Requirements,
# Providers, Inputs and Outputs tables, configured by .terraform-docs.yml,
# between the README's <!-- BEGIN_TF_DOCS --> and <!-- END_TF_DOCS -->
# markers. Everything outside the markers is hand-written and left alone.
#
#   scripts/docs-modules.sh [DIR...]          regenerate (make docs-modules);
#                                             a README without the markers
#                                             gets them appended first
#   scripts/docs-modules.sh --check [DIR...]  fail, naming each module and
#                                             showing the diff, when
#                                             regenerating would change its
#                                             README (make check-docs-modules,
#                                             part of make test); writes nothing
#
# terraform-docs reads the HCL only (no terraform, no providers, no network
# once built). It is pinned by tools/terraform-docs (a module of its own, so
# the spinops module's go.mod does not carry its dependencies; the Go module
# proxy serves its exact versions but refuses its version list, which
# `go install …@version` asks for) and built once per go.mod/go.sum/Go version
# into the cache outside the clone (SPINOPS_CACHE_DIR, ~/.cache/spinops);
# a missing or partial cache entry is simply built again.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
GO=${GO:-go}
cache=${SPINOPS_CACHE_DIR:-$HOME/.cache/spinops}
config=$repo/.terraform-docs.yml
begin='<!-- BEGIN_TF_DOCS -->'
end='<!-- END_TF_DOCS -->'

tmp_bin= scratch=
trap 'rm -f ${tmp_bin:+"$tmp_bin"}; rm -rf ${scratch:+"$scratch"}' EXIT

log() { printf 'docs-modules: %s\n' "$*"; }
die() { printf 'docs-modules: %s\n' "$*" >&2; exit 1; }

check=false
if [[ ${1:-} == --check ]]; then
	check=true
	shift
fi
if [[ $# -gt 0 ]]; then
	dirs=("${@%/}")
else
	mapfile -t dirs < <(for v in modules/*/*/versions.tf; do [[ -e $v ]] && dirname "$v"; done)
fi
[[ ${#dirs[@]} -gt 0 ]] || die "no module directories (modules/*/*/versions.tf)"
[[ -f $config ]] || die "$config is missing"

# --- terraform-docs, built once per pin -----------------------------------
tool=$repo/tools/terraform-docs
version=$(awk '$1 == "github.com/terraform-docs/terraform-docs" {print $2}' "$tool/go.mod")
[[ -n $version ]] || die "tools/terraform-docs/go.mod does not require github.com/terraform-docs/terraform-docs"
# Same flags as make test's other builds (-trimpath, CGO_ENABLED=0), so the
# packages it shares with them come from the build cache.
key=$({ cat "$tool/go.mod" "$tool/go.sum"; GOWORK=off "$GO" env GOVERSION; echo "-trimpath CGO_ENABLED=0"; } | sha256sum | cut -c1-16)
tfdocs=$cache/terraform-docs/$version-$key/terraform-docs
if [[ ! -x $tfdocs ]]; then
	log "building terraform-docs $version (tools/terraform-docs) into $(dirname "$tfdocs")"
	mkdir -p "$(dirname "$tfdocs")"
	tmp_bin=$tfdocs.tmp.$$
	(cd "$tool" && GOWORK=off CGO_ENABLED=0 "$GO" build -trimpath -ldflags '-s -w' -o "$tmp_bin" \
		github.com/terraform-docs/terraform-docs) || die "terraform-docs $version did not build (see above)"
	mv -f "$tmp_bin" "$tfdocs"
fi

# generate DIR [NAME]: add the markers if DIR's README has neither, then let
# terraform-docs replace what is between them. NAME (default DIR) is the
# module the messages name (DIR is a scratch copy under --check).
generate() {
	local dir=$1 name=${2:-$1} readme=$1/README.md has_begin=0 has_end=0
	grep -qxF "$begin" "$readme" && has_begin=1
	grep -qxF "$end" "$readme" && has_end=1
	if [[ $has_begin == 0 && $has_end == 0 ]]; then
		# End the prose with a newline, then a blank line, then the markers.
		[[ -z $(tail -c 1 "$readme") ]] || echo >>"$readme"
		printf '\n%s\n%s\n' "$begin" "$end" >>"$readme"
	elif [[ $has_begin != "$has_end" ]]; then
		echo "docs-modules: $name/README.md has only one of the lines '$begin' and '$end': put both, each on a line of its own, where the generated tables go (the end of the README), or remove both and run make docs-modules" >&2
		return 1
	fi
	"$tfdocs" --config "$config" "$dir" >/dev/null || {
		echo "docs-modules: terraform-docs failed in $name (see above)" >&2
		return 1
	}
}

failed=()
stale=()
if $check; then
	scratch=$(mktemp -d "${TMPDIR:-/tmp}/docs-modules.XXXXXX")
fi
for dir in "${dirs[@]}"; do
	[[ -f $dir/versions.tf ]] || { echo "docs-modules: $dir is not a module directory (no versions.tf)" >&2; failed+=("$dir"); continue; }
	if [[ ! -f $dir/README.md ]]; then
		echo "docs-modules: $dir has no README.md: write one (what the module creates, an example call); make docs-modules then adds the generated tables to it" >&2
		failed+=("$dir")
		continue
	fi
	if $check; then
		# Regenerate a copy of the module's .tf files and README; compare.
		copy=$scratch/$dir
		mkdir -p "$copy"
		cp "$dir"/*.tf "$dir/README.md" "$copy/"
		generate "$copy" "$dir" || { failed+=("$dir"); continue; }
		if ! diff -u --label "$dir/README.md" --label "$dir/README.md (regenerated)" "$dir/README.md" "$copy/README.md" >&2; then
			stale+=("$dir")
		fi
	else
		before=$(sha256sum <"$dir/README.md")
		generate "$dir" || { failed+=("$dir"); continue; }
		[[ $(sha256sum <"$dir/README.md") == "$before" ]] || log "updated $dir/README.md"
	fi
done

if [[ ${#stale[@]} -gt 0 ]]; then
	echo "docs-modules: the generated tables in these READMEs are out of date (diff above): ${stale[*]}" >&2
	echo "docs-modules: run 'make docs-modules' (scripts/docs-modules.sh) and commit the result" >&2
fi
[[ ${#failed[@]} -eq 0 ]] || echo "docs-modules: failed: ${failed[*]}" >&2
[[ ${#stale[@]} -eq 0 && ${#failed[@]} -eq 0 ]] || exit 1
if $check; then
	log "${#dirs[@]} module READMEs are up to date (terraform-docs $version)"
fi
