# IRSA roles for Front50 and the backups, trusting the EKS cluster's OIDC
# provider (modules/aws/eks: oidc_provider_arn, oidc_provider) and scoped to
# the two buckets (modules/aws/bucket).
#
# Planned by this module's tests (run "example_basic"), with mock providers.

provider "aws" {
  region = "eu-west-1"
}

module "iam" {
  source = "../.."

  name_prefix        = "spinnaker"
  oidc_provider_arn  = "arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
  oidc_provider      = "oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
  front50_bucket_arn = "arn:aws:s3:::example-spinnaker-front50"
  backup_bucket_arn  = "arn:aws:s3:::example-spinnaker-backups"
}

output "source_role_eks_oidc" {
  value = module.iam.source_role_eks_oidc
}
