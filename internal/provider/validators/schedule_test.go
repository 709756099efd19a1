package validators_test

import (
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/spinops/terraform-provider-spinops/internal/provider/validators"
)

func TestCronSchedule(t *testing.T) {
	t.Parallel()
	testString(t, validators.CronSchedule(), map[string]stringCase{
		"five fields":  {val: types.StringValue("15 3 * * *")},
		"ranges":       {val: types.StringValue("*/10 0-6 1,15 * MON-FRI")},
		"descriptor":   {val: types.StringValue("@daily")},
		"six fields":   {val: types.StringValue("0 15 3 * * *"), wantError: "expected exactly 5 fields"},
		"words":        {val: types.StringValue("every hour"), wantError: "Invalid schedule"},
		"out of range": {val: types.StringValue("61 * * * *"), wantError: "must be a cron schedule"},
		"TZ prefix":    {val: types.StringValue("TZ=Europe/Paris 0 3 * * *"), wantError: "Set the time zone with time_zone"},
		"CRON_TZ":      {val: types.StringValue(" CRON_TZ=UTC 0 3 * * *"), wantError: "Set the time zone with time_zone"},
		"empty":        {val: types.StringValue(""), wantError: "Invalid schedule"},
	})
}

func TestTimeZone(t *testing.T) {
	t.Parallel()
	const want = "must be an IANA time zone name"
	testString(t, validators.TimeZone(), map[string]stringCase{
		"utc":         {val: types.StringValue("Etc/UTC")},
		"region":      {val: types.StringValue("Europe/Paris")},
		"unknown":     {val: types.StringValue("Mars/Olympus"), wantError: want},
		"offset":      {val: types.StringValue("+02:00"), wantError: want},
		"lowercase":   {val: types.StringValue("europe/paris"), wantError: want},
		"path escape": {val: types.StringValue("../../etc/passwd"), wantError: want},
	})
}
