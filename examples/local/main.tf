# The local stack `make demo` applies: everything here runs for real on this
# machine (a real kube-apiserver started by scripts/demo.sh), nothing is
# fetched from a registry. The provider reads its cluster connection from
# SPINOPS_KUBE_CONFIG_PATH, which the demo script sets.

terraform {
  required_version = ">= 1.11"
  required_providers {
    spinops = {
      source = "spinops/spinops"
    }
  }
  # The demo passes -backend-config="path=..." so state lives in .demo/.
  backend "local" {}
}

provider "spinops" {}

# Preflight: which cluster is this, and may we install Spinnaker on it?
data "spinops_kubernetes_cluster" "local" {
  namespace = "spinnaker"
}

output "kubernetes_version" {
  description = "The local API server's version."
  value       = data.spinops_kubernetes_cluster.local.server_version
}

output "ca_fingerprint_sha256" {
  description = "SHA-256 of the local cluster's CA certificate."
  value       = data.spinops_kubernetes_cluster.local.ca_fingerprint_sha256
}

output "ready_for_install" {
  description = "Whether the demo credentials may install Spinnaker."
  value       = data.spinops_kubernetes_cluster.local.ready_for_install
}
