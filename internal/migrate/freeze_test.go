package migrate

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/spinops/terraform-provider-spinops/internal/migrate/migratetest"
	"github.com/spinops/terraform-provider-spinops/internal/spinnaker"
	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

func httptestServer(t *testing.T, h http.Handler) string {
	t.Helper()
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s.URL
}

// options are a cutover's options with a fresh client of each cluster, as
// a new process would make them from the kubeconfig.
func options(t *testing.T, o *migratetest.OldInstallation, ledgerNS string) CutoverOptions {
	t.Helper()
	cs, err := kubernetes.NewForConfig(o.Cluster.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	return CutoverOptions{Ledger: cs, LedgerNamespace: ledgerNS,
		Freeze: &FreezeOptions{Kube: cs, Namespace: o.Namespace, User: "migration-admin", PollInterval: 20 * time.Millisecond, DrainTimeout: 10 * time.Second}}
}

func ids(es []Execution) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.ID)
	}
	slices.Sort(out)
	return out
}

// TestFreeze: Gate goes to zero at once, the running pipeline and task are
// listed and waited for while Orca still runs them, then every Orca pod is
// taken out of service and a new execution does not start. Freezing again
// changes nothing it should keep; Unfreeze restores exactly what was
// changed, and the queued execution then starts.
func TestFreeze(t *testing.T) {
	old := migratetest.StartOldInstallation(t, testenv.SharedCluster(t))
	old.Queue.AddApplication("shop", "deploy-cfg")
	pipeline := old.Queue.Launch("PIPELINE", "shop", "Deploy to prod", "deploy-cfg")
	task := old.Queue.Launch("ORCHESTRATION", "shop", "Resize server group", "")
	migratetest.Eventually(t, "both running", func() bool { return old.Queue.Status(pipeline) == "RUNNING" && old.Queue.Status(task) == "RUNNING" })

	o := options(t, old, old.Cluster.Namespace(t))
	progress := make(chan string, 100)
	o.Freeze.Progress = func(s string) { progress <- s }
	type result struct {
		r   *FreezeResult
		err error
	}
	done := make(chan result, 1)
	go func() { r, err := Freeze(context.Background(), o); done <- result{r, err} }()

	select {
	case p := <-progress:
		if !strings.Contains(p, pipeline) || !strings.Contains(p, task) || !strings.Contains(p, `"Deploy to prod"`) {
			t.Errorf("progress does not name both executions: %s", p)
		}
	case r := <-done:
		t.Fatalf("the freeze did not wait for the running executions: %+v %v", r.r, r.err)
	}
	if n := old.GateReplicas(t); n != 0 {
		t.Errorf("Gate has %d replicas while the freeze drains", n)
	}
	if got := old.InService(); !slices.Equal(got, []bool{true, true}) {
		t.Errorf("Orca out of service before its executions finished (they would stall): %v", got)
	}
	old.Queue.Finish(pipeline)
	old.Queue.Finish(task)
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	if got := ids(r.r.Drained); !slices.Equal(got, []string{pipeline, task}) || len(r.r.Left) != 0 {
		t.Errorf("drained %v, left %v", got, r.r.Left)
	}
	if got := old.InService(); !slices.Equal(got, []bool{false, false}) {
		t.Errorf("Orca instances in service after the freeze: %v", got)
	}
	if got := <-old.Queue.Instances[0].Users; got != "migration-admin" {
		t.Errorf("X-SPINNAKER-USER reaching Orca: %q", got)
	}
	if r.r.Record.GateReplicas != 2 || !slices.Equal(r.r.Record.OrcaDisabled, []string{"spin-orca-5d8f-0", "spin-orca-5d8f-1"}) {
		t.Errorf("freeze record: %+v", r.r.Record)
	}

	// Frozen: a new execution (an Echo trigger reaches Orca directly) is
	// accepted but does not start.
	late := old.Queue.Launch("PIPELINE", "shop", "Deploy to prod", "deploy-cfg")
	migratetest.Stays(t, "a new execution does not start", func() bool { return old.Queue.Status(late) == "NOT_STARTED" })

	// Again: idempotent, the first replica count kept, the stalled
	// execution reported.
	again, err := Freeze(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	if !again.Checked || again.Record.GateReplicas != 2 || !slices.Equal(ids(again.Left), []string{late}) {
		t.Errorf("second freeze: %+v", again)
	}

	if _, err := Unfreeze(t.Context(), o); err != nil {
		t.Fatal(err)
	}
	if n := old.GateReplicas(t); n != 2 {
		t.Errorf("Gate back to %d replicas, want 2", n)
	}
	if got := old.InService(); !slices.Equal(got, []bool{true, true}) {
		t.Errorf("Orca after the unfreeze: %v", got)
	}
	migratetest.Eventually(t, "the queued execution starts after the unfreeze", func() bool { return old.Queue.Status(late) == "RUNNING" })
	rec, err := o.read(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if rec.Freeze != nil {
		t.Errorf("the ledger still records a freeze: %+v", rec.Freeze)
	}
	if _, err := Unfreeze(t.Context(), o); err != ErrNotFrozen {
		t.Errorf("a second unfreeze: %v", err)
	}
}

// TestFreezeDrainTimeout: an execution that does not finish in time fails
// the freeze, naming it; what the freeze changed is undone and DNS is not
// touched. With Force the freeze goes on and lists it as stalled.
func TestFreezeDrainTimeout(t *testing.T) {
	old := migratetest.StartOldInstallation(t, testenv.SharedCluster(t))
	old.Queue.AddApplication("shop", "judgement-cfg")
	stuck := old.Queue.Launch("PIPELINE", "shop", "Waits for manual judgement", "judgement-cfg")
	migratetest.Eventually(t, "running", func() bool { return old.Queue.Status(stuck) == "RUNNING" })

	dns := route53Zone(t)
	ns := names(dns, t)
	before := targets(t, dns, ns)
	gate := httptestServer(t, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	o := options(t, old, old.Cluster.Namespace(t))
	o.Freeze.DrainTimeout = 300 * time.Millisecond
	o.DNS, o.Names, o.Target, o.Weight = dns, ns, "new-lb.elb.example.com", 100
	o.Checks, o.VerifyOpts = spinnaker.ExposedChecks(gate, gate), spinnaker.VerifyOptions{Attempts: 1}

	_, err := Cutover(t.Context(), o)
	if err == nil || !strings.Contains(err.Error(), stuck) || !strings.Contains(err.Error(), "Waits for manual judgement") ||
		!strings.Contains(err.Error(), "--force") || !strings.Contains(err.Error(), "DNS is unchanged") {
		t.Fatalf("drain timeout: %v", err)
	}
	if got := targets(t, dns, ns); !maps.Equal(got, before) {
		t.Errorf("DNS changed although the freeze failed: %v", got)
	}
	if n := old.GateReplicas(t); n != 2 {
		t.Errorf("Gate left at %d replicas after the failed freeze", n)
	}
	if got := old.InService(); !slices.Equal(got, []bool{true, true}) {
		t.Errorf("Orca after the failed freeze: %v", got)
	}
	rec, err := o.read(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if got := phaseNames(rec); got != "freeze freeze-failed unfreeze" || rec.Freeze != nil {
		t.Errorf("ledger after the failed freeze: %s %+v", got, rec.Freeze)
	}

	o.Freeze.Force = true
	r, err := Freeze(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ids(r.Left), []string{stuck}) {
		t.Errorf("forced freeze left %v", r.Left)
	}
	old.Queue.Finish(stuck)
	migratetest.Stays(t, "the stalled execution does not finish while frozen", func() bool { return old.Queue.Status(stuck) == "RUNNING" })
	if _, err := Unfreeze(t.Context(), o); err != nil {
		t.Fatal(err)
	}
	migratetest.Eventually(t, "it finishes after the unfreeze", func() bool { return old.Queue.Status(stuck) == "SUCCEEDED" })
}

// TestFreezeRefusals: an HPA on Gate, a pending Orca pod and an Orca whose
// status Eureka manages each stop the freeze with what to do; none leaves
// anything changed.
func TestFreezeRefusals(t *testing.T) {
	old := migratetest.StartOldInstallation(t, testenv.SharedCluster(t))
	o := options(t, old, old.Cluster.Namespace(t))
	cs := old.Cluster.Clientset()
	hpa := &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Name: "gate"}, Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
		ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{Kind: "Deployment", Name: "spin-gate", APIVersion: "apps/v1"}, MaxReplicas: 4}}
	if _, err := cs.AutoscalingV2().HorizontalPodAutoscalers(old.Namespace).Create(t.Context(), hpa, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := Freeze(t.Context(), o); err == nil || !strings.Contains(err.Error(), "HorizontalPodAutoscaler") {
		t.Errorf("with an HPA on Gate: %v", err)
	}
	if err := cs.AutoscalingV2().HorizontalPodAutoscalers(old.Namespace).Delete(t.Context(), "gate", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}

	old.Queue.Instances[1].Eureka = true
	if _, err := Freeze(t.Context(), o); err == nil || !strings.Contains(err.Error(), "cannot be overwritten") || !strings.Contains(err.Error(), "spin-orca-5d8f-1") {
		t.Errorf("under Eureka: %v", err)
	}
	if n, got := old.GateReplicas(t), old.InService(); n != 2 || !slices.Equal(got, []bool{true, true}) {
		t.Errorf("after the refused freeze: Gate %d, Orca %v", n, got)
	}
	old.Queue.Instances[1].Eureka = false

	if _, err := cs.CoreV1().Pods(old.Namespace).Create(t.Context(), &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "spin-orca-5d8f-new",
		Labels: map[string]string{"app": "spin", "cluster": "spin-orca"}}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "orca", Image: "orca"}}}},
		metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := Freeze(t.Context(), o); err == nil || !strings.Contains(err.Error(), "spin-orca-5d8f-new") || !strings.Contains(err.Error(), "rollout") {
		t.Errorf("with a pending Orca pod: %v", err)
	}
	if n, got := old.GateReplicas(t), old.InService(); n != 2 || !slices.Equal(got, []bool{true, true}) {
		t.Errorf("after the refused freeze: Gate %d, Orca %v", n, got)
	}
}

