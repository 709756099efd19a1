// Package gcp holds spinops' thin helpers over Google Cloud client
// libraries: OAuth2 token sources for GKE today. It knows nothing about
// Terraform or Kubernetes client libraries.
package gcp
