package provider

import (
	"context"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"

	tfresource "github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
)

// importSteps import addr the two ways Terraform 1.5 and later users do,
// after the import command the tests already run:
//
//   - an import block beside the user's own configuration (the previous
//     step's): the plan must import and change nothing but terraformOnly,
//     the arguments no cluster holds (timeouts, wait, verification): those
//     are an in-place update of state alone;
//   - terraform plan -generate-config-out: the generated configuration must
//     be valid and plan an import with no change at all. generateErr, when
//     set, is the error it must fail with instead, and errors names every
//     error it may hold (no generated configuration can hold a write-only
//     value, so a resource that always needs one cannot plan without it).
func importSteps(addr, id string, terraformOnly []string, generateErr *regexp.Regexp) []tfresource.TestStep {
	return []tfresource.TestStep{
		{
			ResourceName:       addr,
			ImportState:        true,
			ImportStateKind:    tfresource.ImportBlockWithID,
			ImportStateId:      id,
			ExpectNonEmptyPlan: len(terraformOnly) > 0,
			ImportPlanChecks: tfresource.ImportPlanChecks{PreApply: []plancheck.PlanCheck{
				importChangesOnly{addr: addr, allowed: terraformOnly},
			}},
		},
		{
			ResourceName:    addr,
			ImportState:     true,
			ImportStateKind: tfresource.ImportBlockWithID,
			ImportStateId:   id,
			GenerateConfig:  true,
			ExpectError:     generateErr,
		},
	}
}

// importChangesOnly checks that the plan imports addr and changes none of
// its arguments but allowed. A value that becomes unknown is a computed one
// the planned update recomputes, not a change of the configuration.
type importChangesOnly struct {
	addr    string
	allowed []string
}

func (c importChangesOnly) CheckPlan(_ context.Context, req plancheck.CheckPlanRequest, resp *plancheck.CheckPlanResponse) {
	for _, rc := range req.Plan.ResourceChanges {
		if rc.Address != c.addr || rc.Change == nil {
			continue
		}
		if rc.Change.Importing == nil {
			resp.Error = fmt.Errorf("%s: the plan does not import it (%v)", c.addr, rc.Change.Actions)
			return
		}
		var changed []string
		for _, p := range changedPaths("", rc.Change.Before, rc.Change.After, rc.Change.AfterUnknown) {
			top, _, _ := strings.Cut(p, ".")
			if !slices.Contains(c.allowed, top) {
				changed = append(changed, p)
			}
		}
		if len(changed) > 0 {
			resp.Error = fmt.Errorf("%s: after the import the plan changes what the cluster holds: %s", c.addr, strings.Join(changed, ", "))
		}
		return
	}
	resp.Error = fmt.Errorf("%s is not in the plan", c.addr)
}

// changedPaths lists the paths (a.b.0.c) whose planned value is known and
// differs from the imported one.
func changedPaths(at string, before, after, unknown any) []string {
	if u, ok := unknown.(bool); ok && u {
		return nil
	}
	join := func(k string) string {
		if at == "" {
			return k
		}
		return at + "." + k
	}
	switch a := after.(type) {
	case map[string]any:
		b, _ := before.(map[string]any)
		u, _ := unknown.(map[string]any)
		keys := map[string]bool{}
		for k := range a {
			keys[k] = true
		}
		for k := range b {
			keys[k] = true
		}
		var out []string
		for k := range keys {
			out = append(out, changedPaths(join(k), b[k], a[k], u[k])...)
		}
		sort.Strings(out)
		return out
	case []any:
		b, _ := before.([]any)
		u, _ := unknown.([]any)
		if len(a) != len(b) {
			return []string{at}
		}
		var out []string
		for i := range a {
			var ui any
			if i < len(u) {
				ui = u[i]
			}
			out = append(out, changedPaths(join(fmt.Sprint(i)), b[i], a[i], ui)...)
		}
		return out
	}
	if !reflect.DeepEqual(before, after) {
		return []string{at}
	}
	return nil
}
