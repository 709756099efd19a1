# A production cluster attached in agent mode: Terraform registers the
# account at the bridge (the provider's `bridge` block), installs the agent
# in the target cluster, makes the account visible to Spinnaker and waits
# until the agent is connected and its first full sync is done. The agent
# credential goes from the bridge straight into the target cluster's Secret,
# never into state.
resource "spinops_agent_account" "prod" {
  name = "prod"

  # Only what Spinnaker deploys and shows; every other kind stays unwatched
  # and the agent's RBAC covers exactly these kinds.
  kinds      = ["Deployment", "ReplicaSet", "Pod", "Service", "Ingress", "ConfigMap", "Secret", "HorizontalPodAutoscaler"]
  namespaces = ["shop", "payments"] # the agent's RBAC is bound in these namespaces only; they must exist

  # Everyone in "developers" sees the account; only "deployers" deploy to it,
  # and only then may the agent create, update and delete.
  permissions {
    read  = ["developers", "deployers"]
    write = ["deployers"]
  }

  install_agent {
    # The target cluster; without this block, the provider's own connection.
    kubernetes {
      config_path    = "~/.kube/config"
      config_context = "prod-eu-west-1"
    }

    namespace = "spinops-agent"
    image     = "ghcr.io/spinops/spinops:0.1.0"
    requests  = { cpu = "100m", memory = "128Mi" }
    limits    = { memory = "512Mi" }

    # Run beside the cluster's other system workloads.
    node_selector = { "node-role.example.com/system" = "true" }

    toleration {
      key      = "node-role.example.com/system"
      operator = "Exists"
      effect   = "NoSchedule"
    }
  }

  # The SpinnakerAccount Clouddriver picks up, in Spinnaker's namespace on
  # the control cluster (the provider's connection).
  spinnaker {
    namespace = "spinnaker"
  }

  # How long a disconnected cluster stays known before Spinnaker drops it.
  grace_period = "10m"
}

# A cluster served by one shared agent in infrastructure mode (deployed by
# its owners, with many kubeconfigs): Terraform only registers the account
# and writes the agent's credential into the Secret that agent mounts.
resource "spinops_agent_account" "edge" {
  name = "edge-fra"
  mode = "infrastructure"

  # Everything except the cluster's own machinery.
  omit_namespaces = ["kube-system", "kube-public", "kube-node-lease"]

  permissions {
    read  = ["sre"]
    write = ["sre"]
  }

  # The Secret (keys credential, bridge-address, ca.crt) in the shared
  # agent's namespace on the control cluster.
  credential_secret {
    namespace = "spinops-infrastructure"
  }

  spinnaker {
    namespace = "spinnaker"
  }
}
