package migrate

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"

	"github.com/spinops/terraform-provider-spinops/internal/migrate/migratetest"
	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

var gateLabels = map[string]string{"app": "spin", "cluster": "spin-gate"}

// gateCluster is what a controller-manager, kubelets and kube-proxy would do
// for the read-only Gate on the test's API server (none of them runs): pods
// for the proxy's Deployment on test hosts, serving the real proxy with the
// arguments of the Deployment's pod template; the Deployment's status; and
// each Service's EndpointSlice kept to the running pods its selector picks,
// which the API server's service proxy follows. With pullError set, the
// proxy's pods wait on that instead, as a kubelet reports an image it cannot
// pull.
type gateCluster struct {
	t         *testing.T
	old       *migratetest.OldInstallation
	gate      *gateRecorder
	pullError string
	// staleGate keeps spin-gate's endpoints at Gate's pods whatever its
	// selector says (an endpoint controller that does not catch up).
	staleGate atomic.Bool

	mu      sync.Mutex
	started map[string]bool // proxy pods made
	args    []string        // the proxy's arguments, as the pod template gave them
}

// startGateCluster adds Gate to the old installation: its Service spin-gate
// (port 8084 to the pods' 8084, Gate's selector), one Gate pod on a test
// host serving a recorder, and the stand-in controllers above.
func startGateCluster(t *testing.T, old *migratetest.OldInstallation, pullError string) *gateCluster {
	t.Helper()
	g := &gateCluster{t: t, old: old, gate: &gateRecorder{}, pullError: pullError, started: map[string]bool{}}
	cs := old.Cluster.Clientset()
	h := testenv.StartTestHost(t)
	l, err := h.Listen(8084)
	if err != nil {
		t.Fatal(err)
	}
	s := &http.Server{Handler: g.gate}
	go func() { _ = s.Serve(l) }()
	t.Cleanup(func() { _ = s.Close() })
	old.Pod(t, "spin-gate-6f7d-0", "spin-gate", h.IP)
	if _, err := cs.CoreV1().Services(old.Namespace).Create(t.Context(), &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "spin-gate"},
		Spec: corev1.ServiceSpec{Selector: gateLabels, Ports: []corev1.ServicePort{{Name: "http", Port: 8084}}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done })
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			g.reconcile(ctx)
			time.Sleep(10 * time.Millisecond)
		}
	}()
	g.reconcile(t.Context())
	return g
}

func (g *gateCluster) reconcile(ctx context.Context) {
	cs := g.old.Cluster.Clientset()
	ns := g.old.Namespace
	if d, err := cs.AppsV1().Deployments(ns).Get(ctx, ReadOnlyGateName, metav1.GetOptions{}); err == nil && madeBySpinops(d.ObjectMeta) {
		g.runProxy(ctx, d)
	}
	for _, name := range []string{"spin-gate", GateUpstreamName} {
		if name == "spin-gate" && g.staleGate.Load() {
			continue
		}
		svc, err := cs.CoreV1().Services(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			continue
		}
		pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: labels.SelectorFromSet(svc.Spec.Selector).String()})
		if err != nil {
			continue
		}
		es := &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Name: name + "-1", Labels: map[string]string{discoveryv1.LabelServiceName: name}},
			AddressType: discoveryv1.AddressTypeIPv4, Ports: []discoveryv1.EndpointPort{{Name: ptr.To(svc.Spec.Ports[0].Name), Port: ptr.To(int32(8084))}}}
		for _, p := range pods.Items {
			if p.Status.PodIP != "" && p.DeletionTimestamp == nil && p.Status.Phase == corev1.PodRunning {
				es.Endpoints = append(es.Endpoints, discoveryv1.Endpoint{Addresses: []string{p.Status.PodIP},
					TargetRef: &corev1.ObjectReference{Kind: "Pod", Namespace: ns, Name: p.Name, UID: p.UID}})
			}
		}
		cur, err := cs.DiscoveryV1().EndpointSlices(ns).Get(ctx, es.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			_, _ = cs.DiscoveryV1().EndpointSlices(ns).Create(ctx, es, metav1.CreateOptions{})
		} else if err == nil && fmt.Sprint(cur.Endpoints) != fmt.Sprint(es.Endpoints) {
			cur.Endpoints = es.Endpoints
			_, _ = cs.DiscoveryV1().EndpointSlices(ns).Update(ctx, cur, metav1.UpdateOptions{})
		}
	}
}

