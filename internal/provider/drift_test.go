package provider

import (
	"context"
	"fmt"
	"slices"

	"github.com/hashicorp/terraform-plugin-testing/plancheck"
)

// driftBeforePlan checks the drifted_objects that refresh found for the
// resource at address: the plan's prior state (before), which the plan then
// takes to [].
type driftBeforePlan struct {
	address string
	want    []string
}

func (d driftBeforePlan) CheckPlan(_ context.Context, req plancheck.CheckPlanRequest, resp *plancheck.CheckPlanResponse) {
	for _, rc := range req.Plan.ResourceChanges {
		if rc.Address != d.address {
			continue
		}
		before, _ := rc.Change.Before.(map[string]any)
		var got []string
		if l, ok := before["drifted_objects"].([]any); ok {
			for _, v := range l {
				got = append(got, fmt.Sprint(v))
			}
		}
		if !slices.Equal(got, d.want) {
			resp.Error = fmt.Errorf("drifted_objects after refresh = %q, want %q", got, d.want)
		}
		return
	}
	resp.Error = fmt.Errorf("%s is not in the plan", d.address)
}
