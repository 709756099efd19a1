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
	log "starting kube-apiserver + etcd + kube-controller-manager ($("$BIN_DIR/k8s-testenv" version))"
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

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# moto stands in for AWS IAM/STS/S3 (it ships with the machine image).
start_moto() {
	if alive "$DEMO/moto.pid" && [ -f "$DEMO/moto.port" ]; then
		log "moto already running (http://127.0.0.1:$(cat "$DEMO/moto.port"))"
		return
	fi
	command -v moto_server >/dev/null || { echo "moto_server is not on PATH (it ships with the machine image)" >&2; exit 1; }
	local port
	port=$(free_port)
	log "starting moto (AWS IAM/STS/S3 stand-in) on 127.0.0.1:$port"
	MOTO_IAM_LOAD_MANAGED_POLICIES=true nohup moto_server -H 127.0.0.1 -p "$port" >"$DEMO/moto.log" 2>&1 &
	echo $! >"$DEMO/moto.pid"
	echo "$port" >"$DEMO/moto.port"
	for _ in $(seq 1 100); do
		curl -fsS -o /dev/null "http://127.0.0.1:$port/moto-api/" 2>/dev/null && return
		alive "$DEMO/moto.pid" || break
		sleep 0.2
	done
	tail -20 "$DEMO/moto.log"
	echo "moto did not start (log: $DEMO/moto.log)" >&2
	exit 1
}

# MariaDB (binlog ROW) holds the demo's "Spinnaker" database that gets backed up.
DB_PASSWORD=spinops-demo
mysql_demo() { mariadb --no-defaults -uroot -p"$DB_PASSWORD" -h127.0.0.1 -P"$(cat "$DEMO/mariadb.port")" "$@"; }

start_mariadb() {
	if alive "$DEMO/mariadb.pid" && [ -f "$DEMO/mariadb.port" ]; then
		log "MariaDB already running (127.0.0.1:$(cat "$DEMO/mariadb.port"))"
		return
	fi
	local dir="$DEMO/mariadb" port user=()
	[ "$(id -u)" = 0 ] && user=(--user=root)
	rm -rf "$dir" && mkdir -p "$dir"
	port=$(free_port)
	log "starting MariaDB (binlog ROW) on 127.0.0.1:$port"
	mariadb-install-db --no-defaults "${user[@]}" --datadir="$dir/data" --tmpdir="$dir" --auth-root-authentication-method=normal \
		--skip-test-db >"$DEMO/mariadb-install.log" 2>&1 || { tail -20 "$DEMO/mariadb-install.log"; exit 1; }
	nohup "$(command -v mariadbd || echo /usr/sbin/mariadbd)" --no-defaults "${user[@]}" --datadir="$dir/data" \
		--socket="$dir/mysqld.sock" --pid-file="$dir/mariadbd.pid" --tmpdir="$dir" --port="$port" --bind-address=127.0.0.1 \
		--skip-name-resolve --log-bin=mysql-bin --binlog-format=ROW --server-id=1 \
		--character-set-server=utf8mb4 --collation-server=utf8mb4_general_ci >"$DEMO/mariadb.log" 2>&1 &
	echo $! >"$DEMO/mariadb.pid"
	echo "$port" >"$DEMO/mariadb.port"
	for _ in $(seq 1 100); do
		mariadb --no-defaults -uroot --socket="$dir/mysqld.sock" -e 'SELECT 1' >/dev/null 2>&1 && break
		alive "$DEMO/mariadb.pid" || { tail -20 "$DEMO/mariadb.log"; exit 1; }
		sleep 0.2
	done
	mariadb --no-defaults -uroot --socket="$dir/mysqld.sock" <<SQL
ALTER USER IF EXISTS 'root'@'localhost' IDENTIFIED BY '$DB_PASSWORD';
ALTER USER IF EXISTS 'root'@'127.0.0.1' IDENTIFIED BY '$DB_PASSWORD';
CREATE DATABASE spinops_demo;
CREATE TABLE spinops_demo.applications (name VARCHAR(64) PRIMARY KEY, email VARCHAR(128));
INSERT INTO spinops_demo.applications VALUES ('checkout', 'payments@example.com'), ('search', 'search@example.com'), ('web', 'web@example.com');
SQL
	# The backup destination: a bucket in moto (path-style; moto accepts
	# unsigned requests).
	curl -fsS -X PUT -o /dev/null "http://127.0.0.1:$(cat "$DEMO/moto.port")/spinops-demo-backups"
}

