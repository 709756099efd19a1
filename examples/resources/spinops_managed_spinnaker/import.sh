# A managed Spinnaker is imported by its operator namespace (its id), through
# the provider's kubernetes connection; the configuration is read back from the
# ConfigMap spinops-installation. Write-only secrets (*_wo) and their
# *_wo_version numbers are never stored, so they stay null: the secrets stay in
# the cluster, and the first apply after the import sets the *_wo_version
# numbers from the configuration and writes its secrets again.
terraform import spinops_managed_spinnaker.this spinnaker-operator
