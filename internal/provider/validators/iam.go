package validators

import (
	"context"
	"regexp"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"

	awscloud "github.com/spinops/terraform-provider-spinops/internal/cloud/aws"
)

var (
	// roleNameRegexp is IAM's character set for role names.
	roleNameRegexp = regexp.MustCompile(`^[\w+=,.@-]+$`)
	// iamPathRegexp is "/" or "/a/b/".
	iamPathRegexp = regexp.MustCompile(`^/([\x21-\x7E]*/)?$`)
	// externalIDRegexp is what sts:AssumeRole accepts as ExternalId.
	externalIDRegexp = regexp.MustCompile(`^[\w+=,.@:/-]+$`)
)

// IsRoleName reports whether s uses only IAM's role-name characters.
func IsRoleName(s string) bool { return roleNameRegexp.MatchString(s) }

// RoleName checks the characters of an IAM role name (or name prefix).
func RoleName() validator.String {
	return stringvalidator.RegexMatches(roleNameRegexp, "may contain only letters, digits and +=,.@_-")
}

// IAMPath checks an IAM path: / or /a/b/.
func IAMPath() validator.String {
	return stringvalidator.RegexMatches(iamPathRegexp, "must be / or begin and end with / (e.g. /spinnaker/)")
}

// ExternalID checks the characters of an sts:ExternalId.
func ExternalID() validator.String {
	return stringvalidator.RegexMatches(externalIDRegexp, "may contain only letters, digits and +=,.@:/_-")
}

// IdentityPolicy checks that a string is an identity-based policy document
// IAM would accept as an inline role policy.
func IdentityPolicy() validator.String { return identityPolicyValidator{} }

type identityPolicyValidator struct{}

func (identityPolicyValidator) Description(context.Context) string {
	return "must be an identity-based IAM policy document (JSON with Version and Statement, no Principal)"
}

func (v identityPolicyValidator) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}

func (identityPolicyValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if err := awscloud.ValidateIdentityPolicy(req.ConfigValue.ValueString()); err != nil {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid policy document", "Not a valid IAM policy document: "+err.Error()+".")
	}
}
