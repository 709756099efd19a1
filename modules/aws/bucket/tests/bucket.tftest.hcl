mock_provider "aws" {
  # ARNs the real provider's validation accepts (mocks make up random strings).
  mock_resource "aws_iam_role" {
    defaults = {
      arn = "arn:aws:iam::123456789012:role/mock"
    }
  }

  mock_resource "aws_s3_bucket" {
    defaults = {
      arn = "arn:aws:s3:::spinops-test-front50"
    }
  }
}

variables {
  bucket = "spinops-test-front50"
}

run "versioned_encrypted_and_private" {
  command = plan

  assert {
    condition     = aws_s3_bucket_versioning.this.versioning_configuration[0].status == "Enabled"
    error_message = "Versioning must be on."
  }

  assert {
    condition = (
      one(aws_s3_bucket_server_side_encryption_configuration.this.rule).apply_server_side_encryption_by_default[0].sse_algorithm == "AES256" &&
      one(aws_s3_bucket_server_side_encryption_configuration.this.rule).bucket_key_enabled == false
    )
    error_message = "Without a KMS key the bucket uses SSE-S3."
  }

  assert {
    condition = (
      aws_s3_bucket_public_access_block.this.block_public_acls &&
      aws_s3_bucket_public_access_block.this.block_public_policy &&
      aws_s3_bucket_public_access_block.this.ignore_public_acls &&
      aws_s3_bucket_public_access_block.this.restrict_public_buckets
    )
    error_message = "All four public access blocks must be on."
  }

  assert {
    condition     = aws_s3_bucket_ownership_controls.this.rule[0].object_ownership == "BucketOwnerEnforced"
    error_message = "ACLs must be disabled (bucket owner enforced)."
  }

  assert {
    condition     = aws_s3_bucket.this.force_destroy == false
    error_message = "A production bucket must not be force-destroyable by default."
  }

  assert {
    condition     = length(aws_s3_bucket_replication_configuration.this) == 0 && length(aws_iam_role.replication) == 0
    error_message = "No replication unless asked for."
  }
}

run "requests_without_tls_are_denied" {
  command = apply

  assert {
    condition = jsondecode(aws_s3_bucket_policy.this.policy).Statement == [{
      Sid       = "DenyInsecureTransport"
      Effect    = "Deny"
      Principal = "*"
      Action    = "s3:*"
      Resource  = ["arn:aws:s3:::spinops-test-front50", "arn:aws:s3:::spinops-test-front50/*"]
      Condition = { Bool = { "aws:SecureTransport" = "false" } }
    }]
    error_message = "The bucket policy must deny every request without TLS, and say nothing else: ${aws_s3_bucket_policy.this.policy}."
  }
}

run "lifecycle_expires_old_versions" {
  command = plan

  assert {
    condition = [
      for r in aws_s3_bucket_lifecycle_configuration.this.rule : r.noncurrent_version_expiration[0]
      if r.id == "noncurrent-versions"
    ][0] == { noncurrent_days = 90, newer_noncurrent_versions = 10 }
    error_message = "Noncurrent versions expire after 90 days, keeping the 10 newest."
  }

  assert {
    condition = [
      for r in aws_s3_bucket_lifecycle_configuration.this.rule : [for t in r.noncurrent_version_transition : "${t.noncurrent_days}:${t.storage_class}"]
      if r.id == "noncurrent-versions"
    ][0] == ["30:STANDARD_IA"]
    error_message = "Noncurrent versions move to STANDARD_IA after 30 days."
  }

  assert {
    condition     = [for r in aws_s3_bucket_lifecycle_configuration.this.rule : r.id if length(r.expiration) > 0] == ["housekeeping"]
    error_message = "Only the housekeeping rule has an expiration, and it never expires current objects (below)."
  }

  assert {
    condition = alltrue([
      for r in aws_s3_bucket_lifecycle_configuration.this.rule : r.expiration[0].expired_object_delete_marker && r.expiration[0].date == null
      if length(r.expiration) > 0
    ])
    error_message = "The housekeeping expiration only removes expired delete markers."
  }

  assert {
    condition = [
      for r in aws_s3_bucket_lifecycle_configuration.this.rule : r.abort_incomplete_multipart_upload[0].days_after_initiation
      if r.id == "housekeeping"
    ] == [7]
    error_message = "Incomplete multipart uploads are aborted after 7 days."
  }
}

