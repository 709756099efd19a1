// Package gcp holds spinops' thin helpers over Google Cloud client
// libraries: OAuth2 token sources for GKE (Cloud Storage clients are in
// internal/cloud/gcs). It knows nothing about
// Terraform or Kubernetes client libraries.
package gcp
