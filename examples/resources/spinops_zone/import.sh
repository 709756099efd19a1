# A zone spinops made is imported by <namespace>/<name> of its SpinnakerService.
terraform import spinops_zone.green spinnaker-green/green

# A SpinnakerService spinops did not make is adopted in place by
# <managed_spinnaker_id>/<namespace>/<name>: `spinops migrate plan --adopt`
# writes this id in an import block (see docs/migration.md).
terraform import spinops_zone.spinnaker spinnaker-operator/spinnaker/spinnaker
