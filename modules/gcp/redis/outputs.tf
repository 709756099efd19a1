output "id" {
  description = "ID of the instance."
  value       = try(google_redis_instance.this.id, null)
}

output "host" {
  description = "The instance's address (it stays the same through a failover)."
  value       = try(google_redis_instance.this.host, null)
}

output "port" {
  description = "The instance's port (6379; 6378 with transit_encryption)."
  value       = try(google_redis_instance.this.port, null)
}

output "endpoint" {
  description = "host:port of the instance. Without transit_encryption this is what spinops_managed_spinnaker's redis.endpoint (modules/spinops/platform's redis_endpoint) takes; url works in both cases."
  value       = "${google_redis_instance.this.host}:${google_redis_instance.this.port}"
}

output "url" {
  description = "The instance as Spinnaker's Redis URL: redis://host:port, or rediss://host:port with transit_encryption (the scheme turns TLS on in Spinnaker's Redis clients)."
  value       = "${var.transit_encryption ? "rediss" : "redis"}://${google_redis_instance.this.host}:${google_redis_instance.this.port}"
}

output "tier" {
  description = "STANDARD_HA (a replica in another zone) or BASIC."
  value       = try(google_redis_instance.this.tier, null)
}

output "current_location_id" {
  description = "Zone the primary is in now (it changes on failover)."
  value       = try(google_redis_instance.this.current_location_id, null)
}

output "server_ca_certs" {
  description = "PEM certificates of the CA that signs the instance's TLS certificate (with transit_encryption): Spinnaker's JVMs must trust it."
  value       = try([for c in google_redis_instance.this.server_ca_certs : c.cert], [])
}

output "firewall_rule_names" {
  description = "Names of the allow and deny rules (empty without firewall)."
  value       = concat(google_compute_firewall.redis[*].name, google_compute_firewall.redis_deny[*].name)
}

output "spinnaker_profiles" {
  description = "Profiles Spinnaker needs with this Redis, as spinops_managed_spinnaker's profiles (service => YAML): Memorystore blocks CONFIG, so Gate must not set notify-keyspace-events itself (redis.configuration.secure); redis_configs sets it. modules/spinops/platform sets this whenever redis_endpoint is given."
  value       = { gate = yamlencode({ redis = { configuration = { secure = true } } }) }
}
