output "network_id" {
  description = "ID of the VPC network (projects/P/global/networks/N)."
  value       = try(google_compute_network.this.id, null)
}

output "network_name" {
  description = "Name of the VPC network."
  value       = try(google_compute_network.this.name, null)
}

output "network_self_link" {
  description = "Self link of the VPC network."
  value       = try(google_compute_network.this.self_link, null)
}

output "private_network_id" {
  description = "The network ID for Cloud SQL private IP: the same as network_id, but only known once private services access is peered, so passing it orders the database after the peering."
  value       = try(google_service_networking_connection.this[0].network, google_compute_network.this.id, null)
}

output "region" {
  description = "Region of the subnet, router and NAT."
  value       = var.region
}

output "subnet_id" {
  description = "ID of the subnet."
  value       = try(google_compute_subnetwork.this.id, null)
}

output "subnet_name" {
  description = "Name of the subnet."
  value       = try(google_compute_subnetwork.this.name, null)
}

output "subnet_self_link" {
  description = "Self link of the subnet."
  value       = try(google_compute_subnetwork.this.self_link, null)
}

output "subnet_cidr" {
  description = "Primary range of the subnet (node IPs)."
  value       = local.ranges.nodes
}

output "pods_range_name" {
  description = "Name of the secondary range for pods (GKE ip_allocation_policy.cluster_secondary_range_name)."
  value       = local.pods_range_name
}

output "pods_cidr" {
  description = "Secondary range for pods."
  value       = local.ranges.pods
}

output "services_range_name" {
  description = "Name of the secondary range for Services (GKE ip_allocation_policy.services_secondary_range_name)."
  value       = local.services_range_name
}

output "services_cidr" {
  description = "Secondary range for Services."
  value       = local.ranges.services
}

output "private_services_cidr" {
  description = "Range reserved for private services access (Cloud SQL)."
  value       = local.ranges.private_services
}

output "router_name" {
  description = "Name of the Cloud Router that carries Cloud NAT."
  value       = try(google_compute_router.this.name, null)
}

output "nat_ip_addresses" {
  description = "Static external IPs of Cloud NAT (empty when Google allocates them)."
  value       = try(google_compute_address.nat[*].address, [])
}

output "internal_tag" {
  description = "Network tag of the internal group; put it on the GKE nodes."
  value       = local.internal_tag
}

output "user_facing_tag" {
  description = "Network tag that receives the user-facing rules (Deck 80/443, Gate 8084/443)."
  value       = local.user_facing_tag
}

output "firewall_rule_names" {
  description = "Names of the firewall rules, by role."
  value = {
    user_facing   = [for r in google_compute_firewall.user_facing : r.name]
    internal      = try(google_compute_firewall.internal.name, null)
    database      = try(google_compute_firewall.database.name, null)
    database_deny = try(google_compute_firewall.database_deny.name, null)
  }
}
