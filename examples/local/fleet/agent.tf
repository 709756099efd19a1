# The local cluster attached to Spinnaker through the bridge examples/local
# deployed (main.tf configures the provider from its outputs). This
# resource registers the account,
# installs the agent in the cluster (ServiceAccount, RBAC for the watched
# kinds, the credential Secret, the agent config and a Deployment), creates
# the SpinnakerAccount in the green zone's namespace, and waits for the agent
# to connect and sync.
#
# No kubelet runs locally, so the Deployment cannot start a pod: the demo
# script plays the pod (it runs the same `spinops agent` binary with the
# installed config, Secret and a token of the installed ServiceAccount).

resource "spinops_agent_account" "local" {
  name  = "local"
  kinds = ["ConfigMap", "Deployment", "Service"]

  permissions {
    read  = ["developers", "platform"]
    write = ["platform"]
  }

  install_agent {
    namespace = "spinops-agent"
    image     = "ghcr.io/spinops/spinops:0.1.0"
    replicas  = 1
    requests  = { cpu = "50m", memory = "64Mi" }
    limits    = { memory = "256Mi" }
  }

  spinnaker {
    namespace = local.spinnaker_green
  }

  timeouts {
    create = "3m"
  }
}

data "spinops_agent_accounts" "all" {
  depends_on = [spinops_agent_account.local]
}

output "agent_account" {
  description = "The local cluster as the bridge sees it."
  value = {
    status             = spinops_agent_account.local.status
    kubernetes_version = spinops_agent_account.local.kubernetes_version
    objects            = spinops_agent_account.local.objects
    endpoint           = spinops_agent_account.local.endpoint
  }
}

output "bridge_accounts" {
  description = "Every account registered at the bridge, with its status."
  value       = { for a in data.spinops_agent_accounts.all.accounts : a.name => a.status }
}
