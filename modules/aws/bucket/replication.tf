################################################################################
# Optional replication to another bucket (region or account)
################################################################################

locals {
  replicate          = var.replication != null
  create_replication = local.replicate && try(var.replication.role_arn, null) == null
}

resource "aws_iam_role" "replication" {
  count = local.create_replication ? 1 : 0

  name_prefix = "s3-replication-"
  description = "Replicates ${var.bucket}"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "s3.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })

  tags = var.tags
}

resource "aws_iam_role_policy" "replication" {
  count = local.create_replication ? 1 : 0

  name = "replication"
  role = aws_iam_role.replication[0].id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = concat([
      {
        Effect   = "Allow"
        Action   = ["s3:GetReplicationConfiguration", "s3:ListBucket"]
        Resource = [aws_s3_bucket.this.arn]
      },
      {
        Effect   = "Allow"
        Action   = ["s3:GetObjectVersionForReplication", "s3:GetObjectVersionAcl", "s3:GetObjectVersionTagging"]
        Resource = ["${aws_s3_bucket.this.arn}/*"]
      },
      {
        Effect   = "Allow"
        Action   = ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags", "s3:ObjectOwnerOverrideToBucketOwner"]
        Resource = ["${var.replication.destination_bucket_arn}/*"]
      },
      ], var.kms_key_arn == null ? [] : [{
        Effect   = "Allow"
        Action   = ["kms:Decrypt"]
        Resource = [var.kms_key_arn]
        }], try(var.replication.replica_kms_key_arn, null) == null ? [] : [{
        Effect   = "Allow"
        Action   = ["kms:Encrypt", "kms:GenerateDataKey"]
        Resource = [var.replication.replica_kms_key_arn]
    }])
  })
}

resource "aws_s3_bucket_replication_configuration" "this" {
  count = local.replicate ? 1 : 0

  bucket = aws_s3_bucket.this.id
  role   = coalesce(try(var.replication.role_arn, null), try(aws_iam_role.replication[0].arn, null))

  rule {
    id       = "everything"
    status   = "Enabled"
    priority = 1

    filter {}

    delete_marker_replication {
      status = "Enabled"
    }

    dynamic "source_selection_criteria" {
      for_each = var.kms_key_arn == null ? [] : [1]
      content {
        sse_kms_encrypted_objects {
          status = "Enabled"
        }
      }
    }

    destination {
      bucket        = var.replication.destination_bucket_arn
      storage_class = var.replication.storage_class
      account       = var.replication.destination_account_id

      dynamic "access_control_translation" {
        for_each = var.replication.destination_account_id == null ? [] : [1]
        content {
          owner = "Destination"
        }
      }

      dynamic "encryption_configuration" {
        for_each = var.replication.replica_kms_key_arn == null ? [] : [var.replication.replica_kms_key_arn]
        content {
          replica_kms_key_id = encryption_configuration.value
        }
      }
    }
  }

  # Replication requires versioning on the source first.
  depends_on = [aws_s3_bucket_versioning.this]
}
