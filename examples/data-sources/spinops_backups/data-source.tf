# The restore points at a backup destination.
data "spinops_backups" "spinnaker" {
  destination {
    s3 {
      bucket = "acme-spinnaker-backups"
      prefix = "spinnaker"
    }
  }
}

output "latest_backup" {
  value = data.spinops_backups.spinnaker.latest
}

output "restore_window" {
  value = data.spinops_backups.spinnaker.restore_window
}
