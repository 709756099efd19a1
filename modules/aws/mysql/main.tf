locals {
  # utf8mb4 and READ-COMMITTED, as Spinnaker's SQL guides set up MySQL for
  # Clouddriver, Orca and Front50; ROW binary logs (which turn binary logging
  # on in Aurora) for the spinops backup engine's point-in-time recovery.
  # Static parameters need a reboot; dynamic ones apply immediately.
  module_cluster_parameters = {
    character_set_server     = { value = "utf8mb4", apply_method = "immediate" }
    character_set_client     = { value = "utf8mb4", apply_method = "immediate" }
    character_set_database   = { value = "utf8mb4", apply_method = "immediate" }
    collation_server         = { value = "utf8mb4_unicode_ci", apply_method = "immediate" }
    transaction_isolation    = { value = "READ-COMMITTED", apply_method = "immediate" }
    binlog_format            = { value = "ROW", apply_method = "pending-reboot" }
    binlog_row_image         = { value = "FULL", apply_method = "immediate" }
    require_secure_transport = { value = "ON", apply_method = "immediate" }
  }
  cluster_parameters = merge(
    local.module_cluster_parameters,
    { for k, v in var.cluster_parameters : k => { value = v, apply_method = "pending-reboot" } },
  )

  instance_parameters = {
    slow_query_log  = { value = "1", apply_method = "immediate" }
    long_query_time = { value = "2", apply_method = "immediate" }
    log_output      = { value = "FILE", apply_method = "immediate" }
  }

  az_count = length(var.availability_zones)
}

resource "aws_db_subnet_group" "this" {
  name        = var.name
  description = "Database subnets of ${var.name}"
  subnet_ids  = var.subnet_ids

  tags = var.tags
}

resource "aws_rds_cluster_parameter_group" "this" {
  name_prefix = "${var.name}-"
  family      = "aurora-mysql8.0"
  description = "Spinnaker: utf8mb4, READ-COMMITTED, ROW binlog"

  dynamic "parameter" {
    for_each = local.cluster_parameters
    content {
      name         = parameter.key
      value        = parameter.value.value
      apply_method = parameter.value.apply_method
    }
  }

  tags = var.tags

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_db_parameter_group" "this" {
  name_prefix = "${var.name}-"
  family      = "aurora-mysql8.0"
  description = "Spinnaker instances: slow query log"

  dynamic "parameter" {
    for_each = local.instance_parameters
    content {
      name         = parameter.key
      value        = parameter.value.value
      apply_method = parameter.value.apply_method
    }
  }

  tags = var.tags

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_rds_cluster" "this" {
  cluster_identifier = var.name
  engine             = "aurora-mysql"
  engine_mode        = "provisioned"
  engine_version     = var.engine_version
  database_name      = var.database_name
  master_username    = var.master_username

  # Either RDS keeps the password in Secrets Manager, or it arrives as a
  # write-only argument; it is never in state either way.
  manage_master_user_password   = var.manage_master_user_password ? true : null
  master_user_secret_kms_key_id = var.manage_master_user_password ? var.master_user_secret_kms_key_id : null
  master_password_wo            = var.manage_master_user_password ? null : var.master_password_wo
  master_password_wo_version    = var.manage_master_user_password ? null : var.master_password_wo_version

  db_subnet_group_name            = aws_db_subnet_group.this.name
  vpc_security_group_ids          = var.security_group_ids
  db_cluster_parameter_group_name = aws_rds_cluster_parameter_group.this.name
  port                            = 3306

  storage_encrypted                   = true
  kms_key_id                          = var.kms_key_id
  iam_database_authentication_enabled = true

  backup_retention_period      = var.backup_retention_period
  preferred_backup_window      = var.preferred_backup_window
  preferred_maintenance_window = var.preferred_maintenance_window
  copy_tags_to_snapshot        = true
  deletion_protection          = var.deletion_protection
  skip_final_snapshot          = var.skip_final_snapshot
  final_snapshot_identifier    = var.skip_final_snapshot ? null : "${var.name}-final"

  enabled_cloudwatch_logs_exports = ["audit", "error", "slowquery"]
  allow_major_version_upgrade     = false
  apply_immediately               = false

  tags = var.tags

  lifecycle {
    # RDS fills in the AZs of the instances.
    ignore_changes = [availability_zones]
  }
}

# The writer is created first (the first instance of an Aurora cluster
# becomes its writer) and has the highest failover priority.
resource "aws_rds_cluster_instance" "writer" {
  identifier              = "${var.name}-1"
  cluster_identifier      = aws_rds_cluster.this.id
  engine                  = aws_rds_cluster.this.engine
  engine_version          = aws_rds_cluster.this.engine_version
  instance_class          = var.instance_class
  availability_zone       = var.availability_zones[0]
  db_parameter_group_name = aws_db_parameter_group.this.name
  db_subnet_group_name    = aws_db_subnet_group.this.name
  promotion_tier          = 0
  publicly_accessible     = false

  performance_insights_enabled = var.performance_insights_enabled
  auto_minor_version_upgrade   = true
  apply_immediately            = false

  tags = merge(var.tags, { Role = "writer" })
}

resource "aws_rds_cluster_instance" "reader" {
  count = var.reader_count

  identifier              = "${var.name}-${count.index + 2}"
  cluster_identifier      = aws_rds_cluster.this.id
  engine                  = aws_rds_cluster.this.engine
  engine_version          = aws_rds_cluster.this.engine_version
  instance_class          = var.instance_class
  availability_zone       = var.availability_zones[(count.index + 1) % local.az_count]
  db_parameter_group_name = aws_db_parameter_group.this.name
  db_subnet_group_name    = aws_db_subnet_group.this.name
  promotion_tier          = 1
  publicly_accessible     = false

  performance_insights_enabled = var.performance_insights_enabled
  auto_minor_version_upgrade   = true
  apply_immediately            = false

  tags = merge(var.tags, { Role = "reader" })

  depends_on = [aws_rds_cluster_instance.writer]
}
