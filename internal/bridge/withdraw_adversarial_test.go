package bridge_test

import (
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"

	bridgev1 "github.com/spinops/terraform-provider-spinops/proto/spinops/bridge/v1"

	"github.com/spinops/terraform-provider-spinops/internal/bridge"
	"github.com/spinops/terraform-provider-spinops/internal/kube"
	"github.com/spinops/terraform-provider-spinops/internal/spinnaker"
	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

// spinnakerTestbed: a shared kube-apiserver with Spinnaker's CRDs and a
// namespace for the SpinnakerAccounts.
func spinnakerTestbed(t *testing.T) (*testenv.Cluster, *kube.Client, string) {
	t.Helper()
	c := testenv.SharedCluster(t)
	kc, err := kube.NewClient(c.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	if err := spinnaker.InstallCRDs(t.Context(), kc, time.Minute); err != nil {
		t.Fatal(err)
	}
	return c, kc, c.Namespace(t)
}

// TestWithdrawal_flappingAgent (adversarial): an agent that keeps dropping
// and reconnecting, each time back within the grace period, never gets its
// account withdrawn — the grace period counts from the last disconnection,
// not the first — and no SpinnakerAccount write is made; once it stays
// away, the account is withdrawn a grace period after it left.
func TestWithdrawal_flappingAgent(t *testing.T) {
	c, kc, ns := spinnakerTestbed(t)
	tb := startBridge(t, newPKI(t), filepath.Join(t.TempDir(), "bridge.db"), withSpinnaker(t, c, ns, 100*time.Millisecond))
	const grace = 2 * time.Second
	cred := tb.register(t, &bridgev1.AccountSpec{Name: "flappy", Kinds: []string{"ConfigMap"}, GracePeriodSeconds: int64(grace / time.Second)})
	tb.attachToSpinnaker(t, kc, ns, "flappy")

	// 8 cycles of 500 ms away, 200 ms back: 5.6 s in all, well past the
	// grace period counted from the first drop.
	var left time.Time
	for i := range 8 {
		ra := connectRawAgent(t, tb, "flappy-agent", "flappy", cred)
		time.Sleep(200 * time.Millisecond)
		ra.cancel()
		<-ra.ended
		left = time.Now()
		if i < 7 {
			time.Sleep(500 * time.Millisecond)
		}
		if !spinAccountEnabled(t, kc, ns, "flappy") {
			t.Fatalf("cycle %d: the SpinnakerAccount was disabled while its agent kept coming back within the grace period", i)
		}
	}
	if n := tb.metric(t, `spinops_bridge_spinnaker_account_switches_total{enabled="false"}`) + tb.metric(t, `spinops_bridge_spinnaker_account_switches_total{enabled="true"}`); n != 0 {
		t.Errorf("%v SpinnakerAccount writes for an agent that was never gone a grace period", n)
	}
	waitFor(t, time.Minute, "the account withdrawn once its agent stayed away", func() bool { return !spinAccountEnabled(t, kc, ns, "flappy") })
	if d := time.Since(left); d < grace {
		t.Errorf("withdrawn %s after the agent's last departure, inside the grace period of %s", d, grace)
	}
}

// TestWithdrawal_replicaRestart (adversarial): a bridge restarted while an
// account's agent is away neither forgets the withdrawal (the grace period
// starts again at start-up, as loadRegistry documents) nor enables the
// account on its own; a bridge restarted after the withdrawal keeps the
// account disabled until the agent connects to it.
func TestWithdrawal_replicaRestart(t *testing.T) {
	c, kc, ns := spinnakerTestbed(t)
	opts := []bridgeOption{withSpinnaker(t, c, ns, 100*time.Millisecond)}
	tb := startBridge(t, newPKI(t), filepath.Join(t.TempDir(), "bridge.db"), opts...)
	const grace = 2 * time.Second
	cred := tb.register(t, &bridgev1.AccountSpec{Name: "restarted", Kinds: []string{"ConfigMap"}, GracePeriodSeconds: int64(grace / time.Second)})
	tb.attachToSpinnaker(t, kc, ns, "restarted")

	ra := connectRawAgent(t, tb, "restarted-agent", "restarted", cred)
	waitFor(t, time.Minute, "the agent connected", func() bool { return tb.account(t, "restarted").GetStatus().GetConnected() })
	ra.cancel()
	<-ra.ended
	time.Sleep(grace / 2)
	restarted := time.Now() // before: the restarted bridge's grace period starts after this
	tb.restart(t, opts...)
	waitFor(t, time.Minute, "the account withdrawn by the restarted bridge", func() bool { return !spinAccountEnabled(t, kc, ns, "restarted") })
	if d := time.Since(restarted); d < grace {
		t.Errorf("withdrawn %s after the restart: the restarted bridge must give the agent a whole grace period (%s)", d, grace)
	}

	// Restarted again after the withdrawal, with the agent still away:
	// the account stays disabled across the restart and its grace period.
	tb.restart(t, opts...)
	deadline := time.Now().Add(grace + time.Second)
	for time.Now().Before(deadline) {
		if spinAccountEnabled(t, kc, ns, "restarted") {
			t.Fatal("a restarted bridge enabled the SpinnakerAccount of an account whose agent is away")
		}
		time.Sleep(100 * time.Millisecond)
	}
	connectRawAgent(t, tb, "restarted-agent", "restarted", cred)
	waitFor(t, time.Minute, "the account enabled again when its agent is back", func() bool { return spinAccountEnabled(t, kc, ns, "restarted") })
}

// TestWithdrawal_withoutRBAC (adversarial): a bridge whose service account
// may read SpinnakerAccounts but not patch them cannot withdraw an account;
// it says so — a log line naming the access it lacks and where, and
// spinops_bridge_spinnaker_account_errors_total{reason="forbidden"} — and
// keeps trying, so the account is withdrawn once the access is granted.
func TestWithdrawal_withoutRBAC(t *testing.T) {
	c, kc, ns := spinnakerTestbed(t)
	cs := c.Clientset()
	ctx := t.Context()
	if _, err := cs.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "bridge"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	role := &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "bridge"},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{"spinnaker.io"}, Resources: []string{"spinnakeraccounts"}, Verbs: []string{"get"}}},
	}
	if _, err := cs.RbacV1().Roles(ns).Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "bridge"},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "bridge"},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: "bridge", Namespace: ns}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	exp := int64(3600)
	tok, err := cs.CoreV1().ServiceAccounts(ns).CreateToken(ctx, "bridge",
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &exp}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	asBridge, err := dynamic.NewForConfig(c.RESTConfigWithToken(tok.Status.Token))
	if err != nil {
		t.Fatal(err)
	}

	logs := &testenv.SyncBuffer{}
	tb := startBridge(t, newPKI(t), filepath.Join(t.TempDir(), "bridge.db"), func(cfg *bridge.Config) {
		cfg.Spinnaker = &bridge.SpinnakerAccounts{Client: asBridge, Namespace: ns, Resync: 200 * time.Millisecond}
		cfg.Logger = slog.New(slog.NewTextHandler(logs, nil))
	})
	cred := tb.register(t, &bridgev1.AccountSpec{Name: "locked", Kinds: []string{"ConfigMap"}, GracePeriodSeconds: 1})
	tb.attachToSpinnaker(t, kc, ns, "locked")
	ra := connectRawAgent(t, tb, "locked-agent", "locked", cred)
	waitFor(t, time.Minute, "the agent connected", func() bool { return tb.account(t, "locked").GetStatus().GetConnected() })
	ra.cancel()

	waitFor(t, time.Minute, "a forbidden withdrawal counted", func() bool {
		return tb.metric(t, `spinops_bridge_spinnaker_account_errors_total{reason="forbidden"}`) >= 2
	})
	if !spinAccountEnabled(t, kc, ns, "locked") {
		t.Fatal("the SpinnakerAccount changed although the bridge may not patch it")
	}
	if s := tb.syncState(t, "locked"); s != bridgev1.SyncState_SYNC_STATE_WITHDRAWN {
		t.Errorf("sync state %s, want WITHDRAWN (the bridge's own view does not depend on the SpinnakerAccount)", s)
	}
	out := logs.String()
	for _, want := range []string{"may not set spec.enabled=false on SpinnakerAccount " + ns + "/locked", "get and patch on spinnakeraccounts.spinnaker.io", "namespace " + ns, "reason=forbidden"} {
		if !strings.Contains(out, want) {
			t.Errorf("the bridge's log does not say %q:\n%s", want, lastLines(out, 5))
		}
	}

	role.Rules[0].Verbs = []string{"get", "patch"}
	if _, err := cs.RbacV1().Roles(ns).Update(ctx, role, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, time.Minute, "the account withdrawn once the bridge may patch it", func() bool { return !spinAccountEnabled(t, kc, ns, "locked") })
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
