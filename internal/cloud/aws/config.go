// Package aws holds thin helpers over aws-sdk-go-v2: building the SDK
// configuration from the provider's settings, and the EKS token source.
package aws

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// Settings is what the provider's `aws` block (or its environment variables)
// resolved to. Empty fields fall back to the SDK's own defaults chain
// (AWS_REGION, AWS_PROFILE, shared config, IMDS, IRSA web identity, ...).
type Settings struct {
	Region     string
	Profile    string
	AssumeRole *AssumeRole
	Endpoints  Endpoints
}

// AssumeRole is an optional role to assume on top of the base credentials.
type AssumeRole struct {
	RoleARN     string
	ExternalID  string
	SessionName string
}

// Endpoints overrides service endpoints (moto, LocalStack, VPC endpoints).
type Endpoints struct {
	IAM, STS, S3, EC2, EKS string
}

// LoadConfig builds an aws.Config from s. It does not call AWS: credentials
// are resolved on first use, so a plan that never talks to AWS needs none.
func LoadConfig(ctx context.Context, s Settings) (aws.Config, error) {
	var opts []func(*config.LoadOptions) error
	if s.Region != "" {
		opts = append(opts, config.WithRegion(s.Region))
	}
	if s.Profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(s.Profile))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("loading AWS configuration: %w", err)
	}
	if s.AssumeRole != nil && s.AssumeRole.RoleARN != "" {
		stsClient := sts.NewFromConfig(cfg, s.Endpoints.STSOptions)
		ar := *s.AssumeRole
		cfg.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(stsClient, ar.RoleARN, func(o *stscreds.AssumeRoleOptions) {
			if ar.ExternalID != "" {
				o.ExternalID = aws.String(ar.ExternalID)
			}
			o.RoleSessionName = ar.SessionName
			if o.RoleSessionName == "" {
				o.RoleSessionName = "spinops"
			}
		}))
	}
	return cfg, nil
}

// STSOptions applies the STS endpoint override to an sts client.
func (e Endpoints) STSOptions(o *sts.Options) {
	if e.STS != "" {
		o.BaseEndpoint = aws.String(e.STS)
	}
}
