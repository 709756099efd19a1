# Front50's bucket, written only by Front50's service account
# (modules/gcp/gke: workload_identity_members).
#
# Planned by this module's tests (run "example_basic"), with mock providers.

provider "google" {
  project = "example-spinnaker"
  region  = "europe-west1"
}

module "front50_bucket" {
  source = "../.."

  project_id    = "example-spinnaker"
  name          = "example-spinnaker-front50"
  location      = "europe-west1"
  object_admins = { front50 = "serviceAccount:front50@example-spinnaker.iam.gserviceaccount.com" }
}

output "name" {
  value = module.front50_bucket.name
}
