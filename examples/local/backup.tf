# Backups of the local MariaDB into a moto S3 bucket. scripts/demo.sh
# starts MariaDB (binlog ROW) and moto, creates the bucket, and passes
# their addresses as TF_VAR_*; the provider reaches moto through
# AWS_ENDPOINT_URL and the test credentials. The demo then runs one backup
# and one restore with the `spinops` binary (see the commands at the end).

variable "backup_mysql_host" {
  description = "Host of the local MariaDB."
  type        = string
  default     = "127.0.0.1"
}

variable "backup_mysql_port" {
  description = "Port of the local MariaDB."
  type        = number
}

variable "backup_mysql_password" {
  description = "root password of the local MariaDB (write-only: never stored in state)."
  type        = string
  sensitive   = true
  ephemeral   = true
}

variable "backup_s3_endpoint" {
  description = "The moto endpoint, e.g. http://127.0.0.1:5000."
  type        = string
}

variable "backup_bucket" {
  description = "The moto bucket backups go to."
  type        = string
  default     = "spinops-demo-backups"
}

resource "spinops_backup_policy" "local" {
  name      = "demo"
  namespace = "spinnaker-red"
  schedule  = "0 * * * *"
  image     = "ghcr.io/spinops/spinops:0.1.0"

  retention {
    count = 5
  }

  sources {
    mysql {
      host                = var.backup_mysql_host
      port                = var.backup_mysql_port
      user                = "root"
      password_wo         = var.backup_mysql_password
      password_wo_version = 1
      databases           = ["spinops_demo"]
    }
  }

  destination {
    s3 {
      bucket     = var.backup_bucket
      prefix     = "spinnaker"
      endpoint   = var.backup_s3_endpoint
      path_style = true
    }
  }

  point_in_time {
    enabled = true
  }

  depends_on = [spinops_zone.red]
}

data "spinops_backups" "local" {
  destination {
    s3 {
      bucket     = var.backup_bucket
      prefix     = "spinnaker"
      endpoint   = var.backup_s3_endpoint
      path_style = true
    }
  }
  depends_on = [spinops_backup_policy.local]
}

output "backup_last_successful" {
  description = "The newest complete backup (null until the demo ran one)."
  value       = spinops_backup_policy.local.last_successful_backup
}

output "backup_restore_window" {
  description = "Earliest and latest restorable times."
  value       = data.spinops_backups.local.restore_window
}

output "backup_config" {
  description = "What `spinops backup run --config` needs: the same configuration the policy's ConfigMap holds."
  value = jsonencode({
    destination = { url = "s3://${var.backup_bucket}/spinnaker", endpoint = var.backup_s3_endpoint, path_style = true }
    mysql       = { host = var.backup_mysql_host, port = var.backup_mysql_port, user = "root", databases = ["spinops_demo"] }
    retention   = { count = 5 }
  })
}
