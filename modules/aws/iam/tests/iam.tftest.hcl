mock_provider "aws" {}

variables {
  name_prefix        = "spin"
  oidc_provider_arn  = "arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/ABCDEF"
  oidc_provider      = "oidc.eks.eu-west-1.amazonaws.com/id/ABCDEF"
  front50_bucket_arn = "arn:aws:s3:::spin-front50"
  backup_bucket_arn  = "arn:aws:s3:::spin-backups"
}

run "front50_and_backup_roles_trust_exactly_their_service_accounts" {
  command = plan

  assert {
    condition     = sort(keys(aws_iam_role.this)) == tolist(["backup", "front50"])
    error_message = "Two IRSA roles by default: front50 and backup."
  }

  assert {
    condition = jsondecode(aws_iam_role.this["front50"].assume_role_policy).Statement == [{
      Effect    = "Allow"
      Principal = { Federated = "arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/ABCDEF" }
      Action    = "sts:AssumeRoleWithWebIdentity"
      Condition = {
        StringEquals = {
          "oidc.eks.eu-west-1.amazonaws.com/id/ABCDEF:sub" = ["system:serviceaccount:spinnaker:front50"]
          "oidc.eks.eu-west-1.amazonaws.com/id/ABCDEF:aud" = "sts.amazonaws.com"
        }
      }
    }]
    error_message = "front50's role should trust only spinnaker/front50 through the cluster's OIDC provider: ${aws_iam_role.this["front50"].assume_role_policy}."
  }

  assert {
    condition     = jsondecode(aws_iam_role.this["backup"].assume_role_policy).Statement[0].Condition.StringEquals["oidc.eks.eu-west-1.amazonaws.com/id/ABCDEF:sub"] == ["system:serviceaccount:spinnaker:spinops-backup"]
    error_message = "The backup role should trust only spinnaker/spinops-backup."
  }

  assert {
    condition     = aws_iam_role.this["front50"].name == "spin-front50" && aws_iam_role.this["backup"].name == "spin-backup"
    error_message = "Roles are named PREFIX-NAME."
  }
}

run "front50_may_use_its_bucket_only" {
  command = plan

  assert {
    condition = sort(distinct(flatten([
      for s in jsondecode(aws_iam_role_policy.this["front50"].policy).Statement : s.Resource
    ]))) == tolist(["arn:aws:s3:::spin-front50", "arn:aws:s3:::spin-front50/*"])
    error_message = "front50's policy may name its bucket and nothing else."
  }

  assert {
    condition     = alltrue([for s in jsondecode(aws_iam_role_policy.this["front50"].policy).Statement : s.Effect == "Allow" && alltrue([for a in s.Action : startswith(a, "s3:")])])
    error_message = "front50 gets S3 actions only."
  }
}

run "backup_reads_front50_and_writes_backups" {
  command = plan

  assert {
    condition = [
      for s in jsondecode(aws_iam_role_policy.this["backup"].policy).Statement : s.Resource if s.Sid == "BackupObjects"
    ] == [["arn:aws:s3:::spin-backups/*"]]
    error_message = "The backup role writes objects only in the backup bucket."
  }

  assert {
    condition = alltrue([
      for s in jsondecode(aws_iam_role_policy.this["backup"].policy).Statement :
      !contains(s.Action, "s3:PutObject") if s.Sid == "ReadFront50"
    ])
    error_message = "The backup role must not write to Front50's bucket."
  }
}

run "source_role_trust_output" {
  command = plan

  assert {
    condition = output.source_role_eks_oidc == {
      provider_arn     = "arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/ABCDEF"
      service_accounts = ["spinnaker:clouddriver", "spinnaker:rosco"]
    }
    error_message = "source_role_eks_oidc should feed spinops_iam_source_role's trust.eks_oidc block."
  }
}

run "kms_keys_and_additional_roles" {
  command = plan

  variables {
    kms_key_arns = ["arn:aws:kms:eu-west-1:123456789012:key/abc"]
    additional_roles = {
      kayenta = {
        service_accounts = ["kayenta"]
        policy_arns      = ["arn:aws:iam::aws:policy/CloudWatchReadOnlyAccess"]
      }
    }
  }

  assert {
    condition     = sort(keys(aws_iam_role.this)) == tolist(["backup", "front50", "kayenta"])
    error_message = "Additional roles are created beside the default ones."
  }

  assert {
    condition     = toset(keys(aws_iam_role_policy_attachment.this)) == toset(["kayenta/0"]) && aws_iam_role_policy_attachment.this["kayenta/0"].policy_arn == "arn:aws:iam::aws:policy/CloudWatchReadOnlyAccess"
    error_message = "Managed policies are attached to their role only."
  }

  assert {
    condition     = !contains(keys(aws_iam_role_policy.this), "kayenta")
    error_message = "No inline policy without policy_json."
  }

  assert {
    condition     = contains([for s in jsondecode(aws_iam_role_policy.this["front50"].policy).Statement : s.Sid], "BucketKeys")
    error_message = "With KMS keys, the bucket roles may use them."
  }
}

run "issuer_with_scheme_is_refused" {
  command = plan

  variables {
    oidc_provider = "https://oidc.eks.eu-west-1.amazonaws.com/id/ABCDEF"
  }

  expect_failures = [var.oidc_provider]
}

run "bucket_name_instead_of_arn_is_refused" {
  command = plan

  variables {
    front50_bucket_arn = "spin-front50"
  }

  expect_failures = [var.front50_bucket_arn]
}

run "one_trust_per_zone_namespace" {
  command = plan

  variables {
    namespaces = ["spinnaker-red", "spinnaker-green"]
  }

  assert {
    condition = toset(jsondecode(aws_iam_role.this["front50"].assume_role_policy).Statement[0].Condition.StringEquals["oidc.eks.eu-west-1.amazonaws.com/id/ABCDEF:sub"]) == toset([
      "system:serviceaccount:spinnaker-red:front50",
      "system:serviceaccount:spinnaker-green:front50",
    ])
    error_message = "front50's role should trust front50 in each zone's namespace and nowhere else."
  }

  assert {
    condition     = toset(output.source_role_eks_oidc.service_accounts) == toset(["spinnaker-red:clouddriver", "spinnaker-red:rosco", "spinnaker-green:clouddriver", "spinnaker-green:rosco"])
    error_message = "The source role's trust should list Clouddriver and Rosco in each zone's namespace."
  }
}

run "no_namespace_is_refused" {
  command = plan

  variables {
    namespaces = []
  }

  expect_failures = [var.namespaces]
}

# examples/basic, the module's usage example, plans with this file's mock
# providers: an example that no longer fits the module fails here.
run "example_basic" {
  command = plan

  module {
    source = "./examples/basic"
  }
}
