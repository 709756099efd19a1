# The fleet: clusters attached to Spinnaker through the bridge that
# examples/local deployed. A second configuration (applied after the
# platform one) because the provider's bridge block needs the bridge's CA,
# which exists only once the platform stack is applied. It reads the
# platform's outputs from its state; with HCP Terraform, use tfe_outputs.

terraform {
  required_version = ">= 1.11"
  required_providers {
    spinops = {
      source = "spinops/spinops"
    }
  }
  backend "local" {}
}

variable "platform_state" {
  description = "Path of examples/local's state file."
  type        = string
}

variable "bridge_admin_token" {
  description = "The bridge's admin token (the same value the platform stack wrote)."
  type        = string
  sensitive   = true
  ephemeral   = true
}

data "terraform_remote_state" "platform" {
  backend = "local"
  config = {
    path = var.platform_state
  }
}

locals {
  bridge          = data.terraform_remote_state.platform.outputs.bridge
  spinnaker_green = data.terraform_remote_state.platform.outputs.zone_namespaces.green
}

provider "spinops" {
  bridge {
    address = local.bridge.address
    token   = var.bridge_admin_token
    tls {
      ca_certificate = local.bridge.ca_certificate
    }
  }
}
