#!/usr/bin/env bash
# `make test`: every check and every test, ordered so that a cold machine
# finishes well inside CI's limit, with a per-phase timing summary at the end
# (also when something fails) so the next regression is visible.
#
# Lanes (see README "How long make test takes"):
#   providers  (background, from t=0)  hashicorp/aws + google built
#              from the module proxy with only the services our HCL names
#              (tools/providertrim), then tflint and our provider into the
#              mirror;
#   services   (foreground, after go-build)  scripts/testenv.sh:
#              kube-apiserver, kubectl, fake-gcs-server, MariaDB; their Go
#              modules share dependency versions with ours
#              (scripts/toolmods.sh), so they reuse what go-build compiled;
#   go-build   (foreground, first)  every test binary but bridge's and
#              agent's built once (go test -c, into .testenv/testbin), so
#              the Go lanes below, which share packages, do not compile them
#              each at the same time, and run them without linking them
#              again;
#   tofu       (background, from t=0)  OpenTofu built from the module
#              proxy, for the module tests and go-test-tofu (the basic
#              acceptance tests under tofu);
#   go         (foreground)  the tests of every package with TF_ACC=1, except
#              bridge and agent, which run only under -race (one build of each
#              package, not two) in a lane beside it (go-test-race), and
#              internal/provider, whose acceptance tests run in their own
#              lane beside it (go-test-provider-N; SPINOPS_PROVIDER_SHARDS
#              processes, default 2), with the OpenTofu
#              acceptance run (tofu-tests: waits for tofu, then go-test-tofu)
#              in another;
#   static     (background, nice 5)  gofmt, go vet, golangci-lint, docs check;
#   modules    (background, from the end of the providers lane)
#              scripts/test-modules.sh (its terraform, OpenTofu and
#              moto lanes at once), beside the go tests.
#
# The providers and OpenTofu are built at full priority from t=0: the module
# tests wait for them, so they are the
# longest chain of a cold run. The acceptance tests wait on API servers and
# terraform much of the time; the module tests take the cores they leave
# idle. Each phase's CPU seconds are in the summary: on 2 cores a cold
# run cannot be shorter than their sum (less the nested lanes) over 2. Nothing is
# skipped on a cold machine: the cache only makes a warm run shorter.
#
# Environment: GO (go), TERRAFORM, TEST_TIMEOUT (60m), SPINOPS_CACHE_DIR,
# GOTESTFLAGS (extra flags for the test binaries, e.g. -test.v or -test.run=X;
# the race lane gives them to go test, which takes them too),
# SPINOPS_TEST_PHASES (file for the summary).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
GO=${GO:-go}
TERRAFORM=${TERRAFORM:-$(command -v terraform || echo "$repo/.testenv/bin/terraform")}
TEST_TIMEOUT=${TEST_TIMEOUT:-60m}
logs=$repo/.testenv/test-logs
phases=${SPINOPS_TEST_PHASES:-$repo/.testenv/test-phases.tsv}
mkdir -p "$logs" "$(dirname "$phases")"
: >"$phases"
# Every server a test starts through internal/testenv (kube-apiserver with
# etcd, MariaDB, moto, fake-gcs-server, Redis) appends its CPU seconds here
# when it ends (testenv.EnvCPULog); the summary sums them per server.
export SPINOPS_TESTENV_CPU_LOG=$logs/servers-cpu.tsv
: >"$SPINOPS_TESTENV_CPU_LOG"
t0=$(date +%s)

# One build configuration for everything make test compiles: -trimpath and
# CGO_ENABLED=0 are how release binaries are built (internal/image's tests
# compile cmd/spinops that way for linux/amd64 and arm64), so with the test
# builds, the tool modules (scripts/testenv.sh, scripts/toolmods.sh) and the
# providers using the same, the Go build cache compiles a shared package
# once instead of once per configuration. Only the race lane differs (-race
# needs cgo).
export GOFLAGS="-trimpath${GOFLAGS:+ $GOFLAGS}" CGO_ENABLED=0

