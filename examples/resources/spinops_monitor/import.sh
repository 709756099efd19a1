# A monitor is imported by <namespace>/<name> of its Deployment. Zones,
# maintenance windows and notification settings come from the
# configuration; set secrets_wo_version so the first apply writes the
# write-only values again.
terraform import spinops_monitor.this spinnaker-operator/spinops-monitor
