# A zone is imported by <namespace>/<name> of its SpinnakerService.
terraform import spinops_zone.green spinnaker-green/green
