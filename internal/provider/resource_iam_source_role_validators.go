package provider

import (
	"context"
	"regexp"

	"github.com/hashicorp/terraform-plugin-framework/schema/validator"

	awscloud "github.com/spinops/terraform-provider-spinops/internal/cloud/aws"
)

var (
	// iamRoleNameRegexp: IAM's character set for role names.
	iamRoleNameRegexp = regexp.MustCompile(`^[\w+=,.@-]+$`)
	// iamPathRegexp: "/" or "/a/b/".
	iamPathRegexp = regexp.MustCompile(`^/([\x21-\x7E]*/)?$`)
	// iamPolicyARNRegexp: a customer or AWS managed policy.
	iamPolicyARNRegexp = regexp.MustCompile(`^arn:aws[a-z-]*:iam::(\d{12}|aws):policy/[\w+=,.@/-]+$`)
	// iamPrincipalARNRegexp: a role, user or account root. Bare account ids
	// are refused: IAM rewrites them to the root ARN, and the trust policy
	// would then never match what was configured.
	iamPrincipalARNRegexp = regexp.MustCompile(`^arn:aws[a-z-]*:iam::\d{12}:(root|role/[\w+=,.@/-]+|user/[\w+=,.@/-]+)$`)
	// iamOIDCProviderARNRegexp: an IAM OIDC identity provider.
	iamOIDCProviderARNRegexp = regexp.MustCompile(`^arn:aws[a-z-]*:iam::\d{12}:oidc-provider/[^\s*]+$`)
	// k8sServiceAccountRegexp: namespace (DNS label) ":" name (DNS subdomain).
	k8sServiceAccountRegexp = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?:[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$`)
)

// iamIdentityPolicyValidator checks that a string is an identity-based
// policy document IAM would accept as an inline role policy.
type iamIdentityPolicyValidator struct{}

var _ validator.String = iamIdentityPolicyValidator{}

func (iamIdentityPolicyValidator) Description(context.Context) string {
	return "must be an identity-based IAM policy document (JSON with Version and Statement, no Principal)"
}

func (v iamIdentityPolicyValidator) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}

func (iamIdentityPolicyValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if err := awscloud.ValidateIdentityPolicy(req.ConfigValue.ValueString()); err != nil {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid policy document", "Not a valid IAM policy document: "+err.Error()+".")
	}
}