# One backup and one restore with the spinops runtime binary, configured from
# the same settings the spinops_backup_policy's ConfigMap holds.
backup_round_trip() {
	local cfg="$DEMO/backup.json" id
	"$TERRAFORM" -chdir="$ROOT/examples/local" output -raw backup_config >"$cfg"
	export SPINOPS_BACKUP_MYSQL_PASSWORD=$DB_PASSWORD
	# Manifests are signed with a key kept outside the bucket; restore checks it.
	[ -f "$DEMO/backup-signing-key" ] || head -c 32 /dev/urandom | base64 | tr -d '/+=' >"$DEMO/backup-signing-key"
	SPINOPS_BACKUP_SIGNING_KEY=$(cat "$DEMO/backup-signing-key")
	export SPINOPS_BACKUP_SIGNING_KEY
	log "spinops backup run (MariaDB spinops_demo -> s3://spinops-demo-backups/spinnaker in moto)"
	"$DEMO/spinops" backup run --config "$cfg"
	log "deleting a row, then: spinops backup list / restore --overwrite"
	mysql_demo -e "DELETE FROM spinops_demo.applications WHERE name = 'search'"
	echo "rows before restore: $(mysql_demo -N -e 'SELECT COUNT(*) FROM spinops_demo.applications')"
	"$DEMO/spinops" backup list --config "$cfg"
	id=$("$DEMO/spinops" backup list --config "$cfg" --json | sed -n 's/.*"id": *"\([^"]*\)".*/\1/p' | head -1)
	"$DEMO/spinops" backup restore --config "$cfg" --backup "$id" --overwrite --confirm-overwrite-source
	echo "rows after restore:  $(mysql_demo -N -e 'SELECT COUNT(*) FROM spinops_demo.applications')"
}

# The spinops runtime binary: bridge, agent and backup engine. Both of the
# demo's builds use the release configuration (-trimpath, CGO_ENABLED=0:
# the image's, and make test's): the packages they share with k8s-testenv
# and kubectl (client-go, apimachinery, grpc, ...; built the same way just
# before) then come from the build cache instead of being compiled again
# for cgo (this machine has gcc, so Go's default is CGO_ENABLED=1).
release_build() { (cd "$ROOT" && CGO_ENABLED=0 go build -trimpath "$@"); }
build_spinops() {
	log "building the spinops binary (bridge, agent, backup)"
	release_build -o "$DEMO/spinops" ./cmd/spinops
}

# A pod's in-cluster identity, for a process the demo runs in its place: a
# kubeconfig at DIR/kubeconfig with a token of ServiceAccount NS/NAME (so
# the process runs with exactly the RBAC that was installed).
service_account_kubeconfig() {
	local ns=$1 name=$2 dir=$3 kubectl="$BIN_DIR/kubectl --kubeconfig $DEMO/cluster/kubeconfig" token server
	token=$($kubectl -n "$ns" create token "$name" --duration 24h)
	$kubectl config view --raw --minify -o 'jsonpath={.clusters[0].cluster.certificate-authority-data}' | base64 -d >"$dir/cluster-ca.crt"
	server=$($kubectl config view --minify -o 'jsonpath={.clusters[0].cluster.server}')
	cat >"$dir/kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters: [{name: local, cluster: {server: "$server", certificate-authority: "$dir/cluster-ca.crt"}}]
users: [{name: $name, user: {token: "$token"}}]
contexts: [{name: local, context: {cluster: local, user: $name}}]
current-context: local
KC
}

