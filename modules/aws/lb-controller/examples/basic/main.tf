# The AWS Load Balancer Controller's IAM for the EKS cluster (modules/aws/eks)
# in the network module's VPC; install its chart from helm_values_yaml.
#
# Planned by this module's tests (run "example_basic"), with mock providers.

provider "aws" {
  region = "eu-west-1"
}

module "lb_controller" {
  source = "../.."

  cluster_name      = "spinnaker"
  oidc_provider_arn = "arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
  vpc_id            = "vpc-0123456789abcdef0"
}

output "helm_values_yaml" {
  value = module.lb_controller.helm_values_yaml
}
