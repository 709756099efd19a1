output "source_role_arn" {
  description = "The managing role Clouddriver and Rosco run as."
  value       = spinops_iam_source_role.this.arn
}

output "managed_roles" {
  description = "What trusts the source role, as the provider reads it back: per managed role ARN, whether it is readable and trusts the source role."
  value       = spinops_iam_source_role.this.managed_roles
}

output "spinnaker_aws_accounts" {
  description = "Spinnaker AWS accounts (Clouddriver's aws.accounts): name, account ID, the role to assume and the external ID."
  value = {
    for k, id in var.target_accounts : k => {
      accountId  = id
      assumeRole = "role/${var.managed_role_name}"
      externalId = var.external_id
      roleArn    = k == "staging" ? module.managed_role_staging.role_arn : module.managed_role_production.role_arn
    }
  }
}
