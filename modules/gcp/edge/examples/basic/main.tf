# Deck and Gate behind a global external HTTPS load balancer with
# Google-managed certificates, Cloud DNS records and a Cloud Armor policy, in
# the network module's VPC (modules/gcp/network: network_id, internal_tag).
#
# Planned by this module's tests (run "example_basic"), with mock providers.

provider "google" {
  project = "example-spinnaker"
  region  = "europe-west1"
}

module "edge" {
  source = "../.."

  project_id         = "example-spinnaker"
  name               = "spinnaker"
  network            = "projects/example-spinnaker/global/networks/spinnaker"
  target_tags        = ["spinnaker-internal"]
  deck_domain        = "spinnaker.example.com"
  gate_domain        = "api.spinnaker.example.com"
  user_source_ranges = ["203.0.113.0/24"]
  dns_managed_zone   = "spinnaker-example-com"

  # [] on the first apply; then the zones the NEGs are in (README.md).
  neg_zones = ["europe-west1-b", "europe-west1-c", "europe-west1-d"]
}

output "ip_address" {
  value = module.edge.ip_address
}
