package spinnaker_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/spinops/terraform-provider-spinops/internal/kube"
	"github.com/spinops/terraform-provider-spinops/internal/spinnaker"
	"github.com/spinops/terraform-provider-spinops/internal/spinnaker/operatortest"
	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

// TestDeploy_verifyRollbackAndLedger runs a zone through the real API server
// with kube-controller-manager, the operator and kubelet stand-ins and
// backends reached through the API server's service proxy.
func TestDeploy_verifyRollbackAndLedger(t *testing.T) {
	c := testenv.StartCluster(t, testenv.WithControllerManager())
	backends := operatortest.StartBackends(t)
	op := operatortest.StartOperator(t, c.RESTConfig(), operatortest.OperatorOptions{Backend: backends.Backend})
	operatortest.StartKubelet(t, c.RESTConfig(), backends.IP)

	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
	defer cancel()
	client, err := kube.NewClient(c.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	opNS := "spinops-op"
	if err := spinnaker.EnsureNamespace(ctx, client, opNS); err != nil {
		t.Fatal(err)
	}
	if err := spinnaker.InstallCRDs(ctx, client, time.Minute); err != nil {
		t.Fatal(err)
	}
	inst := &spinnaker.Installation{ID: opNS, Namespace: opNS, SpinnakerVersion: "1.35.3",
		SQL:       &spinnaker.SQL{Endpoint: "db", Port: 3306, User: "spin", Databases: map[string]string{"orca": "orca"}},
		Promotion: spinnaker.Promotion{Soak: spinnaker.Duration(time.Hour), RequireVerification: true}}
	if err := spinnaker.SaveInstallation(ctx, client, inst); err != nil {
		t.Fatal(err)
	}
	if err := spinnaker.WriteCredentials(ctx, client.Clientset, opNS, map[string][]byte{spinnaker.KeySQLPassword: []byte("pw")}); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	d := &spinnaker.Deployer{Control: client, Target: client, Now: func() time.Time { return now }, PollInterval: 250 * time.Millisecond,
		Log: func(msg string, f map[string]any) { t.Logf("%s %v", msg, f) }}
	opts := spinnaker.DeployOptions{Wait: true, Timeout: 2 * time.Minute, Verify: true, RollbackOnError: true,
		VerifyOptions: spinnaker.VerifyOptions{Attempts: 3, Interval: 300 * time.Millisecond}}

	red := &spinnaker.Zone{Name: "red", Namespace: "spin-red", Tier: spinnaker.TierSandbox, HA: &spinnaker.HA{Enabled: true, ClouddriverSplit: true, Replicas: 2}}
	res, err := d.Deploy(ctx, inst, red, opts)
	if err != nil {
		t.Logf("operator stand-in: %v", op.LastError())
		t.Fatalf("deploy: %v", err)
	}
	if !res.Verification.Passed() || len(res.Verification.Results) != 12 {
		t.Fatalf("verification: %+v", res.Verification.Results)
	}
	if backends.HealthyRequests.Load() < 12 {
		t.Errorf("backends saw %d requests; verification did not go through the service proxy", backends.HealthyRequests.Load())
	}

	broken := *red
	broken.Version = "1.36.0-broken"
	opts.Previous = red
	_, err = d.Deploy(ctx, inst, &broken, opts)
	var de *spinnaker.DeployError
	if !errors.As(err, &de) || !de.RolledBack || len(de.Failures) != 12 {
		t.Fatalf("broken deploy: err = %v", err)
	}
	if !strings.Contains(err.Error(), "gate /health: HTTP 503") || !strings.Contains(err.Error(), "Rolled back to 1.35.3") {
		t.Errorf("error message:\n%s", err)
	}
	obj, err := client.Get(ctx, spinnaker.SpinnakerServiceGVK, "spin-red", "red")
	if err != nil {
		t.Fatal(err)
	}
	if v := spinnaker.VersionOf(obj); v != "1.35.3" {
		t.Errorf("after rollback the SpinnakerService asks for %s", v)
	}
	l, err := spinnaker.LoadLedger(ctx, client.Clientset, opNS)
	if err != nil {
		t.Fatal(err)
	}
	rec := l.Zones["red"]
	if rec == nil || rec.Version != "1.35.3" || len(rec.Rollbacks) != 1 || !rec.Rollbacks[0].Complete || rec.Result != spinnaker.ResultFailed {
		t.Fatalf("ledger record: %+v", rec)
	}
	if _, ok := rec.Verified["1.36.0-broken"]; ok {
		t.Error("the broken version is recorded as verified")
	}

	if err := d.Destroy(ctx, inst, red, time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := client.Clientset.CoreV1().Secrets("spin-red").Get(ctx, "red-spinops-credentials", metav1.GetOptions{}); err == nil {
		t.Error("the zone's Secret survived destroy")
	}
}
