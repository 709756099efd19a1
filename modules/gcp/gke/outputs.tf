output "cluster_name" {
  description = "Name of the cluster."
  value       = try(google_container_cluster.this.name, null)
}

output "cluster_id" {
  description = "ID of the cluster (projects/P/locations/L/clusters/N)."
  value       = try(google_container_cluster.this.id, null)
}

output "location" {
  description = "Region of the cluster."
  value       = try(google_container_cluster.this.location, null)
}

output "cluster_endpoint" {
  description = "URL of the control plane: the spinops provider's kubernetes.host."
  value       = try("https://${google_container_cluster.this.endpoint}", null)
}

output "cluster_ca_certificate" {
  description = "PEM CA certificate of the control plane: the spinops provider's kubernetes.cluster_ca_certificate (use it with a `gke {}` block)."
  value       = try(base64decode(google_container_cluster.this.master_auth[0].cluster_ca_certificate), null)
}

output "workload_pool" {
  description = "The Workload Identity pool (PROJECT.svc.id.goog)."
  value       = local.workload_pool
}

output "node_service_account_email" {
  description = "Email of the nodes' service account."
  value       = try(google_service_account.nodes.email, null)
}

output "node_pool_names" {
  description = "Names of the node pools."
  value       = [for p in google_container_node_pool.this : p.name]
}

output "workload_identity_service_accounts" {
  description = "Google service account emails by short name; annotate the Kubernetes service accounts with iam.gke.io/gcp-service-account = the email."
  value       = { for k, sa in google_service_account.workload : k => sa.email }
}

output "workload_identity_members" {
  description = "IAM members of the Google service accounts by short name (serviceAccount:EMAIL), ready for bucket or project grants."
  value       = { for k, sa in google_service_account.workload : k => "serviceAccount:${sa.email}" }
}
