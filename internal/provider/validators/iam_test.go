package validators_test

import (
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/spinops/terraform-provider-spinops/internal/provider/validators"
)

func TestRoleName(t *testing.T) {
	t.Parallel()
	const msg = "may contain only letters, digits and +=,.@_-"
	testString(t, validators.RoleName(), map[string]stringCase{
		"simple":  {val: types.StringValue("spinnaker-managing")},
		"symbols": {val: types.StringValue("a+b=c,d.e@f_g-h")},
		"slash":   {val: types.StringValue("a/b"), wantError: msg},
		"space":   {val: types.StringValue("a b"), wantError: msg},
		"colon":   {val: types.StringValue("a:b"), wantError: msg},
	})
	if !validators.IsRoleName("spinnaker") || validators.IsRoleName("a/b") {
		t.Fatal("IsRoleName disagrees with RoleName")
	}
}

func TestIAMPath(t *testing.T) {
	t.Parallel()
	const msg = "must be / or begin and end with /"
	testString(t, validators.IAMPath(), map[string]stringCase{
		"root":        {val: types.StringValue("/")},
		"nested":      {val: types.StringValue("/spinnaker/roles/")},
		"no trailing": {val: types.StringValue("/spinnaker"), wantError: msg},
		"no leading":  {val: types.StringValue("spinnaker/"), wantError: msg},
		"space":       {val: types.StringValue("/a b/"), wantError: msg},
	})
}

func TestExternalID(t *testing.T) {
	t.Parallel()
	const msg = "may contain only letters, digits and +=,.@:/_-"
	testString(t, validators.ExternalID(), map[string]stringCase{
		"simple": {val: types.StringValue("spinnaker-prod:01/x")},
		"space":  {val: types.StringValue("a b"), wantError: msg},
		"star":   {val: types.StringValue("a*"), wantError: msg},
	})
}

func TestIdentityPolicy(t *testing.T) {
	t.Parallel()
	const msg = "Not a valid IAM policy document"
	testString(t, validators.IdentityPolicy(), map[string]stringCase{
		"valid":    {val: types.StringValue(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`)},
		"not json": {val: types.StringValue("Allow everything"), wantError: msg},
		"principal": {val: types.StringValue(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}]}`),
			wantError: msg},
		"no statement": {val: types.StringValue(`{"Version":"2012-10-17"}`), wantError: msg},
		"empty":        {val: types.StringValue(""), wantError: msg},
	})
}
