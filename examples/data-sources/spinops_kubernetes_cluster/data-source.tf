# Preflight before an install: fail the plan early when the credentials
# could not create what Spinnaker needs.
data "spinops_kubernetes_cluster" "control" {
  namespace = "spinnaker"
}

check "control_cluster_ready" {
  assert {
    condition     = data.spinops_kubernetes_cluster.control.ready_for_install
    error_message = "The Spinnaker control cluster is missing permissions: ${join(", ", data.spinops_kubernetes_cluster.control.missing_permissions)}."
  }
}

output "control_cluster" {
  value = {
    version     = data.spinops_kubernetes_cluster.control.server_version
    fingerprint = data.spinops_kubernetes_cluster.control.ca_fingerprint_sha256
  }
}