func phaseNames(r *MigrationRecord) string {
	var out []string
	for _, p := range r.Phases {
		out = append(out, p.Phase)
	}
	return strings.Join(out, " ")
}

// TestCutoverScheduledMigration: the first run freezes and stops; the
// second (a new process: fresh clients, only the ledger) checks the freeze
// again, verifies and switches; the frozen window is measured from the
// freeze to done; a rollback (another new process) puts the names back and
// unfreezes exactly.
func TestCutoverScheduledMigration(t *testing.T) {
	old := migratetest.StartOldInstallation(t, testenv.SharedCluster(t))
	old.Queue.AddApplication("shop", "deploy-cfg")
	dns := route53Zone(t)
	ns := names(dns, t)
	before := targets(t, dns, ns)
	gate := httptestServer(t, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	ledgerNS := old.Cluster.Namespace(t)
	clock := time.Date(2026, 12, 2, 22, 0, 0, 0, time.UTC)
	run := func(step time.Duration) CutoverOptions {
		o := options(t, old, ledgerNS)
		o.DNS, o.Names, o.Target, o.Weight = dns, ns, "new-lb.elb.example.com", 100
		o.Checks, o.VerifyOpts = spinnaker.ExposedChecks(gate, gate), spinnaker.VerifyOptions{Attempts: 1}
		o.Now = func() time.Time { clock = clock.Add(step); return clock }
		return o
	}

	o := run(time.Second)
	o.Weight = 10
	if _, err := Cutover(t.Context(), o); err == nil || !strings.Contains(err.Error(), "--weight 100") {
		t.Errorf("a weighted scheduled migration: %v", err)
	}
	if n := old.GateReplicas(t); n != 2 {
		t.Fatalf("the refused weighted cutover changed Gate: %d", n)
	}

	rec, err := Cutover(t.Context(), run(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if got := phaseNames(rec); got != "freeze frozen" {
		t.Errorf("first run: %s", got)
	}
	if got := targets(t, dns, ns); !maps.Equal(got, before) {
		t.Errorf("the freezing run changed DNS: %v", got)
	}
	if n, got := old.GateReplicas(t), old.InService(); n != 0 || !slices.Equal(got, []bool{false, false}) {
		t.Errorf("after the first run: Gate %d, Orca %v", n, got)
	}

	// The final `migrate data` happens here: 40 minutes.
	clock = clock.Add(40 * time.Minute)
	rec, err = Cutover(t.Context(), run(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if got := phaseNames(rec); got != "freeze frozen freeze-checked verify verified switch done" {
		t.Errorf("second run: %s", got)
	}
	for _, n := range ns {
		if got := targets(t, dns, ns)[n]; got != "new-lb.elb.example.com" {
			t.Errorf("%s: %s", n, got)
		}
	}
	start, end, closed, ok := FrozenWindow(rec.Phases)
	last := rec.Phases[len(rec.Phases)-1]
	window := end.Sub(start)
	if !ok || !closed || start != rec.Phases[0].At || end != last.At || window < 40*time.Minute || window > 41*time.Minute {
		t.Errorf("frozen window %v..%v (%v, closed %v): %+v", start, end, window, closed, rec.Phases)
	}
	if !strings.Contains(last.Detail, "frozen window "+window.String()) {
		t.Errorf("done's detail: %q", last.Detail)
	}
	if n := old.GateReplicas(t); n != 0 {
		t.Errorf("the old installation does not stay frozen after done: Gate %d", n)
	}

	rec, err = Rollback(t.Context(), run(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if got := targets(t, dns, ns); !maps.Equal(got, before) {
		t.Errorf("after the rollback: %v", got)
	}
	if n, got := old.GateReplicas(t), old.InService(); n != 2 || !slices.Equal(got, []bool{true, true}) {
		t.Errorf("after the rollback: Gate %d, Orca %v", n, got)
	}
	if got := phaseNames(rec); !strings.HasSuffix(got, "done unfreeze rollback") || rec.Freeze != nil {
		t.Errorf("ledger after the rollback: %s", got)
	}
}

// TestFreezeCrashThenRollback: a process freezing the old installation is
// killed (SIGKILL) while it waits for a running execution, after Gate went
// to zero; a new process with only the ledger rolls it back.
func TestFreezeCrashThenRollback(t *testing.T) {
	if os.Getenv("SPINOPS_TEST_FREEZE_CHILD") != "" {
		return // the child's work is in TestFreezeCrashChild
	}
	old := migratetest.StartOldInstallation(t, testenv.SharedCluster(t))
	old.Queue.AddApplication("shop", "deploy-cfg")
	running := old.Queue.Launch("PIPELINE", "shop", "Deploy", "deploy-cfg")
	migratetest.Eventually(t, "running", func() bool { return old.Queue.Status(running) == "RUNNING" })
	ledgerNS := old.Cluster.Namespace(t)

	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestFreezeCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), "SPINOPS_TEST_FREEZE_CHILD=1", "SPINOPS_TEST_FREEZE_KUBECONFIG="+old.Cluster.Kubeconfig,
		"SPINOPS_TEST_FREEZE_NS="+old.Namespace, "SPINOPS_TEST_FREEZE_LEDGER_NS="+ledgerNS)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	migratetest.Eventually(t, "the child scaled Gate to zero", func() bool { return old.GateReplicas(t) == 0 })
	time.Sleep(100 * time.Millisecond) // it is waiting for the execution now
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	if strings.Contains(out.String(), "child: freeze returned") {
		t.Fatalf("the child finished before it was killed:\n%s", out.String())
	}
	if n := old.GateReplicas(t); n != 0 {
		t.Fatalf("Gate %d after the crash", n)
	}

	rec, err := Rollback(t.Context(), options(t, old, ledgerNS))
	if err != nil {
		t.Fatal(err)
	}
	if n, got := old.GateReplicas(t), old.InService(); n != 2 || !slices.Equal(got, []bool{true, true}) {
		t.Errorf("after the rollback: Gate %d, Orca %v", n, got)
	}
	if got := phaseNames(rec); got != "freeze unfreeze rollback" {
		t.Errorf("ledger: %s", got)
	}
}

// TestFreezeCrashChild is the process TestFreezeCrashThenRollback kills.
func TestFreezeCrashChild(t *testing.T) {
	if os.Getenv("SPINOPS_TEST_FREEZE_CHILD") == "" {
		t.Skip("not a test of its own: the child process TestFreezeCrashThenRollback starts (with SPINOPS_TEST_FREEZE_CHILD set) and kills mid-freeze")
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", os.Getenv("SPINOPS_TEST_FREEZE_KUBECONFIG"))
	if err != nil {
		t.Fatal(err)
	}
	cs := kubernetes.NewForConfigOrDie(cfg)
	_, err = Freeze(context.Background(), CutoverOptions{Ledger: cs, LedgerNamespace: os.Getenv("SPINOPS_TEST_FREEZE_LEDGER_NS"),
		Freeze: &FreezeOptions{Kube: cs, Namespace: os.Getenv("SPINOPS_TEST_FREEZE_NS"), PollInterval: 20 * time.Millisecond, DrainTimeout: time.Minute}})
	fmt.Println("child: freeze returned", err)
}
