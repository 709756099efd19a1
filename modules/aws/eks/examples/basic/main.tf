# A private EKS cluster for Spinnaker in the network module's private subnets
# (modules/aws/network: private_subnet_ids, internal_security_group_id), with
# the role Terraform runs as given cluster-admin access.
#
# Planned by this module's tests (run "example_basic"), with mock providers.

provider "aws" {
  region = "eu-west-1"
}

module "eks" {
  source = "../.."

  name               = "spinnaker"
  subnet_ids         = ["subnet-0a1b2c3d4e5f60011", "subnet-0a1b2c3d4e5f60012", "subnet-0a1b2c3d4e5f60013"]
  security_group_ids = ["sg-0a1b2c3d4e5f60002"]

  access_entries = {
    terraform = { principal_arn = "arn:aws:iam::123456789012:role/spinops-terraform" }
  }
}

output "cluster_name" {
  value = module.eks.cluster_name
}
