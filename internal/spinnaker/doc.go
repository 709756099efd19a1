// Package spinnaker is the backend of spinops_managed_spinnaker and
// spinops_zone: the Spinnaker Operator's manifests (embedded), the rendering
// of a zone into a SpinnakerService and its credentials Secret, readiness of
// a SpinnakerService as the operator reports it, post-upgrade verification,
// and the promotion ledger with its gate. It knows nothing about Terraform.
//
// An installation lives in the operator namespace of its control cluster:
//
//	ConfigMap spinops-installation              the shared configuration (no secrets)
//	Secret    spinops-installation-credentials  SQL / bucket / auth secrets
//	ConfigMap spinops-promotion-ledger          one record per zone
//
// A zone is a SpinnakerService in its own namespace (on the control cluster
// or another one) plus a Secret with the credentials it needs, referenced
// from the SpinnakerService as encrypted:k8s!n:<secret>!k:<key> so that no
// secret value appears in the custom resource.
package spinnaker
