package validators_test

import (
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/spinops/terraform-provider-spinops/internal/provider/validators"
)

func TestSpinnakerVersion(t *testing.T) {
	t.Parallel()
	const want = "must be a Spinnaker version such as 1.35.3"
	testString(t, validators.SpinnakerVersion(), map[string]stringCase{
		"release":       {val: types.StringValue("1.35.3")},
		"rc":            {val: types.StringValue("1.36.0-rc1")},
		"build":         {val: types.StringValue("2025.1.0+build.7")},
		"two parts":     {val: types.StringValue("1.35"), wantError: want},
		"v prefix":      {val: types.StringValue("v1.35.3"), wantError: want},
		"empty":         {val: types.StringValue(""), wantError: want},
		"space":         {val: types.StringValue("1.35.3 "), wantError: want},
		"bad separator": {val: types.StringValue("1.35.3_rc1"), wantError: want},
	})
}
