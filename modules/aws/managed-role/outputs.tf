output "role_arn" {
  description = "ARN of the managed role (one of spinops_iam_source_role's managed_role_arns)."
  value       = try(aws_iam_role.this.arn, null)
}

output "role_name" {
  description = "Name of the managed role."
  value       = try(aws_iam_role.this.name, null)
}
