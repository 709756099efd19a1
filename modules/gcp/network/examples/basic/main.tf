# The VPC for Spinnaker: a subnet with pod and service ranges from one CIDR,
# Cloud NAT, private services access and the firewall rules the other modules
# take.
#
# Planned by this module's tests (run "example_basic"), with mock providers.

provider "google" {
  project = "example-spinnaker"
  region  = "europe-west1"
}

module "network" {
  source = "../.."

  project_id         = "example-spinnaker"
  name               = "spinnaker"
  region             = "europe-west1"
  cidr               = "10.60.0.0/16"
  deck_source_ranges = ["203.0.113.0/24"]
  gate_source_ranges = ["203.0.113.0/24"]
}

output "network_id" {
  value = module.network.network_id
}
