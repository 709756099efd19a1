# A backup policy is imported by <namespace>/<name>. The password is
# write-only: it stays in the policy's Secret and is not read back.
terraform import spinops_backup_policy.spinnaker spinnaker/spinnaker
