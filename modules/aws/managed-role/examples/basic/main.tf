# The role Spinnaker assumes in a target account. The provider is configured for
# that account; the two documents usually come from the spinops provider's
# spinops_iam_managed_role_policy data source (README.md).
#
# Planned by this module's tests (run "example_basic"), with mock providers.

provider "aws" {
  region = "eu-west-1"

  assume_role {
    role_arn = "arn:aws:iam::222222222222:role/OrganizationAccountAccessRole"
  }
}

module "managed_role" {
  source = "../.."

  trust_policy_json = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { AWS = "arn:aws:iam::111111111111:role/spinnaker-managing" }
      Action    = "sts:AssumeRole"
    }]
  })
  policy_json = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect   = "Allow"
      Action   = ["ec2:Describe*", "autoscaling:Describe*", "elasticloadbalancing:Describe*"]
      Resource = "*"
    }]
  })
  managed_policy_arns = ["arn:aws:iam::aws:policy/ReadOnlyAccess"]
}

output "role_arn" {
  value = module.managed_role.role_arn
}
