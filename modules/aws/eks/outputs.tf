output "cluster_name" {
  description = "Name of the cluster: the spinops provider's kubernetes.eks.cluster_name."
  value       = try(aws_eks_cluster.this.name, null)
}

output "cluster_arn" {
  description = "ARN of the cluster."
  value       = try(aws_eks_cluster.this.arn, null)
}

output "cluster_endpoint" {
  description = "URL of the API server: the spinops provider's kubernetes.host."
  value       = try(aws_eks_cluster.this.endpoint, null)
}

output "cluster_certificate_authority_data" {
  description = "Base64-encoded CA certificate of the API server (as EKS returns it)."
  value       = try(aws_eks_cluster.this.certificate_authority[0].data, null)
}

output "cluster_ca_certificate" {
  description = "PEM CA certificate of the API server: the spinops provider's kubernetes.cluster_ca_certificate."
  value       = try(base64decode(aws_eks_cluster.this.certificate_authority[0].data), null)
}

output "cluster_version" {
  description = "Kubernetes version of the control plane."
  value       = try(aws_eks_cluster.this.version, null)
}

output "region" {
  description = "Region of the cluster: the spinops provider's kubernetes.eks.region."
  value       = try(data.aws_region.current.region, null)
}

output "kubernetes" {
  description = "Everything the spinops provider's `kubernetes` block needs for this cluster: host, cluster_ca_certificate and eks { cluster_name, region }."
  value = {
    host                   = try(aws_eks_cluster.this.endpoint, null)
    cluster_ca_certificate = try(base64decode(aws_eks_cluster.this.certificate_authority[0].data), null)
    eks = {
      cluster_name = try(aws_eks_cluster.this.name, null)
      region       = try(data.aws_region.current.region, null)
    }
  }
}

output "cluster_security_group_id" {
  description = "The security group EKS created for the control plane and nodes."
  value       = try(aws_eks_cluster.this.vpc_config[0].cluster_security_group_id, null)
}

output "oidc_provider_arn" {
  description = "ARN of the IAM OIDC provider for IRSA (the iam module's and spinops_iam_source_role's trust)."
  value       = try(aws_iam_openid_connect_provider.this.arn, null)
}

output "oidc_issuer_url" {
  description = "The cluster's OIDC issuer URL."
  value       = try(aws_eks_cluster.this.identity[0].oidc[0].issuer, null)
}

output "oidc_provider" {
  description = "The OIDC issuer without https://, the prefix of IRSA trust conditions (ISSUER:sub, ISSUER:aud)."
  value       = try(replace(aws_eks_cluster.this.identity[0].oidc[0].issuer, "https://", ""), null)
}

output "node_iam_role_arn" {
  description = "ARN of the nodes' IAM role."
  value       = try(aws_iam_role.node.arn, null)
}

output "node_iam_role_name" {
  description = "Name of the nodes' IAM role."
  value       = try(aws_iam_role.node.name, null)
}

output "node_group_names" {
  description = "Names of the managed node groups."
  value       = [for g in aws_eks_node_group.this : g.node_group_name]
}

output "cloudwatch_log_group_name" {
  description = "Log group of the control-plane logs."
  value       = try(aws_cloudwatch_log_group.this.name, null)
}
