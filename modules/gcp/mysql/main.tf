locals {
  # utf8mb4 and READ-COMMITTED, as Spinnaker's SQL guides set up MySQL for
  # Clouddriver, Orca and Front50.
  # Cloud SQL always writes row-based binary logs; binary_log_enabled below
  # turns them on for point-in-time recovery and replicas.
  database_flags = merge({
    character_set_server        = "utf8mb4"
    transaction_isolation       = "READ-COMMITTED"
    cloudsql_iam_authentication = "on"
    slow_query_log              = "on"
    long_query_time             = "2"
    log_output                  = "FILE"
  }, var.database_flags)
}

resource "google_sql_database_instance" "this" {
  project             = var.project_id
  name                = var.name
  region              = var.region
  database_version    = var.database_version
  deletion_protection = var.deletion_protection

  settings {
    tier                        = var.tier
    edition                     = var.edition
    availability_type           = "REGIONAL"
    disk_type                   = "PD_SSD"
    disk_size                   = var.disk_size_gb
    disk_autoresize             = true
    deletion_protection_enabled = var.deletion_protection
    user_labels                 = var.labels

    backup_configuration {
      enabled                        = true
      binary_log_enabled             = true
      start_time                     = var.backup_start_time
      transaction_log_retention_days = var.transaction_log_retention_days

      backup_retention_settings {
        retained_backups = var.retained_backups
        retention_unit   = "COUNT"
      }
    }

    ip_configuration {
      ipv4_enabled                                  = false
      private_network                               = var.private_network
      allocated_ip_range                            = var.allocated_ip_range
      ssl_mode                                      = "ENCRYPTED_ONLY"
      enable_private_path_for_google_cloud_services = true
    }

    dynamic "location_preference" {
      for_each = var.zone == null && var.secondary_zone == null ? [] : [1]
      content {
        zone           = var.zone
        secondary_zone = var.secondary_zone
      }
    }

    dynamic "database_flags" {
      for_each = local.database_flags
      content {
        name  = database_flags.key
        value = database_flags.value
      }
    }

    maintenance_window {
      day          = var.maintenance_window.day
      hour         = var.maintenance_window.hour
      update_track = "stable"
    }

    insights_config {
      query_insights_enabled  = true
      record_application_tags = true
      record_client_address   = false
    }
  }
}

resource "google_sql_database_instance" "replica" {
  count = var.read_replica_count

  project              = var.project_id
  name                 = "${var.name}-replica-${count.index}"
  region               = var.region
  database_version     = var.database_version
  master_instance_name = google_sql_database_instance.this.name
  deletion_protection  = var.deletion_protection

  replica_configuration {
    failover_target = false
  }

  settings {
    tier                        = coalesce(var.replica_tier, var.tier)
    edition                     = var.edition
    availability_type           = "ZONAL"
    disk_type                   = "PD_SSD"
    disk_size                   = var.disk_size_gb
    disk_autoresize             = true
    deletion_protection_enabled = var.deletion_protection
    user_labels                 = var.labels

    ip_configuration {
      ipv4_enabled       = false
      private_network    = var.private_network
      allocated_ip_range = var.allocated_ip_range
      ssl_mode           = "ENCRYPTED_ONLY"
    }

    dynamic "location_preference" {
      for_each = var.replica_zones == null ? [] : [var.replica_zones[count.index % length(var.replica_zones)]]
      content {
        zone = location_preference.value
      }
    }

    dynamic "database_flags" {
      for_each = local.database_flags
      content {
        name  = database_flags.key
        value = database_flags.value
      }
    }
  }
}

resource "google_sql_database" "this" {
  for_each = toset(var.databases)

  project   = var.project_id
  name      = each.value
  instance  = google_sql_database_instance.this.name
  charset   = "utf8mb4"
  collation = "utf8mb4_unicode_ci"
}

resource "google_sql_user" "admin" {
  count = var.admin_password_wo_version == null ? 0 : 1

  project             = var.project_id
  instance            = google_sql_database_instance.this.name
  name                = var.admin_user
  host                = "%"
  password_wo         = var.admin_password_wo
  password_wo_version = var.admin_password_wo_version
}

resource "google_sql_user" "iam" {
  for_each = var.iam_service_accounts

  project  = var.project_id
  instance = google_sql_database_instance.this.name
  # MySQL user names of IAM service accounts drop the domain suffix.
  name = trimsuffix(each.value, ".gserviceaccount.com")
  type = "CLOUD_IAM_SERVICE_ACCOUNT"
}
