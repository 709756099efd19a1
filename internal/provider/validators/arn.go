package validators

import (
	"regexp"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
)

var (
	// roleARNRegexp is an IAM role ARN in any partition.
	roleARNRegexp = regexp.MustCompile(`^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$`)
	// policyARNRegexp is a customer or AWS managed policy.
	policyARNRegexp = regexp.MustCompile(`^arn:aws[a-z-]*:iam::(\d{12}|aws):policy/[\w+=,.@/-]+$`)
	// principalARNRegexp is a role, user or account root. Bare account ids
	// are refused: IAM rewrites them to the root ARN, and a trust policy
	// would then never match what was configured.
	principalARNRegexp = regexp.MustCompile(`^arn:aws[a-z-]*:iam::\d{12}:(root|role/[\w+=,.@/-]+|user/[\w+=,.@/-]+)$`)
	// oidcProviderARNRegexp is an IAM OIDC identity provider.
	oidcProviderARNRegexp = regexp.MustCompile(`^arn:aws[a-z-]*:iam::\d{12}:oidc-provider/[^\s*]+$`)
	// passRoleARNRegexp is a role ARN with wildcards allowed (e.g. app-*),
	// or *.
	passRoleARNRegexp = regexp.MustCompile(`^(\*|arn:aws[a-z-]*:iam::(\d{12}|\*):role/[\w+=,.@/*?-]+)$`)
	// targetGroupARNRegexp is an Elastic Load Balancing target group.
	targetGroupARNRegexp = regexp.MustCompile(`^arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:\d{12}:targetgroup/[A-Za-z0-9-]{1,32}/[0-9a-f]{16}$`)
)

// TargetGroupARN checks an ELB target group ARN.
func TargetGroupARN() validator.String {
	return stringvalidator.RegexMatches(targetGroupARNRegexp,
		"must be a target group ARN (arn:aws:elasticloadbalancing:REGION:123456789012:targetgroup/NAME/0123456789abcdef)")
}

// RoleARN checks an IAM role ARN.
func RoleARN() validator.String {
	return stringvalidator.RegexMatches(roleARNRegexp, "must be an IAM role ARN (arn:aws:iam::123456789012:role/NAME)")
}

// PolicyARN checks a customer or AWS managed IAM policy ARN.
func PolicyARN() validator.String {
	return stringvalidator.RegexMatches(policyARNRegexp, "must be an IAM policy ARN (arn:aws:iam::123456789012:policy/NAME or arn:aws:iam::aws:policy/NAME)")
}

// PrincipalARN checks an IAM role, user or account-root ARN (what a trust
// policy's AWS principal may name).
func PrincipalARN() validator.String {
	return stringvalidator.RegexMatches(principalARNRegexp, "must be an IAM role, user or account-root ARN (arn:aws:iam::123456789012:role/NAME)")
}

// OIDCProviderARN checks an IAM OIDC identity provider ARN.
func OIDCProviderARN() validator.String {
	return stringvalidator.RegexMatches(oidcProviderARNRegexp,
		"must be an IAM OIDC provider ARN (arn:aws:iam::123456789012:oidc-provider/oidc.eks.REGION.amazonaws.com/id/ID)")
}

// PassRoleARN checks what iam:PassRole may name: a role ARN, wildcards
// allowed, or *.
func PassRoleARN() validator.String {
	return stringvalidator.RegexMatches(passRoleARNRegexp, "must be a role ARN (wildcards allowed) or *")
}
