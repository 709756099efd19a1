output "cluster_identifier" {
  description = "Identifier of the Aurora cluster."
  value       = try(aws_rds_cluster.this.cluster_identifier, null)
}

output "cluster_arn" {
  description = "ARN of the Aurora cluster."
  value       = try(aws_rds_cluster.this.arn, null)
}

output "cluster_resource_id" {
  description = "Resource ID of the cluster (for rds-db:connect IAM policies)."
  value       = try(aws_rds_cluster.this.cluster_resource_id, null)
}

output "endpoint" {
  description = "The writer endpoint (Spinnaker's primary connection)."
  value       = try(aws_rds_cluster.this.endpoint, null)
}

output "reader_endpoint" {
  description = "The reader endpoint, load-balanced over the readers (Clouddriver's read-only pool)."
  value       = try(aws_rds_cluster.this.reader_endpoint, null)
}

output "port" {
  description = "MySQL port."
  value       = try(aws_rds_cluster.this.port, null)
}

output "database_name" {
  description = "Database created with the cluster."
  value       = try(aws_rds_cluster.this.database_name, null)
}

output "master_username" {
  description = "The master user's name."
  value       = try(aws_rds_cluster.this.master_username, null)
}

output "master_user_secret_arn" {
  description = "ARN of the Secrets Manager secret holding the master password (when RDS manages it)."
  value       = try(aws_rds_cluster.this.master_user_secret[0].secret_arn, null)
}

output "writer_availability_zone" {
  description = "AZ of the writer instance."
  value       = try(aws_rds_cluster_instance.writer.availability_zone, null)
}

output "reader_availability_zones" {
  description = "AZs of the reader instances."
  value       = aws_rds_cluster_instance.reader[*].availability_zone
}

output "instance_identifiers" {
  description = "Identifiers of the instances, writer first."
  value       = concat([aws_rds_cluster_instance.writer.identifier], aws_rds_cluster_instance.reader[*].identifier)
}

output "cluster_parameter_group_name" {
  description = "Name of the cluster parameter group."
  value       = try(aws_rds_cluster_parameter_group.this.name, null)
}
