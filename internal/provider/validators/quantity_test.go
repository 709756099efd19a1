package validators_test

import (
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/spinops/terraform-provider-spinops/internal/provider/validators"
)

func TestQuantities(t *testing.T) {
	t.Parallel()
	const msg = "is not a Kubernetes quantity"
	testMap(t, validators.Quantities(), map[string]mapCase{
		"valid":         {val: stringMap(map[string]attr.Value{"cpu": types.StringValue("100m"), "memory": types.StringValue("128Mi")})},
		"decimal":       {val: stringMap(map[string]attr.Value{"cpu": types.StringValue("0.5")})},
		"unknown value": {val: stringMap(map[string]attr.Value{"cpu": types.StringUnknown()})},
		"word":          {val: stringMap(map[string]attr.Value{"cpu": types.StringValue("lots")}), wantError: msg},
		"unit case":     {val: stringMap(map[string]attr.Value{"memory": types.StringValue("128mb")}), wantError: msg},
		"one bad":       {val: stringMap(map[string]attr.Value{"cpu": types.StringValue("1"), "memory": types.StringValue("1 Gi")}), wantError: `"1 Gi"`},
	})
}
