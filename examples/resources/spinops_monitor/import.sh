# A monitor is imported by <namespace>/<name> of its Deployment. Its settings
# (installation, objective, interval, zones, maintenance windows, Gate
# usernames, canary pipeline) are read back from its ConfigMap, which
# write-only values it holds and their secrets_wo_version from its Secret (the
# values themselves stay there), and prometheus_rule_labels from its
# PrometheusRule; wait is not read back. A configuration written by
# terraform plan -generate-config-out needs the write-only values added (the
# plan says which).
terraform import spinops_monitor.this spinnaker-operator/spinops-monitor
