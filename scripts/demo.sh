#!/usr/bin/env bash
# make demo / make demo-down: a real local Kubernetes control plane, the
# provider built into a local filesystem mirror, and `terraform apply` of
# examples/local. Nothing is fetched from a registry.
#
#   scripts/demo.sh up     start (or reuse) the environment and apply
#   scripts/demo.sh down   stop everything `up` started and remove .demo/
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
DEMO="$ROOT/.demo"
VERSION=${VERSION:-0.1.0}
TERRAFORM=${TERRAFORM:-$(command -v terraform || echo "$ROOT/.testenv/bin/terraform")}
BIN_DIR=$("$ROOT/scripts/testenv.sh" --print-bin-dir)

log() { printf '\033[1m==> %s\033[0m\n' "$*"; }

json_field() { sed -n "s/^ *\"$1\": \"\{0,1\}\([^\",]*\)\"\{0,1\},\{0,1\}$/\1/p" "$2" | head -1; }

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

start_cluster() {
	local dir="$DEMO/cluster"
	if alive "$DEMO/cluster.pid" && [ -f "$dir/cluster.json" ]; then
		log "Kubernetes already running ($(json_field host "$dir/cluster.json"))"
		return
	fi
	rm -rf "$dir" && mkdir -p "$dir"
	log "starting kube-apiserver + etcd + kube-controller-manager (v1.33.13)"
	# Started directly (not through a subshell) so the recorded PID is the server's.
	nohup "$BIN_DIR/k8s-testenv" cluster --dir "$dir" --controller-manager >"$DEMO/cluster.log" 2>&1 &
	echo $! >"$DEMO/cluster.pid"
	for _ in $(seq 1 120); do
		[ -f "$dir/cluster.json" ] && break
		alive "$DEMO/cluster.pid" || { tail -20 "$DEMO/cluster.log"; echo "kube-apiserver failed to start (log: $DEMO/cluster.log)" >&2; exit 1; }
		sleep 0.5
	done
	[ -f "$dir/cluster.json" ] || { echo "kube-apiserver not ready after 60s (log: $DEMO/cluster.log)" >&2; exit 1; }
	log "Kubernetes ready at $(json_field host "$dir/cluster.json")"
}

build_provider() {
	local plat dst
	plat="$(go env GOOS)_$(go env GOARCH)"
	dst="$DEMO/mirror/registry.terraform.io/spinops/spinops/$VERSION/$plat"
	log "building terraform-provider-spinops $VERSION into the local mirror"
	mkdir -p "$dst"
	(cd "$ROOT" && go build -trimpath -ldflags "-s -w -X main.version=$VERSION" -o "$dst/terraform-provider-spinops_v$VERSION" .)
	cat >"$DEMO/terraformrc" <<EOF
provider_installation {
  filesystem_mirror {
    path    = "$DEMO/mirror"
    include = ["registry.terraform.io/spinops/*", "registry.terraform.io/hashicorp/*"]
  }
}
EOF
}

up() {
	mkdir -p "$DEMO"
	start_cluster
	build_provider
	export TF_CLI_CONFIG_FILE="$DEMO/terraformrc"
	export TF_DATA_DIR="$DEMO/tfdata"
	export TF_IN_AUTOMATION=1
	export SPINOPS_KUBE_CONFIG_PATH="$DEMO/cluster/kubeconfig"
	rm -f "$DEMO/tfdata/plugins" 2>/dev/null || true
	log "terraform init (examples/local, providers from $DEMO/mirror)"
	"$TERRAFORM" -chdir="$ROOT/examples/local" init -input=false -upgrade -backend-config="path=$DEMO/terraform.tfstate" >"$DEMO/init.log" ||
		{ cat "$DEMO/init.log"; exit 1; }
	log "terraform apply -auto-approve (examples/local)"
	"$TERRAFORM" -chdir="$ROOT/examples/local" apply -input=false -auto-approve
	cat <<EOF

The local environment keeps running:
  kubeconfig  $DEMO/cluster/kubeconfig   (kubectl --kubeconfig ... get ns)
  state       $DEMO/terraform.tfstate
Stop everything with:  make demo-down
EOF
}

down() {
	if alive "$DEMO/cluster.pid"; then
		log "stopping Kubernetes (pid $(cat "$DEMO/cluster.pid"))"
		kill "$(cat "$DEMO/cluster.pid")"
		for _ in $(seq 1 50); do alive "$DEMO/cluster.pid" || break; sleep 0.2; done
		alive "$DEMO/cluster.pid" && kill -9 "$(cat "$DEMO/cluster.pid")" || true
	fi
	rm -rf "$DEMO"
	log "demo environment removed"
}

case "${1:-up}" in
up) up ;;
down) down ;;
*) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
