package spinnaker_test

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/spinops/terraform-provider-spinops/internal/kube"
	"github.com/spinops/terraform-provider-spinops/internal/spinnaker"
	"github.com/spinops/terraform-provider-spinops/internal/spinnaker/operatortest"
	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

// TestDeploy_haSpreadAndDisruptionBudgets deploys an HA zone through a real
// API server with kube-controller-manager (Deployments, ReplicaSets and the
// disruption controller run) and the operator and kubelet stand-ins, then,
// for every service the zone renders: the Deployment the operator created
// keeps its replicas out of a single zone, and a PodDisruptionBudget that
// the disruption controller counts against exactly the Deployment's pods
// lets one of them go at a time (a second eviction is refused, an unready
// pod may still be evicted). The budgets go when HA is turned off, are not
// made for one replica, and go with the zone. The services HA splits go
// when it is turned off, and the unsplit ones when it is turned on again:
// the operator stand-in, like the real operator, leaves them.
func TestDeploy_haSpreadAndDisruptionBudgets(t *testing.T) {
	t.Parallel() // (a cluster of its own; the tests wait on it, so they run at once)
	c := testenv.StartCluster(t, testenv.WithControllerManager())
	backends := operatortest.StartBackends(t)
	// While holdNew is set, pods not in it stay in ContainerCreating (not
	// ready), as a replacement pod does while its image is pulled.
	var holdNew atomic.Pointer[map[types.UID]bool]
	operatortest.StartKubeletWith(t, c.RESTConfig(), operatortest.KubeletOptions{PodIP: backends.IP,
		Hold: func(p *corev1.Pod) bool { h := holdNew.Load(); return h != nil && !(*h)[p.UID] }})
	e := startOperatorEnv(t, c, backends, 0, &spinnaker.Installation{SpinnakerVersion: "1.35.3", Promotion: spinnaker.Promotion{Soak: spinnaker.Duration(time.Hour)},
		Auth: &spinnaker.Auth{OAuth2: &spinnaker.OAuth2{Provider: "github", ClientID: "id"}}})
	ctx, client, op, inst := e.ctx, e.client, e.op, e.inst
	d := &spinnaker.Deployer{Control: client, Target: client, Now: time.Now, PollInterval: 200 * time.Millisecond,
		Log: func(msg string, f map[string]any) { t.Logf("%s %v", msg, f) }}
	opts := spinnaker.DeployOptions{Wait: true, Timeout: 2 * time.Minute}
	const ns = "spin-ha"
	pdbs := client.Clientset.PolicyV1().PodDisruptionBudgets(ns)
	var serviceSettings map[string]string
	deploy := func(ha *spinnaker.HA) *spinnaker.DeployResult {
		t.Helper()
		z := &spinnaker.Zone{Name: "ha", Namespace: ns, Tier: spinnaker.TierProduction, HA: ha, ServiceSettings: serviceSettings}
		res, err := d.Deploy(ctx, inst, z, opts)
		if err != nil {
			t.Fatalf("deploy with %+v: %v (stand-in: %v)", ha, err, op.LastError())
		}
		return res
	}
	zonePDBs := func() []string {
		t.Helper()
		l, err := pdbs.List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, p := range l.Items {
			names = append(names, p.Name)
		}
		return names
	}
	wait := func(what string, cond func() (bool, string)) {
		t.Helper()
		if err := kube.WaitFor(ctx, 200*time.Millisecond, time.Minute, func(context.Context) (bool, string, error) {
			ok, msg := cond()
			return ok, msg, nil
		}); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}

	ha := &spinnaker.HA{Enabled: true, ClouddriverSplit: true, Replicas: 2}
	res := deploy(ha)
	var podLabels []map[string]string
	for _, s := range res.Rendered.Services {
		dep, err := client.Clientset.AppsV1().Deployments(ns).Get(ctx, s.ObjectName(), metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		podLabels = append(podLabels, dep.Spec.Template.Labels)
	}
	spread := 0
	for i, s := range res.Rendered.Services {
		dep, err := client.Clientset.AppsV1().Deployments(ns).Get(ctx, s.ObjectName(), metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		pdb, err := pdbs.Get(ctx, s.ObjectName(), metav1.GetOptions{})
		if spinnaker.IsSingleton(s.Name) {
			if !apierrors.IsNotFound(err) {
				t.Errorf("%s runs one replica; its PodDisruptionBudget would block every drain (get: %v)", s.Name, err)
			}
			continue
		}
		spread++
		others := append(append([]map[string]string{}, podLabels[:i]...), podLabels[i+1:]...)
		for _, p := range zoneSpreadProblems(dep, corev1.DoNotSchedule, others) {
			t.Error("deployed " + p)
		}
		if err != nil {
			t.Errorf("%s runs %d replicas and has no PodDisruptionBudget: %v", s.Name, s.Replicas, err)
			continue
		}
		// The budget selects exactly the Deployment's pods.
		sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
		if err != nil {
			t.Fatal(err)
		}
		depSel, _ := metav1.LabelSelectorAsSelector(dep.Spec.Selector)
		all, err := client.Clientset.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		matched := 0
		for _, p := range all.Items {
			if sel.Matches(labels.Set(p.Labels)) != depSel.Matches(labels.Set(p.Labels)) {
				t.Errorf("budget %s (selector %s) and Deployment (selector %s) disagree on pod %s", pdb.Name, sel, depSel, p.Name)
			}
			if sel.Matches(labels.Set(p.Labels)) {
				matched++
			}
		}
		if matched != int(s.Replicas) {
			t.Errorf("budget %s selects %d pods, want the %d replicas", pdb.Name, matched, s.Replicas)
		}
		// The disruption controller counts the same pods.
		wait("disruption controller on "+pdb.Name, func() (bool, string) {
			p, err := pdbs.Get(ctx, s.ObjectName(), metav1.GetOptions{})
			if err != nil {
				return false, err.Error()
			}
			st := p.Status
			return p.Status.ObservedGeneration == p.Generation && st.ExpectedPods == int32(s.Replicas) && st.DisruptionsAllowed == 1,
				fmt.Sprintf("expected %d, healthy %d, allowed %d", st.ExpectedPods, st.CurrentHealthy, st.DisruptionsAllowed)
		})
	}
	if spread < 9 {
		t.Errorf("only %d HA services checked among %v", spread, res.Rendered.Services)
	}

	// A drain evicts spin-gate's pods one at a time.
	gatePods, err := client.Clientset.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "cluster=spin-gate"})
	if err != nil || len(gatePods.Items) != 2 {
		t.Fatalf("spin-gate pods: %v, %d", err, len(gatePods.Items))
	}
	existing := map[types.UID]bool{}
	all, err := client.Clientset.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range all.Items {
		existing[p.UID] = true
	}
	holdNew.Store(&existing)
	evict := func(name string) error {
		return client.Clientset.CoreV1().Pods(ns).EvictV1(ctx, &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}})
	}
	if err := evict(gatePods.Items[0].Name); err != nil {
		t.Fatalf("first eviction: %v", err)
	}
	if err := evict(gatePods.Items[1].Name); !apierrors.IsTooManyRequests(err) {
		t.Fatalf("second eviction while the first replacement is not ready: err = %v, want 429 (disruption budget)", err)
	}
	// unhealthyPodEvictionPolicy AlwaysAllow: the unready replacement does
	// not hold up a drain.
	var replacement string
	wait("a replacement spin-gate pod", func() (bool, string) {
		l, _ := client.Clientset.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "cluster=spin-gate"})
		for _, p := range l.Items {
			if !existing[p.UID] && p.Spec.NodeName != "" && len(p.Status.ContainerStatuses) > 0 {
				replacement = p.Name
				return true, ""
			}
		}
		return false, "none yet"
	})
	if err := evict(replacement); err != nil {
		t.Errorf("evicting the unready replacement: %v", err)
	}
	holdNew.Store(nil)

	// HA off: no budget left, and the split services gone (the real
	// operator leaves them running: spin-echo-scheduler beside the new
	// spin-echo would fire every cron trigger twice). What spinops does not
	// deploy stays: a spin-redis the operator made (Halyard deploys Redis
	// when no endpoint is given) and a spin-kayenta it does not control.
	ssObj, err := client.Get(ctx, spinnaker.SpinnakerServiceGVK, ns, "ha")
	if err != nil {
		t.Fatal(err)
	}
	decoy := func(name string, owned bool) {
		t.Helper()
		l := map[string]string{"app": "spin", "cluster": name, "app.kubernetes.io/managed-by": "spinnaker-operator"}
		dep := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: l},
			Spec: appsv1.DeploymentSpec{Replicas: ptr.To(int32(0)), Selector: &metav1.LabelSelector{MatchLabels: l},
				Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: l},
					Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "redis"}}}}}}
		if owned {
			dep.OwnerReferences = []metav1.OwnerReference{{APIVersion: ssObj.GetAPIVersion(), Kind: ssObj.GetKind(), Name: ssObj.GetName(), UID: ssObj.GetUID(), Controller: ptr.To(true)}}
		}
		if _, err := client.Clientset.AppsV1().Deployments(ns).Create(ctx, dep, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	decoy("spin-redis", true)
	decoy("spin-kayenta", false)
	deployments := func() map[string]bool {
		t.Helper()
		l, err := client.Clientset.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]bool{}
		for _, d := range l.Items {
			if d.DeletionTimestamp == nil {
				out[d.Name] = true
			}
		}
		return out
	}
	checkServices := func(when string, res *spinnaker.DeployResult, gone ...string) {
		t.Helper()
		have := deployments()
		for _, s := range spinnaker.ParseStatus(res.Object).Services {
			if slices.Contains(gone, s.Name) {
				t.Errorf("%s: the zone's status, as the deploy returns it, still lists %s", when, s.Name)
			}
		}
		for _, s := range res.Rendered.Services {
			if !have[s.ObjectName()] {
				t.Errorf("%s: no Deployment %s", when, s.ObjectName())
			}
		}
		for _, name := range gone {
			if have[name] {
				t.Errorf("%s: Deployment %s, a service the zone no longer runs, is still there", when, name)
			}
			if _, err := client.Clientset.CoreV1().Services(ns).Get(ctx, name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				t.Errorf("%s: Service %s, a service the zone no longer runs, is still there (get: %v)", when, name, err)
			}
		}
		for _, name := range []string{"spin-redis", "spin-kayenta"} {
			if !have[name] {
				t.Errorf("%s: Deployment %s, which spinops does not deploy, was removed", when, name)
			}
		}
	}
	split := []string{"spin-clouddriver-caching", "spin-clouddriver-rw", "spin-clouddriver-ro", "spin-clouddriver-ro-deck", "spin-echo-scheduler", "spin-echo-worker"}
	// Without waiting, nothing is removed (the zone is not known to be
	// ready), and the deploy says what keeps running.
	opts.Wait = false
	res = deploy(&spinnaker.HA{Enabled: false, ClouddriverSplit: true, Replicas: 2})
	opts.Wait = true
	if want := slices.Sorted(slices.Values(split)); !slices.Equal(res.LeftRunning, want) {
		t.Errorf("a deploy without waiting after HA was turned off: left running %v, want %v", res.LeftRunning, want)
	}
	for _, name := range res.LeftRunning {
		if !deployments()[name] {
			t.Errorf("a deploy without waiting removed %s", name)
		}
	}
	res = deploy(&spinnaker.HA{Enabled: false, ClouddriverSplit: true, Replicas: 2})
	checkServices("after HA was turned off", res, split...)
	if n := zonePDBs(); len(n) != 0 {
		t.Errorf("after HA was turned off: %v", n)
	}
	// Rosco's life cycle left to the user (skipLifeCycleManagement):
	// Halyard neither deploys nor deletes it, so neither waits nor removes.
	// Said through the global "spinnaker" service-settings, which the
	// operator merges under every service of its BOM but Deck, the
	// service's own setting winning: so Clouddriver and Echo, which HA
	// replaces, are removed only because their own settings say false.
	serviceSettings = map[string]string{"spinnaker": "skipLifeCycleManagement: true"}
	for _, n := range []string{"clouddriver", "echo", "fiat", "front50", "gate", "orca"} {
		serviceSettings[n] = "skipLifeCycleManagement: false"
	}
	res = deploy(&spinnaker.HA{Enabled: true, ClouddriverSplit: true, Replicas: 1})
	checkServices("after HA was turned on", res, "spin-clouddriver", "spin-echo")
	if slices.ContainsFunc(res.Rendered.Services, func(s spinnaker.Service) bool { return s.Name == "rosco" }) {
		t.Error("with skipLifeCycleManagement the deploy waited for rosco")
	}
	if !deployments()["spin-rosco"] {
		t.Error("spin-rosco, whose life cycle service_settings leave to the user, was removed")
	}
	serviceSettings = nil
	if n := zonePDBs(); len(n) != 0 {
		t.Errorf("with one replica: %v", n)
	}
	if k, ok := spinnaker.SpecOf(res.Object)["kustomize"]; ok {
		t.Errorf("with one replica the SpinnakerService has spec.kustomize %v", k)
	}
	// Back to two: the budgets return; destroying the zone removes them.
	deploy(ha)
	if n := zonePDBs(); len(n) < 9 {
		t.Errorf("after HA came back: %v", n)
	}
	if err := d.Destroy(ctx, inst, &spinnaker.Zone{Name: "ha", Namespace: ns, Tier: spinnaker.TierProduction, HA: ha}, time.Minute); err != nil {
		t.Fatal(err)
	}
	if n := zonePDBs(); len(n) != 0 {
		t.Errorf("after the zone was destroyed: %v", n)
	}
}
