package attach_test

import (
	"encoding/json"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"

	"github.com/spinops/terraform-provider-spinops/internal/attach"
)

// TestSpinnakerAccountEditedOutOfBand: a SpinnakerAccount whose settings
// or permissions someone else changed (another field manager, as kubectl
// edit is) is reported by Missing, so refresh marks it not installed and
// the plan writes it back; Apply then leaves exactly what it renders, keys
// added by the other writer included (server-side apply alone keeps
// them: spec.settings is a schemaless map, merged key by key). spec.enabled
// is the bridge's and never counts as a change.
func TestSpinnakerAccountEditedOutOfBand(t *testing.T) {
	f := setup(t)
	sa := &attach.SpinnakerAccount{Account: "drift", Namespace: f.spinNS, RegistrationID: "reg-drift",
		Filter:               attach.AccountFilter{Kinds: []string{"Deployment"}, Read: []string{"dev"}},
		CacheIntervalSeconds: attach.DefaultCacheIntervalSeconds}
	const kubeconfig = `apiVersion: v1
kind: Config
clusters: [{name: b, cluster: {server: "https://bridge.example:8443/accounts/drift"}}]
users: [{name: u, user: {token: endpoint-token}}]
contexts: [{name: c, context: {cluster: b, user: u}}]
current-context: c
`
	ctx := t.Context()
	if err := sa.Apply(ctx, f.client, kubeconfig); err != nil {
		t.Fatal(err)
	}
	missing := func() string {
		t.Helper()
		m, err := sa.Missing(ctx, f.client)
		if err != nil {
			t.Fatal(err)
		}
		return strings.Join(m, "; ")
	}
	if m := missing(); m != "" {
		t.Fatalf("just applied, Missing reports %s", m)
	}
	res := f.client.Dynamic.Resource(attach.SpinnakerAccountGVK.GroupVersion().WithResource("spinnakeraccounts")).Namespace(f.spinNS)
	edit := func(patch string) {
		t.Helper()
		if _, err := res.Patch(ctx, "drift", types.MergePatchType, []byte(patch), metav1.PatchOptions{FieldManager: "kubectl-edit"}); err != nil {
			t.Fatal(err)
		}
	}
	spec := func() map[string]any {
		t.Helper()
		u, err := res.Get(ctx, "drift", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		s, _, _ := unstructured.NestedMap(u.Object, "spec")
		return s
	}
	asJSON := func(v any) string { b, _ := json.Marshal(v); return string(b) }

	// The bridge disables an account whose agent is gone: not a change.
	edit(`{"spec":{"enabled":false}}`)
	if m := missing(); m != "" {
		t.Fatalf("spec.enabled (the bridge's) counted as a change: %s", m)
	}

	// A slower cycle and a key of its own, added by hand.
	edit(`{"spec":{"settings":{"cacheIntervalSeconds":300,"cacheThreads":4}}}`)
	if m := missing(); !strings.Contains(m, "spec.settings") || strings.Contains(m, "spec.permissions") {
		t.Fatalf("settings edited out of band, Missing reports %q", m)
	}
	if err := sa.Apply(ctx, f.client, kubeconfig); err != nil {
		t.Fatal(err)
	}
	got := spec()
	if s := asJSON(got["settings"]); s != `{"cacheIntervalSeconds":10,"kinds":["Deployment"]}` {
		t.Errorf("after Apply, spec.settings = %s, want exactly the rendered settings", s)
	}
	if on, _ := got["enabled"].(bool); on {
		t.Errorf("Apply turned the account the bridge had disabled on again")
	}
	if m := missing(); m != "" {
		t.Fatalf("after Apply, Missing still reports %s", m)
	}

	// Write access granted to everyone by hand.
	edit(`{"spec":{"permissions":{"WRITE":["everyone"]}}}`)
	if m := missing(); !strings.Contains(m, "spec.permissions") {
		t.Fatalf("permissions edited out of band, Missing reports %q", m)
	}
	if err := sa.Apply(ctx, f.client, kubeconfig); err != nil {
		t.Fatal(err)
	}
	if p := asJSON(spec()["permissions"]); p != `{"READ":["dev"]}` {
		t.Errorf("after Apply, spec.permissions = %s, want exactly READ dev", p)
	}
	if m := missing(); m != "" {
		t.Fatalf("after Apply, Missing still reports %s", m)
	}
}
