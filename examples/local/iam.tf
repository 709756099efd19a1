# Spinnaker's AWS managing role, created in moto (the demo exports
# AWS_ENDPOINT_URL and test credentials, so the provider's aws block needs
# nothing). 123456789012 is moto's account.

locals {
  demo_account = "123456789012"
}

resource "spinops_iam_source_role" "spinnaker" {
  name = "spinops-demo-spinnaker"
  path = "/spinnaker/"

  trust {
    # IRSA for Clouddriver and Rosco on a (pretend) EKS cluster...
    eks_oidc {
      provider_arn     = "arn:aws:iam::${local.demo_account}:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/SPINOPSDEMO"
      service_accounts = ["spinnaker:clouddriver", "spinnaker:rosco"]
    }
    # ...and the node role, for pods without IRSA.
    principal_arns = ["arn:aws:iam::${local.demo_account}:role/spinops-demo-eks-node"]
  }

  # Neither managed role exists here: managed_roles reports the first as
  # missing and the second (another account) as unreadable.
  managed_role_arns = [
    "arn:aws:iam::${local.demo_account}:role/spinnakerManaged",
    "arn:aws:iam::210987654321:role/spinnakerManaged",
  ]

  bake {
    enabled = true
  }

  tags = {
    app = "spinnaker"
    env = "demo"
  }
}

# The documents the target accounts' landing zones would create the
# managed role from.
data "spinops_iam_managed_role_policy" "target" {
  source_role_arns = [spinops_iam_source_role.spinnaker.arn]
  baseline         = "ec2_deploy"
}

output "spinnaker_source_role_arn" {
  description = "The role Spinnaker runs as."
  value       = spinops_iam_source_role.spinnaker.arn
}

output "spinnaker_managed_roles" {
  description = "What the source role can tell about each managed role."
  value       = { for arn, r in spinops_iam_source_role.spinnaker.managed_roles : arn => r.detail }
}

output "managed_role_trust_policy" {
  description = "The trust policy each target account's managed role needs."
  value       = data.spinops_iam_managed_role_policy.target.trust_policy_json
}
