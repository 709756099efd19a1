# The spinops bridge, deployed next to Spinnaker by Terraform: its
# Deployment, Services, NetworkPolicy, RBAC in the green zone's namespace,
# a generated CA and serving certificate, the key ring and the admin token
# (write-only), all in the local cluster.
#
# No kubelet runs locally, so the Deployment cannot start a pod:
# scripts/demo.sh plays the pod. It runs the same `spinops bridge` binary
# with the Deployment's arguments and Secrets, as the installed
# ServiceAccount, and serves gRPC on 127.0.0.1:<var.bridge_port>, which is
# the external_address agents dial.
#
# The clusters attached through this bridge are in examples/local/fleet: a
# second configuration, whose provider reads this one's outputs.

variable "bridge_port" {
  description = "Loopback port the demo's bridge pod serves gRPC on."
  type        = number
}

variable "bridge_admin_token" {
  description = "The bridge's admin token (write-only: never stored in state)."
  type        = string
  sensitive   = true
  ephemeral   = true
}

resource "spinops_bridge" "local" {
  namespace           = "spinops-system"
  external_address    = "127.0.0.1:${var.bridge_port}"
  spinnaker_namespace = spinops_zone.green.namespace
  grace_period        = "1m"

  admin_token_wo         = var.bridge_admin_token
  admin_token_wo_version = 1

  requests = { cpu = "50m", memory = "64Mi" }

  # No Node runs here: nothing to wait for (the demo waits for the bridge's
  # /readyz itself).
  wait = false
}

output "bridge" {
  description = "What the fleet's provider block and agents need."
  value = {
    address        = spinops_bridge.local.address
    endpoint_url   = spinops_bridge.local.endpoint_url
    ca_certificate = spinops_bridge.local.ca_certificate
  }
}
