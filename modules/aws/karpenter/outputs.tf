output "controller_role_arn" {
  description = "ARN of the controller's IRSA role: the karpenter service account's eks.amazonaws.com/role-arn annotation (in helm_values)."
  value       = aws_iam_role.controller.arn
}

output "controller_role_name" {
  description = "Name of the controller's IRSA role."
  value       = aws_iam_role.controller.name
}

output "controller_policy_arns" {
  description = "The controller's managed policies by concern (node-lifecycle, instance-profiles, discovery, interruption)."
  value       = { for k, p in aws_iam_policy.controller : k => p.arn }
}

output "node_role_name" {
  description = "Name of the nodes' IAM role (the EC2NodeClass's role; Karpenter makes the instance profile for it)."
  value       = aws_iam_role.node.name
}

output "node_role_arn" {
  description = "ARN of the nodes' IAM role (in the cluster through the EC2_LINUX access entry)."
  value       = aws_iam_role.node.arn
}

output "queue_name" {
  description = "Name of the interruption queue: the chart's settings.interruptionQueue (in helm_values)."
  value       = aws_sqs_queue.interruption.name
}

output "queue_url" {
  description = "URL of the interruption queue."
  value       = aws_sqs_queue.interruption.url
}

output "queue_arn" {
  description = "ARN of the interruption queue."
  value       = aws_sqs_queue.interruption.arn
}

output "event_rule_names" {
  description = "EventBridge rules feeding the interruption queue, by event (spot-interruption, rebalance, state-change, scheduled-change, capacity-reservation)."
  value       = { for k, r in aws_cloudwatch_event_rule.interruption : k => r.name }
}

output "service_account" {
  description = "The Kubernetes service account the controller's role trusts (namespace and name)."
  value       = { namespace = var.namespace, name = local.service_account }
}

output "node_pool" {
  description = "The NodePool (karpenter.sh/v1) as an object."
  value       = local.node_pool
}

output "node_class" {
  description = "The EC2NodeClass (karpenter.k8s.aws/v1) as an object."
  value       = local.node_class
}

output "node_pool_yaml" {
  description = "The NodePool as YAML, for kubectl apply or a GitOps repository when install_manifests is false."
  value       = yamlencode(local.node_pool)
}

output "node_class_yaml" {
  description = "The EC2NodeClass as YAML, for kubectl apply or a GitOps repository when install_manifests is false."
  value       = yamlencode(local.node_class)
}

output "helm_chart" {
  description = "The Karpenter chart to install (helm upgrade --install RELEASE oci://REPOSITORY/CHART --version VERSION --namespace NAMESPACE -f values)."
  value = {
    repository = "oci://public.ecr.aws/karpenter"
    chart      = "karpenter"
    version    = var.karpenter_version
    namespace  = var.namespace
  }
}

output "helm_values" {
  description = "Values for the Karpenter chart that tie it to this module: the service account (name and role annotation), the cluster and the interruption queue."
  value       = local.helm_values
}

output "helm_values_yaml" {
  description = "helm_values as YAML (helm -f)."
  value       = yamlencode(local.helm_values)
}
