variable "project_id" {
  description = "The Google Cloud project of the instances."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a Google Cloud project ID: 6-30 lower-case letters, digits or hyphens, starting with a letter."
  }
}

variable "name" {
  description = "Name of the primary instance; replicas are NAME-replica-N."
  type        = string

  validation {
    condition     = can(regex("^[a-z]([-a-z0-9]{0,60}[a-z0-9])?$", var.name)) && length(var.name) <= 80
    error_message = "name must be lower-case letters, digits or hyphens, start with a letter and not end with a hyphen."
  }
}

variable "region" {
  description = "Region of the primary (regional HA) and its replicas."
  type        = string

  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]+$", var.region))
    error_message = "region must be a Google Cloud region such as europe-west1 (not a zone)."
  }
}

variable "database_version" {
  description = "Cloud SQL MySQL major version."
  type        = string
  default     = "MYSQL_8_0"

  validation {
    condition     = can(regex("^MYSQL_8_[0-9]+$", var.database_version))
    error_message = "database_version must be MySQL 8 (MYSQL_8_0, MYSQL_8_4): Spinnaker's SQL backends need MySQL 8 semantics."
  }
}

variable "edition" {
  description = "Cloud SQL edition."
  type        = string
  default     = "ENTERPRISE"

  validation {
    condition     = contains(["ENTERPRISE", "ENTERPRISE_PLUS"], var.edition)
    error_message = "edition must be ENTERPRISE or ENTERPRISE_PLUS."
  }
}

variable "tier" {
  description = "Machine type of the primary, e.g. db-custom-4-16384 (4 vCPU, 16 GB)."
  type        = string
  default     = "db-custom-4-16384"
}

variable "replica_tier" {
  description = "Machine type of the read replicas; null uses tier."
  type        = string
  default     = null
}

variable "disk_size_gb" {
  description = "Initial SSD size; the disk grows automatically."
  type        = number
  default     = 50

  validation {
    condition     = var.disk_size_gb >= 10
    error_message = "disk_size_gb must be at least 10."
  }
}

variable "zone" {
  description = "Preferred zone of the primary; null lets Cloud SQL choose."
  type        = string
  default     = null
}

variable "secondary_zone" {
  description = "Preferred zone of the HA standby; null lets Cloud SQL choose (always a different zone)."
  type        = string
  default     = null
}

variable "private_network" {
  description = "Network for the private IP (the network module's private_network_id, which orders this after private services access is peered). The instances get no public IP."
  type        = string
}

variable "allocated_ip_range" {
  description = "Name of the private services range to take IPs from; null lets Google pick among the peered ranges."
  type        = string
  default     = null
}

variable "read_replica_count" {
  description = "Number of read replicas. Cloud SQL read replicas are asynchronous (binary log replication, behind the primary by replica_lag), so they are for reads that tolerate lag (reports, exports, backups); Clouddriver's read-only pools read from the primary, whose regional HA standby is the synchronous copy. 0 to 10; default 0."
  type        = number
  default     = 0

  validation {
    condition     = var.read_replica_count >= 0 && var.read_replica_count <= 10 && floor(var.read_replica_count) == var.read_replica_count
    error_message = "read_replica_count must be a whole number between 0 and 10."
  }
}

variable "replica_zones" {
  description = "Zones of the read replicas, in order (replica N gets element N modulo the list's length); null lets Cloud SQL choose."
  type        = list(string)
  default     = null

  validation {
    condition     = var.replica_zones == null || alltrue([for z in coalesce(var.replica_zones, []) : startswith(z, "${var.region}-")])
    error_message = "replica_zones must be zones of the instance's region."
  }

  validation {
    condition     = var.replica_zones == null || var.zone == null || !contains(coalesce(var.replica_zones, []), coalesce(var.zone, "-"))
    error_message = "replica_zones must not include the primary's zone: a replica in the same zone does not survive the zone's loss."
  }
}

variable "backup_start_time" {
  description = "Start of the daily backup window, HH:MM UTC."
  type        = string
  default     = "02:00"

  validation {
    condition     = can(regex("^([01][0-9]|2[0-3]):[0-5][0-9]$", var.backup_start_time))
    error_message = "backup_start_time must be HH:MM (24-hour, UTC)."
  }
}

variable "retained_backups" {
  description = "Number of daily backups kept."
  type        = number
  default     = 14

  validation {
    condition     = var.retained_backups >= 1 && var.retained_backups <= 365
    error_message = "retained_backups must be between 1 and 365."
  }
}

variable "transaction_log_retention_days" {
  description = "Days of binary logs kept for point-in-time recovery (1-7)."
  type        = number
  default     = 7

  validation {
    condition     = var.transaction_log_retention_days >= 1 && var.transaction_log_retention_days <= 7
    error_message = "transaction_log_retention_days must be between 1 and 7."
  }
}

variable "database_flags" {
  description = "Extra MySQL flags, merged over the module's (utf8mb4, READ-COMMITTED, IAM authentication)."
  type        = map(string)
  default     = {}
}

variable "databases" {
  description = "Databases created with utf8mb4 (Spinnaker's SQL-backed services)."
  type        = list(string)
  default     = ["clouddriver", "front50", "orca"]
}

variable "admin_user" {
  description = "Name of the password-authenticated admin user; created only when admin_password_wo_version is set."
  type        = string
  default     = "spinops_admin"

  validation {
    condition     = length(var.admin_user) <= 32 && can(regex("^[a-zA-Z0-9_]+$", var.admin_user))
    error_message = "admin_user must be at most 32 letters, digits or underscores."
  }
}

variable "admin_password_wo" {
  description = "Password of admin_user, write-only: it never lands in state or plan (pass an ephemeral value, e.g. from google_secret_manager_secret_version)."
  type        = string
  default     = null
  sensitive   = true
  ephemeral   = true
}

variable "admin_password_wo_version" {
  description = "Version of admin_password_wo; creates the admin user when set, and changing it pushes a new password."
  type        = number
  default     = null
}

variable "iam_service_accounts" {
  description = "Google service accounts (e.g. the Workload Identity accounts of Spinnaker's services) that log in with IAM database authentication, by a short name known at plan time => email."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for e in values(var.iam_service_accounts) : endswith(e, ".gserviceaccount.com")])
    error_message = "iam_service_accounts values must be service account emails (ending in .gserviceaccount.com)."
  }
}

variable "deletion_protection" {
  description = "Refuse deletion both in Terraform and in the Cloud SQL API."
  type        = bool
  default     = true
}

variable "maintenance_window" {
  description = "Weekly maintenance window: day 1-7 (Monday = 1) and hour 0-23 UTC."
  type = object({
    day  = number
    hour = number
  })
  default = {
    day  = 7
    hour = 3
  }

  validation {
    condition     = var.maintenance_window.day >= 1 && var.maintenance_window.day <= 7 && var.maintenance_window.hour >= 0 && var.maintenance_window.hour <= 23
    error_message = "maintenance_window.day must be 1-7 and hour 0-23."
  }
}

variable "labels" {
  description = "User labels of the instances."
  type        = map(string)
  default     = {}
}
