variable "project_id" {
  description = "The Google Cloud project of the instance."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a Google Cloud project ID: 6-30 lower-case letters, digits or hyphens, starting with a letter."
  }
}

variable "name" {
  description = "Instance ID (and the prefix of the firewall rules' names)."
  type        = string

  validation {
    condition     = can(regex("^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$", var.name))
    error_message = "name must be 1-40 lower-case letters, digits or hyphens, start with a letter and not end with a hyphen (Memorystore's rule for instance IDs)."
  }
}

variable "region" {
  description = "Region of the instance (the network module's region)."
  type        = string

  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]+$", var.region))
    error_message = "region must be a Google Cloud region such as europe-west1 (not a zone)."
  }
}

variable "ha" {
  description = "Run without a single point of failure: tier STANDARD_HA, a primary and a replica in another zone with automatic failover. false: tier BASIC, one node (a sandbox)."
  type        = bool
  default     = true
  nullable    = false
}

variable "authorized_network" {
  description = "The VPC the instance is reached from through private services access (the network module's private_network_id, which orders this after the peering exists)."
  type        = string

  validation {
    condition     = can(regex("^projects/[^/]+/global/networks/[^/]+$", var.authorized_network))
    error_message = "authorized_network must be a network ID, projects/PROJECT/global/networks/NAME (the network module's private_network_id)."
  }
}

variable "reserved_ip_range" {
  description = "Name of the private services access range to take the instance's addresses from; null lets Google pick among the peered ranges."
  type        = string
  default     = null
}

variable "location_id" {
  description = "Zone of the primary; null lets Memorystore choose."
  type        = string
  default     = null

  validation {
    condition     = var.location_id == null || startswith(coalesce(var.location_id, "-"), "${var.region}-")
    error_message = "location_id must be a zone of region, such as europe-west1-b."
  }
}

variable "alternative_location_id" {
  description = "Zone of the replica (ha only); null lets Memorystore choose, which is always a zone other than the primary's."
  type        = string
  default     = null

  validation {
    condition     = var.alternative_location_id == null || var.ha
    error_message = "alternative_location_id places the replica: it needs ha (tier STANDARD_HA); without ha there is no replica."
  }

  validation {
    condition     = var.alternative_location_id == null || startswith(coalesce(var.alternative_location_id, "-"), "${var.region}-")
    error_message = "alternative_location_id must be a zone of region, such as europe-west1-c."
  }

  validation {
    condition     = var.alternative_location_id == null || var.alternative_location_id != var.location_id
    error_message = "alternative_location_id must differ from location_id: a primary and replica in one zone fail together. Pick another zone, or leave it null so Memorystore picks one."
  }
}

variable "memory_size_gb" {
  description = "Memory of the instance in GiB. Spinnaker keeps sessions, Fiat's permissions, Orca's queue and Igor's and Echo's state in Redis: a few GB."
  type        = number
  default     = 5

  validation {
    condition     = var.memory_size_gb >= 1 && var.memory_size_gb <= 300 && floor(var.memory_size_gb) == var.memory_size_gb
    error_message = "memory_size_gb must be a whole number from 1 to 300."
  }
}

variable "redis_version" {
  description = "Memorystore Redis version."
  type        = string
  default     = "REDIS_7_2"

  validation {
    condition     = can(regex("^REDIS_[67]_[0-9X]$", var.redis_version))
    error_message = "redis_version must be REDIS_6_X or REDIS_7_x (REDIS_7_0, REDIS_7_2): older versions have no notify-keyspace-events setting in Memorystore."
  }
}

variable "transit_encryption" {
  description = "TLS between Spinnaker and Redis (transit_encryption_mode SERVER_AUTHENTICATION, port 6378). Off by default: Memorystore signs the server certificate with a CA of the instance's own (output server_ca_certs) that Spinnaker's JVMs do not trust, so every Redis client of Spinnaker would fail until that CA is in each service's trust store, which spinops does not set up yet. Changing it replaces the instance."
  type        = bool
  default     = false
  nullable    = false
}

variable "rdb_snapshot_period" {
  description = "How often an RDB snapshot is written (ONE_HOUR, SIX_HOURS, TWELVE_HOURS, TWENTY_FOUR_HOURS); null turns persistence off. Orca's queue is in Redis: a snapshot is what survives losing every node."
  type        = string
  default     = "ONE_HOUR"

  validation {
    condition     = var.rdb_snapshot_period == null || contains(["ONE_HOUR", "SIX_HOURS", "TWELVE_HOURS", "TWENTY_FOUR_HOURS"], coalesce(var.rdb_snapshot_period, "-"))
    error_message = "rdb_snapshot_period must be ONE_HOUR, SIX_HOURS, TWELVE_HOURS or TWENTY_FOUR_HOURS, or null."
  }
}

variable "maintenance_window" {
  description = "Weekly maintenance window: day (MONDAY ... SUNDAY) and hour (0-23, UTC)."
  type = object({
    day  = string
    hour = number
  })
  default = { day = "SUNDAY", hour = 5 }

  validation {
    condition     = var.maintenance_window == null || (contains(["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"], try(var.maintenance_window.day, "")) && try(var.maintenance_window.hour >= 0 && var.maintenance_window.hour <= 23, false))
    error_message = "maintenance_window.day must be MONDAY ... SUNDAY and hour 0-23."
  }
}

variable "customer_managed_key" {
  description = "Cloud KMS key for encryption at rest; null uses Google-managed encryption (data at rest is always encrypted)."
  type        = string
  default     = null
}

variable "redis_configs" {
  description = "Extra Redis configurations merged over the module's (notify-keyspace-events gxE, maxmemory-policy noeviction)."
  type        = map(string)
  default     = {}
  nullable    = false
}

variable "firewall" {
  description = "Limit who reaches Redis inside the VPC, like the AWS module's security group: network (the network module's network_id) and source_tags (its internal_tag, on the GKE nodes); egress to the instance's address on its port is allowed from those tags and denied from everything else. null: no rules (anything in the VPC reaches it)."
  type = object({
    network     = string
    source_tags = list(string)
  })
  default = null

  validation {
    condition     = var.firewall == null || try(length(var.firewall.source_tags) > 0, false)
    error_message = "firewall.source_tags must name at least one tag (the network module's internal_tag): without one nothing could reach Redis."
  }
}

variable "labels" {
  description = "Labels of the instance."
  type        = map(string)
  default     = {}
}
