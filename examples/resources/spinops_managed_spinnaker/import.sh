# A managed Spinnaker is imported by its operator namespace (its id), through
# the provider's kubernetes connection; the configuration is read back from the
# ConfigMap spinops-installation, with config_revision and the *_wo_version
# numbers the secrets were last written with. The write-only secrets (*_wo)
# stay in the cluster and are never read back: an import block beside the
# same configuration plans no change to the cluster (only timeouts).
terraform import spinops_managed_spinnaker.this spinnaker-operator
