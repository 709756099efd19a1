variable "name" {
  description = "Replication group ID; also the name of its subnet group and the prefix of its parameter group's and security group's names."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,39}$", var.name)) && !strcontains(var.name, "--") && !endswith(var.name, "-")
    error_message = "name must be 1-40 lower-case letters, digits or hyphens, start with a letter, and contain no double or trailing hyphen (ElastiCache's rule for replication group IDs)."
  }
}

variable "ha" {
  description = "Run without a single point of failure: a primary and replica_count replicas, each in its own AZ, Multi-AZ with automatic failover. false: one node, no failover (a sandbox)."
  type        = bool
  default     = true
  nullable    = false
}

variable "vpc_id" {
  description = "VPC of the subnets (the network module's vpc_id); the module's security group is made in it."
  type        = string
}

variable "subnet_ids" {
  description = "Subnets of the cache subnet group, one per AZ (the network module's private_subnet_ids or database_subnet_ids)."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) >= 1 && length(distinct(var.subnet_ids)) == length(var.subnet_ids)
    error_message = "subnet_ids must name at least one subnet, each once."
  }

  validation {
    condition     = !var.ha || length(distinct(var.subnet_ids)) >= 2
    error_message = "With ha, subnet_ids must name subnets in at least two AZs: with one subnet every node would be in the same AZ, and losing it would lose Redis. Pass the network module's private_subnet_ids (one per AZ), or set ha = false."
  }
}

variable "availability_zones" {
  description = "The AZs of subnet_ids, in the same order (the network module's azs). The primary goes to the first AZ and replica N to AZ N+1, so every node is in an AZ of its own."
  type        = list(string)

  validation {
    condition     = length(var.availability_zones) == length(var.subnet_ids)
    error_message = "availability_zones must give the AZ of each subnet in subnet_ids, in the same order (the network module's azs with its private_subnet_ids)."
  }

  validation {
    condition     = length(distinct(var.availability_zones)) == length(var.availability_zones)
    error_message = "availability_zones must be distinct: one subnet per AZ, so that no two nodes share an AZ."
  }

  validation {
    condition     = !var.ha || length(distinct(var.availability_zones)) >= 2
    error_message = "With ha, availability_zones must name at least two AZs: a primary and its replica in one AZ fail together. Use subnets in two or more AZs, or set ha = false."
  }
}

variable "replica_count" {
  description = "Replicas of the primary (failover targets) when ha is on; each takes the next AZ, so at most one less than the number of AZs. Ignored without ha (one node)."
  type        = number
  default     = 1
  nullable    = false

  validation {
    condition     = !var.ha || (var.replica_count >= 1 && var.replica_count <= 5 && floor(var.replica_count) == var.replica_count)
    error_message = "With ha, replica_count must be a whole number from 1 to 5: automatic failover needs at least one replica."
  }

  validation {
    condition     = !var.ha || var.replica_count + 1 <= length(var.availability_zones)
    error_message = "With ha, every node needs an AZ of its own: replica_count + 1 nodes need as many AZs in availability_zones (and subnets). Lower replica_count or add subnets in more AZs."
  }
}

variable "source_security_group_ids" {
  description = "Security groups allowed to connect on 6379 (the EKS nodes': the network module's internal_security_group_id). Nothing else may reach Redis."
  type        = list(string)

  validation {
    condition     = length(var.source_security_group_ids) >= 1
    error_message = "source_security_group_ids must name at least one group (the EKS nodes'): without one nothing could reach Redis."
  }
}

variable "engine" {
  description = "valkey (default: ElastiCache's Redis OSS-compatible engine, priced below redis) or redis (Redis OSS, up to 7.1 on ElastiCache)."
  type        = string
  default     = "valkey"
  nullable    = false

  validation {
    condition     = contains(["valkey", "redis"], var.engine)
    error_message = "engine must be valkey or redis."
  }
}

variable "engine_version" {
  description = "Engine version as major.minor; null: 8.0 for valkey, 7.1 for redis. The parameter group's family follows the major version (valkey7, valkey8, redis7)."
  type        = string
  default     = null

  validation {
    condition     = var.engine_version == null || can(regex(var.engine == "redis" ? "^7\\.[0-9]+$" : "^[78]\\.[0-9]+$", coalesce(var.engine_version, "x")))
    error_message = "engine_version must be major.minor: 7.x or 8.x for valkey, 7.x for redis (older Redis has no TLS without restarts and no redis7 parameter family)."
  }
}

variable "node_type" {
  description = "Node type of every node. Spinnaker keeps sessions, Fiat's permissions, Orca's queue and Igor's and Echo's state in Redis: a few GB."
  type        = string
  default     = "cache.m7g.large"

  validation {
    condition     = startswith(var.node_type, "cache.")
    error_message = "node_type must be an ElastiCache node type such as cache.m7g.large."
  }
}

variable "kms_key_id" {
  description = "KMS key ARN for encryption at rest; null uses the AWS-owned ElastiCache key. Storage is always encrypted."
  type        = string
  default     = null
}

variable "snapshot_retention_limit" {
  description = "Days of daily snapshots (0 turns them off). Orca's queue is in Redis: a snapshot is what survives losing every node."
  type        = number
  default     = 7
  nullable    = false

  validation {
    condition     = var.snapshot_retention_limit >= 0 && var.snapshot_retention_limit <= 35
    error_message = "snapshot_retention_limit must be 0 to 35 days."
  }
}

variable "snapshot_window" {
  description = "Daily snapshot window, hh24:mi-hh24:mi UTC."
  type        = string
  default     = "03:00-04:00"
}

variable "maintenance_window" {
  description = "Weekly maintenance window, ddd:hh24:mi-ddd:hh24:mi UTC; must not overlap the snapshot window."
  type        = string
  default     = "sun:05:00-sun:06:00"
}

variable "parameters" {
  description = "Extra parameters merged over the module's (notify-keyspace-events gxE, maxmemory-policy noeviction)."
  type        = map(string)
  default     = {}
  nullable    = false
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
