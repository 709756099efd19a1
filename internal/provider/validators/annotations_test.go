package validators_test

import (
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/spinops/terraform-provider-spinops/internal/provider/validators"
)

func TestServiceAccountAnnotations(t *testing.T) {
	t.Parallel()
	s := types.StringValue
	testMap(t, validators.ServiceAccountAnnotations(), map[string]mapCase{
		"irsa":                   {val: stringMap(map[string]attr.Value{"eks.amazonaws.com/role-arn": s("arn:aws:iam::123456789012:role/spinops-backup")})},
		"irsa in china":          {val: stringMap(map[string]attr.Value{"eks.amazonaws.com/role-arn": s("arn:aws-cn:iam::123456789012:role/b")})},
		"workload id":            {val: stringMap(map[string]attr.Value{"iam.gke.io/gcp-service-account": s("spinops-backup@my-project.iam.gserviceaccount.com")})},
		"compute default":        {val: stringMap(map[string]attr.Value{"iam.gke.io/gcp-service-account": s("123456789012-compute@developer.gserviceaccount.com")})},
		"app engine":             {val: stringMap(map[string]attr.Value{"iam.gke.io/gcp-service-account": s("my-project@appspot.gserviceaccount.com")})},
		"bad key, unknown value": {val: stringMap(map[string]attr.Value{"not a key": types.StringUnknown()}), wantError: "Kubernetes would refuse these annotations"},
		"other":                  {val: stringMap(map[string]attr.Value{"example.com/team": s("platform")})},
		"empty":                  {val: stringMap(map[string]attr.Value{})},
		"unknown value":          {val: stringMap(map[string]attr.Value{"eks.amazonaws.com/role-arn": types.StringUnknown()})},
		"irsa role name":         {val: stringMap(map[string]attr.Value{"eks.amazonaws.com/role-arn": s("spinops-backup")}), wantError: "must be an IAM role ARN"},
		"irsa user":              {val: stringMap(map[string]attr.Value{"eks.amazonaws.com/role-arn": s("arn:aws:iam::123456789012:user/x")}), wantError: "must be an IAM role ARN"},
		"workload id name":       {val: stringMap(map[string]attr.Value{"iam.gke.io/gcp-service-account": s("spinops-backup")}), wantError: "must be a Google service account's e-mail"},
		"user e-mail":            {val: stringMap(map[string]attr.Value{"iam.gke.io/gcp-service-account": s("me@example.com")}), wantError: "must be a Google service account's e-mail"},
		"bad key":                {val: stringMap(map[string]attr.Value{"not a key": s("x")}), wantError: "Kubernetes would refuse these annotations"},
		"two slashes":            {val: stringMap(map[string]attr.Value{"a/b/c": s("x")}), wantError: "Kubernetes would refuse these annotations"},
		"too large":              {val: stringMap(map[string]attr.Value{"big": s(strings.Repeat("x", 256*1024))}), wantError: "Kubernetes would refuse these annotations"},
		"null value":             {val: stringMap(map[string]attr.Value{"example.com/team": types.StringNull()}), wantError: "has no value"},
	})
}
