# The Spinnaker installation and a red + green pair of zones on the local
# cluster.
#
# No Spinnaker pods run locally: the demo cluster is a bare API server and
# controller manager, with no kubelet to run the operator or Spinnaker's
# containers. The installation's CRDs, RBAC, operator Deployment,
# configuration and promotion ledger, and each zone's SpinnakerService and
# credentials Secret, are real objects in the local cluster; readiness
# waiting is turned off (`wait = false`, a setting users of slow clusters
# will want too), so nothing is verified and the green zone takes its version
# through a recorded promotion override.

resource "spinops_managed_spinnaker" "local" {
  spinnaker_version = "1.35.3"

  operator {
    namespace = "spinnaker-operator"
    wait      = false
  }

  persistence {
    s3 {
      bucket                       = "spinnaker"
      endpoint                     = "http://minio.minio:9000" # MinIO
      path_style                   = true
      access_key_id                = "spinnaker"
      secret_access_key_wo         = "local-demo-secret"
      secret_access_key_wo_version = 1
    }
  }

  promotion {
    soak = "1h"
  }
}

resource "spinops_zone" "red" {
  managed_spinnaker_id = spinops_managed_spinnaker.local.id
  config_revision      = spinops_managed_spinnaker.local.config_revision # shared-config changes reach this zone in the same apply
  name                 = "red"
  tier                 = "sandbox"
  namespace            = "spinnaker-red"
  wait                 = false
}

resource "spinops_zone" "green" {
  managed_spinnaker_id = spinops_managed_spinnaker.local.id
  config_revision      = spinops_managed_spinnaker.local.config_revision # shared-config changes reach this zone in the same apply
  name                 = "green"
  tier                 = "production"
  namespace            = "spinnaker-green"
  wait                 = false
  deletion_protection  = false # so that `make demo-down` / destroy work

  # Red never verifies anything here (nothing runs), so the promotion gate
  # would refuse green; the override is recorded in the promotion ledger.
  promotion_override {
    reason = "local demo: no Spinnaker pods run, nothing can be verified"
  }

  depends_on = [spinops_zone.red]
}

output "zones" {
  description = "Each zone's SpinnakerService, as `namespace/name`."
  value       = { red = spinops_zone.red.id, green = spinops_zone.green.id }
}

output "zone_namespaces" {
  description = "Each zone's namespace (examples/local/fleet puts its SpinnakerAccounts in green's)."
  value       = { red = spinops_zone.red.namespace, green = spinops_zone.green.namespace }
}