// runProxy makes the proxy Deployment's pods and status.
func (g *gateCluster) runProxy(ctx context.Context, d *appsv1.Deployment) {
	cs := g.old.Cluster.Clientset()
	ns := g.old.Namespace
	c := d.Spec.Template.Spec.Containers[0]
	ready := int32(0)
	for i := range *d.Spec.Replicas {
		name := fmt.Sprintf("%s-%d-%d", ReadOnlyGateName, d.Generation, i)
		g.mu.Lock()
		started := g.started[name]
		g.started[name], g.args = true, c.Args
		g.mu.Unlock()
		if !started {
			pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: d.Spec.Template.Labels}, Spec: d.Spec.Template.Spec}
			p, err := cs.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{})
			if err != nil {
				g.t.Errorf("creating the proxy's pod: %v", err)
				return
			}
			if g.pullError != "" {
				p.Status.Phase = corev1.PodPending
				p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: c.Name, Image: c.Image,
					State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff", Message: g.pullError}}}}
			} else {
				ip := g.serveProxy(c)
				p.Status.Phase, p.Status.PodIP, p.Status.PodIPs = corev1.PodRunning, ip, []corev1.PodIP{{IP: ip}}
				p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: c.Name, Image: c.Image, Ready: true,
					State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}
			}
			if _, err := cs.CoreV1().Pods(ns).UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
				g.t.Errorf("the proxy pod's status: %v", err)
				return
			}
		}
		if g.pullError == "" {
			ready++
		}
	}
	if d.Status.ObservedGeneration == d.Generation && d.Status.ReadyReplicas == ready {
		return
	}
	d.Status = appsv1.DeploymentStatus{ObservedGeneration: d.Generation, Replicas: *d.Spec.Replicas, UpdatedReplicas: *d.Spec.Replicas,
		ReadyReplicas: ready, AvailableReplicas: ready}
	_, _ = cs.AppsV1().Deployments(ns).UpdateStatus(ctx, d, metav1.UpdateOptions{})
}

// serveProxy runs the real proxy on a new test host, one listener per
// --listen of the container's arguments, each upstream resolved as the
// cluster's DNS and kube-proxy would: the named Service's selector, to
// the running pod it picks.
func (g *gateCluster) serveProxy(c corev1.Container) string {
	t := g.t
	h := testenv.StartTestHost(t)
	var since time.Time
	var allow []string
	for i := 0; i+1 < len(c.Args); i++ {
		switch c.Args[i] {
		case "--since":
			since, _ = time.Parse(time.RFC3339, c.Args[i+1])
		case "--allow-post":
			allow = append(allow, c.Args[i+1])
		}
	}
	for i := 0; i+1 < len(c.Args); i++ {
		if c.Args[i] != "--listen" {
			continue
		}
		port, up, err := ParseGateProxyRoute(c.Args[i+1])
		if err != nil {
			t.Errorf("the proxy's arguments: %v", err)
			continue
		}
		svcName, rest, _ := strings.Cut(up.Hostname(), ".")
		if rest != g.old.Namespace+".svc" {
			t.Errorf("upstream %s is not a Service of namespace %s", up, g.old.Namespace)
		}
		resolved := *up
		resolved.Host = g.resolve(svcName) + ":" + up.Port()
		var n int
		_, _ = fmt.Sscan(port, &n)
		l, err := h.Listen(n)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			done <- ServeReadOnlyGate(ctx, l, ReadOnlyGate{Upstream: &resolved, Since: since, AllowPost: allow})
		}()
		t.Cleanup(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("the read-only Gate: %v", err)
			}
		})
	}
	return h.IP
}

func (g *gateCluster) resolve(service string) string {
	cs := g.old.Cluster.Clientset()
	svc, err := cs.CoreV1().Services(g.old.Namespace).Get(context.Background(), service, metav1.GetOptions{})
	if err != nil {
		g.t.Errorf("resolving %s: %v", service, err)
		return "127.0.0.1"
	}
	pods, err := cs.CoreV1().Pods(g.old.Namespace).List(context.Background(), metav1.ListOptions{LabelSelector: labels.SelectorFromSet(svc.Spec.Selector).String()})
	if err != nil || len(pods.Items) == 0 || pods.Items[0].Status.PodIP == "" {
		g.t.Errorf("Service %s selects no running pod (%v)", service, err)
		return "127.0.0.1"
	}
	return pods.Items[0].Status.PodIP
}

