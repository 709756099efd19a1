package validators

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/robfig/cron/v3"
)

// CronSchedule checks a schedule with the parser Kubernetes' own CronJob
// controller uses (robfig/cron's ParseStandard: 5 fields or an
// @descriptor). A TZ= or CRON_TZ= prefix is refused: the time zone has an
// attribute of its own (time_zone, the CronJob's spec.timeZone).
func CronSchedule() validator.String { return cronScheduleValidator{} }

type cronScheduleValidator struct{}

func (cronScheduleValidator) Description(context.Context) string {
	return "must be a cron schedule: 5 fields (minute hour day-of-month month day-of-week) or @hourly/@daily/@weekly/@monthly/@yearly"
}

func (v cronScheduleValidator) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}

func (v cronScheduleValidator) ValidateString(ctx context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	s := req.ConfigValue.ValueString()
	if strings.HasPrefix(strings.TrimSpace(s), "TZ=") || strings.HasPrefix(strings.TrimSpace(s), "CRON_TZ=") {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid schedule", "Set the time zone with time_zone, not inside schedule.")
		return
	}
	if _, err := cron.ParseStandard(s); err != nil {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid schedule", fmt.Sprintf("%q %s: %v", s, v.Description(ctx), err))
	}
}

// TimeZone checks an IANA time zone name, as Go's time.LoadLocation (the
// CronJob controller's check of spec.timeZone) reads it.
func TimeZone() validator.String { return timeZoneValidator{} }

type timeZoneValidator struct{}

func (timeZoneValidator) Description(context.Context) string {
	return "must be an IANA time zone name such as Etc/UTC or Europe/Paris"
}

func (v timeZoneValidator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (v timeZoneValidator) ValidateString(ctx context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if _, err := time.LoadLocation(req.ConfigValue.ValueString()); err != nil {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid time zone", fmt.Sprintf("%q %s: %v", req.ConfigValue.ValueString(), v.Description(ctx), err))
	}
}
