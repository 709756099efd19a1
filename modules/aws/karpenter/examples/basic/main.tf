# Karpenter's AWS side for the EKS cluster (modules/aws/eks: cluster_name,
# oidc_provider_arn, cluster_security_group_id) in the network module's private
# subnets. Install the chart from its outputs (README.md).
#
# Planned by this module's tests (run "example_basic"), with mock providers.

provider "aws" {
  region = "eu-west-1"
}

module "karpenter" {
  source = "../.."

  cluster_name       = "spinnaker"
  oidc_provider_arn  = "arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
  availability_zones = ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
  subnet_ids         = ["subnet-0a1b2c3d4e5f60011", "subnet-0a1b2c3d4e5f60012", "subnet-0a1b2c3d4e5f60013"]
  security_group_ids = ["sg-0a1b2c3d4e5f60003", "sg-0a1b2c3d4e5f60002"]
}

output "helm_values_yaml" {
  value = module.karpenter.helm_values_yaml
}
