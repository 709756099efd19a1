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
  value       = module.platform.ready_for_install
}

output "spinnaker" {
  description = "Everything the Spinnaker installation takes from the foundation: SQL addresses, buckets, Workload Identity annotations."
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
  description = "The spinops bridge: the address agents and the provider dial (the load balancer), the endpoint Clouddriver reads clusters from, and the CA its certificate chains to (the provider's bridge.tls.ca_certificate)."
  value = {
    address        = module.platform.bridge.address
    endpoint_url   = module.platform.bridge.endpoint_url
    ca_certificate = module.platform.bridge.ca_certificate
  }
}

output "edge" {
  description = "How users reach Spinnaker: the load balancer's address (DOMAIN and api.DOMAIN must resolve to it), Deck's and Gate's URLs, and the NEG names by service."
  value = {
    ip_address = module.edge.ip_address
    deck_url   = module.edge.deck_url
    gate_url   = module.edge.gate_url
    neg_names  = module.edge.neg_names
  }
}
