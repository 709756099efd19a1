locals {
  engine_version = coalesce(var.engine_version, var.engine == "redis" ? "7.1" : "8.0")
  family         = "${var.engine}${split(".", local.engine_version)[0]}"

  # What Spinnaker needs of its Redis:
  # * notify-keyspace-events gxE: Gate keeps its sessions in Redis with
  #   Spring Session, which needs keyspace events for generic commands (g),
  #   expiry (x) and keyevents (E) (spring-session's
  #   ConfigureNotifyKeyspaceEventsAction). Gate sets it itself with CONFIG
  #   SET unless redis.configuration.secure is true
  #   (spinnaker/gate gate-web/.../config/RedisActionConfig.java); ElastiCache
  #   refuses CONFIG, so it is set here and Gate must be told not to try
  #   (spinnaker.io docs/setup/productionize/caching/externalize-redis.md,
  #   "Using a hosted Redis"; output spinnaker_profiles).
  # * maxmemory-policy noeviction: ElastiCache's default (volatile-lru)
  #   evicts keys with a TTL when memory runs out, and Spinnaker's locks
  #   (Orca, Igor) and sessions are such keys; a full Redis should refuse
  #   writes, which shows up in the services' health, not lose them.
  module_parameters = {
    "notify-keyspace-events" = "gxE"
    "maxmemory-policy"       = "noeviction"
  }
  parameters = merge(local.module_parameters, var.parameters)

  # The primary in the first AZ, replica N in AZ N+1: no two nodes share an
  # AZ (variables.tf refuses an HA configuration that would need them to).
  node_count = var.ha ? var.replica_count + 1 : 1
  node_azs   = slice(var.availability_zones, 0, local.node_count)
}

resource "aws_elasticache_subnet_group" "this" {
  name        = var.name
  description = "Subnets of Spinnaker's Redis ${var.name}"
  subnet_ids  = var.subnet_ids

  tags = var.tags
}

resource "aws_elasticache_parameter_group" "this" {
  name        = "${var.name}-${local.family}"
  family      = local.family
  description = "Spinnaker: keyspace events for Gate's sessions, no eviction"

  dynamic "parameter" {
    for_each = local.parameters
    content {
      name  = parameter.key
      value = parameter.value
    }
  }

  tags = var.tags

  lifecycle {
    create_before_destroy = true
  }
}

################################################################################
# Network access: 6379 from the given groups only. No egress rule: the
# provider removes the allow-all rule AWS adds to a new group.
################################################################################

resource "aws_security_group" "this" {
  name_prefix = "${var.name}-redis-"
  description = "Spinnaker's Redis ${var.name}: 6379 from the EKS nodes only"
  vpc_id      = var.vpc_id

  tags = merge(var.tags, { Name = "${var.name}-redis" })

  lifecycle {
    create_before_destroy = true
  }
}

# count, not for_each: the groups' IDs are often unknown until the network
# is applied, their number is not.
resource "aws_vpc_security_group_ingress_rule" "redis" {
  count = length(var.source_security_group_ids)

  security_group_id            = aws_security_group.this.id
  description                  = "Redis from the Spinnaker nodes"
  ip_protocol                  = "tcp"
  from_port                    = 6379
  to_port                      = 6379
  referenced_security_group_id = var.source_security_group_ids[count.index]

  tags = var.tags
}

################################################################################
# The replication group
################################################################################

# Cluster mode off: Spinnaker's Redis clients (kork-jedis, Gate's session
# store) speak to one primary, not to a Redis Cluster. With ha, Multi-AZ
# and automatic failover promote a replica in another AZ and move the
# primary endpoint to it.
#
# No AUTH token: hashicorp/aws has no write-only auth_token (it would be
# kept in state), so access is limited by the security group above, and
# every connection is TLS (transit_encryption_mode required).
resource "aws_elasticache_replication_group" "this" {
  replication_group_id = var.name
  description          = "Spinnaker's Redis"

  engine               = var.engine
  engine_version       = local.engine_version
  node_type            = var.node_type
  cluster_mode         = "disabled"
  parameter_group_name = aws_elasticache_parameter_group.this.name
  port                 = 6379

  num_cache_clusters          = local.node_count
  preferred_cache_cluster_azs = local.node_azs
  multi_az_enabled            = var.ha
  automatic_failover_enabled  = var.ha

  subnet_group_name  = aws_elasticache_subnet_group.this.name
  security_group_ids = [aws_security_group.this.id]

  at_rest_encryption_enabled = true
  kms_key_id                 = var.kms_key_id
  transit_encryption_enabled = true
  transit_encryption_mode    = "required" # what AWS sets on create with TLS; explicit, so a drift to "preferred" shows

  snapshot_retention_limit   = var.snapshot_retention_limit
  snapshot_window            = var.snapshot_window
  maintenance_window         = var.maintenance_window
  auto_minor_version_upgrade = true
  apply_immediately          = false

  tags = var.tags
}
