#!/usr/bin/env bash
# Checks the HCL foundation modules (modules/aws/*, modules/gcp/*) and the
# whole-stack examples (examples/aws-complete, gcp-complete, landing-zone)
# offline, the way TESTING.md describes:
#
#   1. the hashicorp providers come from a local filesystem mirror built from
#      the Go module proxy (scripts/providers.sh; cached outside the clone),
#      our own provider is built into the same mirror;
#   2. every directory: terraform fmt -check, init -backend=false in a scratch
#      copy (no lock file: locally built providers never match registry
#      hashes), validate, and terraform test when it has tests/*.tftest.hcl
#      (mock_provider: nothing is created anywhere);
#   3. tflint (its bundled terraform ruleset), built from the module proxy
#      (~1.5 min once, cached); skipped with a note if it does not build;
#   4. init, validate and test again under OpenTofu (scripts/testenv.sh
#      builds it) in a second scratch tree, with the mirror's providers also
#      laid out under registry.opentofu.org/ (tofu's default registry host;
#      hard links or copies, not symlinks);
#   5. on a full run, the AWS modules applied for real against moto_server
#      with the mirror's hashicorp/aws (go test -tags modules ./internal/modtest).
#
# Steps 2-3, 4 and 5 run at once, as three lanes (see "The three lanes").
#
# Usage: scripts/test-modules.sh [DIR...]     (default: every module and example)
#        scripts/test-modules.sh --prepare   only build what the checks need (the
#                                            providers, tflint), as make test does
#                                            in the background from its start
# Environment: TERRAFORM (default: terraform on PATH), SPINOPS_CACHE_DIR,
#              SPINOPS_MODULES_CHECKS_NICE (niceness of the terraform and
#              OpenTofu checks; the moto applies keep the caller's),
#              TOFU (default: tofu on PATH or in .testenv/bin; TOFU=0 skips it;
#              a missing tofu is an error under SPINOPS_TESTENV=required),
#              TFLINT=0 to skip tflint, KEEP_SCRATCH=1 to keep the scratch tree.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
cache=${SPINOPS_CACHE_DIR:-$HOME/.cache/spinops}
terraform=${TERRAFORM:-$(command -v terraform || echo "$repo/.testenv/bin/terraform")}
spinops_version=0.1.0
tflint_version=v0.64.0

log() { printf 'test-modules: %s\n' "$*"; }
die() { printf 'test-modules: %s\n' "$*" >&2; exit 1; }

[[ -x $terraform ]] || die "terraform not found (set TERRAFORM or run scripts/testenv.sh)"

prepare=false
if [[ ${1:-} == --prepare ]]; then
	prepare=true
	shift
