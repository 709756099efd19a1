package bridge_test

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"

	bridgev1 "github.com/spinops/terraform-provider-spinops/proto/spinops/bridge/v1"

	"github.com/spinops/terraform-provider-spinops/internal/attach"
	"github.com/spinops/terraform-provider-spinops/internal/bridge"
	"github.com/spinops/terraform-provider-spinops/internal/bridge/store"
	"github.com/spinops/terraform-provider-spinops/internal/kube"
	"github.com/spinops/terraform-provider-spinops/internal/spinnaker"
	"github.com/spinops/terraform-provider-spinops/internal/spinnaker/operatortest"
	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

var spinAccounts = spinnaker.SpinnakerAccountGVK.GroupVersion().WithResource("spinnakeraccounts")

// withSpinnaker lets the bridge switch SpinnakerAccounts in ns of c.
func withSpinnaker(t *testing.T, c *testenv.Cluster, ns string, resync time.Duration) bridgeOption {
	t.Helper()
	kc, err := kube.NewClient(c.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	return func(cfg *bridge.Config) {
		cfg.Spinnaker = &bridge.SpinnakerAccounts{Client: kc.Dynamic, Namespace: ns, Resync: resync}
	}
}

// attachToSpinnaker writes the account's SpinnakerAccount as
// spinops_agent_account does (attach.SpinnakerAccount, with the
// registration id).
func (tb *testBridge) attachToSpinnaker(t *testing.T, kc *kube.Client, ns, name string) *attach.SpinnakerAccount {
	t.Helper()
	resp, err := tb.admin.GetKubeconfig(adminCtx(), &bridgev1.GetKubeconfigRequest{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	sa := &attach.SpinnakerAccount{Account: name, Namespace: ns, RegistrationID: tb.account(t, name).GetId()}
	if err := sa.Apply(t.Context(), kc, resp.GetKubeconfig()); err != nil {
		t.Fatal(err)
	}
	return sa
}

func spinAccountEnabled(t *testing.T, kc *kube.Client, ns, name string) bool {
	t.Helper()
	obj, err := kc.Dynamic.Resource(spinAccounts).Namespace(ns).Get(t.Context(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	on, found, _ := unstructured.NestedBool(obj.Object, "spec", "enabled")
	if !found {
		t.Fatalf("SpinnakerAccount %s/%s has no spec.enabled", ns, name)
	}
	return on
}

// TestWithdrawal_endToEnd: an account whose agent has been gone longer
// than the account's grace period leaves Spinnaker — the bridge sets its
// SpinnakerAccount to enabled: false and the operator stand-in (which
// renders Clouddriver's accounts as the real operator does) drops it from
// Clouddriver's accounts file; a Terraform re-apply of the attachment does
// not enable it again; when the agent is back, so is the account.
func TestWithdrawal_endToEnd(t *testing.T) {
	const ns = "spin"
	c := testenv.StartCluster(t, testenv.WithControllerManager())
	backends := operatortest.StartBackends(t)
	operatortest.StartKubelet(t, c.RESTConfig(), backends.IP)
	op := operatortest.StartOperator(t, c.RESTConfig(), operatortest.OperatorOptions{Backend: backends.Backend, Namespace: ns, Host: backends.Host})
	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
	defer cancel()
	kc, err := kube.NewClient(c.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	img, _ := spinnaker.HalyardImageFor(spinnaker.DefaultOperatorVersion)
	if err := spinnaker.EnsureOperator(ctx, kc, spinnaker.OperatorSettings{Namespace: ns, Image: "armory/spinnaker-operator:1.3.1", HalyardImage: img}, true, time.Minute); err != nil {
		t.Fatal(err)
	}

	tb := startBridge(t, newPKI(t), filepath.Join(t.TempDir(), "bridge.db"), withSpinnaker(t, c, ns, time.Minute))
	const grace = 2 * time.Second // the account's own; the bridge default is a minute
	cred := tb.register(t, &bridgev1.AccountSpec{Name: "edge", Kinds: []string{"ConfigMap"}, GracePeriodSeconds: int64(grace / time.Second)})
	sa := tb.attachToSpinnaker(t, kc, ns, "edge")

	ss := &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{
		"spinnakerConfig": map[string]any{"config": map[string]any{"version": "1.35.3"}},
		"accounts":        map[string]any{"enabled": true, "dynamic": true},
	}}}
	ss.SetGroupVersionKind(spinnaker.SpinnakerServiceGVK)
	ss.SetNamespace(ns)
	ss.SetName("spinnaker")
	if _, err := kc.Apply(ctx, ss); err != nil {
		t.Fatal(err)
	}
	clouddriver := func() []string {
		names, err := operatortest.ClouddriverAccounts(ctx, kc.Clientset, ns)
		if err != nil {
			return []string{"error: " + err.Error()}
		}
		return names
	}
	waitClouddriver := func(what string, want []string) {
		t.Helper()
		err := kube.WaitFor(ctx, 100*time.Millisecond, time.Minute, func(context.Context) (bool, string, error) {
			got := clouddriver()
			return slices.Equal(got, want), "Clouddriver's accounts: " + strings.Join(got, ","), nil
		})
		if err != nil {
			t.Fatalf("%s: %v (operator stand-in: %v; account controller: %v)", what, err, op.LastError(), op.AccountError())
		}
	}
	waitClouddriver("the attached account in Clouddriver", []string{"edge"})

	cfgPath := filepath.Join(t.TempDir(), "agent.yaml")
	tb.agentConfig("edge-agent", agentAccount{Name: "edge", KubeconfigFile: c.Kubeconfig, Credential: cred, Kinds: []string{"ConfigMap"}}).write(t, cfgPath)
	ag := startAgent(t, cfgPath)
	tb.waitSynced(t, "edge")

	// The clock starts before the agent is stopped: the bridge may see the
	// stream end before stop() returns (it waits for the agent to exit,
	// slow on a loaded machine), and the bound is "never before the grace
	// period since the agent began to leave" (seen failing at load 16 by
	// 2.5 ms when the clock started after stop()).
	gone := time.Now()
	ag.stop()
	waitFor(t, time.Minute, "the SpinnakerAccount disabled", func() bool { return !spinAccountEnabled(t, kc, ns, "edge") })
	if d := time.Since(gone); d < grace {
		t.Errorf("disabled %s after the agent left, inside its grace period of %s", d, grace)
	}
	if s := tb.syncState(t, "edge"); s != bridgev1.SyncState_SYNC_STATE_WITHDRAWN {
		t.Errorf("sync state %s, want WITHDRAWN", s)
	}
	waitClouddriver("the withdrawn account gone from Clouddriver", []string{})
	if n := tb.metric(t, `spinops_bridge_spinnaker_account_switches_total{enabled="false"}`); n != 1 {
		t.Errorf("switches to false: %v, want 1", n)
	}

	// A Terraform apply of the attachment (update) keeps the bridge's
	// decision.
	resp, err := tb.admin.GetKubeconfig(adminCtx(), &bridgev1.GetKubeconfigRequest{Name: "edge"})
	if err != nil {
		t.Fatal(err)
	}
	if err := sa.Apply(ctx, kc, resp.GetKubeconfig()); err != nil {
		t.Fatal(err)
	}
	if spinAccountEnabled(t, kc, ns, "edge") {
		t.Fatal("re-applying the attachment enabled the withdrawn account again")
	}

	startAgent(t, cfgPath)
	tb.waitSynced(t, "edge")
	waitFor(t, time.Minute, "the SpinnakerAccount enabled again", func() bool { return spinAccountEnabled(t, kc, ns, "edge") })
	waitClouddriver("the account back in Clouddriver", []string{"edge"})
	if n := tb.metric(t, `spinops_bridge_spinnaker_account_switches_total{enabled="true"}`); n != 1 {
		t.Errorf("switches to true: %v, want 1", n)
	}
}

// TestWithdrawal_onlyItsOwnAccounts (adversarial): SpinnakerAccounts named
// like this bridge's registrations but not attached for them — made by
// hand (no managed-by label) or attached through another bridge (another
// registration id) — are never switched, while the bridge's own is; and a
// withdrawn account switched back on by hand is disabled again at the next
// resync.
func TestWithdrawal_onlyItsOwnAccounts(t *testing.T) {
	c := testenv.SharedCluster(t)
	kc, err := kube.NewClient(c.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	if err := spinnaker.InstallCRDs(t.Context(), kc, time.Minute); err != nil {
		t.Fatal(err)
	}
	ns := c.Namespace(t)
	tb := startBridge(t, newPKI(t), filepath.Join(t.TempDir(), "bridge.db"), withSpinnaker(t, c, ns, 200*time.Millisecond),
		func(cfg *bridge.Config) { cfg.GracePeriod = time.Second })
	creds := map[string]string{}
	for _, n := range []string{"mine", "hand-made", "other-bridge"} {
		creds[n] = tb.register(t, &bridgev1.AccountSpec{Name: n, Kinds: []string{"ConfigMap"}})
	}
	tb.attachToSpinnaker(t, kc, ns, "mine")
	other := tb.attachToSpinnaker(t, kc, ns, "other-bridge")
	// Another bridge's registration of the same name: same label, its id.
	if _, err := kc.Dynamic.Resource(spinAccounts).Namespace(ns).Patch(t.Context(), other.Account, types.MergePatchType,
		[]byte(`{"metadata":{"annotations":{"`+spinnaker.AccountRegistrationAnnotation+`":"another-bridges-registration"}}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	hand := &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{
		"enabled": true, "type": "Kubernetes", "kubernetes": map[string]any{"kubeconfigFile": "/home/spinnaker/.kube/hand-made"},
	}}}
	hand.SetGroupVersionKind(spinnaker.SpinnakerAccountGVK)
	hand.SetNamespace(ns)
	hand.SetName("hand-made")
	if _, err := kc.Apply(t.Context(), hand); err != nil {
		t.Fatal(err)
	}

	var accts []agentAccount
	for _, n := range []string{"mine", "hand-made", "other-bridge"} {
		accts = append(accts, agentAccount{Name: n, KubeconfigFile: c.Kubeconfig, Credential: creds[n], Kinds: []string{"ConfigMap"}})
	}
	cfgPath := filepath.Join(t.TempDir(), "agent.yaml")
	tb.agentConfig("three", accts...).write(t, cfgPath)
	ag := startAgent(t, cfgPath)
	for _, n := range []string{"mine", "hand-made", "other-bridge"} {
		tb.waitSynced(t, n)
	}
	ag.stop()
	waitFor(t, time.Minute, "its own SpinnakerAccount disabled", func() bool { return !spinAccountEnabled(t, kc, ns, "mine") })
	// Each resync looks at the other two again and leaves them alone.
	waitFor(t, time.Minute, "the foreign SpinnakerAccounts looked at (or switched)", func() bool {
		return tb.metric(t, `spinops_bridge_spinnaker_account_skipped_total{reason="foreign"}`) >= 6 ||
			!spinAccountEnabled(t, kc, ns, "hand-made") || !spinAccountEnabled(t, kc, ns, "other-bridge")
	})
	for _, n := range []string{"hand-made", "other-bridge"} {
		if !spinAccountEnabled(t, kc, ns, n) {
			t.Errorf("SpinnakerAccount %s, not attached for this bridge, was disabled", n)
		}
	}

	// Switched back on by hand while the agent is still gone: the next
	// resync disables it again.
	if _, err := kc.Dynamic.Resource(spinAccounts).Namespace(ns).Patch(t.Context(), "mine", types.MergePatchType,
		[]byte(`{"spec":{"enabled":true}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, time.Minute, "the hand-enabled withdrawn account disabled again", func() bool { return !spinAccountEnabled(t, kc, ns, "mine") })
}

// TestWithdrawal_onlyTheLeaseHolderActs (adversarial, replication): the
// agent leaves replica A for replica B. A's grace period for the account
// ends while B serves it; A must not disable the SpinnakerAccount (its
// withdrawal claims the account's lease, which B holds). When the agent
// leaves B too, the account is withdrawn, and enabled again by whichever
// replica the agent comes back to.
func TestWithdrawal_onlyTheLeaseHolderActs(t *testing.T) {
	c := testenv.SharedCluster(t)
	m := testenv.SharedMariaDB(t)
	dsn := m.DSN(m.Database(t))
	kc, err := kube.NewClient(c.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	if err := spinnaker.InstallCRDs(t.Context(), kc, time.Minute); err != nil {
		t.Fatal(err)
	}
	ns := c.Namespace(t)
	p := newPKI(t)
	replica := func(id string) bridgeOption {
		return func(cfg *bridge.Config) {
			st, err := store.OpenMySQL(t.Context(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			cfg.Store, cfg.BridgeID, cfg.PeerURL = st, id, peerURLIsEndpoint
			cfg.HeartbeatInterval, cfg.HoldTTL, cfg.SyncInterval = 300*time.Millisecond, 1500*time.Millisecond, 100*time.Millisecond
			cfg.GracePeriod = time.Second
			withSpinnaker(t, c, ns, time.Hour)(cfg)
		}
	}
	keys := newKeyRing(t)
	a := startBridgeWithKeys(t, p, keys, filepath.Join(t.TempDir(), "unused-a.db"), replica("replica-a"))
	b := startBridgeWithKeys(t, p, keys, filepath.Join(t.TempDir(), "unused-b.db"), replica("replica-b"))
	cred := a.register(t, &bridgev1.AccountSpec{Name: "roaming", Kinds: []string{"ConfigMap"}})
	a.attachToSpinnaker(t, kc, ns, "roaming")

	cfgA := filepath.Join(t.TempDir(), "agent-a.yaml")
	a.agentConfig("roamer", agentAccount{Name: "roaming", KubeconfigFile: c.Kubeconfig, Credential: cred, Kinds: []string{"ConfigMap"}}).write(t, cfgA)
	agA := startAgent(t, cfgA)
	a.waitSynced(t, "roaming")

	// The same agent moves to B at once.
	agA.stop()
	cfgB := filepath.Join(t.TempDir(), "agent-b.yaml")
	b.agentConfig("roamer", agentAccount{Name: "roaming", KubeconfigFile: c.Kubeconfig, Credential: cred, Kinds: []string{"ConfigMap"}}).write(t, cfgB)
	agB := startAgent(t, cfgB)
	waitFor(t, time.Minute, "B serving the account", func() bool { return b.account(t, "roaming").GetStatus().GetConnected() })
	// A's grace period (1 s) ends while B serves the account: A tries to
	// withdraw it and finds the lease held (or, on a slow machine, saw B's
	// hold first). Either way the SpinnakerAccount stays enabled.
	waitFor(t, time.Minute, "replica A's withdrawal to find the lease held, or the account disabled", func() bool {
		return a.metric(t, `spinops_bridge_spinnaker_account_skipped_total{reason="held"}`) >= 1 || !spinAccountEnabled(t, kc, ns, "roaming")
	})
	if !spinAccountEnabled(t, kc, ns, "roaming") {
		t.Fatal("replica A disabled the SpinnakerAccount while replica B's agent served it")
	}

	agB.stop()
	waitFor(t, time.Minute, "the account withdrawn once its agent left B too", func() bool { return !spinAccountEnabled(t, kc, ns, "roaming") })
	startAgent(t, cfgA)
	waitFor(t, time.Minute, "the account enabled again by A, which serves it", func() bool { return spinAccountEnabled(t, kc, ns, "roaming") })
}
