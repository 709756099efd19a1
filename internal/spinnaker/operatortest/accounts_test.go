package operatortest_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"

	"github.com/spinops/terraform-provider-spinops/internal/spinnaker"
	"github.com/spinops/terraform-provider-spinops/internal/spinnaker/operatortest"
)

func spinAccount(ns, name string, enabled bool, typ string) *unstructured.Unstructured {
	o := &unstructured.Unstructured{Object: map[string]any{
		"spec": map[string]any{
			"enabled":  enabled,
			"type":     typ,
			"settings": map[string]any{"kinds": []any{"Deployment"}, "cacheIntervalSeconds": int64(10)},
			"kubernetes": map[string]any{"kubeconfig": map[string]any{
				"apiVersion": "v1", "kind": "Config", "current-context": "c", "preferences": map[string]any{},
				"clusters": []any{map[string]any{"name": "c", "cluster": map[string]any{"server": "https://bridge.example:8443/accounts/" + name}}},
				"users":    []any{map[string]any{"name": "u", "user": map[string]any{"tokenFile": "/var/run/spinops/account-tokens/" + name}}},
				"contexts": []any{map[string]any{"name": "c", "context": map[string]any{"cluster": "c", "user": "u"}}},
			}},
		},
	}}
	o.SetGroupVersionKind(spinnaker.SpinnakerAccountGVK)
	o.SetNamespace(ns)
	o.SetName(name)
	return o
}

// TestStandIn_accountsReachClouddriver copies how the real operator hands
// SpinnakerAccounts to Clouddriver (accounts.go lists the source paths):
// with spec.accounts.enabled the accounts profile is on and
// clouddriver-accounts.yml of Clouddriver's config Secret lists the enabled
// Kubernetes accounts (inline kubeconfig as kubeconfigContents, settings
// copied, providerVersion V2); an account switched to enabled: false
// leaves the file, and comes back when enabled again (the account
// controller); other types are skipped.
func TestStandIn_accountsReachClouddriver(t *testing.T) {
	const opNS = "spin-accounts"
	e := startEnv(t, opNS)
	if err := spinnaker.EnsureOperator(e.ctx, e.client, settings(opNS, false), true, time.Minute); err != nil {
		t.Fatal(err)
	}
	for _, a := range []*unstructured.Unstructured{
		spinAccount(opNS, "on", true, "Kubernetes"),
		spinAccount(opNS, "off", false, "Kubernetes"),
		spinAccount(opNS, "other-type", true, "Lambda"),
	} {
		if _, err := e.client.Apply(e.ctx, a); err != nil {
			t.Fatalf("%s: %v", a.GetName(), err)
		}
	}
	ss := spinsvc(opNS, "spinnaker", "1.35.3", nil, map[string]any{"accounts": map[string]any{"enabled": true, "dynamic": true}})
	if _, err := e.client.Apply(e.ctx, ss); err != nil {
		t.Fatal(err)
	}
	e.waitFor("the SpinnakerService deployed", func() (bool, string) {
		st := e.status(opNS, "spinnaker")
		return st.Status == spinnaker.StatusOK, st.Status
	})
	accounts := func() []string {
		names, err := operatortest.ClouddriverAccounts(e.ctx, e.client.Clientset, opNS)
		if err != nil {
			return []string{"error: " + err.Error()}
		}
		return names
	}
	e.waitFor("the enabled account in Clouddriver's accounts file", func() (bool, string) {
		got := accounts()
		return slices.Equal(got, []string{"on"}), strings.Join(got, ",")
	})
	sec, err := e.client.Clientset.CoreV1().Secrets(opNS).Get(e.ctx, "spin-clouddriver-files", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	file := string(sec.Data["clouddriver-accounts.yml"])
	for _, want := range []string{"providerVersion: V2", "kubeconfigContents:", "https://bridge.example:8443/accounts/on", "cacheIntervalSeconds: 10", "- Deployment"} {
		if !strings.Contains(file, want) {
			t.Errorf("clouddriver-accounts.yml lacks %q:\n%s", want, file)
		}
	}
	// Other services get an empty accounts file (PrepareSettings is for
	// "clouddriver" only).
	if gate, err := e.client.Clientset.CoreV1().Secrets(opNS).Get(e.ctx, "spin-gate-files", metav1.GetOptions{}); err != nil || strings.TrimSpace(string(gate.Data["gate-accounts.yml"])) != "{}" {
		t.Errorf("gate's accounts file: %q (%v)", gate.Data["gate-accounts.yml"], err)
	}

	setEnabled := func(name string, on bool) {
		t.Helper()
		patch := []byte(`{"spec":{"enabled":` + map[bool]string{true: "true", false: "false"}[on] + `}}`)
		if _, err := e.client.Dynamic.Resource(spinnaker.SpinnakerAccountGVK.GroupVersion().WithResource("spinnakeraccounts")).Namespace(opNS).
			Patch(e.ctx, name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	setEnabled("on", false)
	e.waitFor("the disabled account gone from Clouddriver's accounts file", func() (bool, string) {
		got := accounts()
		return len(got) == 0, strings.Join(got, ",")
	})
	setEnabled("on", true)
	setEnabled("off", true)
	e.waitFor("both enabled accounts in Clouddriver's accounts file", func() (bool, string) {
		got := accounts()
		return slices.Equal(got, []string{"off", "on"}), strings.Join(got, ",")
	})
	if err := e.op.AccountError(); err != nil {
		t.Errorf("account controller: %v", err)
	}
}
