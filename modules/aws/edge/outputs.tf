output "alb_arn" {
  description = "ARN of the ALB (Deck and Gate)."
  value       = try(aws_lb.this.arn, null)
}

output "alb_dns_name" {
  description = "DNS name of the ALB."
  value       = try(aws_lb.this.dns_name, null)
}

output "nlb_arn" {
  description = "ARN of the NLB (Gate x509)."
  value       = try(aws_lb.x509.arn, null)
}

output "nlb_dns_name" {
  description = "DNS name of the NLB."
  value       = try(aws_lb.x509.dns_name, null)
}

output "target_group_arns" {
  description = "Target group ARNs by service (deck, gate, gate_x509), for the AWS Load Balancer Controller's TargetGroupBindings."
  value = {
    deck      = try(aws_lb_target_group.deck.arn, null)
    gate      = try(aws_lb_target_group.gate.arn, null)
    gate_x509 = try(aws_lb_target_group.gate_x509.arn, null)
  }
}

output "certificate_arn" {
  description = "ARN of the (validated) certificate."
  value       = try(local.certificate_arn, null)
}

output "deck_url" {
  description = "Deck's URL (Spinnaker's ui.overrideBaseUrl)."
  value       = "https://${var.deck_domain}"
}

output "gate_url" {
  description = "Gate's URL behind the ALB (Spinnaker's api.overrideBaseUrl)."
  value       = "https://${var.gate_domain}"
}

output "gate_x509_url" {
  description = "Gate's x509 URL behind the NLB (for the spin CLI with a client certificate)."
  value       = var.gate_x509_listener_port == 443 ? "https://${var.gate_x509_domain}" : "https://${var.gate_x509_domain}:${var.gate_x509_listener_port}"
}

output "fqdns" {
  description = "The Route 53 records by service."
  value       = { for k, r in aws_route53_record.this : k => r.name }
}

output "bridge_nlb_arn" {
  description = "ARN of the bridge's NLB (null unless bridge.enabled)."
  value       = try(aws_lb.bridge["this"].arn, null)
}

output "bridge_nlb_dns_name" {
  description = "DNS name of the bridge's NLB (null unless bridge.enabled)."
  value       = try(aws_lb.bridge["this"].dns_name, null)
}

output "bridge_address" {
  description = "host:port agents dial (the provider's and the agents' bridge gRPC address): bridge.domain when given, else the NLB's DNS name; null unless bridge.enabled."
  value       = var.bridge.enabled ? "${coalesce(var.bridge.domain, try(aws_lb.bridge["this"].dns_name, null))}:${var.bridge.listener_port}" : null
}

output "bridge_target_group_arn" {
  description = "Target group of the bridge pods' gRPC port, for a TargetGroupBinding (null unless bridge.enabled)."
  value       = try(aws_lb_target_group.bridge["this"].arn, null)
}

output "bridge_security_group_id" {
  description = "Security group of the bridge's NLB, admitting bridge.allowed_cidrs (null unless bridge.enabled)."
  value       = try(aws_security_group.bridge["this"].id, null)
}

output "web_acl_arn" {
  description = "The web ACL on the ALB (created here or given as waf.web_acl_arn); null when waf.enabled is false."
  value       = local.web_acl_arn
}

output "target_group_bindings" {
  description = "The TargetGroupBinding objects (elbv2.k8s.aws/v1beta1) for Deck, Gate and Gate's x509 port, for kubernetes_manifest; the AWS Load Balancer Controller must run in the cluster to act on them (modules/aws/lb-controller makes its IAM and names its chart)."
  value       = local.target_group_bindings
}

output "target_group_bindings_yaml" {
  description = "The same TargetGroupBindings as one multi-document YAML, for kubectl apply -f or a GitOps repository."
  value       = join("---\n", [for b in local.target_group_bindings : yamlencode(b)])
}
