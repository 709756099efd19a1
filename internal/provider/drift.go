package provider

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/listplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
			"or `Kind namespace/name: changed: <fields>` (`Kind name: …` for a cluster-scoped one; an edit with `kubectl edit`, `kubectl apply` or `kubectl scale` of a field the provider sets, " +
			"or a deletion); found on refresh by a server-side dry-run apply of each object, so what the API server defaults and fields " +
			"other managers own are not drift. The plan then shows this list going to `[]`, and the apply puts the objects back. " +
			"With credentials that may read but not patch (a plan-only pipeline: the dry run is authorized as a real apply), the check is skipped " +
			"with a warning and the list keeps its last value. Unknown in a plan whose provider connection is known only after apply (the cluster " +
			"made or replaced in the same apply): the objects were not read, and the apply applies them all again. " + secrets}
}

// noDrift is drifted_objects after an apply.
func noDrift() types.List { return types.ListValueMust(types.StringType, nil) }

// priorDrift is drifted_objects as state holds it, an empty list for state
// written before the attribute existed.
func priorDrift(l types.List) types.List {
	if l.IsNull() || l.IsUnknown() {
		return noDrift()
	}
	return l
}

// driftedObjects asks the API server which of objs differ from what an
// apply of them would make (kube.Client.Drift), and returns them with
// found (drift found otherwise, e.g. a deleted Secret), sorted, as
// drifted_objects. what names the resource in messages.
//
// Credentials that may read but not patch (a plan-only pipeline, a
// speculative plan in Terraform Cloud) cannot run the dry-run apply, which
// is authorized as a real one: the check is then skipped with a warning
// and prior kept, so such a plan still works. Any other failure is an
// error.
func driftedObjects(ctx context.Context, c *kube.Client, what string, prior types.List, diags *diag.Diagnostics, objs []*unstructured.Unstructured, found ...string) types.List {
	drifted, ok := driftOf(ctx, c, what, diags, objs)
	if !ok {
		return prior
	}
	return driftList(ctx, what, append(drifted, found...))
}

// driftOf is the drift of objs in c as drifted_objects lists it
// ("Kind namespace/name: deleted", "Kind name: changed: rules" for a
// cluster-scoped one); ok is false when the check could not run (a warning
// or an error in diags, as driftedObjects explains).
func driftOf(ctx context.Context, c *kube.Client, what string, diags *diag.Diagnostics, objs []*unstructured.Unstructured) (drifted []string, ok bool) {
	for _, u := range objs {
		d, err := c.Drift(ctx, u)
		var dryRun *kube.DryRunError
		switch {
		case apierrors.IsForbidden(err):
			diags.AddWarning("Drift not checked", fmt.Sprintf("Checking %s for changes made outside Terraform needs the permission to patch its objects "+
				"(a server-side apply in dry-run mode, authorized as a real one), and these credentials lack it: %v. "+
				"drifted_objects keeps its last value; a plan with credentials that may apply checks it.", what, err))
			return nil, false
		case errors.As(err, &dryRun):
			// E.g. an admission webhook that failed or denied the dry run:
			// the plan goes on, the apply runs admission again for real.
			diags.AddWarning("Drift not checked", fmt.Sprintf("The API server refused the dry run that checks %s for changes made outside Terraform: %v. "+
				"drifted_objects keeps its last value.", what, err))
			return nil, false
		}
		if err != nil {
			diags.AddError("Checking "+what+" for drift failed", err.Error())
			return nil, false
		}
		if d != "" {
			drifted = append(drifted, kube.Describe(u)+": "+d)
		}
	}
	return drifted, true
}

// driftList is drifted_objects holding drifted (sorted in place); a
// non-empty one is logged as a warning.
func driftList(ctx context.Context, what string, drifted []string) types.List {
	slices.Sort(drifted)
	values := make([]attr.Value, len(drifted))
	for i, d := range drifted {
		values[i] = types.StringValue(d)
	}
	if len(drifted) > 0 {
		tflog.Warn(ctx, what+": objects differ from what Terraform applied; the next apply puts them back", map[string]any{"drifted": strings.Join(drifted, "; ")})
	}
	return types.ListValueMust(types.StringType, values)
}

// secretKeysForDrift reads the keys (never the values) of Secret ns/name,
// which a drift check needs to render the objects as the apply made them
// when the Secret holds write-only values. exists is false when the Secret
// is gone. ok is false when the check cannot go on: credentials that may
// not read Secrets (Kubernetes' own "view" role has none; a warning in
// diags, the check skipped) or another failure (an error in diags).
func secretKeysForDrift(ctx context.Context, c *kube.Client, what, ns, name string, diags *diag.Diagnostics) (keys map[string]bool, exists, ok bool) {
	secret, err := c.Clientset.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return map[string]bool{}, false, true
	case apierrors.IsForbidden(err):
		diags.AddWarning("Drift not checked", fmt.Sprintf("Checking %s for changes made outside Terraform reads its Secret's keys (never its values), "+
			"and these credentials may not: %v. drifted_objects keeps its last value.", what, err))
		return nil, false, false
	case err != nil:
		diags.AddError("Checking "+what+" for drift failed", fmt.Sprintf("reading Secret %s/%s: %v", ns, name, err))
		return nil, false, false
	}
	keys = map[string]bool{}
	for k := range secret.Data {
		keys[k] = true
	}
	return keys, true, true
}
