# Front50's bucket, replicated to a bucket in a second region.
#
# Planned by this module's tests (run "example_basic"), with mock providers.

provider "aws" {
  region = "eu-west-1"
}

module "front50_bucket" {
  source = "../.."

  bucket = "example-spinnaker-front50"

  replication = {
    destination_bucket_arn = "arn:aws:s3:::example-spinnaker-front50-replica"
  }
}

output "bucket_arn" {
  value = module.front50_bucket.bucket_arn
}
