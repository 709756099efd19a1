variable "name" {
  description = "Identifier of the Aurora cluster; prefix of its instances, subnet group and parameter groups."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,49}$", var.name)) && !strcontains(var.name, "--") && !endswith(var.name, "-")
    error_message = "name must be 1-50 lower-case letters, digits or hyphens, start with a letter, and contain no double or trailing hyphen."
  }
}

variable "subnet_ids" {
  description = "Database subnets in at least two AZs (the network module's database_subnet_ids)."
  type        = list(string)

  validation {
    condition     = length(distinct(var.subnet_ids)) >= 2
    error_message = "subnet_ids must name at least two subnets in different AZs."
  }
}

variable "availability_zones" {
  description = "AZs the instances are placed in: the writer in the first, reader N in element (N+1) modulo the list's length, so the first reader never shares the writer's AZ. At least two, matching the subnets' AZs (the network module's azs)."
  type        = list(string)

  validation {
    condition     = length(distinct(var.availability_zones)) == length(var.availability_zones) && length(var.availability_zones) >= 2
    error_message = "availability_zones must name at least two distinct AZs: the writer and its first reader must not share one."
  }
}

variable "security_group_ids" {
  description = "Security groups of the cluster (the network module's database_security_group_id: 3306 from the internal group only)."
  type        = list(string)

  validation {
    condition     = length(var.security_group_ids) > 0
    error_message = "At least one security group is needed; without one the VPC's default group would apply."
  }
}

variable "engine_version" {
  description = "Aurora MySQL version (8.0-compatible, Aurora MySQL 3)."
  type        = string
  default     = "8.0.mysql_aurora.3.08.2"

  validation {
    condition     = startswith(var.engine_version, "8.0.mysql_aurora.")
    error_message = "engine_version must be an Aurora MySQL 3 version (8.0.mysql_aurora.3.x): the parameter groups are aurora-mysql8.0."
  }
}

variable "instance_class" {
  description = "Instance class of the writer and the readers."
  type        = string
  default     = "db.r6g.large"

  validation {
    condition     = startswith(var.instance_class, "db.")
    error_message = "instance_class must be an RDS instance class such as db.r6g.large."
  }
}

variable "reader_count" {
  description = "Number of reader instances (also failover targets). At least 1."
  type        = number
  default     = 1

  validation {
    condition     = var.reader_count >= 1 && var.reader_count <= 15 && floor(var.reader_count) == var.reader_count
    error_message = "reader_count must be a whole number from 1 to 15: a production Spinnaker needs a reader in another AZ."
  }
}

variable "database_name" {
  description = "Database created with the cluster (others, one per Spinnaker service, are created by the install); null creates none."
  type        = string
  default     = "spinnaker"

  validation {
    condition     = var.database_name == null || can(regex("^[a-zA-Z][a-zA-Z0-9_]{0,63}$", coalesce(var.database_name, "x")))
    error_message = "database_name must start with a letter and contain only letters, digits and underscores (at most 64)."
  }
}

variable "master_username" {
  description = "The master user's name."
  type        = string
  default     = "spinops_admin"

  validation {
    condition     = can(regex("^[a-zA-Z][a-zA-Z0-9_]{0,15}$", var.master_username)) && !contains(["admin", "root", "rdsadmin"], lower(var.master_username))
    error_message = "master_username must be 1-16 letters, digits or underscores, start with a letter, and not be a reserved name (admin, root, rdsadmin)."
  }
}

variable "manage_master_user_password" {
  description = "Let RDS generate the master password and keep (and rotate) it in Secrets Manager; the secret's ARN is an output. Turn off to pass master_password_wo instead."
  type        = bool
  default     = true
}

variable "master_user_secret_kms_key_id" {
  description = "KMS key for the Secrets Manager secret RDS manages; null uses the account's aws/secretsmanager key."
  type        = string
  default     = null
}

variable "master_password_wo" {
  description = "The master password as a write-only argument (never stored in state or plan): pass an ephemeral value, e.g. from an ephemeral aws_secretsmanager_secret_version. Used only when manage_master_user_password is off."
  type        = string
  default     = null
  sensitive   = true
  ephemeral   = true
}

variable "master_password_wo_version" {
  description = "Version of master_password_wo; required with it, and changing it pushes a new password."
  type        = number
  default     = null

  validation {
    condition     = var.manage_master_user_password || var.master_password_wo_version != null
    error_message = "With manage_master_user_password off, set master_password_wo and master_password_wo_version (bump the version to rotate)."
  }
}

variable "backup_retention_period" {
  description = "Days of automated backups (and of point-in-time restore)."
  type        = number
  default     = 14

  validation {
    condition     = var.backup_retention_period >= 7 && var.backup_retention_period <= 35
    error_message = "backup_retention_period must be between 7 and 35 days for a production database."
  }
}

variable "preferred_backup_window" {
  description = "Daily backup window, hh24:mi-hh24:mi UTC."
  type        = string
  default     = "02:00-03:00"
}

variable "preferred_maintenance_window" {
  description = "Weekly maintenance window, ddd:hh24:mi-ddd:hh24:mi UTC; must not overlap the backup window."
  type        = string
  default     = "sun:04:00-sun:05:00"
}

variable "kms_key_id" {
  description = "KMS key ARN for storage encryption; null uses the aws/rds key. Storage is always encrypted."
  type        = string
  default     = null
}

variable "deletion_protection" {
  description = "Refuse deletion of the cluster in the RDS API."
  type        = bool
  default     = true
}

variable "skip_final_snapshot" {
  description = "Destroy without a final snapshot. Keep false for production data."
  type        = bool
  default     = false
}

variable "cluster_parameters" {
  description = "Extra cluster parameters, merged over the module's (utf8mb4, READ-COMMITTED, ROW binlog). Values only; applied pending-reboot."
  type        = map(string)
  default     = {}
}

variable "performance_insights_enabled" {
  description = "Turn on Performance Insights on every instance."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
