output "role_arn" {
  description = "ARN of the controller's IRSA role: the service account's eks.amazonaws.com/role-arn annotation (in helm_values)."
  value       = aws_iam_role.this.arn
}

output "role_name" {
  description = "Name of the controller's IRSA role."
  value       = aws_iam_role.this.name
}

output "policy_arns" {
  description = "The controller's managed policies by concern (discovery, integrations, security-groups, load-balancers), all attached to the role."
  value       = { for k, p in aws_iam_policy.this : k => p.arn }
}

output "service_account" {
  description = "The Kubernetes service account the role trusts: namespace, name and the annotations that give it the role (the chart creates it from helm_values)."
  value = {
    namespace   = var.namespace
    name        = var.service_account
    annotations = local.service_account_annotations
  }
}

output "helm_chart" {
  description = "The chart to install (helm upgrade --install RELEASE CHART --repo REPOSITORY --version VERSION --namespace NAMESPACE -f values)."
  value = {
    repository = "https://aws.github.io/eks-charts"
    chart      = "aws-load-balancer-controller"
    version    = var.chart_version
    namespace  = var.namespace
  }
}

output "helm_values" {
  description = "Values for the chart that tie it to this module: clusterName (the tag the policies require), region, vpcId, replicaCount and its PodDisruptionBudget, and the service account (name and role annotation)."
  value       = local.helm_values
}

output "helm_values_yaml" {
  description = "helm_values as YAML (helm -f)."
  value       = yamlencode(local.helm_values)
}
