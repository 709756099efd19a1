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
	mariadb-install-db --no-defaults "${user[@]}" --datadir="$dir/data" --auth-root-authentication-method=normal \
		--skip-test-db >"$DEMO/mariadb-install.log" 2>&1 || { tail -20 "$DEMO/mariadb-install.log"; exit 1; }
	nohup "$(command -v mariadbd || echo /usr/sbin/mariadbd)" --no-defaults "${user[@]}" --datadir="$dir/data" \
		--socket="$dir/mysqld.sock" --pid-file="$dir/mariadbd.pid" --port="$port" --bind-address=127.0.0.1 \
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
	(cd "$ROOT" && go build -trimpath -o "$DEMO/spinops" ./cmd/spinops)
	"$TERRAFORM" -chdir="$ROOT/examples/local" output -raw backup_config >"$cfg"
	export SPINOPS_BACKUP_MYSQL_PASSWORD=$DB_PASSWORD
	log "spinops backup run (MariaDB spinops_demo -> s3://spinops-demo-backups/spinnaker in moto)"
	"$DEMO/spinops" backup run --config "$cfg"
	log "deleting a row, then: spinops backup list / restore --overwrite"
	mysql_demo -e "DELETE FROM spinops_demo.applications WHERE name = 'search'"
	echo "rows before restore: $(mysql_demo -N -e 'SELECT COUNT(*) FROM spinops_demo.applications')"
	"$DEMO/spinops" backup list --config "$cfg"
	id=$("$DEMO/spinops" backup list --config "$cfg" --json | sed -n 's/.*"id": *"\([^"]*\)".*/\1/p' | head -1)
	"$DEMO/spinops" backup restore --config "$cfg" --backup "$id" --overwrite
	echo "rows after restore:  $(mysql_demo -N -e 'SELECT COUNT(*) FROM spinops_demo.applications')"
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
	start_moto
	start_mariadb
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
	log "terraform apply -auto-approve (examples/local)"
	"$TERRAFORM" -chdir="$ROOT/examples/local" apply -input=false -auto-approve
	backup_round_trip
	log "terraform apply again: the policy now reports the backup the engine made"
	"$TERRAFORM" -chdir="$ROOT/examples/local" apply -input=false -auto-approve | tail -25
	cat <<EOF

The local environment keeps running:
  kubeconfig  $DEMO/cluster/kubeconfig   (kubectl --kubeconfig ... get ns)
  AWS (moto)  AWS_ENDPOINT_URL=http://127.0.0.1:$(cat "$DEMO/moto.port") AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
  MariaDB     mariadb --no-defaults -uroot -p$DB_PASSWORD -h127.0.0.1 -P$(cat "$DEMO/mariadb.port") spinops_demo
  backups     $DEMO/spinops backup list --config $DEMO/backup.json
  state       $DEMO/terraform.tfstate
Stop everything with:  make demo-down
EOF
}

down() {
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
