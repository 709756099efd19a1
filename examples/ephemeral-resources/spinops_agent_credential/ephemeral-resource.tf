# The staging cluster's team deploys the agent with its own Helm chart, so
# Terraform registers the account (no install_agent) and hands the agent its
# credential through a write-only argument: the value is read from the
# bridge during the apply, sent to the cluster, and never lands in the plan
# or the state.
resource "spinops_agent_account" "staging" {
  name       = "staging"
  namespaces = ["shop"]

  spinnaker {
    namespace = "spinnaker"
  }
}

# registration_id is unknown until the account is registered, so Terraform
# opens this only once the account exists (and refuses a credential of a
# registration that was replaced in between).
ephemeral "spinops_agent_credential" "staging" {
  name            = spinops_agent_account.staging.name
  registration_id = spinops_agent_account.staging.id
}

provider "kubernetes" {
  alias          = "staging"
  config_path    = "~/.kube/config"
  config_context = "staging"
}

# The Secret the chart's agent Deployment mounts, with the keys
# credential_secret would write. data_wo is write-only: bump
# data_wo_revision to write it again, e.g. after the account was replaced.
resource "kubernetes_secret_v1" "spinops_agent" {
  provider = kubernetes.staging

  metadata {
    name      = "spinops-agent-staging"
    namespace = "spinops-agent"
  }

  data_wo = {
    credential       = ephemeral.spinops_agent_credential.staging.credential
    "bridge-address" = ephemeral.spinops_agent_credential.staging.bridge_address
    "ca.crt"         = ephemeral.spinops_agent_credential.staging.ca_certificate
  }
  data_wo_revision = 1
}
