package validators_test

import (
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/spinops/terraform-provider-spinops/internal/provider/validators"
)

func TestRoleARN(t *testing.T) {
	t.Parallel()
	const msg = "must be an IAM role ARN"
	testString(t, validators.RoleARN(), map[string]stringCase{
		"role":          {val: types.StringValue("arn:aws:iam::123456789012:role/spinnaker")},
		"path":          {val: types.StringValue("arn:aws:iam::123456789012:role/spinnaker/managed")},
		"china":         {val: types.StringValue("arn:aws-cn:iam::123456789012:role/x")},
		"gov":           {val: types.StringValue("arn:aws-us-gov:iam::123456789012:role/x")},
		"user":          {val: types.StringValue("arn:aws:iam::123456789012:user/x"), wantError: msg},
		"short account": {val: types.StringValue("arn:aws:iam::1234:role/x"), wantError: msg},
		"account id":    {val: types.StringValue("123456789012"), wantError: msg},
		"no name":       {val: types.StringValue("arn:aws:iam::123456789012:role/"), wantError: msg},
	})
}

func TestPolicyARN(t *testing.T) {
	t.Parallel()
	const msg = "must be an IAM policy ARN"
	testString(t, validators.PolicyARN(), map[string]stringCase{
		"customer": {val: types.StringValue("arn:aws:iam::123456789012:policy/deploy")},
		"aws":      {val: types.StringValue("arn:aws:iam::aws:policy/PowerUserAccess")},
		"role":     {val: types.StringValue("arn:aws:iam::123456789012:role/deploy"), wantError: msg},
		"name":     {val: types.StringValue("PowerUserAccess"), wantError: msg},
	})
}

func TestPrincipalARN(t *testing.T) {
	t.Parallel()
	const msg = "must be an IAM role, user or account-root ARN"
	testString(t, validators.PrincipalARN(), map[string]stringCase{
		"role":       {val: types.StringValue("arn:aws:iam::123456789012:role/eks-node")},
		"user":       {val: types.StringValue("arn:aws:iam::123456789012:user/ci")},
		"root":       {val: types.StringValue("arn:aws:iam::123456789012:root")},
		"account id": {val: types.StringValue("123456789012"), wantError: msg},
		"wildcard":   {val: types.StringValue("*"), wantError: msg},
		"group":      {val: types.StringValue("arn:aws:iam::123456789012:group/ops"), wantError: msg},
	})
}

func TestOIDCProviderARN(t *testing.T) {
	t.Parallel()
	const msg = "must be an IAM OIDC provider ARN"
	testString(t, validators.OIDCProviderARN(), map[string]stringCase{
		"eks":      {val: types.StringValue("arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/ABC")},
		"wildcard": {val: types.StringValue("arn:aws:iam::123456789012:oidc-provider/*"), wantError: msg},
		"role":     {val: types.StringValue("arn:aws:iam::123456789012:role/x"), wantError: msg},
	})
}

func TestPassRoleARN(t *testing.T) {
	t.Parallel()
	const msg = "must be a role ARN (wildcards allowed) or *"
	testString(t, validators.PassRoleARN(), map[string]stringCase{
		"every role":       {val: types.StringValue("*")},
		"role":             {val: types.StringValue("arn:aws:iam::123456789012:role/app")},
		"wildcard name":    {val: types.StringValue("arn:aws:iam::123456789012:role/app-*")},
		"wildcard account": {val: types.StringValue("arn:aws:iam::*:role/app")},
		"user":             {val: types.StringValue("arn:aws:iam::123456789012:user/app"), wantError: msg},
		"partial star":     {val: types.StringValue("arn:*"), wantError: msg},
	})
}
