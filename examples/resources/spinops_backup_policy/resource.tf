# Backups of Clouddriver, Orca and Front50 every 6 hours into S3, the
# Front50 bucket copied incrementally, 14 backups / 30 days kept, and the
# binary log archived continuously for point-in-time recovery.
resource "spinops_backup_policy" "spinnaker" {
  name      = "spinnaker"
  namespace = "spinnaker"
  schedule  = "0 */6 * * *"
  time_zone = "Etc/UTC"
  image     = "ghcr.io/spinops/spinops:0.1.0"

  # IRSA role with s3:GetObject/PutObject/ListBucket/DeleteObject on both buckets.
  service_account_name = "spinops-backup"

  retention {
    count = 14
    days  = 30
  }

  sources {
    mysql {
      host                = "spinnaker.cluster-abc123.eu-west-1.rds.amazonaws.com"
      user                = "spinops_backup"
      password_wo         = var.backup_db_password
      password_wo_version = 1
      databases           = ["clouddriver", "orca", "front50"]
    }
    bucket {
      s3 {
        bucket = "acme-spinnaker-front50"
        prefix = "front50"
        region = "eu-west-1"
      }
    }
  }

  destination {
    s3 {
      bucket = "acme-spinnaker-backups"
      prefix = "spinnaker"
      region = "eu-west-1"
    }
  }

  point_in_time {
    enabled = true
  }
}

variable "backup_db_password" {
  type      = string
  sensitive = true
  ephemeral = true
}
