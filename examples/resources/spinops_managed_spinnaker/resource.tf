# One Spinnaker installation on the control cluster (the provider's
# connection): the Spinnaker Operator, the configuration every zone inherits,
# and the promotion policy production zones follow.
variable "spinnaker_db_password" {
  type      = string
  sensitive = true
  ephemeral = true # Terraform 1.10+: never stored anywhere
}

resource "spinops_managed_spinnaker" "this" {
  spinnaker_version = "1.35.3"

  operator {
    namespace = "spinnaker-operator"
  }

  persistence {
    s3 {
      bucket      = "acme-spinnaker-front50"
      region      = "eu-west-1"
      root_folder = "front50"
    }
  }

  sql {
    endpoint            = "spinnaker.cluster-abc.eu-west-1.rds.amazonaws.com"
    reader_endpoint     = "spinnaker.cluster-ro-abc.eu-west-1.rds.amazonaws.com"
    databases           = { clouddriver = "clouddriver", orca = "orca", front50 = "front50" }
    user                = "spinnaker"
    password_wo         = var.spinnaker_db_password
    password_wo_version = 1 # bump to write a new password
  }

  redis {
    endpoint = "spinnaker-redis.abc.cache.amazonaws.com:6379"
  }

  features = {
    pipelineTemplates = true
  }

  # A version must have passed verification in a sandbox zone at least this
  # long before a production zone may plan it.
  promotion {
    soak = "24h"
  }
}
