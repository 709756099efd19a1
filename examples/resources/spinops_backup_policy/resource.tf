# Backups of Clouddriver, Orca and Front50 every 6 hours into S3, the
# Front50 bucket copied incrementally, 14 backups / 30 days kept, the
# binary log archived continuously for point-in-time recovery, manifests
# signed with a key kept outside the bucket, TLS to Aurora, and a restore
# drill every night.
resource "spinops_backup_policy" "spinnaker" {
  name      = "spinnaker"
  namespace = "spinnaker"
  schedule  = "0 */6 * * *"
  time_zone = "Etc/UTC"

  # The pods' ServiceAccount, made by the policy with the IRSA role that has
  # s3:GetObject/PutObject/ListBucket/DeleteObject on both buckets.
  service_account_name = "spinops-backup"
  service_account_annotations = {
    "eks.amazonaws.com/role-arn" = "arn:aws:iam::123456789012:role/spinops-backup"
  }

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
      tls                 = "verify_full"
      ca_secret {
        name = "rds-ca"
        key  = "global-bundle.pem"
      }
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

  # An existing Secret; keep a copy of the key where restores run.
  signing_key_secret {
    name = "spinops-backup-signing"
    key  = "key"
  }

  drill {
    schedule = "30 3 * * *"
  }
}

variable "backup_db_password" {
  type      = string
  sensitive = true
  ephemeral = true
}
