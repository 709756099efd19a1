package validators_test

import (
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/spinops/terraform-provider-spinops/internal/provider/validators"
)

func TestOneOfOrRemoved(t *testing.T) {
	v := validators.OneOfOrRemoved([]string{"agent", "infrastructure"},
		map[string]string{"spinnaker_service": "it behaved as infrastructure."})
	testString(t, v, map[string]stringCase{
		"allowed":        {val: types.StringValue("agent")},
		"allowed second": {val: types.StringValue("infrastructure")},
		"removed":        {val: types.StringValue("spinnaker_service"), wantError: `"spinnaker_service" is no longer accepted: it behaved as infrastructure. Allowed values: "agent", "infrastructure".`},
		"unknown value":  {val: types.StringValue("Agent"), wantError: `"Agent" is not allowed; write one of: "agent", "infrastructure".`},
		"empty":          {val: types.StringValue(""), wantError: `"" is not allowed`},
	})
}