log() { printf 'test: %s\n' "$*"; }

# phase NAME CMD...: run CMD, record NAME, start offset, seconds, CPU
# seconds (user + system of everything it ran: on 2 cores, the CPU seconds of
# all phases over 2 is the floor of a cold run) and result.
phase() {
	local name=$1 start rc=0 cpu tf TIMEFORMAT='%U %S'
	shift
	start=$(date +%s)
	log "$name: started (+$((start - t0))s)"
	tf=$(mktemp)
	# time in a subshell: in this shell it would also count the background
	# lanes this shell reaps meanwhile (their CPU is its children's too).
	(time "$@" 2>&4) 4>&2 2>"$tf" || rc=$?
	cpu=$(awk 'END {printf "%d", $1 + $2}' "$tf")
	rm -f "$tf"
	printf '%s\t%d\t%d\t%s\t%s\n' "$name" $((start - t0)) $(($(date +%s) - start)) \
		"$([[ $rc == 0 ]] && echo ok || echo "FAILED ($rc)")" "$cpu" >>"$phases"
	log "$name: $([[ $rc == 0 ]] && echo ok || echo "FAILED ($rc)") in $(($(date +%s) - start))s"
	return $rc
}

# bg NAME NICE CMD...: phase in the background, output to $logs/NAME.log.
declare -A bg_pid=()
bg() {
	local name=$1 niceness=$2
	shift 2
	(
		[[ $niceness == 0 ]] || renice -n "$niceness" -p "$BASHPID" >/dev/null || true
		phase "$name" "$@"
	) >"$logs/$name.log" 2>&1 &
	bg_pid[$name]=$!
	log "$name: running in the background (log: ${logs#"$repo"/}/$name.log)"
}
# wait_bg NAME: wait for a background phase; show its log when it failed.
wait_bg() {
	local rc=0
	wait "${bg_pid[$1]}" || rc=$?
	unset "bg_pid[$1]"
	if [[ $rc != 0 ]]; then
		log "$1 failed; its log:"
		sed 's/^/    /' "$logs/$1.log" >&2
	fi
	return $rc
}

# total_cpu FILE: CPU seconds of this script and everything it ran (the
# phases nest: the providers lane contains provider-aws, so the column does
# not add up), from `times` written to FILE by this shell: in a pipe or a
# $(...) it would run in a subshell and count that subshell's children (0).
total_cpu() {
	awk 'NR == 2 {
		split($1, u, "m"); split($2, s, "m")
		printf "%d", u[1] * 60 + u[2] + s[1] * 60 + s[2]
	}' "$1"
}

