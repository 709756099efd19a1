# Clouddriver, Orca and Front50 on a schedule into the backup bucket, the
# Front50 bucket copied incrementally (by ETag or generation), and the
# binary log archived continuously. The job runs as service_account_name
# (IRSA or Workload Identity), which the policy makes when given
# service_account_annotations; the database password is the installation's:
# the same Secret (sql.password_secret) or the same write-only value.

locals {
  backup_namespace = var.zones.green.namespace
  backup_policy_id = "${local.backup_namespace}/${var.backup.name}"
  backup_databases = coalesce(var.backup.databases, [for s in local.sql_services : var.sql.databases[s] if contains(keys(var.sql.databases), s)])
}

resource "spinops_backup_policy" "this" {
  name                 = var.backup.name
  namespace            = spinops_zone.green.namespace
  schedule             = var.backup.schedule
  time_zone            = var.backup.time_zone
  image                = var.backup.image
  service_account_name = var.backup.service_account_name

  service_account_annotations = var.backup.service_account_annotations

  dynamic "retention" {
    for_each = var.backup.retention == null ? [] : [var.backup.retention]

    content {
      count = retention.value.count
      days  = retention.value.days
    }
  }

  sources {
    mysql {
      host      = coalesce(var.backup.mysql_host, var.sql.endpoint)
      port      = var.sql.port
      user      = var.sql.user
      databases = local.backup_databases

      dynamic "password_secret" {
        for_each = var.sql.password_secret == null ? [] : [var.sql.password_secret]

        content {
          name = password_secret.value.name
          key  = password_secret.value.key
        }
      }

      password_wo         = var.sql_password
      password_wo_version = var.sql.password_secret == null ? var.sql_password_version : null
    }

    # Front50's bucket, under its root folder.
    bucket {
      dynamic "s3" {
        for_each = var.persistence.s3 == null ? [] : [var.persistence.s3]

        content {
          bucket     = s3.value.bucket
          prefix     = s3.value.root_folder
          region     = s3.value.region
          endpoint   = s3.value.endpoint
          path_style = s3.value.path_style
        }
      }

      dynamic "gcs" {
        for_each = var.persistence.gcs == null ? [] : [var.persistence.gcs]

        content {
          bucket = gcs.value.bucket
          prefix = gcs.value.root_folder
        }
      }
    }
  }

  destination {
    dynamic "s3" {
      for_each = var.backup.destination.s3 == null ? [] : [var.backup.destination.s3]

      content {
        bucket     = s3.value.bucket
        prefix     = s3.value.prefix
        region     = s3.value.region
        endpoint   = s3.value.endpoint
        path_style = s3.value.path_style
      }
    }

    dynamic "gcs" {
      for_each = var.backup.destination.gcs == null ? [] : [var.backup.destination.gcs]

      content {
        bucket   = gcs.value.bucket
        prefix   = gcs.value.prefix
        endpoint = gcs.value.endpoint
      }
    }
  }

  # The manifests' signing key, from a Secret kept out of the bucket (null:
  # unsigned, which the provider warns about).
  dynamic "signing_key_secret" {
    for_each = var.backup.signing_key_secret == null ? [] : [var.backup.signing_key_secret]

    content {
      name = signing_key_secret.value.name
      key  = signing_key_secret.value.key
    }
  }

  point_in_time {
    enabled = var.backup.point_in_time
  }
}
