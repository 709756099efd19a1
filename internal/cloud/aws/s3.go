package aws

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// S3Options configures an S3 client for AWS or an S3-compatible server
// (MinIO, moto): Endpoint overrides the service endpoint, PathStyle selects
// path-style addressing (required by most S3-compatible servers).
type S3Options struct {
	Endpoint  string
	Region    string
	PathStyle bool
}

// NewS3Client returns an S3 client over cfg with o applied. An endpoint set
// in o wins over Settings.Endpoints.S3 already folded into cfg.
func NewS3Client(cfg aws.Config, e Endpoints, o S3Options) *s3.Client {
	return s3.NewFromConfig(cfg, func(so *s3.Options) {
		switch {
		case o.Endpoint != "":
			so.BaseEndpoint = aws.String(o.Endpoint)
		case e.S3 != "":
			so.BaseEndpoint = aws.String(e.S3)
		}
		if o.Region != "" {
			so.Region = o.Region
		}
		if so.Region == "" {
			so.Region = "us-east-1"
		}
		so.UsePathStyle = o.PathStyle
		// S3-compatible servers (MinIO, moto) often send no response
		// checksum; the backup engine verifies SHA-256 itself, so the SDK's
		// per-response warning is only noise.
		so.DisableLogOutputChecksumValidationSkipped = true
	})
}
