output "name" {
  description = "Name of the bucket."
  value       = try(google_storage_bucket.this.name, null)
}

output "url" {
  description = "gs:// URL of the bucket."
  value       = try(google_storage_bucket.this.url, null)
}

output "self_link" {
  description = "Self link of the bucket."
  value       = try(google_storage_bucket.this.self_link, null)
}

output "location" {
  description = "Location of the bucket."
  value       = try(google_storage_bucket.this.location, null)
}
