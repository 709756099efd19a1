output "instance_name" {
  description = "Name of the primary instance."
  value       = try(google_sql_database_instance.this.name, null)
}

output "connection_name" {
  description = "Connection name of the primary (PROJECT:REGION:NAME), for the Cloud SQL Auth Proxy."
  value       = try(google_sql_database_instance.this.connection_name, null)
}

output "private_ip_address" {
  description = "Private IP of the primary: the writer endpoint."
  value       = try(google_sql_database_instance.this.private_ip_address, null)
}

output "replica_names" {
  description = "Names of the read replicas."
  value       = google_sql_database_instance.replica[*].name
}

output "replica_connection_names" {
  description = "Connection names of the read replicas."
  value       = google_sql_database_instance.replica[*].connection_name
}

output "replica_private_ip_addresses" {
  description = "Private IPs of the read replicas: the reader endpoints."
  value       = google_sql_database_instance.replica[*].private_ip_address
}

output "port" {
  description = "MySQL port."
  value       = 3306
}

output "database_names" {
  description = "Databases created on the primary."
  value       = [for d in google_sql_database.this : d.name]
}

output "admin_user" {
  description = "Name of the password-authenticated admin user (null when not created)."
  value       = try(google_sql_user.admin[0].name, null)
}

output "iam_user_names" {
  description = "MySQL user names of the IAM-authenticated service accounts, by short name."
  value       = { for k, u in google_sql_user.iam : k => u.name }
}
