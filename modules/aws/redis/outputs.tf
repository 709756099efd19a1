output "replication_group_id" {
  description = "ID of the replication group."
  value       = try(aws_elasticache_replication_group.this.id, null)
}

output "replication_group_arn" {
  description = "ARN of the replication group."
  value       = try(aws_elasticache_replication_group.this.arn, null)
}

output "endpoint" {
  description = "The primary endpoint as host:port: it follows the primary through a failover. TLS only; Spinnaker takes it as url (rediss://)."
  value       = "${aws_elasticache_replication_group.this.primary_endpoint_address}:${aws_elasticache_replication_group.this.port}"
}

output "url" {
  description = "rediss://host:port of the primary endpoint: what spinops_managed_spinnaker's redis.endpoint (modules/spinops/platform's redis_endpoint) takes. The scheme turns TLS on in Spinnaker's Redis clients; a bare host:port would be read as redis:// (plain text), which this replication group refuses."
  value       = "rediss://${aws_elasticache_replication_group.this.primary_endpoint_address}:${aws_elasticache_replication_group.this.port}"
}

output "reader_endpoint" {
  description = "The reader endpoint as host:port (spread over the replicas)."
  value       = "${aws_elasticache_replication_group.this.reader_endpoint_address}:${aws_elasticache_replication_group.this.port}"
}

output "member_clusters" {
  description = "IDs of the nodes (cache clusters)."
  value       = try(aws_elasticache_replication_group.this.member_clusters, null)
}

output "node_availability_zones" {
  description = "AZ of each node, primary first: all different with ha."
  value       = local.node_azs
}

output "security_group_id" {
  description = "The Redis security group (6379 from source_security_group_ids only)."
  value       = try(aws_security_group.this.id, null)
}

output "subnet_group_name" {
  description = "Name of the cache subnet group."
  value       = try(aws_elasticache_subnet_group.this.name, null)
}

output "parameter_group_name" {
  description = "Name of the parameter group."
  value       = try(aws_elasticache_parameter_group.this.name, null)
}

output "spinnaker_profiles" {
  description = "Profiles Spinnaker needs with this Redis, as spinops_managed_spinnaker's profiles (service => YAML): ElastiCache refuses CONFIG, so Gate must not set notify-keyspace-events itself (redis.configuration.secure); the parameter group sets it. modules/spinops/platform sets this whenever redis_endpoint is given."
  value       = { gate = yamlencode({ redis = { configuration = { secure = true } } }) }
}
