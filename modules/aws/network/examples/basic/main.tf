# The VPC for Spinnaker in three AZs: public, private and database subnets
# from one CIDR, and the security groups the other modules take.
#
# Planned by this module's tests (run "example_basic"), with mock providers.

provider "aws" {
  region = "eu-west-1"
}

module "network" {
  source = "../.."

  name                     = "spinnaker"
  cidr                     = "10.40.0.0/16"
  azs                      = ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
  deck_ingress_cidr_blocks = ["203.0.113.0/24"]
  gate_ingress_cidr_blocks = ["203.0.113.0/24", "198.51.100.0/24"]
}

output "private_subnet_ids" {
  value = module.network.private_subnet_ids
}
