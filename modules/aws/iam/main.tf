locals {
  backup_bucket_arn = coalesce(var.backup_bucket_arn, var.front50_bucket_arn)

  kms_statements = length(var.kms_key_arns) == 0 ? [] : [{
    Sid      = "BucketKeys"
    Effect   = "Allow"
    Action   = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"]
    Resource = var.kms_key_arns
  }]

  roles = merge(
    {
      front50 = {
        service_accounts = [var.front50_service_account]
        policy_arns      = []
        policy_json = jsonencode({
          Version = "2012-10-17"
          Statement = concat([
            {
              Sid      = "Bucket"
              Effect   = "Allow"
              Action   = ["s3:ListBucket", "s3:ListBucketVersions", "s3:GetBucketLocation", "s3:GetBucketVersioning"]
              Resource = [var.front50_bucket_arn]
            },
            {
              Sid      = "Objects"
              Effect   = "Allow"
              Action   = ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject", "s3:DeleteObject"]
              Resource = ["${var.front50_bucket_arn}/*"]
            },
          ], local.kms_statements)
        })
      }
      backup = {
        service_accounts = [var.backup_service_account]
        policy_arns      = []
        policy_json = jsonencode({
          Version = "2012-10-17"
          Statement = concat([
            {
              Sid      = "ReadFront50"
              Effect   = "Allow"
              Action   = ["s3:ListBucket", "s3:ListBucketVersions", "s3:GetBucketLocation", "s3:GetObject", "s3:GetObjectVersion"]
              Resource = distinct([var.front50_bucket_arn, "${var.front50_bucket_arn}/*"])
            },
            {
              Sid      = "BackupBucket"
              Effect   = "Allow"
              Action   = ["s3:ListBucket", "s3:GetBucketLocation"]
              Resource = [local.backup_bucket_arn]
            },
            {
              Sid      = "BackupObjects"
              Effect   = "Allow"
              Action   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
              Resource = ["${local.backup_bucket_arn}/*"]
            },
          ], local.kms_statements)
        })
      }
    },
    var.additional_roles,
  )

  # Decided by the configuration, not by the documents' values, which may
  # only be known after apply.
  inline_policy_roles = concat(["front50", "backup"], [for k, r in var.additional_roles : k if r.policy_json != null])

  # Keyed by position, not ARN: an ARN may only be known after apply.
  managed_policy_attachments = merge([
    for k, r in local.roles : { for i, arn in r.policy_arns : "${k}/${i}" => { role = k, policy_arn = arn } }
  ]...)
}

resource "aws_iam_role" "this" {
  for_each = local.roles

  name        = "${var.name_prefix}-${each.key}"
  description = substr("IRSA role of ${join(", ", each.value.service_accounts)} in ${join(", ", var.namespaces)}", 0, 1000)
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Federated = var.oidc_provider_arn }
      Action    = "sts:AssumeRoleWithWebIdentity"
      Condition = {
        StringEquals = {
          "${var.oidc_provider}:sub" = [for p in setproduct(var.namespaces, each.value.service_accounts) : "system:serviceaccount:${p[0]}:${p[1]}"]
          "${var.oidc_provider}:aud" = "sts.amazonaws.com"
        }
      }
    }]
  })

  tags = var.tags
}

resource "aws_iam_role_policy" "this" {
  for_each = toset(local.inline_policy_roles)

  name   = "spinnaker"
  role   = aws_iam_role.this[each.key].id
  policy = local.roles[each.key].policy_json
}

resource "aws_iam_role_policy_attachment" "this" {
  for_each = local.managed_policy_attachments

  role       = aws_iam_role.this[each.value.role].name
  policy_arn = each.value.policy_arn
}
