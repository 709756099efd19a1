output "deck_url" {
  description = "Where users open Spinnaker."
  value       = module.edge.deck_url
}

output "gate_url" {
  description = "Gate behind the ALB."
  value       = module.edge.gate_url
}

output "gate_x509_url" {
  description = "Gate's x509 endpoint behind the NLB."
  value       = module.edge.gate_x509_url
}

output "kubernetes" {
  description = "The control cluster's connection, as the spinops provider's kubernetes block takes it."
  value       = module.eks.kubernetes
}

output "source_role_arn" {
  description = "The managing role: what the target accounts' managed roles must trust."
  value       = spinops_iam_source_role.this.arn
}

output "ready_for_install" {
  description = "Whether the provider's credentials may install Spinnaker on the cluster."
  value       = module.platform.ready_for_install
}

output "spinnaker" {
  description = "Everything the Spinnaker installation takes from the foundation: SQL endpoints, buckets, service-account roles, URLs, target groups."
  value       = local.spinnaker
}

output "zones" {
  description = "The zones' status and Deck/Gate URLs as the operator reports them."
  value = {
    for z in values(module.platform.zones) : z.name => {
      status           = z.status
      deployed_version = z.deployed_version
      verified_version = z.verified_version
      ui_url           = z.ui_url
      api_url          = z.api_url
    }
  }
}

output "agent_accounts" {
  description = "The clusters attached through the bridge, by account name: status (connected, syncing, never_connected, unavailable or withdrawn), Kubernetes version, objects cached by kind, and the endpoint Clouddriver reads them from."
  value       = module.platform.agent_accounts
}

output "bridge" {
  description = "The spinops bridge: the address agents and the provider dial (the edge NLB), the endpoint Clouddriver reads clusters from, and the CA its certificate chains to (the provider's bridge.tls.ca_certificate)."
  value = {
    address        = module.platform.bridge.address
    endpoint_url   = module.platform.bridge.endpoint_url
    ca_certificate = module.platform.bridge.ca_certificate
  }
}

output "karpenter" {
  description = "With karpenter: the chart to install (helm_chart: OCI repository, name, version, namespace), its values (helm_values_yaml: the cluster, the controller's role, the interruption queue), and the NodePool and EC2NodeClass to apply once it runs (node_pool_yaml, node_class_yaml). null without."
  value = var.karpenter ? {
    helm_chart       = module.karpenter[0].helm_chart
    helm_values_yaml = module.karpenter[0].helm_values_yaml
    node_pool_yaml   = module.karpenter[0].node_pool_yaml
    node_class_yaml  = module.karpenter[0].node_class_yaml
  } : null
}

output "lb_controller" {
  description = "With lb_controller: the AWS Load Balancer Controller's chart to install (helm_chart: repository, name, version, namespace), its values (helm_values_yaml: the cluster, region, VPC, the service account and its role) and the role's ARN (role_arn). null without."
  value = var.lb_controller ? {
    helm_chart       = module.lb_controller[0].helm_chart
    helm_values_yaml = module.lb_controller[0].helm_values_yaml
    role_arn         = module.lb_controller[0].role_arn
  } : null
}