// viaGateService sends a request to the old Gate's Service through the API
// server's service proxy, as the load balancer would reach it.
func viaGateService(t *testing.T, old *migratetest.OldInstallation, method, path string) (int, http.Header, string) {
	t.Helper()
	cfg := old.Cluster.RESTConfig()
	client, err := rest.HTTPClientFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequestWithContext(t.Context(), method, fmt.Sprintf("%s/api/v1/namespaces/%s/services/spin-gate:8084/proxy/%s", cfg.Host, old.Namespace, path), nil)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func readOnlyOptions(t *testing.T, old *migratetest.OldInstallation) CutoverOptions {
	o := options(t, old, old.Cluster.Namespace(t))
	o.Freeze.GateMode, o.Freeze.ProxyImage, o.Freeze.ProxyTimeout = GateReadOnly, "ghcr.io/spinops/spinops:1.2.3", 20*time.Second
	o.Freeze.AllowPost = []string{"/sso/callback"}
	return o
}

// TestFreezeReadOnlyGate: with the read-only Gate, the freeze makes the
// proxy and its upstream Service, waits until the proxy is ready and only
// then points spin-gate at it; Gate keeps its replicas. Through the Service,
// as a load balancer reaches it, reads get Gate's answers and changes are
// refused without reaching Gate. Freezing again changes nothing; the
// unfreeze points the Service back and removes what the freeze made.
func TestFreezeReadOnlyGate(t *testing.T) {
	old := migratetest.StartOldInstallation(t, testenv.SharedCluster(t))
	g := startGateCluster(t, old, "")
	cs := old.Cluster.Clientset()
	if code, h, _ := viaGateService(t, old, http.MethodPost, "pipelines/shop/deploy"); code != 200 || h.Get(ReadOnlyGateHeader) != "" {
		t.Fatalf("before the freeze, a change reaches Gate directly: %d %v", code, h)
	}
	g.gate.mu.Lock()
	g.gate.seen = nil
	g.gate.mu.Unlock()

	o := readOnlyOptions(t, old)
	var waited []string
	o.Freeze.Progress = func(s string) { waited = append(waited, s) }
	res, err := Freeze(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	if r := res.Record; r.GateMode != GateReadOnly || r.GateService != "spin-gate" || !maps.Equal(r.GateSelector, gateLabels) || r.GateReplicas != 2 {
		t.Errorf("record %+v", r)
	}
	if n := old.GateReplicas(t); n != 2 {
		t.Errorf("Gate scaled to %d: the read-only freeze keeps it running", n)
	}
	if got := old.InService(); !slices.Equal(got, []bool{false, false}) {
		t.Errorf("Orca in service: %v", got)
	}
	svc, err := cs.CoreV1().Services(old.Namespace).Get(t.Context(), "spin-gate", metav1.GetOptions{})
	if err != nil || !maps.Equal(svc.Spec.Selector, readOnlyGateLabels) {
		t.Fatalf("spin-gate's selector %v (%v)", svc.Spec.Selector, err)
	}
	d, err := cs.AppsV1().Deployments(old.Namespace).Get(t.Context(), ReadOnlyGateName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c := d.Spec.Template.Spec.Containers[0]
	wantArgs := []string{"migrate", "gate-proxy", "--since", res.Record.Since.UTC().Format(time.RFC3339),
		"--listen", "8084=http://" + GateUpstreamName + "." + old.Namespace + ".svc:8084", "--allow-post", "/sso/callback"}
	if c.Image != "ghcr.io/spinops/spinops:1.2.3" || !slices.Equal(c.Args, wantArgs) || *d.Spec.Replicas != 2 || c.ReadinessProbe.HTTPGet.Path != "/health" ||
		*d.Spec.Template.Spec.AutomountServiceAccountToken || !*c.SecurityContext.ReadOnlyRootFilesystem {
		t.Errorf("proxy: image %s, args %q, replicas %d, probe %+v", c.Image, c.Args, *d.Spec.Replicas, c.ReadinessProbe)
	}

	// Through the Service: a read is Gate's answer, a change is refused
	// and never reaches Gate; a login POST passes.
	code, h, body := viaGateService(t, old, http.MethodGet, "applications")
	if code != 200 || body != `{"gate":true}` || h.Get(ReadOnlyGateHeader) != res.Record.Since.UTC().Format(time.RFC3339) {
		t.Errorf("a read through the frozen Gate: %d %s %v", code, body, h)
	}
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch} {
		if code, _, body := viaGateService(t, old, m, "pipelines/shop/deploy"); code != 503 || !strings.Contains(body, "frozen for its migration") {
			t.Errorf("%s through the frozen Gate: %d %s", m, code, body)
		}
	}
	if code, _, _ := viaGateService(t, old, http.MethodPost, "sso/callback"); code != 200 {
		t.Errorf("the login POST given in AllowPost: %d", code)
	}
	// (The freeze's checks of spin-gate reach Gate itself until the
	// endpoints follow the new selector: a GET of a path Gate does not have.)
	got := slices.DeleteFunc(g.gate.requests(), func(r string) bool { return r == "GET "+ReadOnlyGateStatusPath })
	if !slices.Equal(got, []string{"GET /applications", "POST /sso/callback"}) {
		t.Errorf("Gate saw %q", got)
	}

	// Again: checked, nothing new made.
	res2, err := Freeze(t.Context(), o)
	if err != nil || !res2.Checked || res2.Record.Since != res.Record.Since {
		t.Fatalf("second freeze: %+v %v", res2, err)
	}
	if d2, _ := cs.AppsV1().Deployments(old.Namespace).Get(t.Context(), ReadOnlyGateName, metav1.GetOptions{}); d2.Generation != d.Generation {
		t.Errorf("the second freeze changed the proxy (generation %d → %d)", d.Generation, d2.Generation)
	}
	// The mode is the ledger's: a stopping freeze over it is refused.
	stop := options(t, old, o.LedgerNamespace)
	if _, err := Freeze(t.Context(), stop); err == nil || !strings.Contains(err.Error(), "read-only") {
		t.Errorf("a stopping freeze over a read-only one: %v", err)
	}

	// The rollback's options name no mode: the ledger's record is enough.
	if _, err := Unfreeze(t.Context(), stop); err != nil {
		t.Fatal(err)
	}
	svc, _ = cs.CoreV1().Services(old.Namespace).Get(t.Context(), "spin-gate", metav1.GetOptions{})
	if !maps.Equal(svc.Spec.Selector, gateLabels) {
		t.Errorf("after the unfreeze spin-gate selects %v", svc.Spec.Selector)
	}
	for _, err := range []error{
		func() error {
			_, err := cs.AppsV1().Deployments(old.Namespace).Get(t.Context(), ReadOnlyGateName, metav1.GetOptions{})
			return err
		}(),
		func() error {
			_, err := cs.CoreV1().Services(old.Namespace).Get(t.Context(), GateUpstreamName, metav1.GetOptions{})
			return err
		}(),
	} {
		if !apierrors.IsNotFound(err) {
			t.Errorf("left after the unfreeze: %v", err)
		}
	}
	if got := old.InService(); !slices.Equal(got, []bool{true, true}) || old.GateReplicas(t) != 2 {
		t.Errorf("after the unfreeze: Orca %v, Gate %d", got, old.GateReplicas(t))
	}
	migratetest.Eventually(t, "a change reaches Gate again", func() bool {
		code, h, _ := viaGateService(t, old, http.MethodPost, "pipelines/shop/deploy")
		return code == 200 && h.Get(ReadOnlyGateHeader) == ""
	})
	rec, _ := o.read(t.Context())
	if last := rec.Phases[len(rec.Phases)-1]; last.Phase != "unfreeze" || !strings.Contains(last.Detail, "back to Gate's pods") {
		t.Errorf("last phase %+v", last)
	}
}

// TestFreezeReadOnlyGateNotReady: a proxy whose image cannot be pulled is
// never made the Service's target: the freeze fails naming the pods' state
// and the image, Gate's Service and Orca are untouched, and what it made is
// removed. An object of the proxy's name that spinops did not make stops
// the freeze and is left in place; so is a Service without a selector.
func TestFreezeReadOnlyGateNotReady(t *testing.T) {
	old := migratetest.StartOldInstallation(t, testenv.SharedCluster(t))
	startGateCluster(t, old, `Back-off pulling image "ghcr.io/spinops/spinops:1.2.3"`)
	cs := old.Cluster.Clientset()
	o := readOnlyOptions(t, old)
	o.Freeze.ProxyTimeout = 500 * time.Millisecond
	// While the proxy is not ready, Gate's Service still selects Gate.
	var waits, switched int
	o.Freeze.Progress = func(s string) {
		if !strings.Contains(s, "read-only Gate") {
			return
		}
		waits++
		if svc, err := cs.CoreV1().Services(old.Namespace).Get(context.Background(), "spin-gate", metav1.GetOptions{}); err != nil || !maps.Equal(svc.Spec.Selector, gateLabels) {
			switched++
		}
	}
	_, err := Freeze(t.Context(), o)
	if waits == 0 || switched != 0 {
		t.Errorf("while the proxy was not ready (%d waits), spin-gate did not select Gate %d times", waits, switched)
	}
	if err == nil || !strings.Contains(err.Error(), "ImagePullBackOff") || !strings.Contains(err.Error(), "ghcr.io/spinops/spinops:1.2.3") ||
		!strings.Contains(err.Error(), "--old-gate stop") || !strings.Contains(err.Error(), "the freeze was undone") {
		t.Fatalf("freeze with a proxy that does not start: %v", err)
	}
	svc, _ := cs.CoreV1().Services(old.Namespace).Get(t.Context(), "spin-gate", metav1.GetOptions{})
	if !maps.Equal(svc.Spec.Selector, gateLabels) {
		t.Errorf("spin-gate's selector %v after the failed freeze", svc.Spec.Selector)
	}
	if _, err := cs.AppsV1().Deployments(old.Namespace).Get(t.Context(), ReadOnlyGateName, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the proxy was left: %v", err)
	}
	if _, err := cs.CoreV1().Services(old.Namespace).Get(t.Context(), GateUpstreamName, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the upstream Service was left: %v", err)
	}
	if got := old.InService(); !slices.Equal(got, []bool{true, true}) {
		t.Errorf("Orca after the failed freeze: %v", got)
	}
	if rec, _ := o.read(t.Context()); rec.Freeze != nil {
		t.Errorf("the ledger still records a freeze: %+v", rec.Freeze)
	}

	// Someone else's Deployment of the proxy's name.
	theirs := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: ReadOnlyGateName, Labels: map[string]string{"team": "edge"}},
		Spec: appsv1.DeploymentSpec{Replicas: ptr.To(int32(0)), Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"team": "edge"}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"team": "edge"}},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "x", Image: "nginx"}}}}}}
	if _, err := cs.AppsV1().Deployments(old.Namespace).Create(t.Context(), theirs, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := Freeze(t.Context(), o); err == nil || !strings.Contains(err.Error(), "spinops did not make") {
		t.Errorf("with someone else's %s: %v", ReadOnlyGateName, err)
	}
	if _, err := cs.AppsV1().Deployments(old.Namespace).Get(t.Context(), ReadOnlyGateName, metav1.GetOptions{}); err != nil {
		t.Errorf("the undo deleted someone else's Deployment: %v", err)
	}

	// Ready, but what reaches spin-gate does not reach it: the freeze
	// fails after switching, and the undo points spin-gate back.
	g2 := startGateCluster(t, migratetest.StartOldInstallation(t, old.Cluster), "")
	g2.staleGate.Store(true)
	o2 := readOnlyOptions(t, g2.old)
	o2.Freeze.ProxyTimeout = 15 * time.Second
	if _, err := Freeze(t.Context(), o2); err == nil || !strings.Contains(err.Error(), "do not reach it") || !strings.Contains(err.Error(), "the freeze was undone") {
		t.Errorf("with spin-gate's endpoints not following its selector: %v", err)
	}
	if svc, _ := cs.CoreV1().Services(g2.old.Namespace).Get(t.Context(), "spin-gate", metav1.GetOptions{}); !maps.Equal(svc.Spec.Selector, gateLabels) {
		t.Errorf("spin-gate selects %v after the undo", svc.Spec.Selector)
	}
	if got := g2.old.InService(); !slices.Equal(got, []bool{true, true}) {
		t.Errorf("Orca after the failed freeze: %v", got)
	}
	if _, err := cs.AppsV1().Deployments(g2.old.Namespace).Get(t.Context(), ReadOnlyGateName, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the proxy was left: %v", err)
	}

	// A Gate Service without a selector.
	svc.Spec.Selector = nil
	if _, err := cs.CoreV1().Services(old.Namespace).Update(t.Context(), svc, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := Freeze(t.Context(), o); err == nil || !strings.Contains(err.Error(), "has no selector") {
		t.Errorf("with a Gate Service without a selector: %v", err)
	}
	if rec, _ := o.read(t.Context()); rec.Freeze != nil || old.GateReplicas(t) != 2 {
		t.Errorf("after the refusal: ledger %+v, Gate %d", rec.Freeze, old.GateReplicas(t))
	}
}
