#!/usr/bin/env bash
# Regenerates the Go code of the bridge protocol (`make proto`). Needs protoc
# 3.21+ (Debian: protobuf-compiler); installs the pinned Go plugins into a
# private GOBIN so the committed code does not depend on what is on PATH.
set -euo pipefail

PROTOC_GEN_GO_VERSION=v1.36.11
PROTOC_GEN_GO_GRPC_VERSION=v1.6.1

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
command -v protoc >/dev/null || { echo "proto: protoc not found (apt-get install -y protobuf-compiler)" >&2; exit 1; }
gobin=${SPINOPS_CACHE_DIR:-$HOME/.cache/spinops}/protoc-plugins/$PROTOC_GEN_GO_VERSION-$PROTOC_GEN_GO_GRPC_VERSION
mkdir -p "$gobin"
[[ -x $gobin/protoc-gen-go ]] || GOBIN=$gobin go install "google.golang.org/protobuf/cmd/protoc-gen-go@$PROTOC_GEN_GO_VERSION"
[[ -x $gobin/protoc-gen-go-grpc ]] || GOBIN=$gobin go install "google.golang.org/grpc/cmd/protoc-gen-go-grpc@$PROTOC_GEN_GO_GRPC_VERSION"

cd "$here"
PATH=$gobin:$PATH protoc -I . \
	--go_out=. --go_opt=paths=source_relative \
	--go-grpc_out=. --go-grpc_opt=paths=source_relative \
	spinops/bridge/v1/bridge.proto
