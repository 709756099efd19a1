# What the managed role of each target account needs, for the landing zone
# that owns the account to create with its own AWS provider.
data "spinops_iam_managed_role_policy" "spinnaker" {
  source_role_arns = [spinops_iam_source_role.spinnaker.arn]
  external_id      = "spinnaker-production"
}

provider "aws" {
  alias  = "production"
  region = "us-west-2"
  assume_role {
    role_arn = "arn:aws:iam::222222222222:role/OrganizationAccountAccessRole"
  }
}

resource "aws_iam_role" "spinnaker_managed" {
  provider           = aws.production
  name               = "spinnakerManaged"
  assume_role_policy = data.spinops_iam_managed_role_policy.spinnaker.trust_policy_json
}

resource "aws_iam_role_policy" "spinnaker_managed" {
  provider = aws.production
  name     = "spinnaker"
  role     = aws_iam_role.spinnaker_managed.id
  policy   = data.spinops_iam_managed_role_policy.spinnaker.policy_json
}

# PowerUserAccess with the default baseline; nothing with baseline = "ec2_deploy".
resource "aws_iam_role_policy_attachment" "spinnaker_managed" {
  provider   = aws.production
  for_each   = toset(data.spinops_iam_managed_role_policy.spinnaker.managed_policy_arns)
  role       = aws_iam_role.spinnaker_managed.name
  policy_arn = each.value
}
