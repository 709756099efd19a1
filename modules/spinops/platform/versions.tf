terraform {
  required_version = ">= 1.11"

  required_providers {
    spinops = {
      source  = "spinops/spinops"
      version = ">= 0.1.0"
      # spinops: the control cluster's connection (installation, zones,
      # bridge, backups). spinops.fleet: the same cluster plus the bridge
      # this module deploys, for the agent accounts.
      configuration_aliases = [spinops.fleet]
    }
  }

  # No provider_meta: spinops/spinops has no provider_meta schema, and
  # Terraform stops the plan for a block a provider does not support.
}