# The bridge's admin token and the loopback port its pod serves gRPC on
# (spinops_bridge.local's external_address), kept across runs.
bridge_settings() {
	local dir="$DEMO/bridge"
	mkdir -p "$dir"
	[ -f "$dir/admin-token" ] || head -c 24 /dev/urandom | base64 | tr -d '/+=' >"$dir/admin-token"
	for p in grpc endpoint ops; do
		[ -f "$dir/$p.port" ] || free_port >"$dir/$p.port"
	done
	export TF_VAR_bridge_admin_token TF_VAR_bridge_port
	TF_VAR_bridge_admin_token=$(cat "$dir/admin-token")
	TF_VAR_bridge_port=$(cat "$dir/grpc.port")
}

# Stands in for the one pod of a Deployment a spinops resource installs
# (spinops_bridge's, spinops_monitor's): no kubelet runs here, so the
# Deployment cannot start one. Once the Deployment and the objects it
# mounts exist, this "mounts" every Secret and ConfigMap volume of the pod
# template into $DEMO/KEY/vol (files with the volume's mode; the pod's mount
# paths inside mounted configuration files rewritten to those directories),
# runs the Deployment's own arguments with only the listen addresses moved
# to loopback ports ($DEMO/KEY/<port-name>.port), and gives the process a
# token of the installed ServiceAccount (IDENTITY-FLAG kubeconfig) instead
# of the in-cluster one, so it runs with exactly the RBAC that was installed.
# It runs the same `spinops` binary the image runs.
#   deployment_pod_standin NS NAME KEY IDENTITY-FLAG [--listen-flag=port-name ...]
deployment_pod_standin() {
	local ns=$1 name=$2 key=$3 identity=$4 dir="$DEMO/$3" kubectl="$BIN_DIR/kubectl --kubeconfig $DEMO/cluster/kubeconfig"
	shift 4
	local listens=("$@")
	alive "$DEMO/$key.pid" && return
	mkdir -p "$dir"
	(
		for _ in $(seq 1 1200); do
			$kubectl -n "$ns" get deployment "$name" >/dev/null 2>&1 && break
			sleep 0.5
		done
		tmpl() { $kubectl -n "$ns" get deployment "$name" -o go-template="$1"; }
		mounts=()
		while read -r vol path; do mounts+=("$path=$dir/vol/$vol"); rm -rf "${dir:?}/vol/$vol"; mkdir -p "$dir/vol/$vol"; done \
			< <(tmpl '{{range (index .spec.template.spec.containers 0).volumeMounts}}{{.name}} {{.mountPath}}{{"\n"}}{{end}}')
		relocate() { local m sed=(); for m in "${mounts[@]}"; do sed+=(-e "s|${m%%=*}/|${m#*=}/|g"); done; sed "${sed[@]}"; }
		# Every object the pod mounts must exist first (the kubelet waits too).
		while read -r kind vol obj mode; do
			for _ in $(seq 1 1200); do $kubectl -n "$ns" get "$kind" "$obj" >/dev/null 2>&1 && break; sleep 0.5; done
			for k in $($kubectl -n "$ns" get "$kind" "$obj" -o go-template='{{range $k, $v := .data}}{{$k}} {{end}}'); do
				if [ "$kind" = secret ]; then
					$kubectl -n "$ns" get secret "$obj" -o "jsonpath={.data.${k//./\\.}}" | base64 -d >"$dir/vol/$vol/$k"
				else
					$kubectl -n "$ns" get configmap "$obj" -o "jsonpath={.data.${k//./\\.}}" | relocate >"$dir/vol/$vol/$k"
				fi
				chmod "$(printf '%o' "${mode:-420}")" "$dir/vol/$vol/$k"
			done
		done < <(tmpl '{{range .spec.template.spec.volumes}}{{if .secret}}secret {{.name}} {{.secret.secretName}} {{.secret.defaultMode}}{{"\n"}}{{end}}{{if .configMap}}configmap {{.name}} {{.configMap.name}} {{.configMap.defaultMode}}{{"\n"}}{{end}}{{end}}')
		port_of() { local l; for l in "${listens[@]}"; do [ "${l%%=*}" = "$1" ] && { cat "$dir/${l#*=}.port"; return; }; done; }
		args=()
		next=""
		while IFS= read -r a; do
			if [ -n "$next" ]; then args+=("127.0.0.1:$next"); next=""; continue; fi
			if [ -n "$(port_of "$a")" ]; then next=$(port_of "$a"); args+=("$a"); continue; fi
			if [[ $a == --*=* ]] && [ -n "$(port_of "${a%%=*}")" ]; then args+=("${a%%=*}=127.0.0.1:$(port_of "${a%%=*}")"); continue; fi
			for m in "${mounts[@]}"; do a=${a/#${m%%=*}\//${m#*=}/}; done
			args+=("$a")
		done < <(tmpl '{{range (index .spec.template.spec.containers 0).args}}{{.}}{{"\n"}}{{end}}')
		service_account_kubeconfig "$ns" "$name" "$dir"
		exec "$DEMO/spinops" "${args[@]}" "$identity" "$dir/kubeconfig"
	) >"$DEMO/$key.log" 2>&1 &
	echo $! >"$DEMO/$key.pid"
}

# The bridge's pod (spinops_bridge.local): gRPC on the port agents dial.
bridge_pod_standin() {
	deployment_pod_standin spinops-system spinops-bridge bridge --spinnaker-kubeconfig \
		--grpc-addr=grpc --endpoint-addr=endpoint --ops-addr=ops
}

# The monitor's pod (spinops_monitor.local).
monitor_pod_standin() {
	mkdir -p "$DEMO/monitor"
	[ -f "$DEMO/monitor/metrics.port" ] || free_port >"$DEMO/monitor/metrics.port"
	deployment_pod_standin spinnaker-operator spinops-monitor monitor --kubeconfig --metrics-addr=metrics
}

wait_for_bridge() {
	local dir="$DEMO/bridge"
	for _ in $(seq 1 300); do
		curl -fsS -o /dev/null "http://127.0.0.1:$(cat "$dir/ops.port")/readyz" 2>/dev/null && return
		alive "$DEMO/bridge.pid" || { tail -20 "$DEMO/bridge.log"; echo "the bridge pod stand-in stopped (log: $DEMO/bridge.log)" >&2; exit 1; }
		sleep 0.2
	done
	tail -20 "$DEMO/bridge.log"
	echo "the bridge did not become ready in 60 s (log: $DEMO/bridge.log)" >&2
	exit 1
}

# Stands in for the agent's pod: no kubelet runs here, so the Deployment
# spinops_agent_account installs cannot start one. Once the Deployment, its
# Secret and ConfigMap exist, this "mounts" them into $DEMO/agent, swaps the
# in-cluster service account for a token of the installed ServiceAccount
# (kubectl create token: the agent runs with exactly the RBAC that was
# installed) and runs the same `spinops agent` binary the image runs.
agent_pod_standin() {
	local ns=spinops-agent name=spinops-agent-local dir="$DEMO/agent" kubectl="$BIN_DIR/kubectl --kubeconfig $DEMO/cluster/kubeconfig"
	alive "$DEMO/agent.pid" && return
	mkdir -p "$dir/secret"
	(
		for _ in $(seq 1 600); do
			$kubectl -n $ns get deployment $name >/dev/null 2>&1 &&
				$kubectl -n $ns get secret $name >/dev/null 2>&1 &&
				$kubectl -n $ns get configmap $name >/dev/null 2>&1 && break
			sleep 0.5
		done
		for key in credential bridge-address ca.crt; do
			$kubectl -n $ns get secret $name -o "jsonpath={.data.${key//./\\.}}" | base64 -d >"$dir/secret/$key"
		done
		service_account_kubeconfig "$ns" "$name" "$dir"
		$kubectl -n $ns get configmap $name -o 'jsonpath={.data.agent\.yaml}' |
			sed -e "s|serviceAccount: true|kubeconfigFile: $dir/kubeconfig|" -e "s|/var/run/spinops/|$dir/secret/|g" >"$dir/agent.yaml"
		SPINOPS_BRIDGE_ADDRESS=$(cat "$dir/secret/bridge-address") exec "$DEMO/spinops" agent --config "$dir/agent.yaml"
	) >"$DEMO/agent.log" 2>&1 &
	echo $! >"$DEMO/agent.pid"
}

# Spinnaker's view of the account: the kubeconfig in the Secret beside the
# SpinnakerAccount reaches the local cluster through the bridge.
kubectl_through_bridge() {
	local kc="$DEMO/bridge-local.kubeconfig" k="$BIN_DIR/kubectl"
	"$k" --kubeconfig "$DEMO/cluster/kubeconfig" -n spinnaker-green get secret spinops-account-local \
		-o 'jsonpath={.data.kubeconfig}' | base64 -d >"$kc"
	# The kubeconfig names the endpoint Service (https://spinops-bridge-endpoint.spinops-system.svc:8443/accounts/local),
	# which only cluster DNS resolves: kubectl goes to the bridge pod
	# stand-in's loopback port instead and still verifies the certificate
	# for the Service's name.
	local server host
	server=$(sed -n 's/^ *server: //p' "$kc")
	host=${server#https://}
	host=${host%%:*}
	k="$k --server https://127.0.0.1:$(cat "$DEMO/bridge/endpoint.port")/${server#https://*/} --tls-server-name $host"
	log "kubectl through the bridge ($server, reached at 127.0.0.1:$(cat "$DEMO/bridge/endpoint.port"))"
	echo "\$ kubectl get configmaps -n spinnaker-green      # answered from the bridge's watch-fed cache"
	$k --kubeconfig "$kc" get configmaps -n spinnaker-green
	echo "\$ kubectl apply -f hello.yaml                    # forwarded to the agent, run against the cluster"
	$k --kubeconfig "$kc" apply -f - <<YAML
apiVersion: v1
kind: ConfigMap
metadata: {name: hello-from-spinnaker, namespace: default}
data: {greeting: "deployed through the bridge"}
YAML
	sleep 1
	echo "\$ kubectl get configmap hello-from-spinnaker -o jsonpath={.data.greeting}"
	$k --kubeconfig "$kc" -n default get configmap hello-from-spinnaker -o 'jsonpath={.data.greeting}'
	echo
	$k --kubeconfig "$kc" -n default delete configmap hello-from-spinnaker
}

build_provider() {
	local plat dst
	plat="$(go env GOOS)_$(go env GOARCH)"
	dst="$DEMO/mirror/registry.terraform.io/spinops/spinops/$VERSION/$plat"
	log "building terraform-provider-spinops $VERSION into the local mirror"
	mkdir -p "$dst"
	release_build -ldflags "-s -w -X main.version=$VERSION" -o "$dst/terraform-provider-spinops_v$VERSION" .
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
	start_moto
	start_mariadb
	build_spinops
	bridge_settings
	build_provider
	export TF_CLI_CONFIG_FILE="$DEMO/terraformrc"
	export TF_DATA_DIR="$DEMO/tfdata"
	export TF_IN_AUTOMATION=1
	export SPINOPS_KUBE_CONFIG_PATH="$DEMO/cluster/kubeconfig"
	# AWS is moto: test credentials, one endpoint for every service.
	export AWS_ENDPOINT_URL="http://127.0.0.1:$(cat "$DEMO/moto.port")"
	export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1
	unset AWS_PROFILE AWS_SESSION_TOKEN
	# examples/local/backup.tf: the local MariaDB and the moto bucket. The
	# password is an ephemeral variable feeding a write-only argument.
	export TF_VAR_backup_mysql_port="$(cat "$DEMO/mariadb.port")"
	export TF_VAR_backup_mysql_password="$DB_PASSWORD"
	export TF_VAR_backup_s3_endpoint="$AWS_ENDPOINT_URL"
	# The provider is rebuilt on every run, so a lock file from an earlier
	# run (gitignored, machine-local) would not match its checksum.
	rm -f "$ROOT/examples/local/.terraform.lock.hcl"
	log "terraform init (examples/local, providers from $DEMO/mirror)"
	"$TERRAFORM" -chdir="$ROOT/examples/local" init -input=false -upgrade -backend-config="path=$DEMO/terraform.tfstate" >"$DEMO/init.log" ||
		{ cat "$DEMO/init.log"; exit 1; }
	bridge_pod_standin
	monitor_pod_standin
	log "terraform apply -auto-approve (examples/local: Spinnaker, its zones, the bridge, the monitor, backups, IAM)"
	"$TERRAFORM" -chdir="$ROOT/examples/local" apply -input=false -auto-approve
	wait_for_bridge
	log "the bridge Terraform deployed is serving (gRPC 127.0.0.1:$TF_VAR_bridge_port)"
	# The fleet: a second configuration whose provider reads the platform's
	# outputs (the bridge's address and CA) from its state.
	rm -f "$ROOT/examples/local/fleet/.terraform.lock.hcl"
	log "terraform init + apply (examples/local/fleet: the local cluster attached through that bridge)"
	TF_DATA_DIR="$DEMO/tfdata-fleet" "$TERRAFORM" -chdir="$ROOT/examples/local/fleet" init -input=false -upgrade \
		-backend-config="path=$DEMO/fleet.tfstate" >"$DEMO/init-fleet.log" || { cat "$DEMO/init-fleet.log"; exit 1; }
	agent_pod_standin
	TF_DATA_DIR="$DEMO/tfdata-fleet" TF_VAR_platform_state="$DEMO/terraform.tfstate" \
		"$TERRAFORM" -chdir="$ROOT/examples/local/fleet" apply -input=false -auto-approve
	kubectl_through_bridge
	backup_round_trip
	log "waiting for the monitor's first rounds (it checks both zones every 5 s)"
	for _ in $(seq 1 60); do
		"$BIN_DIR/kubectl" --kubeconfig "$DEMO/cluster/kubeconfig" -n spinnaker-red get configmap spinops-monitor-red >/dev/null 2>&1 && break
		alive "$DEMO/monitor.pid" || { tail -5 "$DEMO/monitor.log"; echo "the monitor pod stand-in stopped (log: $DEMO/monitor.log)" >&2; exit 1; }
		sleep 1
	done
	sleep 6
	log "terraform apply again: the policy now reports the backup the engine made, and zone_slo what the monitor measured"
	"$TERRAFORM" -chdir="$ROOT/examples/local" apply -input=false -auto-approve | sed -n -e "/^backup_last_successful = {/,/^}/p" -e "/^zone_slo = {/,/^}/p"
	cat <<EOF

The local environment keeps running:
  kubeconfig  $DEMO/cluster/kubeconfig   (kubectl --kubeconfig ... get ns)
  AWS (moto)  AWS_ENDPOINT_URL=http://127.0.0.1:$(cat "$DEMO/moto.port") AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
  bridge      127.0.0.1:$TF_VAR_bridge_port, deployed by examples/local (admin token: $DEMO/bridge/admin-token, log: $DEMO/bridge.log)
  via bridge  kubectl --kubeconfig $DEMO/bridge-local.kubeconfig --server https://127.0.0.1:$(cat "$DEMO/bridge/endpoint.port")/accounts/local \
                --tls-server-name spinops-bridge-endpoint.spinops-system.svc get configmaps -A
  MariaDB     mariadb --no-defaults -uroot -p$DB_PASSWORD -h127.0.0.1 -P$(cat "$DEMO/mariadb.port") spinops_demo
  backups     $DEMO/spinops backup list --config $DEMO/backup.json
  state       $DEMO/terraform.tfstate (platform), $DEMO/fleet.tfstate (fleet)
Stop everything with:  make demo-down
EOF
}

down() {
	for p in agent bridge monitor; do
		if alive "$DEMO/$p.pid"; then
			log "stopping the $p (pid $(cat "$DEMO/$p.pid"))"
			kill "$(cat "$DEMO/$p.pid")" || true
		fi
	done
	if alive "$DEMO/mariadb.pid"; then
		log "stopping MariaDB (pid $(cat "$DEMO/mariadb.pid"))"
		kill "$(cat "$DEMO/mariadb.pid")" || true
	fi
	if alive "$DEMO/moto.pid"; then
		log "stopping moto (pid $(cat "$DEMO/moto.pid"))"
		kill "$(cat "$DEMO/moto.pid")" || true
	fi
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
