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

func TestRFC3339(t *testing.T) {
	t.Parallel()
	testString(t, validators.RFC3339(), map[string]stringCase{
		"utc":     {val: types.StringValue("2026-03-01T02:00:00Z")},
		"offset":  {val: types.StringValue("2026-03-01T02:00:00+01:00")},
		"no zone": {val: types.StringValue("2026-03-01T02:00:00"), wantError: "is not an RFC 3339 time"},
		"date":    {val: types.StringValue("2026-03-01"), wantError: "is not an RFC 3339 time"},
	})
}
