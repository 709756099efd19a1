output "bucket_id" {
  description = "Name of the bucket."
  value       = try(aws_s3_bucket.this.id, null)
}

output "bucket_arn" {
  description = "ARN of the bucket (for IAM policies: the iam module's bucket_arns)."
  value       = try(aws_s3_bucket.this.arn, null)
}

output "bucket_region" {
  description = "Region of the bucket."
  value       = try(aws_s3_bucket.this.region, null)
}

output "bucket_regional_domain_name" {
  description = "Regional domain name of the bucket."
  value       = try(aws_s3_bucket.this.bucket_regional_domain_name, null)
}

output "kms_key_arn" {
  description = "KMS key encrypting the bucket (null: SSE-S3)."
  value       = var.kms_key_arn
}

output "replication_role_arn" {
  description = "Role S3 replicates with (null without replication)."
  value       = local.replicate ? coalesce(try(var.replication.role_arn, null), try(aws_iam_role.replication[0].arn, null)) : null
}
