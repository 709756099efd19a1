// Package gcs opens Google Cloud Storage clients for the backup engine and
// the provider. It is apart from internal/cloud/gcp (GKE token sources) so
// that what talks to clusters does not compile the Cloud Storage client and
// its gRPC transport.
package gcs
