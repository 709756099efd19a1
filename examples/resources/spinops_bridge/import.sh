# A bridge is imported by <namespace>/<name> of its Deployment. The image,
# replicas, requests/limits, Spinnaker namespace, grace period, external
# address, MySQL Secret, a user TLS Secret and admin_token_wo_version (an
# annotation on the admin token Secret) are read back from the cluster; the
# admin token itself is write-only and stays in its Secret.
terraform import spinops_bridge.this spinops/spinops-bridge
