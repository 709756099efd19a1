#!/usr/bin/env bash
# Installs what the tests need to run real local services (see
# internal/testenv and design/TESTING.md):
#
#   k8s-testenv      built from tools/k8s-testenv (etcd + kube-apiserver +
#                    kube-controller-manager), cached by a hash of its sources
#                    and the Go version
#   fake-gcs-server  built from tools/fake-gcs-server (a module that pins it as
#                    a tool), cached the same way
#   tofu             OpenTofu built from the module proxy (go mod download,
#                    a copy without the remote-state backends and key
#                    providers our HCL does not name, go build ./cmd/tofu:
#                    `go install` refuses its replace line), cached by its
#                    version, the Go version and what it keeps
#   moto_server      must already be on PATH (ships with the machine image)
#   MariaDB, Redis   from apt when mariadbd or redis-server is missing (one
#                    apt-get run for both); the system services are never
#                    started (tests run their own mariadbd and redis-server)
#
# Built binaries live in ${SPINOPS_CACHE_DIR:-$HOME/.cache/spinops} and are
# linked into <repo>/.testenv/bin, where internal/testenv finds them.
# Idempotent: a second run only checks and relinks.
#
# Usage: scripts/testenv.sh [--print-bin-dir | --only tofu]
#   --only tofu   build/link only OpenTofu (its own lock, so `make test` can
#                 build it in the background while this script's other steps
#                 run in the foreground)
# Environment: SPINOPS_TESTENV=required makes a missing moto/MariaDB/Redis an error
# (otherwise a warning: the tests that need it are skipped);
# SPINOPS_TESTENV_SKIP_TOFU=1 leaves OpenTofu out (make test builds it apart);
# SPINOPS_TESTENV_SKIP_GCS=1 leaves fake-gcs-server out (`make demo` does not
# use it: 59 s of a cold demo on the 2-core machine; make test builds it).
set -euo pipefail

K8S_VERSION=v1.37.2
TOFU_VERSION=v1.12.6

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin_dir=$repo/.testenv/bin

only=
if [[ ${1:-} == --print-bin-dir ]]; then
	echo "$bin_dir"
	exit 0
