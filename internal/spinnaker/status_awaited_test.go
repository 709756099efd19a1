package spinnaker

import (
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// TestAwaitDeploy: a wait awaits a new status.lastDeployed hash only for a
// hashed part whose content the operator's typed field sees changed; what
// its typed JSON leaves out (empty maps, fields it has no place for) is no
// change, since the operator would record no new hash and the wait would
// never end.
func TestAwaitDeploy(t *testing.T) {
	ss := func(spec map[string]any, status map[string]any) *unstructured.Unstructured {
		return &unstructured.Unstructured{Object: map[string]any{"spec": spec, "status": status}}
	}
	deployed := map[string]any{"lastDeployed": map[string]any{
		"config": map[string]any{"hash": "c0"}, "kustomize": map[string]any{"hash": "k0"}}}
	base := map[string]any{"spinnakerConfig": map[string]any{"config": map[string]any{"version": "1.35.3"}}}
	with := func(path []string, v any) map[string]any {
		spec := ss(base, nil).DeepCopy()
		if err := unstructured.SetNestedField(spec.Object, v, append([]string{"spec"}, path...)...); err != nil {
			t.Fatal(err)
		}
		return spec.Object["spec"].(map[string]any)
	}
	patch := map[string]any{"deck": map[string]any{"deployment": map[string]any{"patchesStrategicMerge": []any{"spec: {}"}}}}
	hashes := func(h map[string]string) awaitedDeploy { return awaitedDeploy{hashes: h} }
	for name, tc := range map[string]struct {
		after map[string]any
		want  awaitedDeploy
	}{
		"nothing":              {base, awaitedDeploy{}},
		"a profile":            {with([]string{"spinnakerConfig", "profiles"}, map[string]any{"gate": map[string]any{"a": "b"}}), hashes(map[string]string{"config": "c0"})},
		"the version":          {with([]string{"spinnakerConfig", "config", "version"}, "1.36.0"), hashes(map[string]string{"config": "c0"})},
		"empty profiles":       {with([]string{"spinnakerConfig", "profiles"}, map[string]any{}), awaitedDeploy{}},
		"an unknown field":     {with([]string{"spinnakerConfig", "extra"}, "x"), awaitedDeploy{}},
		"a kustomize patch":    {with([]string{"kustomize"}, patch), hashes(map[string]string{"kustomize": "k0"})},
		"an expose change":     {with([]string{"expose"}, map[string]any{"type": "service"}), awaitedDeploy{expose: true}},
		"accounts switched on": {with([]string{"accounts"}, map[string]any{"enabled": true}), awaitedDeploy{}},
	} {
		t.Run(name, func(t *testing.T) {
			got := awaitDeploy(ss(base, deployed), ss(tc.after, deployed))
			if len(got.hashes) != len(tc.want.hashes) || got.expose != tc.want.expose {
				t.Fatalf("awaited %+v, want %+v", got, tc.want)
			}
			for k, v := range tc.want.hashes {
				if got.hashes[k] != v {
					t.Fatalf("awaited %+v, want %+v", got, tc.want)
				}
			}
			// Pending until the operator records another hash.
			if len(got.hashes) > 0 {
				if got.pending(ss(tc.after, deployed)) == "" {
					t.Error("not pending with the hashes of before")
				}
				if p := got.pending(ss(tc.after, map[string]any{"lastDeployed": map[string]any{
					"config": map[string]any{"hash": "c1"}, "kustomize": map[string]any{"hash": "k1"}}})); p != "" {
					t.Errorf("still pending once the operator recorded new hashes: %s", p)
				}
			}
		})
	}
	if got := awaitDeploy(nil, ss(base, nil)); len(got.hashes) != 0 || got.expose {
		t.Errorf("a new SpinnakerService awaits %+v (its status.version tells)", got)
	}
}

// TestAwaitDeployRollback: rolling back an apply the operator never
// deployed (it still records the hash of the spec before, which the
// rollback puts back) awaits nothing for that part; one it deployed is
// awaited as any change.
func TestAwaitDeployRollback(t *testing.T) {
	hashes := func(h map[string]string) awaitedDeploy { return awaitedDeploy{hashes: h} }
	failed := hashes(map[string]string{"config": "h0"})
	if got := hashes(map[string]string{"config": "h0"}).unlessNeverRecorded(failed); len(got.hashes) != 0 {
		t.Errorf("never recorded: awaited %+v", got)
	}
	if got := hashes(map[string]string{"config": "h1"}).unlessNeverRecorded(failed); got.hashes["config"] != "h1" || len(got.hashes) != 1 {
		t.Errorf("deployed, then rolled back: awaited %+v", got)
	}
	if got := hashes(map[string]string{"kustomize": "k0"}).unlessNeverRecorded(failed); got.hashes["kustomize"] != "k0" || len(got.hashes) != 1 {
		t.Errorf("a part the failed apply did not change: awaited %+v", got)
	}
	// The Services are compared with the spec whatever was deployed last.
	if got := (awaitedDeploy{expose: true}).unlessNeverRecorded(awaitedDeploy{expose: true}); !got.expose {
		t.Errorf("a rolled-back expose change is not waited for: %+v", got)
	}
}
