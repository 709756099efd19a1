# Memorystore for Spinnaker's Redis, standard HA, on the network module's
# private services access; pass url to modules/spinops/platform's
# redis_endpoint.
#
# Planned by this module's tests (run "example_basic"), with mock providers.

provider "google" {
  project = "example-spinnaker"
  region  = "europe-west1"
}

module "redis" {
  source = "../.."

  project_id         = "example-spinnaker"
  name               = "spinnaker-redis"
  region             = "europe-west1"
  authorized_network = "projects/example-spinnaker/global/networks/spinnaker"

  firewall = {
    network     = "projects/example-spinnaker/global/networks/spinnaker"
    source_tags = ["spinnaker-internal"]
  }
}

output "url" {
  value = module.redis.url
}
