package validators_test

import (
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/spinops/terraform-provider-spinops/internal/provider/validators"
)

func TestServiceAccount(t *testing.T) {
	t.Parallel()
	const msg = "must be namespace:name"
	testString(t, validators.ServiceAccount(), map[string]stringCase{
		"simple":       {val: types.StringValue("spinnaker:clouddriver")},
		"dotted name":  {val: types.StringValue("spinnaker:rosco.bake")},
		"no namespace": {val: types.StringValue("clouddriver"), wantError: msg},
		"uppercase":    {val: types.StringValue("Spinnaker:clouddriver"), wantError: msg},
		"wildcard":     {val: types.StringValue("spinnaker:*"), wantError: msg},
		"three parts":  {val: types.StringValue("a:b:c"), wantError: msg},
	})
}
