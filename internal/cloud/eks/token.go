package eks

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

const (
	// TokenPrefix starts every token aws-iam-authenticator (and EKS)
	// accepts; the rest is the base64url-encoded presigned URL.
	TokenPrefix = "k8s-aws-v1."

	// TokenLifetime is how long EKS accepts a token after it was signed,
	// whatever X-Amz-Expires says.
	TokenLifetime = 15 * time.Minute

	// eksClusterIDHeader binds the token to one cluster; it is signed, so a
	// token for one cluster is refused by every other.
	eksClusterIDHeader = "x-k8s-aws-id"

	// eksPresignExpires is the X-Amz-Expires value aws-iam-authenticator
	// writes (seconds). EKS ignores it in favour of TokenLifetime.
	eksPresignExpires = "60"

	eksRoleSessionName = "spinops-eks-token"
)

// Token returns a bearer token for the EKS cluster clusterName in the
// format of aws-iam-authenticator (what `aws eks get-token` prints): a
// presigned sts:GetCallerIdentity URL, signed with the caller's credentials
// and bound to the cluster by the signed x-k8s-aws-id header, encoded as
// "k8s-aws-v1." + base64url(URL).
//
// cfg supplies credentials and the region (cfg.Region must be set; the
// regional STS endpoint of that region is signed). When roleARN is set the
// role is assumed first and the token identifies the assumed role.
//
// expires is when EKS stops accepting the token (signing time plus
// TokenLifetime); refresh a little before it.
//
// No request is made unless roleARN is set (sts:AssumeRole) or the
// credentials provider itself needs the network.
func Token(ctx context.Context, cfg awssdk.Config, clusterName, roleARN string) (token string, expires time.Time, err error) {
	if clusterName == "" {
		return "", time.Time{}, errors.New("generating EKS token: cluster name is empty")
	}
	if cfg.Region == "" {
		return "", time.Time{}, fmt.Errorf("generating EKS token for cluster %q: no AWS region configured; set the region of the cluster (eks.region, AWS_REGION or the profile's region)", clusterName)
	}

	cfg = cfg.Copy()
	if roleARN != "" {
		provider := stscreds.NewAssumeRoleProvider(sts.NewFromConfig(cfg), roleARN, func(o *stscreds.AssumeRoleOptions) {
			o.RoleSessionName = eksRoleSessionName
		})
		cfg.Credentials = awssdk.NewCredentialsCache(provider)
	}

	presigner := sts.NewPresignClient(sts.NewFromConfig(cfg))
	signedAt := time.Now()
	req, err := presigner.PresignGetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}, func(o *sts.PresignOptions) {
		o.ClientOptions = append(o.ClientOptions, func(o *sts.Options) {
			o.APIOptions = append(o.APIOptions,
				smithyhttp.SetHeaderValue(eksClusterIDHeader, clusterName),
				// An X-Amz-* header is hoisted into the presigned query.
				smithyhttp.SetHeaderValue("X-Amz-Expires", eksPresignExpires),
			)
		})
	})
	if err != nil {
		if roleARN != "" {
			return "", time.Time{}, fmt.Errorf("generating EKS token for cluster %q as role %s: %w", clusterName, roleARN, err)
		}
		return "", time.Time{}, fmt.Errorf("generating EKS token for cluster %q: %w", clusterName, err)
	}

	return TokenPrefix + base64.RawURLEncoding.EncodeToString([]byte(req.URL)), signedAt.Add(TokenLifetime), nil
}
