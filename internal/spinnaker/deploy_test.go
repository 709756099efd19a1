package spinnaker_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/spinops/terraform-provider-spinops/internal/kube"
	"github.com/spinops/terraform-provider-spinops/internal/spinnaker"
	"github.com/spinops/terraform-provider-spinops/internal/spinnaker/operatortest"
	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

// TestDeploy_verifyRollbackAndLedger runs a zone through the real API server
// with kube-controller-manager, the operator and kubelet stand-ins and
// backends reached through the API server's service proxy.
func TestDeploy_verifyRollbackAndLedger(t *testing.T) {
	t.Parallel() // (a cluster of its own; the tests wait on it, so they run at once)
	c := testenv.StartCluster(t, testenv.WithControllerManager())
	backends := operatortest.StartBackends(t)
	opNS := "spinops-op"
	op := operatortest.StartOperator(t, c.RESTConfig(), operatortest.OperatorOptions{Backend: backends.Backend, Namespace: opNS, Host: backends.Host})
	operatortest.StartKubelet(t, c.RESTConfig(), backends.IP)

	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
	defer cancel()
	client, err := kube.NewClient(c.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	// The operator as spinops installs it (cluster mode, admission webhook
	// on): the stand-in runs as its Deployment.
	if err := spinnaker.EnsureOperator(ctx, client, testOperator(opNS, true), true, 2*time.Minute); err != nil {
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
		Log: func(msg string, f map[string]any) { t.Logf("%s %v", msg, f) }, Operator: &spinnaker.OperatorRecord{Install: true, ClusterWide: true, Version: "1.3.1"}}
	opts := spinnaker.DeployOptions{Wait: true, Timeout: 2 * time.Minute, Verify: true, RollbackOnError: true,
		VerifyOptions: spinnaker.VerifyOptions{Attempts: 3, Interval: 300 * time.Millisecond}}
	// OnVerifying (the zone's "verification running" announcement) comes
	// once per deploy, after readiness and before the first check.
	var verifying []int64
	opts.OnVerifying = func() { verifying = append(verifying, backends.HealthyRequests.Load()) }

	red := &spinnaker.Zone{Name: "red", Namespace: "spin-red", Tier: spinnaker.TierSandbox, HA: &spinnaker.HA{Enabled: true, ClouddriverSplit: true, Replicas: 2}}
	res, err := d.Deploy(ctx, inst, red, opts)
	if err != nil {
		t.Logf("operator stand-in: %v", op.LastError())
		t.Fatalf("deploy: %v", err)
	}
	// Eleven services: HA's split ones, without Igor (no CI system).
	if !res.Verification.Passed() || len(res.Verification.Results) != 11 {
		t.Fatalf("verification: %+v", res.Verification.Results)
	}
	if backends.HealthyRequests.Load() < 11 {
		t.Errorf("backends saw %d requests; verification did not go through the service proxy", backends.HealthyRequests.Load())
	}
	if len(verifying) != 1 || verifying[0] != 0 {
		t.Errorf("OnVerifying called %d times, the backends having seen %v requests; want once, before any check", len(verifying), verifying)
	}
	// The same verification from the cluster alone (a migration's
	// cutover has no Terraform configuration of the zone): the same
	// checks, and they pass. The operator's status lists more than the
	// services (every Deployment of the namespace with its managed-by
	// label): a spin-redis as Halyard makes one without a Redis endpoint
	// (no HTTP, here not even a pod) is none of verification's business.
	redisLabels := map[string]string{"app": "spin", "cluster": "spin-redis", "app.kubernetes.io/name": "redis", "app.kubernetes.io/managed-by": "spinnaker-operator"}
	if _, err := client.Clientset.AppsV1().Deployments("spin-red").Create(ctx, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "spin-redis", Labels: redisLabels},
		Spec: appsv1.DeploymentSpec{Replicas: ptr.To(int32(0)), Selector: &metav1.LabelSelector{MatchLabels: redisLabels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: redisLabels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "redis", Image: "redis"}}}}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := kube.WaitFor(ctx, 200*time.Millisecond, time.Minute, func(ctx context.Context) (bool, string, error) {
		obj, err := client.Get(ctx, spinnaker.SpinnakerServiceGVK, "spin-red", "red")
		if err != nil {
			return false, "", err
		}
		st := spinnaker.ParseStatus(obj)
		return st.Status == spinnaker.StatusOK && slices.ContainsFunc(st.Services, func(s spinnaker.ServiceStatus) bool { return s.Name == "spin-redis" }), "", nil
	}); err != nil {
		t.Fatalf("the operator's status never listed spin-redis: %v", err)
	}
	checks, hc, err := spinnaker.DeployedChecks(ctx, c.RESTConfig(), "spin-red", "red")
	if err != nil {
		t.Fatal(err)
	}
	var want, got []string
	for _, r := range res.Verification.Results {
		want = append(want, r.Name+" "+r.URL)
	}
	for _, ch := range checks {
		got = append(got, ch.Name+" "+ch.URL)
	}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("DeployedChecks:\n%v\nthe deploy verified:\n%v", got, want)
	}
	if v := spinnaker.Verify(ctx, hc, checks, spinnaker.VerifyOptions{Attempts: 1}); !v.Passed() {
		t.Errorf("DeployedChecks of the verified zone fail: %v", v.Failures())
	}
	if _, _, err := spinnaker.DeployedChecks(ctx, c.RESTConfig(), "spin-red", "no-such-zone"); err == nil || !strings.Contains(err.Error(), "no-such-zone") {
		t.Errorf("DeployedChecks of a missing zone: %v", err)
	}

	// The broken change also turns Igor on: after the rollback the
	// spin-igor it started is gone (the operator would leave it).
	broken := *red
	broken.Version = "1.36.0-broken"
	broken.ServiceSettings = map[string]string{"igor": "enabled: true"}
	opts.Previous = red
	_, err = d.Deploy(ctx, inst, &broken, opts)
	var de *spinnaker.DeployError
	if !errors.As(err, &de) || !de.RolledBack || len(de.Failures) != 12 {
		t.Fatalf("broken deploy: err = %v", err)
	}
	if _, err := client.Clientset.AppsV1().Deployments("spin-red").Get(ctx, "spin-igor", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("after the rollback spin-igor, which only the failed change ran, is still there (get: %v)", err)
	}
	if len(verifying) != 2 {
		t.Errorf("OnVerifying called %d times over two deploys", len(verifying))
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

	// Left broken (no rollback): from the cluster alone, the same checks
	// fail as the upgrade's did.
	opts.RollbackOnError = false
	if _, err := d.Deploy(ctx, inst, &broken, opts); err == nil {
		t.Fatal("the broken version deployed without an error")
	}
	checks, hc, err = spinnaker.DeployedChecks(ctx, c.RESTConfig(), "spin-red", "red")
	if err != nil {
		t.Fatal(err)
	}
	if v := spinnaker.Verify(ctx, hc, checks, spinnaker.VerifyOptions{Attempts: 1}); v.Passed() || !strings.Contains(strings.Join(v.Failures(), "; "), "gate /health: HTTP 503") {
		t.Errorf("DeployedChecks of the broken zone: %v", v.Failures())
	}

	if err := d.Destroy(ctx, inst, red, time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := client.Clientset.CoreV1().Secrets("spin-red").Get(ctx, "red-spinops-credentials", metav1.GetOptions{}); err == nil {
		t.Error("the zone's Secret survived destroy")
	}
}

// testOperator is the operator spinops installs by default, in namespace.
func testOperator(namespace string, clusterWide bool) spinnaker.OperatorSettings {
	img, _ := spinnaker.HalyardImageFor(spinnaker.DefaultOperatorVersion)
	return spinnaker.OperatorSettings{Namespace: namespace, Image: "armory/spinnaker-operator:" + spinnaker.DefaultOperatorVersion, HalyardImage: img, ClusterWide: clusterWide}
}

// operatorEnv is a cluster with the operator stand-in running as the
// operator spinops installs (cluster mode, in spinops-op) and an
// installation of Spinnaker 1.35.3 saved there.
type operatorEnv struct {
	ctx    context.Context
	client *kube.Client
	op     *operatortest.Operator
	inst   *spinnaker.Installation
}

func startOperatorEnv(t *testing.T, c *testenv.Cluster, backends *operatortest.Backends, interval time.Duration, inst *spinnaker.Installation) *operatorEnv {
	t.Helper()
	const opNS = "spinops-op"
	e := &operatorEnv{op: operatortest.StartOperator(t, c.RESTConfig(), operatortest.OperatorOptions{Backend: backends.Backend, Namespace: opNS, Host: backends.Host, Interval: interval})}
	var cancel context.CancelFunc
	e.ctx, cancel = context.WithTimeout(t.Context(), 5*time.Minute)
	t.Cleanup(cancel)
	var err error
	if e.client, err = kube.NewClient(c.RESTConfig()); err != nil {
		t.Fatal(err)
	}
	if err := spinnaker.EnsureOperator(e.ctx, e.client, testOperator(opNS, true), true, 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	e.inst = &spinnaker.Installation{ID: opNS, Namespace: opNS, SpinnakerVersion: "1.35.3", Promotion: spinnaker.Promotion{Soak: spinnaker.Duration(time.Hour)}}
	if inst != nil {
		e.inst = inst
		e.inst.ID, e.inst.Namespace = opNS, opNS
	}
	if err := spinnaker.SaveInstallation(e.ctx, e.client, e.inst); err != nil {
		t.Fatal(err)
	}
	return e
}

// TestWaitReady_rolloutAndTransientFailure is issue 12 point 8: the real
// operator writes status.version before the pods roll out (and status may
// still say OK), so readiness must look at the Deployments; a transient
// Failure (a pod Pending on an image pull) is waited through, and a
// persistent one is reported with the pod's reason.
func TestWaitReady_rolloutAndTransientFailure(t *testing.T) {
	t.Parallel() // (a cluster of its own; the tests wait on it, so they run at once)
	c := testenv.StartCluster(t, testenv.WithControllerManager())
	backends := operatortest.StartBackends(t)
	var hold, fail atomic.Value
	hold.Store("\x00")
	fail.Store("\x00")
	operatortest.StartKubeletWith(t, c.RESTConfig(), operatortest.KubeletOptions{PodIP: backends.IP,
		PullFails: func(image string) bool { return strings.HasSuffix(image, ":"+fail.Load().(string)) },
		Hold: func(p *corev1.Pod) bool {
			return strings.HasSuffix(p.Spec.Containers[0].Image, ":"+hold.Load().(string))
		}})
	e := startOperatorEnv(t, c, backends, 0, nil)
	ctx, client, op, inst := e.ctx, e.client, e.op, e.inst
	d := &spinnaker.Deployer{Control: client, Target: client, Now: time.Now, PollInterval: 200 * time.Millisecond}
	opts := spinnaker.DeployOptions{Wait: true, Timeout: time.Minute}
	red := &spinnaker.Zone{Name: "red", Namespace: "spin-red", Tier: spinnaker.TierSandbox}
	if _, err := d.Deploy(ctx, inst, red, opts); err != nil {
		t.Fatalf("first deploy: %v (stand-in: %v)", err, op.LastError())
	}

	// Upgrade whose new pods stay in ContainerCreating for a few seconds.
	hold.Store("1.35.4")
	released := time.Now().Add(4 * time.Second)
	go func() { time.Sleep(time.Until(released)); hold.Store("\x00") }()
	up := *red
	up.Version = "1.35.4"
	res, err := d.Deploy(ctx, inst, &up, opts)
	if err != nil {
		t.Fatalf("upgrade: %v", err)
	}
	if time.Now().Before(released) {
		t.Errorf("readiness concluded while the new pods were still held (status.version is written before the rollout)")
	}
	for _, s := range res.Rendered.Services {
		dep, err := client.Clientset.AppsV1().Deployments("spin-red").Get(ctx, s.ObjectName(), metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if done, progress, _ := kube.DeploymentRolledOut(dep); !done {
			t.Errorf("%s not rolled out when the upgrade returned: %s", s.ObjectName(), progress)
		}
	}

	// A pull that fails for a while: Failure, then OK within the timeout.
	fail.Store("1.35.5")
	go func() { time.Sleep(3 * time.Second); fail.Store("\x00") }()
	up.Version = "1.35.5"
	if _, err := d.Deploy(ctx, inst, &up, opts); err != nil {
		t.Fatalf("a transient Failure failed the deploy: %v", err)
	}

	// A pull that keeps failing: the error names the pod and its reason.
	fail.Store("1.35.6")
	up.Version = "1.35.6"
	_, err = d.Deploy(ctx, inst, &up, spinnaker.DeployOptions{Wait: true, Timeout: 15 * time.Second})
	if err == nil || !strings.Contains(err.Error(), "ImagePullBackOff") || !strings.Contains(err.Error(), "spin-") {
		t.Fatalf("persistent image pull failure: err = %v, want the pod and ImagePullBackOff", err)
	}
}

// startSlowOperator starts a cluster with the operator stand-in
// reconciling every 2 s, so that a deploy that does not wait for the
// operator returns before it has acted, and a deployer polling 10 times a
// second.
func startSlowOperator(t *testing.T) (*operatorEnv, *spinnaker.Deployer) {
	t.Helper()
	c := testenv.StartCluster(t, testenv.WithControllerManager())
	backends := operatortest.StartBackends(t)
	operatortest.StartKubelet(t, c.RESTConfig(), backends.IP)
	e := startOperatorEnv(t, c, backends, 2*time.Second, nil)
	return e, &spinnaker.Deployer{Control: e.client, Target: e.client, Now: time.Now, PollInterval: 100 * time.Millisecond}
}

// TestDeploy_waitsForTheOperatorToDeployTheChange: a change of the zone's
// profiles alone keeps the version and the replicas, and the operator's
// status keeps saying OK for the pods it ran before until its next pass
// deploys the change (a slow operator here: one pass every 2 s). The deploy
// is ready only once the operator has recorded the changed
// spinnakerConfig's hash in status.lastDeployed (the real operator's
// change detector); a change it records no hash for (spec.expose's
// annotations) is waited for on the Services instead.
func TestDeploy_waitsForTheOperatorToDeployTheChange(t *testing.T) {
	t.Parallel() // (a cluster of its own; the tests wait on it, so they run at once)
	e, d := startSlowOperator(t)
	ctx, client, op, inst := e.ctx, e.client, e.op, e.inst
	opts := spinnaker.DeployOptions{Wait: true, Timeout: time.Minute}
	red := &spinnaker.Zone{Name: "red", Namespace: "spin-red", Tier: spinnaker.TierSandbox,
		Expose: &spinnaker.Expose{Type: "service", DeckHost: "deck.example", GateHost: "gate.example"}}
	if _, err := d.Deploy(ctx, inst, red, opts); err != nil {
		t.Fatalf("first deploy: %v (stand-in: %v)", err, op.LastError())
	}
	read := func() string {
		obj, err := client.Get(ctx, spinnaker.SpinnakerServiceGVK, "spin-red", "red")
		if err != nil {
			t.Fatal(err)
		}
		return spinnaker.LastDeployedHash(obj, spinnaker.LastDeployedConfig)
	}
	before := read()

	changed := *red
	changed.Profiles = map[string]string{"gate": "server:\n  tomcat:\n    protocolHeader: X-Forwarded-Proto\n"}
	res, err := d.Deploy(ctx, inst, &changed, opts)
	if err != nil {
		t.Fatalf("profile change: %v", err)
	}
	profiled := read()
	if profiled == before {
		t.Errorf("the deploy was ready before the operator deployed the changed profiles (status.lastDeployed.config.hash still %s)", before)
	}
	if st := spinnaker.ParseStatus(res.Object); st.Status != spinnaker.StatusOK {
		t.Errorf("status after the deploy: %s", st.Status)
	}

	// Only spec.expose changes: no hash to wait for, and the deploy does
	// not wait for one (it would time out).
	annotated := changed
	annotated.Expose = &spinnaker.Expose{Type: "service", DeckHost: "deck.example", GateHost: "gate.example",
		Annotations: map[string]string{"service.beta.kubernetes.io/aws-load-balancer-scheme": "internal"}}
	if _, err := d.Deploy(ctx, inst, &annotated, spinnaker.DeployOptions{Wait: true, Timeout: 20 * time.Second}); err != nil {
		t.Fatalf("an expose-only change: %v", err)
	}
	if after := read(); after != profiled {
		t.Errorf("an expose-only change changed the config hash: %s -> %s", profiled, after)
	}
	for _, name := range []string{"spin-deck", "spin-gate"} {
		svc, err := client.Clientset.CoreV1().Services("spin-red").Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if svc.Annotations["service.beta.kubernetes.io/aws-load-balancer-scheme"] != "internal" {
			t.Errorf("the expose-only change was ready before the operator put its annotation on %s: %v", name, svc.Annotations)
		}
	}
}

// TestDeploy_exposeReachesTheServices: a change of spec.expose alone
// changes no hash; the operator's expose detector finds it by comparing the
// live Services (expose_service/detector.go), and only while
// spec.expose.type is "service". So a deploy is ready once spin-deck and
// spin-gate show it, and removing expose, which no detector sees, makes
// the operator deploy again (status.lastDeployed.config removed), or Deck
// and Gate would stay on their load balancers.
func TestDeploy_exposeReachesTheServices(t *testing.T) {
	t.Parallel() // (a cluster of its own; the tests wait on it, so they run at once)
	e, d := startSlowOperator(t)
	ctx, client, op, inst := e.ctx, e.client, e.op, e.inst
	opts := spinnaker.DeployOptions{Wait: true, Timeout: time.Minute}
	const ranges = "service.beta.kubernetes.io/load-balancer-source-ranges"
	shapes := func() string {
		var out []string
		for _, name := range []string{"spin-deck", "spin-gate"} {
			svc, err := client.Clientset.CoreV1().Services("spin-red").Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, fmt.Sprintf("%s %s %s:%d ranges=%s", name, svc.Spec.Type, svc.Spec.Ports[0].Name, svc.Spec.Ports[0].Port, svc.Annotations[ranges]))
		}
		return strings.Join(out, ", ")
	}
	hash := func() string {
		obj, err := client.Get(ctx, spinnaker.SpinnakerServiceGVK, "spin-red", "red")
		if err != nil {
			t.Fatal(err)
		}
		return spinnaker.LastDeployedHash(obj, spinnaker.LastDeployedConfig)
	}
	deploy := func(what string, e *spinnaker.Expose, want string) {
		t.Helper()
		z := &spinnaker.Zone{Name: "red", Namespace: "spin-red", Tier: spinnaker.TierSandbox, Expose: e}
		if _, err := d.Deploy(ctx, inst, z, opts); err != nil {
			t.Fatalf("%s: %v (stand-in: %v)", what, err, op.LastError())
		}
		if got := shapes(); got != want {
			t.Errorf("%s: ready with %s, want %s", what, got, want)
		}
	}
	deploy("unexposed", nil, "spin-deck ClusterIP http:9000 ranges=, spin-gate ClusterIP http:8084 ranges=")
	h0 := hash()
	// No hosts: nothing of spinnakerConfig changes with expose.
	deploy("exposed", &spinnaker.Expose{Type: "service", SourceRanges: []string{"10.0.0.0/8"}},
		"spin-deck LoadBalancer deck-tcp:80 ranges=10.0.0.0/8, spin-gate LoadBalancer gate-tcp:8084 ranges=10.0.0.0/8")
	deploy("the source ranges narrowed", &spinnaker.Expose{Type: "service", SourceRanges: []string{"10.1.0.0/16"}},
		"spin-deck LoadBalancer deck-tcp:80 ranges=10.1.0.0/16, spin-gate LoadBalancer gate-tcp:8084 ranges=10.1.0.0/16")
	deploy("expose removed", nil, "spin-deck ClusterIP http:9000 ranges=, spin-gate ClusterIP http:8084 ranges=")
	if h := hash(); h != h0 {
		t.Errorf("config hash %s after the deploys, want the unchanged spec's %s", h, h0)
	}
}
