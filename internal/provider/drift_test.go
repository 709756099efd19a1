package provider

import (
	"context"
	"fmt"
	"slices"

	tfresource "github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// scaleToZeroByHand scales Deployment ns/name to 0 through its scale
// subresource, as `kubectl scale` does (its own field manager).
func scaleToZeroByHand(ctx context.Context, cs kubernetes.Interface, ns, name string) error {
	scale, err := cs.AppsV1().Deployments(ns).GetScale(ctx, name, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("reading the scale of Deployment %s/%s: %w", ns, name, err)
	}
	scale.Spec.Replicas = 0
	_, err = cs.AppsV1().Deployments(ns).UpdateScale(ctx, name, scale, metav1.UpdateOptions{FieldManager: "kubectl-scale"})
	return err
}

// driftPlanChecks are the checks of a plan after edits made outside
// Terraform: refresh found exactly want in drifted_objects, and the plan is
// an update that takes the list to [] (the apply puts the objects back).
func driftPlanChecks(address string, want ...string) tfresource.ConfigPlanChecks {
	return tfresource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
		plancheck.ExpectResourceAction(address, plancheck.ResourceActionUpdate),
		plancheck.ExpectKnownValue(address, tfjsonpath.New("drifted_objects"), knownvalue.ListExact(nil)),
		driftBeforePlan{address: address, want: want},
	}}
}

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