summary() {
	local rc=$?
	for p in "${bg_pid[@]}"; do kill -- "$p" 2>/dev/null || true; done
	echo
	echo "test: where the time went (wall clock; background lanes overlap the others)"
	printf '  %-28s %8s %8s %8s  %s\n' phase start seconds cpu-s result
	sort -t$'\t' -k2,2n "$phases" | while IFS=$'\t' read -r n s d r c; do
		printf '  %-28s %7ss %7ss %7ss  %s\n' "$n" "+$s" "$d" "$c" "$r"
	done
	[[ -z ${testbin:-} ]] || rm -rf "$testbin"
	local tf
	tf=$(mktemp)
	times >"$tf"
	printf '  %-28s %8s %7ss %7ss  %s\n' total "" $(($(date +%s) - t0)) "$(total_cpu "$tf")" "$([[ $rc == 0 ]] && echo ok || echo FAILED)"
	rm -f "$tf"
	# The servers the tests started, counted inside the phases above.
	[[ ! -s $SPINOPS_TESTENV_CPU_LOG ]] || awk -F'\t' '
		{ n[$1]++; cpu[$1] += $2; wall[$1] += $3; all += $2 }
		END {
			printf "  of which the servers the tests started (%d CPU-s):\n", all
			for (s in n) printf "    %-26s %4d started %7ds running %7d CPU-s\n", s, n[s], wall[s], cpu[s]
		}' "$SPINOPS_TESTENV_CPU_LOG"
	[[ $rc != 0 ]] || return 0
	# What failed, last: a CI log cut to its end still shows it (the
	# module lane's whole moto log once pushed the failing test out of it).
	local n r logsf=()
	while IFS=$'\t' read -r n _ _ r _; do
		[[ $r == ok || ! -f $logs/$n.log ]] || logsf+=("$logs/$n.log")
	done <"$phases"
	[[ ${#logsf[@]} -gt 0 ]] || return 0
	echo
	echo "test: what failed (the last lines each failed test printed; the whole output is above and in ${logs#"$repo"/})"
	awk -v max=20 -f "$repo/scripts/failures.awk" "${logsf[@]}"
}
trap summary EXIT

# --- t=0: the long build starts first, in the background -----------------
# (phase runs its command inside `||`, where set -e does not apply: each
# step stops the lane itself.)
# The modules lane (started after services) waits for this one through
# $logs/providers.rc.
rm -f "$logs/providers.rc"
providers() {
	local rc=0
	{
		phase provider-aws "$repo/scripts/providers.sh" aws &&
			phase provider-google "$repo/scripts/providers.sh" google &&
			phase modules-prepare "$repo/scripts/test-modules.sh" --prepare
	} || rc=$?
	echo "$rc" >"$logs/providers.rc"
	return "$rc"
}
bg providers 0 providers
# OpenTofu beside it: the module tests run every directory under OpenTofu
# too, so it is on the same path as the providers.
bg tofu 0 "$repo/scripts/testenv.sh" --only tofu

# Our packages' test binaries, built once (`go test -c`) before the lanes
# that run them start: the go lane, the provider shards, go-test-tofu, go vet
# and the module lane's provider build would otherwise each compile the same
# packages at the same time on a cold cache (concurrent go commands do not
# wait for each other's work), and `go test` links a package's test binary
# again on every run (about 1 CPU-second per package, 5 for
# internal/provider's), where these lanes run the binaries built here (see
# test_pkg). Then, not beside it, the services: the tool modules build with
# the same versions of client-go, grpc, the Google API client...
# (scripts/toolmods.sh), so what this build compiled they reuse instead of
# compiling it again at the same time. bridge and agent run only under
# -race, in their own lane, which compiles them there.
mod=$($GO list -m)
race_pkgs=("$mod/internal/bridge/..." "$mod/internal/agent/...")
mapfile -t plain_pkgs < <($GO list ./... | grep -v -e "^$mod/internal/bridge\(/\|$\)" -e "^$mod/internal/agent\(/\|$\)")
# `go test -c -o DIR/` names a binary after the last element of its import
# path (bench/backup and internal/backup would both be backup.test), so the
# packages are built in rounds, the k-th package of each name into
# $testbin/k/. Packages without test files have no binary (go test's "?").
testbin=$repo/.testenv/testbin
rm -rf "$testbin"
declare -A pkg_dir=() pkg_bin=() name_count=()
build_rounds=()
while read -r ip dir tests; do
	[[ $tests == 00 ]] && continue
	base=${ip##*/}
	k=${name_count[$base]:-0}
	name_count[$base]=$((k + 1))
	pkg_dir[$ip]=$dir
	pkg_bin[$ip]=$testbin/$k/$base.test
	build_rounds[k]+="$ip "
done < <($GO list -f '{{.ImportPath}} {{.Dir}} {{len .TestGoFiles}}{{len .XTestGoFiles}}' "${plain_pkgs[@]}")
# The linked binaries are kept between runs in $linked, outside the clone:
# `go test -c` and `go build` leave an output file alone when the build ID in
# it is the one they would link now (same sources, dependencies, flags and
# Go), so binaries copied from there are linked again only where something
# changed: go-build's 44 CPU-s and 29 s, on the path of every lane but the
# t=0 builds, become about 9 s in a fresh clone of a commit whose Go code
# the last run had built; a change to a package most tests import
# (internal/backup, internal/provider) still links those again
# (2026-12-07). Nothing depends on it: a missing or stale binary is linked
# again (go compares the build ID it would write), and a copy that fails
# (a full disk) leaves none, as go would take a truncated file whose build
# ID survived for whole. The copies back are hard links to the binaries go
# wrote whole, renamed into place, so a run copying from $linked at the
# same time reads whole binaries, old or new.
linked=${SPINOPS_CACHE_DIR:-$HOME/.cache/spinops}/testbin
restore_linked() {
	[[ -d $linked ]] || return 0
	if ! cp -a --reflink=auto "$linked/." "$testbin/" 2>/dev/null; then
		rm -rf "$testbin" && mkdir -p "$testbin"
		return 0
	fi
	# The stand-ins' binary is built as .partial and renamed (below).
	[[ ! -f $testbin/spinops ]] || mv -f "$testbin/spinops" "$testbin/spinops.partial"
}
save_linked() {
	local f rel
	mkdir -p "$linked" || return 0
	while IFS= read -r f; do
		rel=${f#"$testbin"/}
		[[ $f -ef $linked/$rel ]] && continue
		mkdir -p "$(dirname "$linked/$rel")" &&
			ln -f "$f" "$linked/$rel.$$" && mv -f "$linked/$rel.$$" "$linked/$rel" || true
	done < <(find "$testbin" -type f \( -name '*.test' -o -name spinops \))
}
go_build() {
	local k ip
	mkdir -p "$testbin"
	restore_linked
	for k in "${!build_rounds[@]}"; do
		mkdir -p "$testbin/$k"
		# -s -w as go test links the binaries it runs (a third of the size).
		# shellcheck disable=SC2086
		$GO test -c -ldflags='-s -w' -o "$testbin/$k/" ${build_rounds[k]} >/dev/null || return
	done
	for ip in "${!pkg_bin[@]}"; do
		[[ -x ${pkg_bin[$ip]} ]] || { log "go test -c wrote no ${pkg_bin[$ip]#"$repo"/} for $ip"; return 1; }
	done
	# The spinops binary the pod stand-ins run (podstandin.SpinopsBinary),
	# linked once here instead of once in each of the four test processes
	# that run one (the provider's tests under Terraform and OpenTofu,
	# internal/modtest, podstandin's own).
	# (-buildvcs=false: the stamp of the commit, and of a tree CI's log
	# file makes "modified", would make every run link it again.)
	$GO build -buildvcs=false -o "$testbin/spinops.partial" ./cmd/spinops && mv "$testbin/spinops.partial" "$testbin/spinops" || return
	save_linked
}
export SPINOPS_TEST_SPINOPS_BINARY=$testbin/spinops
# test_pkg [-stream] PKG [ARGS...]: run PKG's test binary as go test would:
# in the package's directory, with -test.paniconexit0, the timeout and
# -test.count=1, then go test's summary line with the CPU seconds added
# ("ok  PKG 12.345s 3.2 CPU-s" or "FAIL PKG ..."). Its output is shown
# when it fails (or with -test.v in GOTESTFLAGS), once it ended; with
# -stream, as it is written.
test_pkg() {
	local stream=false pkg out rc=0 t tf cpu TIMEFORMAT='%U %S'
	[[ $1 == -stream ]] && { stream=true; shift; }
	pkg=$1
	shift
	out=$(mktemp)
	tf=$(mktemp)
	t=$(date +%s%N)
	# time: the CPU seconds of the test binary and everything it started
	# (API servers, terraform, MariaDB...), added to the summary line, so
	# that the package which grew is visible in the next run's log. (No
	# exec in the subshell, and the output redirected inside it: bash
	# prints no time for a subshell that execs, and the time of a
	# redirected command goes where the command's stderr does.)
	if $stream; then
		# shellcheck disable=SC2086
		{ time (cd "${pkg_dir[$pkg]}" && "${pkg_bin[$pkg]}" -test.paniconexit0 -test.count=1 -test.timeout="$TEST_TIMEOUT" "$@" ${GOTESTFLAGS:-} 2>&4); } 4>&2 2>"$tf" || rc=$?
	else
		# shellcheck disable=SC2086
		{ time (cd "${pkg_dir[$pkg]}" && "${pkg_bin[$pkg]}" -test.paniconexit0 -test.count=1 -test.timeout="$TEST_TIMEOUT" "$@" ${GOTESTFLAGS:-} >"$out" 2>&1); } 2>"$tf" || rc=$?
	fi
	t=$((($(date +%s%N) - t) / 1000000))
	cpu=$(awk 'END {printf "%.1f", $1 + $2}' "$tf")
	{
		flock 9
		if [[ $rc != 0 || ${GOTESTFLAGS:-} == *-test.v* ]]; then cat "$out"; fi
		printf '%s\t%s\t%d.%03ds\t%s CPU-s\n' "$([[ $rc == 0 ]] && echo 'ok  ' || echo FAIL)" "$pkg" $((t / 1000)) $((t % 1000)) "$cpu"
	} 9>>"$logs/.output.lock"
	rm -f "$out" "$tf"
	return $rc
}
# Packages whose parallel tests each wait on a cluster of their own, run
# more at once than go test's default -parallel (GOMAXPROCS: 2 here):
# internal/spinnaker's twelve took 188 s one at a time, 104 s two at a
# time and 73 s four at a time on an idle machine, with the same 71-76
# CPU-s (2026-12-07).
declare -A pkg_args=([$mod/internal/spinnaker]=-test.parallel=4)
# test_pkgs PKG...: test_pkg of each package, two at a time (go test's -p
# on 2 cores), in the order given.
test_pkgs() {
	local pkg running=0 rc=0
	for pkg in "$@"; do
		[[ -n ${pkg_bin[$pkg]:-} ]] || { printf '?   \t%s\t[no test files]\n' "$pkg"; continue; }
		if ((running == 2)); then
			wait -n || rc=1
			running=$((running - 1))
		fi
		# shellcheck disable=SC2086
		test_pkg "$pkg" ${pkg_args[$pkg]:-} &
		running=$((running + 1))
	done
	while ((running > 0)); do
		wait -n || rc=1
		running=$((running - 1))
	done
	return $rc
}
failed=()
phase go-build go_build || failed+=(go-build)

# --- services ------------------------------------------------------------
phase services env SPINOPS_TESTENV_SKIP_TOFU=1 "$repo/scripts/testenv.sh"
mkdir -p "$repo/.testenv"
export TF_CLI_CONFIG_FILE=${TF_CLI_CONFIG_FILE:-$repo/.testenv/terraformrc}
[[ -e $TF_CLI_CONFIG_FILE ]] || : >"$TF_CLI_CONFIG_FILE"
export PATH=$PATH:$repo/.testenv/bin

# From here on, what runs is mostly the tests' own processes: terraform and
# OpenTofu (a short process per command, with the providers it starts),
# kube-apiserver, the test binaries. Short-lived and allocation-heavy, at
# Go's default GOGC=100 a quarter of their CPU was garbage collection
# (`terraform test` of examples/aws-complete: 64 CPU-s at 100, 48 at 400,
# at twice the peak memory: 430 MB). The builds before this point (the
# providers, OpenTofu, the services, the test build), whose compiles peak at
# gigabytes, keep the default. A GOGC already set is kept.
export GOGC=${GOGC:-400}

# --- static checks, beside the tests --------------------------------------
static() {
	make -s --no-print-directory check-fmt check-toolmods vet golangci check-generate check-docs-modules
}
bg static 5 static

# --- modules: as soon as the providers are built, beside the go tests -----
# (terraform test and the moto applies are CPU work; the acceptance tests
# mostly wait on API servers and terraform, so the two overlap well.) The
# terraform and OpenTofu checks at nice 5 (SPINOPS_MODULES_CHECKS_NICE): the
# acceptance tests are a chain of short terraform commands (about 330 s
# alone, 690 beside the whole module lane at the same priority), while the
# checks are throughput that fills whatever the others leave. The moto
# applies at nice 0: they were the longest chain of a warm run (339 s and
# 174 CPU-s alone, most of it the aws provider's waiters: Aurora's 30 s
# delays, an SQS queue's 15 checks that it is gone), and at nice 5 their
# CPU-bound steps waited behind everything else: 575 s in the fresh-clone
# run of 3d26b9b, 475 s at nice 0 in that of e2ecd32 (2026-12-07).
modules() {
	local rc
	until [[ -s $logs/providers.rc ]]; do sleep 5; done
	rc=$(cat "$logs/providers.rc")
	if [[ $rc != 0 ]]; then
		log "providers failed ($rc): the module tests cannot run"
		return 1
	fi
	"$repo/scripts/testenv.sh" --only tofu >/dev/null || return
	SPINOPS_MODULES_CHECKS_NICE=5 phase modules "$repo/scripts/test-modules.sh"
}
bg module-tests 0 modules

# --- go tests: three lanes at once -----------------------------------------
# The acceptance tests wait on API servers and terraform most of the time, so
# the race run (bridge and agent only: one build of each package, not two)
# and the OpenTofu run go beside the main run instead of after it.
# shellcheck disable=SC2086
bg go-test-race 0 env CGO_ENABLED=1 $GO test -race -count=1 -timeout 20m ${GOTESTFLAGS:-} "${race_pkgs[@]}"

# The basic acceptance test of every resource, data source and ephemeral
# resource again under OpenTofu (its default registry host is
# registry.opentofu.org, so the reattached provider is announced there),
# with the red/green promotion scenario and the monitor's PrometheusRule
# (import of its labels) beside them: 117 CPU-s more (go-test-tofu 195 →
# 312 CPU-s, fresh-clone runs of c0ddac3 and e56554e), in a lane that ends
# long before the acceptance lane; and the plans whose provider connection
# is known only after apply (OpenTofu refuses what Terraform accepts there:
# an ephemeral resource's unknown result), about 55 s of wall time alone.
# testenv.sh --only tofu waits on the t=0 build's lock, then links the binary.
tofu_tests='^(TestAccManagedSpinnaker_importAndDrift|TestAccZone_noWaitWithPromotionOverride|TestAccZone_redGreenPromotion|TestAccMonitor_prometheusRule|TestAccAgentAccount_agentMode|TestAccAgentAccount_infrastructureMode|TestAccBridge_deployedBridgeServesAgents|TestAccMonitor_deployedMonitorMeasuresAZone|TestAccIAMSourceRole_basic|TestAccIAMManagedRolePolicyDataSource_ec2Deploy|TestAccBackupPolicy_basic|TestAccKubernetesClusterDataSource_kubeconfig|TestAccProvider_connectionKnownOnlyAfterApply|TestAccBridge_oneApply)$'
go_test_tofu() {
	nice -n 10 "$repo/scripts/testenv.sh" --only tofu >/dev/null || return
	TF_ACC=1 TF_ACC_TERRAFORM_PATH="$repo/.testenv/bin/tofu" TF_ACC_PROVIDER_HOST=registry.opentofu.org \
		phase go-test-tofu test_pkg -stream "$mod/internal/provider" -test.run="$tofu_tests"
}
bg tofu-tests 0 go_test_tofu

# internal/provider's acceptance tests are the longest package, and they
# wait on API servers and terraform: they run in their own lane beside go
# test, in $shards processes at once (each test binary starts its own shared
# services, so the shards share no cluster, database or moto), dealt
# round-robin from the sorted test names so the slow families
# (TestAccAgentAccount_*, ...) spread over the shards. Default 2. Whether a
# second process pays depends on whether the cores are the bottleneck: on
# session 42's machine (a warm run 1,000 CPU-s, the cores about 80 % busy)
# the acceptance tests are a wait-bound chain of terraform commands and 2
# shards made the warm run 564 s against 634-640 with 1 (the lane 457 s
# against 598-607, no more CPU: 229 CPU-s against 221-240; 2026-12-07);
# on slower machines of the kind, where a warm run kept both cores busy
# from end to end (2,400-3,000 CPU-s), 2 shards were 8 % slower once and
# 2.5 % faster once, each shard's own API server, MariaDB and moto adding
# 20-27 % to the lane's CPU (README, 2026-12-05). (With 3, a cold run once
# failed TestAccZone_promotionDemandsSandboxHealth; the cause was the
# promotion gate's reading of the monitor's ring across a minute boundary,
# fixed in session 31, not the load.)
provider_pkg=$mod/internal/provider
shards=${SPINOPS_PROVIDER_SHARDS:-2}
mapfile -t provider_tests < <(sed -n 's/^func \(Test[A-Za-z0-9_]*\)(t \*testing\.T).*/\1/p' internal/provider/*_test.go | sort)
mapfile -t plain_pkgs < <(printf '%s\n' "${plain_pkgs[@]}" | grep -vx "$provider_pkg")
go_test_provider() {
	local i=$1 names=() j
	for ((j = i; j < ${#provider_tests[@]}; j += shards)); do names+=("${provider_tests[j]}"); done
	TF_ACC=1 TF_ACC_TERRAFORM_PATH="$TERRAFORM" \
		test_pkg -stream "$provider_pkg" -test.run="^($(IFS='|'; echo "${names[*]}"))\$"
}
for ((i = 0; i < shards; i++)); do
	bg "go-test-provider-$((i + 1))" 0 go_test_provider "$i"
done

# The packages whose tests take longest start first, so that the lane does
# not end with one of them running alone; the others follow in go list's
# order (a package not named here just starts later, nothing is skipped).
# (Longest in the fresh-clone run of 605c9c1, each with the CPU-s it used:
# internal/backup 314 s / 53, internal/spinnaker 328 s / 70 before its
# tests ran at once, cmd/spinops 132 s / 21, internal/migrate 129 s / 30.)
slow_first=(internal/backup internal/spinnaker cmd/spinops internal/migrate internal/image internal/spinnaker/operatortest tools/providertrim internal/testenv)
mapfile -t go_pkgs < <(
	for p in "${slow_first[@]}"; do printf '%s\n' "${plain_pkgs[@]}" | grep -x "$mod/$p" || true; done
	printf '%s\n' "${plain_pkgs[@]}" | grep -vxF -f <(printf "$mod/%s\n" "${slow_first[@]}")
)
# Its output is also kept in $logs/go-test.log for the summary's excerpt.
TF_ACC=1 TF_ACC_TERRAFORM_PATH="$TERRAFORM" phase go-test test_pkgs "${go_pkgs[@]}" 2>&1 | tee "$logs/go-test.log" || failed+=(go-test)

# Every lane is waited for and reported, so one run shows every failure.
for lane in go-test-race tofu tofu-tests static providers module-tests; do
	wait_bg "$lane" || failed+=("$lane")
done
for ((i = 1; i <= shards; i++)); do
	lane=go-test-provider-$i
	wait_bg "$lane" || failed+=("$lane")
done
if [[ ${#failed[@]} -gt 0 ]]; then
	log "FAILED: ${failed[*]}"
	exit 1
fi