fi
all_dirs=1
if [[ $# -gt 0 ]]; then
	dirs=("${@%/}")
	all_dirs=0
else
	mapfile -t dirs < <(
		find modules -mindepth 2 -maxdepth 2 -type d | sort
		for e in aws-complete gcp-complete landing-zone; do [[ -d examples/$e ]] && echo "examples/$e"; done
	)
fi
[[ ${#dirs[@]} -gt 0 ]] || die "nothing to check"

# Which hashicorp providers the directories need (and the modules they call).
need=()
for p in aws google kubernetes random tls; do
	if grep -rqsE "source[[:space:]]*=[[:space:]]*\"hashicorp/$p\"" modules "${dirs[@]}" --include='*.tf'; then
		need+=("$p")
	fi
done

# 1. The mirror.
mirror=$("$repo/scripts/providers.sh" --print-mirror)
log "providers: ${need[*]} (scripts/providers.sh; aws ≈8 min and google ≈5 min on a cold cache)"
"$repo/scripts/providers.sh" "${need[@]}"

plat="$(go env GOOS)_$(go env GOARCH)"
if ! $prepare && grep -rqs 'source[[:space:]]*=[[:space:]]*"spinops/spinops"' "${dirs[@]}" --include='*.tf'; then
	need+=(spinops)
	dst=$mirror/registry.terraform.io/spinops/spinops/$spinops_version/$plat
	mkdir -p "$dst"
	log "building terraform-provider-spinops $spinops_version into the mirror"
	# No flags of its own: it builds with make test's (GOFLAGS=-trimpath and
	# CGO_ENABLED=0, exported by the GNUmakefile), like the tests, so the
	# packages they compiled are reused from the build cache.
	go build -o "$dst/terraform-provider-spinops_v$spinops_version" . ||
		die "building the spinops provider failed"
fi

# Terraform must not read a CLI config the machine may have; providers only
# from the mirror, linked from one plugin cache instead of copied per dir.
scratch=$(mktemp -d "${TMPDIR:-/tmp}/spinops-modules.XXXXXX")
# On the way out, the lanes still running (an interrupted run) are stopped
# before their scratch tree goes.
declare -A lane_pid=()
provider_pids=()
cleanup() {
	local p
	for p in "${lane_pid[@]}"; do
		pkill -P "$p" 2>/dev/null || true
		kill "$p" 2>/dev/null || true
	done
	# Waited for, so that their CPU is counted with this script's.
	for p in "${provider_pids[@]}"; do
		kill "$p" 2>/dev/null && wait "$p" 2>/dev/null || true
	done
	[[ ${KEEP_SCRATCH:-} == 1 ]] || rm -rf "$scratch"
}
trap cleanup EXIT
# The plugin caches are keyed by the mirror's contents: with no lock file,
# terraform would otherwise keep using a cached build of the same version
# after the mirror's binary changed (other build flags, a new provider).
mirror_key=$(find "$mirror/registry.terraform.io" -type f -printf '%P %s %T@\n' 2>/dev/null | sort | sha256sum | cut -c1-16)
tf_plugins=$cache/terraform-plugins/$mirror_key
tofu_plugins=$cache/tofu-plugins/$mirror_key
# Plugin caches of other mirrors are pruned only when no run used them for a
# day: another run on this machine (a second checkout, CI beside a developer)
# may be using one right now, and deleting it under that run's tofu or
# terraform makes its providers vanish mid-test ("could not read package
# directory"). Each run marks its own as used.
mkdir -p "$tf_plugins" "$tofu_plugins"
touch "$tf_plugins" "$tofu_plugins"
for d in "$cache"/terraform-plugins/* "$cache"/tofu-plugins/*; do
	[[ -d $d && $d != "$tf_plugins" && $d != "$tofu_plugins" ]] || continue
	[[ -n $(find "$d" -maxdepth 0 -mmin +1440) ]] && rm -rf "$d"
done
export TF_CLI_CONFIG_FILE=$scratch/terraformrc
cat >"$TF_CLI_CONFIG_FILE" <<EOF
plugin_cache_dir = "$tf_plugins"
plugin_cache_may_break_dependency_lock_file = true
provider_installation {
  filesystem_mirror {
    path    = "$mirror"
    include = ["registry.terraform.io/hashicorp/*", "registry.terraform.io/spinops/*"]
  }
}
EOF
export TF_IN_AUTOMATION=1 TF_INPUT=0 CHECKPOINT_DISABLE=1
unset TF_PLUGIN_CACHE_DIR TF_DATA_DIR

# Scratch copies of modules/ and examples/ side by side, so the examples'
# relative module sources (../../modules/...) resolve; no .terraform, no lock.
tar -C "$repo" --exclude=.terraform --exclude=.terraform.lock.hcl --exclude='*.tfstate*' \
	-cf - modules examples | tar -C "$scratch" -xf -

tflint=
if [[ ${TFLINT:-1} != 0 ]]; then
	tflint=$cache/tflint/$tflint_version/tflint
	if [[ ! -x $tflint ]]; then
		log "building tflint $tflint_version from the module proxy"
		mkdir -p "$(dirname "$tflint")"
		(cd "$scratch" && GOWORK=off GOBIN=$(dirname "$tflint") go install -trimpath -ldflags '-s -w' \
			"github.com/terraform-linters/tflint@$tflint_version") || { log "tflint did not build: skipped"; tflint=; }
	fi
fi
if $prepare; then
	log "prepared: providers ${need[*]}${tflint:+, tflint}"
	exit 0
fi
# terraform, tofu and the providers they start are short-lived processes
# whose CPU at Go's default GOGC=100 is a quarter garbage collection: the
# checks run with GOGC=400 (examples/aws-complete's tests: 64 CPU-s at 100,
# 48 at 400, peak memory 200 → 430 MB), the builds above with the default.
# A GOGC already set is kept.
export GOGC=${GOGC:-400}

# The providers of the checks, started once (TF_REATTACH_PROVIDERS). Every
# terraform or tofu command starts each provider its configuration needs as a
# process of its own and ends it: `terraform test` of modules/aws/edge
# started the aws provider 65 times, and on this project's machines (a
# virtual machine where each page-table change is paid for) the starts were
# a third of the checks' CPU. Started once in the provider's own debug mode
# (`-debug`: the same binary from the mirror, the same gRPC protocol) and
# reattached to, edge's tests took 20.2 CPU-s (terraform 18.2, the provider
# 2.0) instead of 30.9, and 31 s instead of 58 s (2026-12-05, side by side).
# Safe to share because every check is offline: validate and the tests'
# mock_provider never configure the provider (terraform's and tofu's mocks
# skip ConfigureProvider and answer plan, apply and read themselves); only
# the schema and validation calls reach it, and those are stateless. The
# moto applies configure the aws provider for real and start their own
# (moto_applies unsets the variable). `terraform init` installs nothing for
# a reattached provider, so the mirror's layout is checked by the moto
# applies' init. SPINOPS_MODULES_REATTACH=0 starts them per command again.
# start_providers: sets reattach_tf and reattach_tofu, the variable's value
# for terraform (registry.terraform.io/...) and for tofu (registry.opentofu.org/...).
reattach_tf= reattach_tofu=
start_providers() {
	local p ns bin log json value i tf=() tofu=()
	for p in "${need[@]}"; do
		ns=hashicorp
		[[ $p == spinops ]] && ns=spinops
		bin=$(find "$mirror/registry.terraform.io/$ns/$p" -path "*/$plat/terraform-provider-${p}_*" -type f | sort -V | tail -1)
		[[ -n $bin ]] || die "no $ns/$p provider for $plat in $mirror"
		log=$scratch/provider-$p.log
		# Made here, not only by the redirection below: that one is done by
		# the forked child, which may not have run yet when the loop's first
		# sed reads the file (a fresh-clone run of e3dca76 stopped on "sed:
		# can't read .../provider-spinops.log", exit 2, under set -e).
		: >"$log"
		"$bin" -debug >"$log" 2>&1 &
		provider_pids+=($!)
		json=
		for ((i = 0; i < 600; i++)); do
			json=$(sed -n "s/.*TF_REATTACH_PROVIDERS='\(.*\)'.*/\1/p" "$log")
			[[ -n $json ]] && break
			kill -0 "${provider_pids[-1]}" 2>/dev/null || break
			sleep 0.1
		done
		[[ -n $json ]] || die "$ns/$p did not start in debug mode (-debug); its output:
$(tail -20 "$log")"
		# {"ADDRESS":VALUE} (aws, google, spinops give the full address,
		# kubernetes its short name): keep VALUE, name the address ourselves.
		value=$(sed -E 's/^\{"[^"]*":(.*)\}$/\1/' <<<"$json")
		tf+=("\"registry.terraform.io/$ns/$p\":$value")
		tofu+=("\"registry.opentofu.org/$ns/$p\":$value")
	done
	reattach_tf="{$(IFS=,; echo "${tf[*]}")}"
	reattach_tofu="{$(IFS=,; echo "${tofu[*]}")}"
	log "providers started once for the checks: ${need[*]} (TF_REATTACH_PROVIDERS)"
}
if [[ ${SPINOPS_MODULES_REATTACH:-1} != 0 ]]; then
	start_providers
fi

# alias_stand_ins DIR BINARY [ARGS...]: run `BINARY validate ARGS` in DIR (a
# scratch copy). A module whose required_providers declare
# configuration_aliases does not validate on its own: its caller passes the
# aliased configurations in, and validate, run in the module itself, stops at
# "Provider configuration not present" (hashicorp/terraform#28490,
# opentofu/opentofu#2862). For such a directory only, an empty
# `provider "NAME" { alias = "ALIAS" }` per alias is written beside it for the
# validate and deleted right after, so tflint and the tests see the module
# as it is (the tests' mock_provider blocks give the aliases). The list is
# read from a one-line `configuration_aliases = [...]`.
alias_stand_ins() {
	local d=$1 bin=$2 stand_in=$1/zz_spinops_alias_stand_ins.tf rc=0 a aliases
	shift 2
	aliases=$(sed -n 's/.*configuration_aliases[[:space:]]*=[[:space:]]*\[\(.*\)\].*/\1/p' "$d"/*.tf | tr ',' '\n' | tr -d ' \t' | grep -E '^[a-z0-9_-]+\.[a-z0-9_-]+$' | sort -u || true)
	if [[ -n $aliases ]]; then
		for a in $aliases; do
			printf 'provider "%s" {\n  alias = "%s"\n}\n' "${a%%.*}" "${a#*.}"
		done >"$stand_in"
	fi
	(cd "$d" && "$bin" validate -no-color "$@") || rc=$?
	rm -f "$stand_in"
	return "$rc"
}

# record DIR SUFFIX LOG OK T0: count one directory's checks (and the
# terraform/tofu test summary in its log) and report it.
record() {
	local d=$1 suffix=$2 out=$3 ok=$4 t0=$5 note= summary p f why
	if summary=$(grep -Eo '(Success|Failure)! [0-9]+ passed, [0-9]+ failed' "$out" | tail -1) && [[ -n $summary ]]; then
		p=$(sed -E 's/.* ([0-9]+) passed.*/\1/' <<<"$summary")
		f=$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$summary")
		tests_passed=$((tests_passed + p)) tests_failed=$((tests_failed + f))
		note=", tests: $p passed, $f failed"
	elif why=$(grep -o 'tofu test not run: .*' "$out") && [[ -n $why ]]; then
		note=", ${why#tofu }"
	elif [[ -d $d/tests ]]; then
		note=", tests did not run"
	fi
	if [[ $ok == 1 ]]; then
		passed=$((passed + 1))
		log "ok   $d$suffix ($(($(date +%s) - t0))s$note)"
	else
		failed=$((failed + 1))
		failures+=("$d${suffix:+ (${suffix# under })}")
		log "FAIL $d$suffix ($(($(date +%s) - t0))s$note)"
		sed 's/^/    /' "$out" >&2
	fi
}

# tofu_checks: the OpenTofu lane's checks (see below).
tofu_checks() {
	log "OpenTofu: $("$tofu" version | head -1)"
	# Same files under tofu's registry host: hard links where possible
	# (same bytes, no extra GBs for aws), else copies; never symlinks.
	for src in "$mirror"/registry.terraform.io/*/*/*/*/*; do
		[[ -f $src ]] || continue
		rel=${src#"$mirror"/registry.terraform.io/}
		dst=$mirror/registry.opentofu.org/$rel
		[[ $dst -ef $src ]] && continue
		mkdir -p "$(dirname "$dst")"
		ln -f "$src" "$dst" 2>/dev/null || cp -f "$src" "$dst"
	done
	mkdir -p "$tofu_plugins" "$scratch/tofu"
	tofurc=$scratch/tofurc
	cat >"$tofurc" <<EOF
plugin_cache_dir = "$tofu_plugins"
plugin_cache_may_break_dependency_lock_file = true
provider_installation {
  filesystem_mirror {
    path    = "$mirror"
    include = ["registry.opentofu.org/hashicorp/*", "registry.opentofu.org/spinops/*"]
  }
}
EOF
	tar -C "$repo" --exclude=.terraform --exclude=.terraform.lock.hcl --exclude='*.tfstate*' \
		-cf - modules examples | tar -C "$scratch/tofu" -xf -
	# `tofu test` differs from `terraform test` where tests rely on it:
	# OpenTofu's mock providers give computed attributes made-up values
	# already at plan (random strings, empty lists) where Terraform leaves
	# them unknown, and `override_during` is Terraform-only. The tests give
	# such attributes mock defaults or overrides that hold under both. Where
	# that cannot work, the directory gets init + validate under tofu only
	# (listed in modules/README.md): OpenTofu seeds its made-up values by
	# resource type, so every instance of one type gets the same ones, and
	# its override targets cannot name one instance (aws_subnet.private[0]).
	declare -A tofu_no_test=(
		[examples/aws-complete]="every mocked subnet has the same ID under tofu (one made-up value per resource type, no override of one instance), which eks, mysql, redis and edge refuse: they need distinct subnets"
		[examples/landing-zone]="every mocked subnet has the same ID under tofu (one made-up value per resource type, no override of one instance), which modules/aws/eks refuses: it needs two distinct subnets"
	)
	for d in "${dirs[@]}"; do
		t0=$(date +%s)
		out=$scratch/tofu-$(echo "$d" | tr / _).log
		ok=1
		# Where the tests are not run, tofu must not read them either (it
		# parses them at init and validate, and refuses override_during).
		notests=()
		[[ -z ${tofu_no_test[$d]:-} ]] || notests=(-test-directory=.spinops-no-tests)
		{
			echo "== $d: tofu init"
			(cd "$scratch/tofu/$d" && TF_CLI_CONFIG_FILE=$tofurc "$tofu" init -backend=false -input=false -no-color "${notests[@]}") || ok=0
			if [[ $ok == 1 ]]; then
				echo "== $d: tofu validate"
				TF_CLI_CONFIG_FILE=$tofurc alias_stand_ins "$scratch/tofu/$d" "$tofu" "${notests[@]}" || ok=0
			fi
			if [[ $ok == 1 && -d $scratch/tofu/$d/tests && -n ${tofu_no_test[$d]:-} ]]; then
				echo "== $d: tofu test not run: ${tofu_no_test[$d]}"
			elif [[ $ok == 1 && -d $scratch/tofu/$d/tests ]]; then
				echo "== $d: tofu test"
				(cd "$scratch/tofu/$d" && TF_CLI_CONFIG_FILE=$tofurc "$tofu" test -no-color) || ok=0
			fi
		} >"$out" 2>&1 || ok=0
		record "$d" " under tofu" "$out" "$ok" "$t0"
	done
}

for d in "${dirs[@]}"; do
	[[ -d $d ]] || die "$d: no such directory"
done
passed=0 failed=0 tests_passed=0 tests_failed=0
failures=()
start=$(date +%s)

# The three lanes (terraform, OpenTofu, the moto applies) run at once: the
# applies wait on the provider's waiters most of their time and each lane
# runs one command at a time, so together they fill cores that one after
# the other left idle. The terraform lane prints as it goes; the other two
# write to $scratch/LANE.out, shown when they end. save_counts LANE writes a
# lane's counts and failures for the final summary (a lane runs in a
# subshell, so it cannot add to this shell's counters).
save_counts() {
	printf '%s %s %s %s\n' "$passed" "$failed" "$tests_passed" "$tests_failed" >"$scratch/$1.counts"
	printf '%s\n' "${failures[@]}" >"$scratch/$1.failures"
}
# add_counts LANE: add a finished lane's counts to this shell's.
add_counts() {
	local p f tp tf line
	if ! read -r p f tp tf <"$scratch/$1.counts"; then
		failed=$((failed + 1))
		failures+=("$1 (ended without its counts)")
		return
	fi
	passed=$((passed + p)) failed=$((failed + f))
	tests_passed=$((tests_passed + tp)) tests_failed=$((tests_failed + tf))
	while IFS= read -r line; do [[ -z $line ]] || failures+=("$line"); done <"$scratch/$1.failures"
}

# 5. Applied for real: the AWS modules against moto_server with the real
# hashicorp/aws provider from the mirror, checked with aws-sdk-go-v2
# (internal/modtest, build tag `modules`). Only on a full run. The tests are
# t.Parallel (one moto, terraform init serialised) and run together (each
# apply is mostly the provider's waiters). In the warm CI run of 85a182d
# they took 322 s; alone on the same 2-CPU machine 379 s and 410 CPU-s, most
# of it the aws provider validating the `endpoints` block, and with
# AWS_ENDPOINT_URL instead (internal/modtest, motoProvider) 231 s and 117
# CPU-s (2026-12-03). SPINOPS_MODTEST_PARALLEL=1 runs them one at a time.
moto_applies() {
	local t0 out ok=1
	unset TF_REATTACH_PROVIDERS
	passed=0 failed=0 tests_passed=0 tests_failed=0 failures=()
	t0=$(date +%s)
	out=$scratch/modtest.log
	TERRAFORM=$terraform SPINOPS_PROVIDER_MIRROR=$mirror TF_CLI_CONFIG_FILE= \
		go test -tags modules -count=1 -timeout 60m -parallel "${SPINOPS_MODTEST_PARALLEL:-8}" -v ./internal/modtest/ >"$out" 2>&1 || ok=0
	if [[ $ok == 1 ]]; then
		passed=1
		log "ok   internal/modtest: modules applied against moto ($(($(date +%s) - t0))s, $(grep -c '^--- PASS' "$out") tests)"
	else
		failed=1
		failures+=("internal/modtest (applied against moto)")
		log "FAIL internal/modtest: modules applied against moto ($(($(date +%s) - t0))s)"
		sed 's/^/    /' "$out" >&2
	fi
	save_counts modtest
}
if [[ $all_dirs == 1 ]]; then
	moto_applies >"$scratch/modtest.out" 2>&1 &
	lane_pid[modtest]=$!
fi
# SPINOPS_MODULES_CHECKS_NICE=N (make test gives 5): the terraform and
# OpenTofu checks, and the providers they reattach to, run at niceness N, the
# moto applies at the caller's (scripts/test.sh says why).
if [[ ${SPINOPS_MODULES_CHECKS_NICE:-0} != 0 ]]; then
	renice -n "$SPINOPS_MODULES_CHECKS_NICE" -p "$$" "${provider_pids[@]}" >/dev/null || true
fi

# 4. OpenTofu: the same checks (fmt and tflint are binary-independent and
# run in the terraform lane) against registry.opentofu.org copies of the
# same providers, in a scratch tree and plugin cache of its own.
tofu=${TOFU:-$(command -v tofu || echo "$repo/.testenv/bin/tofu")}
if [[ $tofu == 0 ]]; then
	log "OpenTofu: skipped (TOFU=0)"
elif [[ ! -x $tofu ]]; then
	[[ ${SPINOPS_TESTENV:-} == required ]] && die "OpenTofu not found (run scripts/testenv.sh or set TOFU) (SPINOPS_TESTENV=required)"
	log "OpenTofu not found (run scripts/testenv.sh): module checks under tofu skipped"
else
	(
		passed=0 failed=0 tests_passed=0 tests_failed=0 failures=()
		[[ -z $reattach_tofu ]] || export TF_REATTACH_PROVIDERS=$reattach_tofu
		tofu_checks
		save_counts tofu
	) >"$scratch/tofu.out" 2>&1 &
	lane_pid[tofu]=$!
fi

# 2-3. Terraform, in this shell: fmt, init, validate, tflint and terraform
# test per directory.
[[ -z $reattach_tf ]] || export TF_REATTACH_PROVIDERS=$reattach_tf
for d in "${dirs[@]}"; do
	t0=$(date +%s)
	out=$scratch/$(echo "$d" | tr / _).log
	ok=1
	{
		echo "== $d: fmt"
		"$terraform" fmt -check -recursive -diff "$d" || ok=0
		echo "== $d: init"
		(cd "$scratch/$d" && "$terraform" init -backend=false -input=false -no-color) || ok=0
		if [[ $ok == 1 ]]; then
			echo "== $d: validate"
			alias_stand_ins "$scratch/$d" "$terraform" || ok=0
		fi
		if [[ $ok == 1 && -n $tflint ]]; then
			echo "== $d: tflint"
			(cd "$scratch/$d" && "$tflint" --no-color) || ok=0
		fi
		if [[ $ok == 1 && -d $scratch/$d/tests ]]; then
			echo "== $d: test"
			(cd "$scratch/$d" && "$terraform" test -no-color) || ok=0
		fi
	} >"$out" 2>&1 || ok=0
	record "$d" "" "$out" "$ok" "$t0"
done

# The other lanes, in a fixed order.
for lane in tofu modtest; do
	[[ -n ${lane_pid[$lane]:-} ]] || continue
	wait "${lane_pid[$lane]}" || true
	unset "lane_pid[$lane]"
	cat "$scratch/$lane.out"
	add_counts "$lane"
done

log "modules: $passed passed, $failed failed; tests: $tests_passed passed, $tests_failed failed ($(($(date +%s) - start))s)"
if [[ $failed -gt 0 ]]; then
	log "failed: ${failures[*]}"
	exit 1
fi
