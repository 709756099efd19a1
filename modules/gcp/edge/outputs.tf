output "ip_address" {
  description = "The load balancer's global IPv4 address (Deck and Gate); deck_domain and gate_domain must resolve to it."
  value       = try(google_compute_global_address.this.address, null)
}

output "deck_url" {
  description = "Deck's URL (Spinnaker's ui.overrideBaseUrl)."
  value       = "https://${var.deck_domain}"
}

output "gate_url" {
  description = "Gate's URL (Spinnaker's api.overrideBaseUrl)."
  value       = "https://${var.gate_domain}"
}

output "neg_names" {
  description = "Names of the standalone NEGs by service (deck, gate) that the backend services take from each of neg_zones."
  value       = local.neg_names
}

output "service_annotations" {
  description = "Annotations Deck's and Gate's Kubernetes Services must carry (by service) so that GKE's NEG controller creates and fills the NEGs the backend services use."
  value = {
    for k, s in local.services : k => {
      "cloud.google.com/neg" = jsonencode({ exposed_ports = { tostring(s.service_port) = { name = s.neg } } })
    }
  }
}

output "backend_service_ids" {
  description = "Backend services by service (deck, gate)."
  value       = { for k, b in google_compute_backend_service.this : k => b.id }
}

output "security_policy_id" {
  description = "ID of the Cloud Armor security policy on both backend services."
  value       = try(google_compute_security_policy.this.id, null)
}

output "security_policy_name" {
  description = "Name of the Cloud Armor security policy."
  value       = try(google_compute_security_policy.this.name, null)
}

output "certificate_ids" {
  description = "The certificates the HTTPS proxy serves: the Google-managed one, or ssl_certificates."
  value       = try(google_compute_target_https_proxy.this.ssl_certificates, null)
}

output "url_map_id" {
  description = "ID of the HTTPS URL map."
  value       = try(google_compute_url_map.https.id, null)
}

output "fqdns" {
  description = "The Cloud DNS records by service (empty without dns_managed_zone)."
  value       = { for k, r in google_dns_record_set.this : k => r.name }
}

output "bridge_ip" {
  description = "The bridge's reserved regional address (null unless bridge.enabled)."
  value       = try(google_compute_address.bridge["this"].address, null)
}

output "bridge_address" {
  description = "host:port agents dial (the provider's and the agents' bridge gRPC address): bridge.domain when given, else the address; null unless bridge.enabled."
  value       = var.bridge.enabled ? "${coalesce(var.bridge.domain, try(google_compute_address.bridge["this"].address, null))}:${var.bridge.listener_port}" : null
}

output "bridge_service" {
  description = "What the bridge's Service of type LoadBalancer needs (spinops_bridge's grpc_service: type, port, load_balancer_ip, source_ranges, annotations); null unless bridge.enabled."
  value = var.bridge.enabled ? {
    type             = "LoadBalancer"
    port             = var.bridge.listener_port
    load_balancer_ip = try(google_compute_address.bridge["this"].address, null)
    source_ranges    = sort(distinct(var.bridge.allowed_cidrs))
    annotations      = { "cloud.google.com/l4-rbs" = "enabled" }
  } : null
}

output "bridge_firewall_rule_names" {
  description = "The bridge's firewall rules (allow allowed_cidrs, deny everyone else); empty unless bridge.enabled."
  value       = concat([for r in google_compute_firewall.bridge_allow : r.name], [for r in google_compute_firewall.bridge_deny : r.name])
}
