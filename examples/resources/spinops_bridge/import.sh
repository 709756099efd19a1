# A bridge is imported by <namespace>/<name> of its Deployment. The image,
# replicas, requests/limits, Spinnaker namespace, grace period, external
# address, MySQL Secret and a user TLS Secret are read back from the cluster;
# the admin token is not (it is write-only): the first apply after an import
# writes admin_token_wo again.
terraform import spinops_bridge.this spinops/spinops-bridge
