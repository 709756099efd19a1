# A backup policy is imported by <namespace>/<name>. Its arguments, and the
# *_wo_version numbers its write-only values were written with, are read back
# from the record on its ConfigMap; the password and signing key stay in the
# policy's Secret and are not read back (a configuration written by
# terraform plan -generate-config-out needs password_wo or password_secret
# added: the plan says so).
terraform import spinops_backup_policy.spinnaker spinnaker/spinnaker
