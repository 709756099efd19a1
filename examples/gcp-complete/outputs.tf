output "cluster_endpoint" {
  description = "The control cluster's API server."
  value       = module.gke.cluster_endpoint
}

output "nat_ip_addresses" {
  description = "Spinnaker's egress addresses (empty with automatic NAT IPs)."
  value       = module.network.nat_ip_addresses
}

output "ready_for_install" {
  description = "Whether the provider's credentials may install Spinnaker on the cluster."
  value       = data.spinops_kubernetes_cluster.control.ready_for_install
}

output "spinnaker" {
  description = "Everything the Spinnaker installation takes from the foundation: SQL addresses, buckets, Workload Identity annotations."
  value       = local.spinnaker
}