elif [[ ${1:-} == --only && ${2:-} == tofu && $# -eq 2 ]]; then
	only=tofu
elif [[ $# -gt 0 ]]; then
	echo "usage: $0 [--print-bin-dir | --only tofu]" >&2
	exit 2
fi

cache=${SPINOPS_CACHE_DIR:-$HOME/.cache/spinops}
required=false
[[ ${SPINOPS_TESTENV:-} == required ]] && required=true

log() { printf 'testenv: %s\n' "$*"; }
warn() { printf 'testenv: WARNING: %s\n' "$*" >&2; }
die() { printf 'testenv: ERROR: %s\n' "$*" >&2; exit 1; }
# missing MSG: an error under SPINOPS_TESTENV=required, else a warning.
missing() {
	if $required; then die "$* (SPINOPS_TESTENV=required)"; fi
	warn "$* — tests that need it will be skipped"
}

step_start=0
step() { step_name=$1; step_start=$(date +%s.%N); }
step_done() {
	local secs
	secs=$(awk -v a="$step_start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
	log "$step_name: $1 (${secs}s)"
}

hash16() { sha256sum | cut -c1-16; }

command -v go >/dev/null || die "go is not on PATH"
go_version=$(go version)

mkdir -p "$cache" "$bin_dir"

tmp_paths=()
cleanup() { [[ ${#tmp_paths[@]} -eq 0 ]] || rm -rf "${tmp_paths[@]}"; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# link NAME TARGET: <repo>/.testenv/bin/NAME -> TARGET
link() {
	ln -sfn "$2" "$bin_dir/$1.tmp.$$"
	mv -f -T "$bin_dir/$1.tmp.$$" "$bin_dir/$1"
}

# --- OpenTofu ----------------------------------------------------------------
# `go install github.com/opentofu/opentofu/cmd/tofu@…` is refused (the module
# has a replace line), so: download the module, build in a writable copy.
# The copy is made by tools/providertrim -tofu, which drops the remote-state
# backends and state-encryption key providers no HCL here names (the tests
# use local state; a `backend "s3"` in modules/ would keep s3): a third of
# OpenTofu's dependency packages, the Azure, Tencent, Alibaba, Kubernetes,
# Consul and KMS SDKs. What it keeps is part of the cache key.
# -X version.dev=no makes `tofu version` say 1.12.6, not 1.12.6-dev.
# Own lock, so it can run beside the rest.
tofu_step() {
	step tofu
	local ldflags="-s -w -X github.com/opentofu/opentofu/version.dev=no"
	local key tofu_bin src mod trim kept scan=$repo/modules,$repo/examples,$repo/internal/modtest
	mkdir -p "$cache/tofu"
	if command -v flock >/dev/null; then
		exec 8>"$cache/tofu/.lock"
		flock 8
	fi
	mod=$(cd "$cache/tofu" && GOWORK=off GOFLAGS=-mod=mod go mod download -json "github.com/opentofu/opentofu@$TOFU_VERSION" |
		sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
	[[ -d $mod ]] || die "go mod download github.com/opentofu/opentofu@$TOFU_VERSION gave no module directory"
	trim=$cache/tofu/.providertrim.$$
	tmp_paths+=("$trim")
	(cd "$repo" && GOWORK=off GOFLAGS= go build -o "$trim" ./tools/providertrim)
	kept=$("$trim" -tofu -src "$mod" -scan "$scan" -list)
	key=$(printf '%s\n%s\n%s\n%s\n%s\n' "$TOFU_VERSION" "$go_version" "$ldflags" "$kept" "$(sha256sum "$repo"/tools/providertrim/*.go)" | hash16)
	tofu_bin=$cache/tofu/$key/tofu
	mkdir -p "$(dirname "$tofu_bin")"
	if [[ -x $tofu_bin ]]; then
		step_done "cached $tofu_bin"
	else
		log "building OpenTofu $TOFU_VERSION from the Go module proxy ($(echo "$kept" | paste -sd';')) ..."
		src=$(mktemp -d "$(dirname "$tofu_bin")/src.XXXXXX")
		tmp_paths+=("$src")
		"$trim" -tofu -src "$mod" -scan "$scan" -out "$src/tofu" >/dev/null
		(cd "$src/tofu" && GOWORK=off GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$tofu_bin.tmp.$$" ./cmd/tofu)
		mv -f "$tofu_bin.tmp.$$" "$tofu_bin"
		rm -rf "$src"
		step_done "built $tofu_bin"
	fi
	link tofu "$tofu_bin"
	if command -v flock >/dev/null; then exec 8>&-; fi
}
if [[ $only == tofu ]]; then
	tofu_step
	exit 0
fi

# One run at a time per cache (two `make test` at once must not build twice).
if command -v flock >/dev/null; then
	exec 9>"$cache/.testenv.lock"
	if ! flock -n 9; then
		log "waiting for another scripts/testenv.sh to finish"
		flock 9
	fi
fi

# --- MariaDB and Redis: found, or their install started now -----------------
# Installing them from Debian (apt-get update + install: 59 s on a fresh
# machine for MariaDB; Redis adds a few seconds to the same run) waits mostly
# on the network and the disk, so when it is needed it runs in the background
# beside the builds below; the steps at the end wait for it. A failed build
# does not stop it: a half-done dpkg would be worse than a finished install
# nobody used.
find_mariadbd() {
	command -v mariadbd 2>/dev/null && return
	[[ -x /usr/sbin/mariadbd ]] && echo /usr/sbin/mariadbd
}
find_redis() {
	command -v redis-server 2>/dev/null && return
	[[ -x /usr/bin/redis-server ]] && echo /usr/bin/redis-server
}
# install_packages PKG...: apt-get update + install, the system services not
# started.
install_packages() {
	local rc=0 policy=/usr/sbin/policy-rc.d own_policy=false
	# policy-rc.d answering 101 stops the package scripts from starting the
	# services; only add one when the machine has none.
	if [[ ! -e $policy ]]; then
		printf '#!/bin/sh\nexit 101\n' | "${apt_sudo[@]}" tee "$policy" >/dev/null
		"${apt_sudo[@]}" chmod 755 "$policy"
		own_policy=true
	fi
	{
		"${apt_sudo[@]}" apt-get update -q &&
			"${apt_sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@"
	} || rc=$?
	if $own_policy; then "${apt_sudo[@]}" rm -f "$policy"; fi
	return "$rc"
}
apt_sudo=()
apt_packages=()
apt_refusal=
apt_pid=
find_mariadbd >/dev/null || apt_packages+=(mariadb-server mariadb-client)
find_redis >/dev/null || apt_packages+=(redis-server)
if ((${#apt_packages[@]})); then
	if [[ $(id -u) != 0 ]]; then
		if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
			apt_sudo=(sudo -n)
		else
			apt_refusal="installing ${apt_packages[*]} needs root: run 'apt-get install -y ${apt_packages[*]}' as root"
		fi
	fi
	if [[ -z $apt_refusal ]] && ! command -v apt-get >/dev/null; then
		apt_refusal="apt-get is not available: install ${apt_packages[*]} yourself (mariadbd, mariadb-install-db, the mariadb client; redis-server)"
	fi
	if [[ -z $apt_refusal ]]; then
		apt_log=$cache/apt-install.log
		log "installing ${apt_packages[*]} from apt in the background, beside the builds (the system services are not started; log: $apt_log) ..."
		install_packages "${apt_packages[@]}" >"$apt_log" 2>&1 &
		apt_pid=$!
	fi
fi

# --- k8s-testenv -------------------------------------------------------------
# Built like make test builds everything (-trimpath, CGO_ENABLED=0; see
# scripts/test.sh), and so are kubectl and fake-gcs-server: the build cache
# shares a compiled package only between builds with the same flags. The
# tool modules require the spinops module's versions of what they share with
# it (scripts/toolmods.sh), so client-go, apimachinery, grpc and the rest
# are compiled once on a cold machine, whichever build comes first.
#
# build_tool NAME KEY DIR PKG LDFLAGS WHAT: NAME from $cache/NAME/KEY/NAME,
# built there first when missing (WHAT says what, in the log) from package
# PKG of the module in DIR; then linked into $bin_dir.
build_tool() {
	local name=$1 key=$2 dir=$3 pkg=$4 ldflags=$5 what=$6 bin out
	step "$name"
	bin=$cache/$name/$key/$name
	if [[ -x $bin ]]; then
		step_done "cached $bin"
	else
		log "building $what ..."
		mkdir -p "$(dirname "$bin")"
		out=$bin.tmp.$$
		tmp_paths+=("$out")
		(cd "$dir" && GOWORK=off CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$out" "$pkg")
		mv -f "$out" "$bin"
		step_done "built $bin"
	fi
	link "$name" "$bin"
}
k8s_minor=${K8S_VERSION#v1.}
k8s_minor=${k8s_minor%%.*}
k8s_ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$K8S_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$k8s_minor"
tool=$repo/tools/k8s-testenv
key=$({ cat "$tool/go.mod" "$tool/go.sum" "$tool/main.go"; echo "$go_version"; echo "$k8s_ldflags -trimpath CGO_ENABLED=0"; } | hash16)
build_tool k8s-testenv "$key" "$tool" . "$k8s_ldflags" "k8s-testenv ($K8S_VERSION; ≈8 min on 2 cores when the Go build cache is cold)"

# --- kubectl -----------------------------------------------------------------
# A real kubectl for the bridge's per-account endpoint tests; its own nested
# module so it never invalidates the k8s-testenv build.
tool=$repo/tools/k8s-testenv/kubectl
key=$({ cat "$tool/go.mod" "$tool/go.sum" "$tool/main.go"; echo "$go_version"; echo "$k8s_ldflags -trimpath CGO_ENABLED=0"; } | hash16)
build_tool kubectl "$key" "$tool" . "$k8s_ldflags" "kubectl ($K8S_VERSION)"

# --- fake-gcs-server ---------------------------------------------------------
if [[ ${SPINOPS_TESTENV_SKIP_GCS:-} != 1 ]]; then
	tool=$repo/tools/fake-gcs-server
	fake_gcs_version=$(awk '$1 == "github.com/fsouza/fake-gcs-server" {print $2}' "$tool/go.mod")
	key=$({ cat "$tool/go.mod" "$tool/go.sum"; echo "$go_version -trimpath CGO_ENABLED=0"; } | hash16)
	build_tool fake-gcs-server "$key" "$tool" github.com/fsouza/fake-gcs-server "-s -w" "fake-gcs-server $fake_gcs_version"
fi

# --- terraform ---------------------------------------------------------------
# The machine image ships terraform 1.11.4 in /usr/local/bin; build the same
# version from the module proxy when it is missing (≈4 min cold).
step terraform
TERRAFORM_VERSION=v1.11.4
if tf=$(command -v terraform); then
	step_done "found $tf ($("$tf" version 2>/dev/null | head -1))"
else
	key=$(printf '%s\n%s\n' "$TERRAFORM_VERSION" "$go_version" | hash16)
	tf_bin=$cache/terraform/$key/terraform
	if [[ ! -x $tf_bin ]]; then
		log "terraform is not on PATH: building $TERRAFORM_VERSION from the Go module proxy ..."
		mkdir -p "$(dirname "$tf_bin")"
		gobin=$(mktemp -d "$(dirname "$tf_bin")/gobin.XXXXXX")
		tmp_paths+=("$gobin")
		(cd "$gobin" && GOWORK=off GOBIN=$gobin go install -trimpath -ldflags "-s -w" \
			"github.com/hashicorp/terraform@$TERRAFORM_VERSION")
		mv -f "$gobin/terraform" "$tf_bin"
	fi
	link terraform "$tf_bin"
	step_done "using $tf_bin"
fi

if [[ ${SPINOPS_TESTENV_SKIP_TOFU:-} != 1 ]]; then
	tofu_step
fi

# --- moto --------------------------------------------------------------------
step moto_server
if moto=$(command -v moto_server); then
	step_done "found $moto"
else
	missing "moto_server is not on PATH. moto 5.2.1 ships with the machine image and cannot be installed here (PyPI is not reachable)"
fi

# --- iproute2 ----------------------------------------------------------------
# Test hosts (testenv.StartTestHost: a network namespace + veth pair) need ip.
step iproute2
if ipcmd=$(command -v ip); then
	step_done "found $ipcmd"
elif [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
	log "installing iproute2 from apt ..."
	apt-get install -y -q iproute2 >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q iproute2 >/dev/null; }
	step_done "installed $(command -v ip)"
else
	missing "iproute2's ip command is missing: run 'apt-get install -y iproute2' as root"
fi

# --- MariaDB and Redis -------------------------------------------------------
apt_rc=0
if [[ -n $apt_pid ]]; then
	wait "$apt_pid" || apt_rc=$?
	if [[ $apt_rc != 0 ]]; then
		sed 's/^/    /' "$apt_log" >&2
	fi
fi
# server_step NAME FIND PACKAGE: the step of one server from apt.
server_step() {
	local name=$1 find=$2 pkg=$3 path
	step "$name"
	if path=$($find); then
		if [[ -n $apt_pid && " ${apt_packages[*]} " == *" $pkg "* ]]; then
			step_done "$path (apt-get ran in the background, beside the builds; waited for it)"
		else
			step_done "found $path"
		fi
	elif [[ -n $apt_pid ]]; then
		missing "installing ${apt_packages[*]} with apt-get failed (exit $apt_rc; its output above and in $apt_log)"
	else
		missing "$apt_refusal"
	fi
}
server_step MariaDB find_mariadbd mariadb-server
server_step Redis find_redis redis-server

log "binaries are in $bin_dir (internal/testenv looks there; override with SPINOPS_TESTENV_BIN)"