run "kms_encryption" {
  command = plan

  variables {
    kms_key_arn = "arn:aws:kms:eu-west-1:123456789012:key/0b6c7b2e-1111-2222-3333-444455556666"
  }

  assert {
    condition = (
      one(aws_s3_bucket_server_side_encryption_configuration.this.rule).apply_server_side_encryption_by_default[0].sse_algorithm == "aws:kms" &&
      one(aws_s3_bucket_server_side_encryption_configuration.this.rule).apply_server_side_encryption_by_default[0].kms_master_key_id == "arn:aws:kms:eu-west-1:123456789012:key/0b6c7b2e-1111-2222-3333-444455556666" &&
      one(aws_s3_bucket_server_side_encryption_configuration.this.rule).bucket_key_enabled
    )
    error_message = "With a KMS key the bucket uses SSE-KMS with a bucket key."
  }
}

run "replication_with_a_created_role" {
  command = apply

  variables {
    replication = {
      destination_bucket_arn = "arn:aws:s3:::spinops-test-front50-replica"
    }
  }

  assert {
    condition     = length(aws_s3_bucket_replication_configuration.this) == 1 && aws_s3_bucket_replication_configuration.this[0].role == aws_iam_role.replication[0].arn
    error_message = "Replication should use the role the module creates."
  }

  assert {
    condition = (
      aws_s3_bucket_replication_configuration.this[0].rule[0].destination[0].bucket == "arn:aws:s3:::spinops-test-front50-replica" &&
      aws_s3_bucket_replication_configuration.this[0].rule[0].delete_marker_replication[0].status == "Enabled"
    )
    error_message = "Every object and delete marker should replicate to the destination."
  }

  assert {
    condition     = contains(flatten([for s in jsondecode(aws_iam_role_policy.replication[0].policy).Statement : s.Resource]), "arn:aws:s3:::spinops-test-front50-replica/*")
    error_message = "The replication role may write to the destination."
  }
}

run "replication_with_a_given_role" {
  command = plan

  variables {
    replication = {
      destination_bucket_arn = "arn:aws:s3:::spinops-test-front50-replica"
      role_arn               = "arn:aws:iam::123456789012:role/replication"
    }
  }

  assert {
    condition     = length(aws_iam_role.replication) == 0 && aws_s3_bucket_replication_configuration.this[0].role == "arn:aws:iam::123456789012:role/replication"
    error_message = "A given role is used as is."
  }
}

run "additional_policy_statements_keep_the_tls_deny" {
  command = apply

  variables {
    additional_policy_json = jsonencode({
      Version = "2012-10-17"
      Statement = [{
        Sid       = "ReplicationFromTooling"
        Effect    = "Allow"
        Principal = { AWS = "arn:aws:iam::111111111111:role/replication" }
        Action    = ["s3:ReplicateObject"]
        Resource  = ["arn:aws:s3:::spinops-test-front50/*"]
      }]
    })
  }

  assert {
    condition     = [for s in jsondecode(aws_s3_bucket_policy.this.policy).Statement : s.Sid] == ["DenyInsecureTransport", "ReplicationFromTooling"]
    error_message = "Additional statements are appended after the TLS deny."
  }
}

run "not_a_policy_is_refused" {
  command = plan

  variables {
    additional_policy_json = "{\"Allow\": true}"
  }

  expect_failures = [var.additional_policy_json]
}

run "bad_bucket_name_is_refused" {
  command = plan

  variables {
    bucket = "Spinnaker_Front50"
  }

  expect_failures = [var.bucket]
}

run "replicating_to_itself_is_refused" {
  command = plan

  variables {
    replication = {
      destination_bucket_arn = "arn:aws:s3:::spinops-test-front50"
    }
  }

  expect_failures = [var.replication]
}

run "early_transition_is_refused" {
  command = plan

  variables {
    noncurrent_version_transition_days = 7
  }

  expect_failures = [var.noncurrent_version_transition_days]
}

# examples/basic, the module's usage example, plans with this file's mock
# providers: an example that no longer fits the module fails here.
run "example_basic" {
  command = plan

  module {
    source = "./examples/basic"
  }
}
