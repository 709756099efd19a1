package validators_test

import (
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/spinops/terraform-provider-spinops/internal/provider/validators"
)

func TestDuration(t *testing.T) {
	t.Parallel()
	const msg = "must be a non-negative duration"
	testString(t, validators.Duration(), map[string]stringCase{
		"hours":    {val: types.StringValue("24h")},
		"mixed":    {val: types.StringValue("1h30m")},
		"zero":     {val: types.StringValue("0s")},
		"negative": {val: types.StringValue("-5m"), wantError: msg},
		"days":     {val: types.StringValue("1d"), wantError: msg},
		"number":   {val: types.StringValue("30"), wantError: msg},
		"empty":    {val: types.StringValue(""), wantError: msg},
	})
}
