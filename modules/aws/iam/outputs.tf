output "role_arns" {
  description = "IRSA role ARNs by short name (front50, backup and the additional roles)."
  value       = { for k, r in aws_iam_role.this : k => r.arn }
}

output "role_names" {
  description = "IRSA role names by short name."
  value       = { for k, r in aws_iam_role.this : k => r.name }
}

output "service_account_annotations" {
  description = "Annotations for each Kubernetes service account (by name, the same in every namespace): eks.amazonaws.com/role-arn."
  value = merge([
    for k, r in local.roles : {
      for sa in r.service_accounts : sa => { "eks.amazonaws.com/role-arn" = aws_iam_role.this[k].arn }
    }
  ]...)
}

output "source_role_eks_oidc" {
  description = "The `trust.eks_oidc` block of spinops_iam_source_role: the OIDC provider and the service accounts (namespace:name) that run as the managing role."
  value = {
    provider_arn     = var.oidc_provider_arn
    service_accounts = [for p in setproduct(var.namespaces, var.source_role_service_accounts) : "${p[0]}:${p[1]}"]
  }
}
