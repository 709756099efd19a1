# The clusters attached through the bridge. Every spinops_agent_account uses
# the spinops.fleet provider: the control cluster's connection plus the
# bridge above (its address and CA), which the caller configures from this
# module's bridge output.

locals {
  # With no namespaces given, the control cluster's account leaves out the
  # cluster's own machinery and Spinnaker's namespaces. This only narrows
  # what is watched and shown: the agent's RBAC stays cluster-wide.
  control_omit_namespaces = ["kube-system", "kube-public", "kube-node-lease", "spinops-agent", spinops_managed_spinnaker.this.id, spinops_zone.red.namespace, spinops_zone.green.namespace]

  # The bridge's in-cluster Service: grpc_service.port, or the pods' 9091.
  bridge_service_address = "${spinops_bridge.this.name}.${spinops_bridge.this.namespace}.svc:${var.bridge.grpc_service == null ? 9091 : coalesce(var.bridge.grpc_service.port, 9091)}"
}

# The control cluster itself, as a Spinnaker account of the green zone: the
# provider registers it at the bridge, installs the agent through its own
# connection, creates the SpinnakerAccount in green's namespace and waits for
# the agent's first full sync. The agent's credential goes from the bridge
# into the cluster's Secret and never into state.
resource "spinops_agent_account" "control" {
  count    = var.control_cluster_account == null ? 0 : 1
  provider = spinops.fleet

  name            = var.control_cluster_account.name
  kinds           = var.control_cluster_account.kinds
  namespaces      = var.control_cluster_account.namespaces
  omit_namespaces = var.control_cluster_account.namespaces == null ? local.control_omit_namespaces : null

  permissions {
    read  = var.control_cluster_account.permissions.read
    write = var.control_cluster_account.permissions.write
  }

  # The control cluster's agent stays inside: it dials the bridge's
  # Service, whose name the bridge's certificate holds.
  install_agent {
    bridge_address = coalesce(var.control_cluster_account.bridge_address, local.bridge_service_address)
    requests       = var.agent_resources.requests
    limits         = var.agent_resources.limits
  }

  spinnaker {
    namespace = spinops_zone.green.namespace
  }

  # SpinnakerAccounts are the operator's objects: green must be up first.
  depends_on = [spinops_zone.green]
}

# Further clusters (other EKS or GKE clusters, or anything a kubeconfig
# reaches): the agent is installed through each cluster's own connection and
# dials out to the bridge, so the clusters' API servers never have to be
# reachable from Spinnaker.
resource "spinops_agent_account" "target" {
  for_each = var.target_clusters
  provider = spinops.fleet

  name       = each.key
  kinds      = each.value.kinds
  namespaces = each.value.namespaces

  permissions {
    read  = each.value.permissions.read
    write = each.value.permissions.write
  }

  install_agent {
    kubernetes {
      config_path            = each.value.config_path
      config_context         = each.value.config_context
      host                   = each.value.host
      cluster_ca_certificate = each.value.cluster_ca_certificate

      # An EKS token the provider signs with its AWS credentials (as
      # role_arn when given): no aws CLI, no kubeconfig.
      dynamic "eks" {
        for_each = each.value.eks == null ? [] : [each.value.eks]

        content {
          cluster_name = eks.value.cluster_name
          region       = eks.value.region
          role_arn     = eks.value.role_arn
        }
      }

      # A Google access token from the provider's gcp credentials (or
      # Application Default Credentials): no gcloud plugin, no kubeconfig.
      dynamic "gke" {
        for_each = each.value.gke == null ? [] : [each.value.gke]

        content {
          scopes = gke.value.scopes
        }
      }
    }

    bridge_address = each.value.bridge_address
    requests       = var.agent_resources.requests
    limits         = var.agent_resources.limits
  }

  spinnaker {
    namespace = spinops_zone.green.namespace
  }

  depends_on = [spinops_zone.green]
}
