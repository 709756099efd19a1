package provider

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/listplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/spinops/terraform-provider-spinops/internal/kube"
)

// driftedObjectsAttribute is the drifted_objects attribute of a resource
// that applies Kubernetes objects: Read fills it (driftedObjects), the
// resource's ModifyPlan plans it back to [] when it is not empty (so the
// plan shows what drifted, as an update), and the apply sets [].
// objects names them; secrets says what of the Secrets is checked.
func driftedObjectsAttribute(objects, secrets string) schema.ListAttribute {
	return schema.ListAttribute{Computed: true, ElementType: types.StringType,
		PlanModifiers: []planmodifier.List{listplanmodifier.UseStateForUnknown()},
		MarkdownDescription: "The " + objects + " that differ in the cluster from what Terraform applied, as `Kind namespace/name: deleted` " +
			"or `Kind namespace/name: changed: <fields>` (an edit with `kubectl edit`, `kubectl apply` or `kubectl scale` of a field the provider sets, " +
			"or a deletion); found on refresh by a server-side dry-run apply of each object, so what the API server defaults and fields " +
			"other managers own are not drift. The plan then shows this list going to `[]`, and the apply puts the objects back. " + secrets}
}

// noDrift is drifted_objects after an apply.
func noDrift() types.List { return types.ListValueMust(types.StringType, nil) }

// driftedObjects asks the API server which of objs differ from what an
// apply of them would make (kube.Client.Drift), and returns them with
// found (drift found otherwise, e.g. a deleted Secret), sorted, as
// drifted_objects. what names the resource in the log.
func driftedObjects(ctx context.Context, c *kube.Client, what string, objs []*unstructured.Unstructured, found ...string) (types.List, error) {
	drifted := slices.Clone(found)
	for _, u := range objs {
		d, err := c.Drift(ctx, u)
		if err != nil {
			return noDrift(), err
		}
		if d != "" {
			drifted = append(drifted, fmt.Sprintf("%s %s/%s: %s", u.GetKind(), u.GetNamespace(), u.GetName(), d))
		}
	}
	slices.Sort(drifted)
	values := make([]attr.Value, len(drifted))
	for i, d := range drifted {
		values[i] = types.StringValue(d)
	}
	if len(drifted) > 0 {
		tflog.Warn(ctx, what+": objects differ from what Terraform applied; the next apply puts them back", map[string]any{"drifted": strings.Join(drifted, "; ")})
	}
	return types.ListValueMust(types.StringType, values), nil
}
