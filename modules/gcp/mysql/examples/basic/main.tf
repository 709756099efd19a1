# Cloud SQL for MySQL for Spinnaker: a regional HA primary and two read
# replicas on the network module's private services access
# (modules/gcp/network: private_network_id).
#
# Planned by this module's tests (run "example_basic"), with mock providers.

provider "google" {
  project = "example-spinnaker"
  region  = "europe-west1"
}

module "mysql" {
  source = "../.."

  project_id         = "example-spinnaker"
  name               = "spinnaker-sql"
  region             = "europe-west1"
  private_network    = "projects/example-spinnaker/global/networks/spinnaker"
  read_replica_count = 2
}

output "private_ip_address" {
  value = module.mysql.private_ip_address
}
