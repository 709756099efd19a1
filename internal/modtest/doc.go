// Package modtest applies the HCL modules for real: `terraform apply` and
// `terraform destroy` of modules/aws/* against moto_server with the real
// hashicorp/aws provider (built by scripts/providers.sh into the local
// filesystem mirror), then checks with aws-sdk-go-v2 what exists. Its tests
// carry the `modules` build tag: they need the providers, so
// scripts/test-modules.sh (the last phase of `make test`) runs them with
// `go test -tags modules`, never the go-test phase.
package modtest
