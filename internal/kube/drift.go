package kube

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Drift says how the stored object differs from obj as Apply would make
// it: "" when applying obj would change nothing, "deleted" when the object
// (or its kind) is gone, and otherwise "changed: " and the fields that an
// apply would put back (e.g. "changed: data" or "changed: spec.replicas,
// spec.template"). It asks the API server rather than comparing by itself:
// a server-side apply of obj as FieldManager in dry-run mode
// (metav1.DryRunAll: admission, defaulting and field ownership as for a
// real apply, nothing stored) is compared with the object as stored, so
// defaults the server fills in, fields other managers own (a `kubectl
// rollout restart` annotation, an HPA's replicas when obj sets none) and
// what controllers write into status are never reported, while an edit of
// a field spinops set, or its removal, is.
func (c *Client) Drift(ctx context.Context, obj *unstructured.Unstructured) (string, error) {
	ri, obj, err := c.resourceFor(ctx, obj)
	if meta.IsNoMatchError(err) {
		return "deleted", nil
	}
	if err != nil {
		return "", fmt.Errorf("checking %s for drift: %w", Describe(obj), err)
	}
	live, err := ri.Get(ctx, obj.GetName(), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return "deleted", nil
	}
	if err != nil {
		return "", fmt.Errorf("checking %s for drift: %w", Describe(obj), err)
	}
	if live.GetDeletionTimestamp() != nil {
		return "deleted", nil
	}
	want, err := ri.Apply(ctx, obj.GetName(), obj, metav1.ApplyOptions{FieldManager: FieldManager, Force: true, DryRun: []string{metav1.DryRunAll}})
	if err != nil {
		return "", &DryRunError{Object: Describe(obj), Err: err}
	}
	if fields := differingFields(live.Object, want.Object); len(fields) > 0 {
		return "changed: " + strings.Join(fields, ", "), nil
	}
	return "", nil
}

// DryRunError is a dry-run apply the API server refused: the credentials
// may read but not patch (apierrors.IsForbidden of it is true), or an
// admission webhook called for it failed or denied it (a dry run runs
// admission as a real request does). What the object holds could then not
// be compared; that it exists was.
type DryRunError struct {
	Object string
	Err    error
}

func (e *DryRunError) Error() string {
	return fmt.Sprintf("checking %s for drift (server-side apply, dry run): %v", e.Object, e.Err)
}

func (e *DryRunError) Unwrap() error { return e.Err }

// volatile are the metadata fields that differ between an object and a
// dry-run apply of the same content: who applied when, and the versions
// a write would give it.
var volatile = map[string]bool{"managedFields": true, "resourceVersion": true, "generation": true}

// differingFields names the fields of two objects that differ: top-level
// fields, or one level down in metadata and spec (metadata.labels,
// spec.template), ignoring the volatile metadata fields and status; sorted.
func differingFields(a, b map[string]any) []string {
	var out []string
	for _, k := range unionKeys(a, b) {
		if k == "status" {
			continue // written by controllers, never applied
		}
		av, bv := a[k], b[k]
		am, aok := av.(map[string]any)
		bm, bok := bv.(map[string]any)
		if (k == "metadata" || k == "spec") && aok && bok {
			for _, kk := range unionKeys(am, bm) {
				if k == "metadata" && volatile[kk] {
					continue
				}
				if !equality.Semantic.DeepEqual(am[kk], bm[kk]) {
					out = append(out, k+"."+kk)
				}
			}
			continue
		}
		if !equality.Semantic.DeepEqual(av, bv) {
			out = append(out, k)
		}
	}
	return out
}

func unionKeys(a, b map[string]any) []string {
	keys := make([]string, 0, len(a)+len(b))
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}
