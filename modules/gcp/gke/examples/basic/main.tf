# A regional private GKE cluster for Spinnaker in the network module's subnet
# (modules/gcp/network), with a Workload Identity service account for Front50.
#
# Planned by this module's tests (run "example_basic"), with mock providers.

provider "google" {
  project = "example-spinnaker"
  region  = "europe-west1"
}

module "gke" {
  source = "../.."

  project_id          = "example-spinnaker"
  name                = "spinnaker"
  region              = "europe-west1"
  network             = "projects/example-spinnaker/global/networks/spinnaker"
  subnetwork          = "projects/example-spinnaker/regions/europe-west1/subnetworks/spinnaker-europe-west1"
  pods_range_name     = "spinnaker-pods"
  services_range_name = "spinnaker-services"
  network_tags        = ["spinnaker-internal"]

  workload_identity_service_accounts = {
    front50 = { service_account = "front50" }
  }
}

output "cluster_endpoint" {
  value = module.gke.cluster_endpoint
}
