resource "aws_iam_role" "this" {
  name                 = var.name
  path                 = var.path
  description          = "Spinnaker deploys into this account as this role (managed role)"
  assume_role_policy   = var.trust_policy_json
  max_session_duration = var.max_session_duration
  permissions_boundary = var.permissions_boundary

  tags = var.tags
}

resource "aws_iam_role_policy" "this" {
  name   = "spinnaker"
  role   = aws_iam_role.this.id
  policy = var.policy_json
}

resource "aws_iam_role_policy_attachment" "this" {
  for_each = toset(var.managed_policy_arns)

  role       = aws_iam_role.this.name
  policy_arn = each.value
}
