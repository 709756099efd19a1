# Spinnaker's managing role on the EKS cluster of modules/aws/eks:
# Clouddriver and Rosco assume it through IRSA, and it may assume exactly
# the managed role of each target account.
resource "spinops_iam_source_role" "spinnaker" {
  name = "spinnaker-managing"
  path = "/spinnaker/"

  trust {
    eks_oidc {
      provider_arn     = module.eks.oidc_provider_arn
      service_accounts = ["spinnaker:clouddriver", "spinnaker:rosco"]
    }
  }

  managed_role_arns = [
    "arn:aws:iam::111111111111:role/spinnakerManaged", # staging
    "arn:aws:iam::222222222222:role/spinnakerManaged", # production
  ]

  # Rosco bakes AMIs in this account.
  bake {
    enabled = true
  }

  # Front50 keeps pipelines in an S3 bucket of this account.
  additional_policy_json = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect   = "Allow"
      Action   = ["s3:ListBucket", "s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
      Resource = ["arn:aws:s3:::acme-spinnaker-front50", "arn:aws:s3:::acme-spinnaker-front50/*"]
    }]
  })

  tags = {
    team = "platform"
  }
}

# Managed roles of this account whose trust policy does not (yet) trust
# the source role. Roles in other accounts cannot be read from here.
output "untrusting_managed_roles" {
  value = {
    for arn, r in spinops_iam_source_role.spinnaker.managed_roles : arn => r.detail
    if r.readable && !r.trusted
  }
}
