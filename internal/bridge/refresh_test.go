package bridge_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	bridgev1 "github.com/spinops/terraform-provider-spinops/proto/spinops/bridge/v1"

	"github.com/spinops/terraform-provider-spinops/internal/bridge"
	"github.com/spinops/terraform-provider-spinops/internal/clouddriver/clouddrivertest"
	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

// spinnakerAnnotations are what Clouddriver's KubernetesManifestAnnotater
// writes on a manifest it deploys.
func spinnakerAnnotations(name string) map[string]string {
	return map[string]string{
		"moniker.spinnaker.io/application": "web",
		"moniker.spinnaker.io/cluster":     "deployment " + name,
		"artifact.spinnaker.io/name":       name,
		"artifact.spinnaker.io/type":       "kubernetes/deployment",
		"artifact.spinnaker.io/location":   "",
	}
}

func deploymentOf(ns, name string, replicas int32, ann map[string]string) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Annotations: ann},
		Spec: appsv1.DeploymentSpec{Replicas: &replicas, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": name}},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "nginx:1.27"}}}}},
	}
}

// refreshFixture: a real cluster, the real agent and bridge, and a Clouddriver
// (the stand-in, or a handler in front of it) whose account "spin" reads
// through the bridge's per-account endpoint.
type refreshFixture struct {
	tb    *testBridge
	c     *testenv.Cluster
	ns    string
	cd    *clouddrivertest.Server
	front *httptest.Server // when set, the URL registered instead of the stand-in's

	mu    sync.Mutex
	reads []clouddrivertest.Read
}

type refreshOpts struct {
	version  clouddrivertest.Version
	interval time.Duration
	refresh  bridge.RefreshConfig
	front    func(cd *clouddrivertest.Server) http.Handler
}

func startRefresh(t *testing.T, o refreshOpts) *refreshFixture {
	t.Helper()
	f := &refreshFixture{c: testenv.SharedCluster(t)}
	f.ns = f.c.Namespace(t)
	p := newPKI(t)
	f.tb = startBridge(t, p, filepath.Join(t.TempDir(), "bridge.db"), func(c *bridge.Config) { c.Refresh = o.refresh })
	cred := f.tb.register(t, &bridgev1.AccountSpec{Name: "spin", Namespaces: []string{f.ns}})
	cfgPath := filepath.Join(t.TempDir(), "agent.yaml")
	f.tb.agentConfig("spin-agent", agentAccount{Name: "spin", KubeconfigFile: f.c.Kubeconfig, Credential: cred,
		Kinds: []string{"Deployment", "ConfigMap"}, Namespaces: []string{f.ns}}).write(t, cfgPath)
	startAgent(t, cfgPath)
	f.tb.waitSynced(t, "spin")

	kc, err := f.tb.admin.GetKubeconfig(adminCtx(), &bridgev1.GetKubeconfigRequest{Name: "spin"})
	if err != nil {
		t.Fatal(err)
	}
	if o.interval == 0 {
		o.interval = time.Hour // only pushes can make the stand-in see a change
	}
	f.cd, err = clouddrivertest.Start(t.Context(), clouddrivertest.Config{Version: o.version,
		Accounts: []clouddrivertest.Account{{Name: "spin", Kubeconfig: []byte(kc.GetKubeconfig()), Namespaces: []string{f.ns},
			Kinds:         []clouddrivertest.Kind{{Name: "deployment", GVR: deployments, Namespaced: true}, {Name: "configMap", GVR: configMaps, Namespaced: true}},
			CacheInterval: o.interval}},
		OnRead: func(r clouddrivertest.Read) { f.mu.Lock(); f.reads = append(f.reads, r); f.mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.cd.Close)
	url := f.cd.URL()
	if o.front != nil {
		f.front = httptest.NewServer(o.front(f.cd))
		t.Cleanup(f.front.Close)
		url = f.front.URL
	}
	if _, err := f.tb.admin.UpdateAccount(adminCtx(), &bridgev1.UpdateAccountRequest{Spec: &bridgev1.AccountSpec{Name: "spin", Namespaces: []string{f.ns}, ClouddriverUrl: url}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the stand-in's first cycle", func() bool { return f.cd.Cycles("spin") >= 1 })
	return f
}

// onDemandReplicas is the replica count the stand-in's latest on-demand
// read of the deployment saw (-1: none, -2: read as deleted).
func (f *refreshFixture) onDemandReplicas(name string) int64 {
	key := clouddrivertest.InfrastructureKey("deployment", "spin", f.ns, name)
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := len(f.reads) - 1; i >= 0; i-- {
		r := f.reads[i]
		if r.Key != key || r.Source != "on-demand" {
			continue
		}
		if r.Object == nil {
			return -2
		}
		n, _, _ := unstructuredNested(r.Object.Object, "spec", "replicas")
		return n
	}
	return -1
}

func unstructuredNested(m map[string]any, path ...string) (int64, bool, error) {
	var cur any = m
	for _, p := range path {
		mm, ok := cur.(map[string]any)
		if !ok {
			return 0, false, nil
		}
		cur = mm[p]
	}
	n, ok := cur.(int64)
	return n, ok, nil
}

func (f *refreshFixture) scale(t *testing.T, name string, n int32) {
	t.Helper()
	s, err := f.c.Clientset().AppsV1().Deployments(f.ns).GetScale(t.Context(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s.Spec.Replicas = n
	if _, err := f.c.Clientset().AppsV1().Deployments(f.ns).UpdateScale(t.Context(), name, s, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// A Deployment created the way Spinnaker creates it (its annotations) and
// scaled: Clouddriver has re-cached the new state within a second, without
// a caching cycle; its deletion is re-cached (evicted) as well.
func TestRefreshPushesManagedChangeWithinASecond(t *testing.T) {
	f := startRefresh(t, refreshOpts{version: clouddrivertest.OnDemand122})
	ds := f.c.Clientset().AppsV1().Deployments(f.ns)
	if _, err := ds.Create(t.Context(), deploymentOf(f.ns, "web", 1, spinnakerAnnotations("web")), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the created deployment re-cached", func() bool { return f.onDemandReplicas("web") == 1 })
	for _, n := range []int32{3, 5} {
		f.scale(t, "web", n)
		changed := time.Now()
		waitFor(t, 5*time.Second, fmt.Sprintf("replicas %d re-cached", n), func() bool { return f.onDemandReplicas("web") == int64(n) })
		if lag := time.Since(changed); lag > time.Second {
			t.Fatalf("Clouddriver re-cached replicas %d after %s, want under 1s", n, lag)
		}
		key := clouddrivertest.InfrastructureKey("deployment", "spin", f.ns, "web")
		if got, _, _ := unstructuredNested(f.cd.Cached("spin", key).Object, "spec", "replicas"); got != int64(n) {
			t.Fatalf("Clouddriver's cache holds replicas %d, want %d", got, n)
		}
	}
	if c := f.cd.Cycles("spin"); c != 1 {
		t.Fatalf("%d caching cycles ran; the change must have come from the push", c)
	}
	if err := ds.Delete(t.Context(), "web", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	deleted := time.Now()
	waitFor(t, 5*time.Second, "the deletion re-cached", func() bool { return f.onDemandReplicas("web") == -2 })
	if lag := time.Since(deleted); lag > time.Second {
		t.Fatalf("deletion re-cached after %s", lag)
	}
	if f.cd.Cached("spin", clouddrivertest.InfrastructureKey("deployment", "spin", f.ns, "web")) != nil {
		t.Fatal("the deleted deployment is still in Clouddriver's cache")
	}
	if v := f.tb.metric(t, `spinops_bridge_clouddriver_refresh_requests_total{result="accepted"}`); v < 3 {
		t.Fatalf("accepted requests metric %v, want >= 3", v)
	}
	if v := f.tb.metric(t, "spinops_bridge_clouddriver_refresh_lag_seconds_count"); v < 3 {
		t.Fatalf("lag observations %v, want >= 3", v)
	}
}

// Objects without Spinnaker's annotations never cause a request, including
// one whose annotations only look similar.
func TestRefreshIgnoresUnmanagedObjects(t *testing.T) {
	f := startRefresh(t, refreshOpts{version: clouddrivertest.OnDemand122})
	ctx := t.Context()
	ds := f.c.Clientset().AppsV1().Deployments(f.ns)
	if _, err := ds.Create(ctx, deploymentOf(f.ns, "plain", 1, nil), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := ds.Create(ctx, deploymentOf(f.ns, "lookalike", 1, map[string]string{"caching.spinnaker.io/ignore": "false", "example.com/moniker.spinnaker.io-app": "x"}), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cfg", Namespace: f.ns}, Data: map[string]string{"note": "moniker.spinnaker.io/application"}}
	if _, err := f.c.Clientset().CoreV1().ConfigMaps(f.ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	f.scale(t, "plain", 2)
	f.scale(t, "lookalike", 2)
	// A managed change after them is the barrier: once it is re-cached,
	// the unmanaged ones went through the same path before it.
	if _, err := ds.Create(ctx, deploymentOf(f.ns, "managed", 1, spinnakerAnnotations("managed")), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the managed deployment re-cached", func() bool { return f.onDemandReplicas("managed") == 1 })
	time.Sleep(200 * time.Millisecond) // more than the coalescing window
	for _, r := range f.cd.Requests() {
		if r.Body["name"] != "Deployment managed" {
			t.Errorf("request for an unmanaged object: %v", r.Body)
		}
	}
	if n := len(f.cd.Requests()); n != 1 {
		t.Fatalf("%d requests, want 1 (the managed deployment)", n)
	}
}

// 500 changes to 10 managed Deployments in a burst: they are coalesced per
// object, the requests stay within the per-account rate, and the last state
// of every Deployment is re-cached.
func TestRefreshBurstCoalescedAndRateBound(t *testing.T) {
	const objects, changes = 10, 500
	const rateLimit, burst = 20.0, 5
	f := startRefresh(t, refreshOpts{version: clouddrivertest.OnDemand122,
		refresh: bridge.RefreshConfig{AccountRate: rateLimit, AccountBurst: burst}})
	ctx := t.Context()
	ds := f.c.Clientset().AppsV1().Deployments(f.ns)
	for i := range objects {
		if _, err := ds.Create(ctx, deploymentOf(f.ns, fmt.Sprintf("d%d", i), 0, spinnakerAnnotations(fmt.Sprintf("d%d", i))), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range objects {
		waitFor(t, 10*time.Second, "created deployments re-cached", func() bool { return f.onDemandReplicas(fmt.Sprintf("d%d", i)) == 0 })
	}
	before := len(f.cd.Requests())
	start := time.Now()
	var wg sync.WaitGroup
	var failed atomic.Int32
	for i := range objects {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := fmt.Sprintf("d%d", i)
			for n := 1; n <= changes/objects; n++ {
				patch := fmt.Sprintf(`{"spec":{"replicas":%d}}`, n)
				if _, err := ds.Patch(context.Background(), name, "application/merge-patch+json", []byte(patch), metav1.PatchOptions{}); err != nil {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if failed.Load() > 0 {
		t.Fatalf("%d patches failed", failed.Load())
	}
	t.Logf("%d changes in %s", changes, time.Since(start))
	for i := range objects {
		waitFor(t, 20*time.Second, "the last state re-cached", func() bool { return f.onDemandReplicas(fmt.Sprintf("d%d", i)) == changes/objects })
	}
	reqs := f.cd.Requests()[before:]
	sort.Slice(reqs, func(i, j int) bool { return reqs[i].At.Before(reqs[j].At) }) // recorded in the order they finished
	// The rate bound: in any window of length w at most burst + rate*w
	// requests, +1 for the window's edges. The stand-in timestamps
	// arrivals, not sends: requests sent 50ms apart may arrive together
	// when the machine is busy, so w gets 150ms of slack.
	const jitter = 0.15
	for i := range reqs {
		for j := i; j < len(reqs); j++ {
			w := reqs[j].At.Sub(reqs[i].At).Seconds()
			if n := j - i + 1; float64(n) > burst+rateLimit*(w+jitter)+1 {
				t.Fatalf("%d requests within %.3fs: over the bound of %d + %.0f/s", n, w, burst, rateLimit)
			}
		}
	}
	// Coalescing: fewer requests than changes. How many fewer depends on how
	// fast the patches arrive against the rate (on a loaded machine the
	// 500 patches can take 13 s, in which 20/s allows ~270 requests); the
	// bound that matters is the rate window above.
	if len(reqs) >= changes {
		t.Fatalf("%d requests for %d changes: not coalesced", len(reqs), changes)
	}
	if v := f.tb.metric(t, "spinops_bridge_clouddriver_refresh_coalesced_total"); v == 0 {
		t.Fatal("no change was counted as coalesced")
	}
	t.Logf("%d changes → %d requests, coalesced %v", changes, len(reqs), f.tb.metric(t, "spinops_bridge_clouddriver_refresh_coalesced_total"))
}

// A Clouddriver that answers errors is retried with backoff until it
// re-caches the change.
func TestRefreshRetriesUntilClouddriverAnswers(t *testing.T) {
	var calls atomic.Int32
	f := startRefresh(t, refreshOpts{version: clouddrivertest.OnDemand122,
		refresh: bridge.RefreshConfig{BackoffMin: 50 * time.Millisecond, BackoffMax: 200 * time.Millisecond, MaxAttempts: 10},
		front: func(cd *clouddrivertest.Server) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if calls.Add(1) <= 3 {
					http.Error(w, "clouddriver starting", http.StatusServiceUnavailable)
					return
				}
				req, _ := http.NewRequestWithContext(r.Context(), r.Method, cd.URL()+r.URL.Path, r.Body)
				req.Header = r.Header
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					http.Error(w, err.Error(), http.StatusBadGateway)
					return
				}
				defer resp.Body.Close()
				w.WriteHeader(resp.StatusCode)
				_, _ = bufio.NewReader(resp.Body).WriteTo(w)
			})
		}})
	if _, err := f.c.Clientset().AppsV1().Deployments(f.ns).Create(t.Context(), deploymentOf(f.ns, "web", 2, spinnakerAnnotations("web")), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the change re-cached after retries", func() bool { return f.onDemandReplicas("web") == 2 })
	if v := f.tb.metric(t, `spinops_bridge_clouddriver_refresh_requests_total{result="error"}`); v != 3 {
		t.Fatalf("error answers counted %v, want 3", v)
	}
}

// Adversarial: a Clouddriver that never answers. Requests time out and are
// retried, then given up and counted; meanwhile the watch path keeps
// applying every change at full speed (a push that waited on Clouddriver
// would stall the agent's stream).
func TestRefreshHungClouddriverDoesNotBlockWatchPath(t *testing.T) {
	release := make(chan struct{})
	var callsMu sync.Mutex
	var calls []time.Time
	f := startRefresh(t, refreshOpts{version: clouddrivertest.OnDemand122,
		refresh: bridge.RefreshConfig{Timeout: 300 * time.Millisecond, MaxAttempts: 2, BackoffMin: 50 * time.Millisecond, BackoffMax: 50 * time.Millisecond, Workers: 2, MaxPending: 20},
		front: func(*clouddrivertest.Server) http.Handler {
			return http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
				callsMu.Lock()
				calls = append(calls, time.Now())
				callsMu.Unlock()
				<-release // hang, whatever the caller does, until the test ends
			})
		}})
	defer close(release)
	ctx := t.Context()
	ds := f.c.Clientset().AppsV1().Deployments(f.ns)
	const objects = 40
	for i := range objects {
		if _, err := ds.Create(ctx, deploymentOf(f.ns, fmt.Sprintf("h%d", i), 1, spinnakerAnnotations(fmt.Sprintf("h%d", i))), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	// Every change reaches the bridge's cache promptly although every
	// push hangs.
	for round := int32(2); round <= 4; round++ {
		for i := range objects {
			f.scale(t, fmt.Sprintf("h%d", i), round)
		}
		start := time.Now()
		waitFor(t, 5*time.Second, "the bridge cache to follow the cluster", func() bool {
			for i := range objects {
				raw := f.tb.cached("spin", deployments, f.ns, fmt.Sprintf("h%d", i))
				if !strings.Contains(string(raw), fmt.Sprintf(`"replicas":%d`, round)) {
					return false
				}
			}
			return true
		})
		t.Logf("round %d in the bridge cache after %s", round, time.Since(start))
	}
	waitFor(t, 10*time.Second, "requests given up after their retries", func() bool {
		return f.tb.metric(t, "spinops_bridge_clouddriver_refresh_failures_total") > 0
	})
	// Each of the 2 workers holds a request for its whole 300ms timeout,
	// so over a span of arrivals at most 2 × (span/300ms + 1) requests
	// arrive (100ms of slack: arrivals are timestamped at the server).
	callsMu.Lock()
	arrivals := append([]time.Time(nil), calls...)
	callsMu.Unlock()
	if len(arrivals) == 0 {
		t.Fatal("no request reached the hanging Clouddriver")
	}
	span := arrivals[len(arrivals)-1].Sub(arrivals[0]) + 100*time.Millisecond
	if bound := 2 * (int(span/(300*time.Millisecond)) + 1); len(arrivals) > bound {
		t.Fatalf("%d requests arrived within %s, want at most %d (2 workers, each request hanging until its 300ms timeout)", len(arrivals), span, bound)
	}
	t.Logf("%d requests within %s", len(arrivals), span)
	if v := f.tb.metric(t, `spinops_bridge_clouddriver_refresh_dropped_total{reason="queue_full"}`); v == 0 {
		t.Fatal("with 40 objects and room for 20, no change was counted as dropped")
	}
	if v := f.tb.metric(t, "spinops_bridge_clouddriver_refresh_pending"); v > 20 {
		t.Fatalf("%v objects pending, over MaxPending 20", v)
	}
}

// Current Clouddriver answers 200 and caches nothing: after three such
// answers the bridge stops sending to that account (it would be load for
// nothing) and counts the changes it does not push.
func TestRefreshPausesWhenClouddriverCachesNothing(t *testing.T) {
	f := startRefresh(t, refreshOpts{version: clouddrivertest.Current})
	ds := f.c.Clientset().AppsV1().Deployments(f.ns)
	for i := range 6 {
		if _, err := ds.Create(t.Context(), deploymentOf(f.ns, fmt.Sprintf("c%d", i), 1, spinnakerAnnotations(fmt.Sprintf("c%d", i))), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if i < 3 {
			waitFor(t, 5*time.Second, "the request", func() bool { return len(f.cd.Requests()) == i+1 })
			waitFor(t, 5*time.Second, "its answer counted", func() bool {
				return f.tb.metric(t, "spinops_bridge_clouddriver_refresh_unhandled_total") == float64(i+1)
			})
		}
	}
	waitFor(t, 5*time.Second, "changes counted as not pushed", func() bool {
		return f.tb.metric(t, `spinops_bridge_clouddriver_refresh_dropped_total{reason="paused"}`) == 3
	})
	if n := len(f.cd.Requests()); n != 3 {
		t.Fatalf("%d requests to a Clouddriver that caches nothing, want 3 then a pause", n)
	}
}

// clouddriver_url is checked at registration; credentials in it are
// refused without echoing them.
func TestClouddriverURLValidated(t *testing.T) {
	p := newPKI(t)
	tb := startBridge(t, p, filepath.Join(t.TempDir(), "bridge.db"))
	for url, want := range map[string]string{
		"spin-clouddriver:7002": "must start with http",
		"http://":               "names no host",
		"http://admin:hunter2@spin-clouddriver:7002": "must not carry credentials",
		"http://spin-clouddriver:7002/?x=1":          "query",
		"http://user:hunter2@[::1:7002":              "not a URL",
	} {
		_, err := tb.admin.RegisterAccount(adminCtx(), &bridgev1.RegisterAccountRequest{Spec: &bridgev1.AccountSpec{Name: "a", ClouddriverUrl: url}})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want an error containing %q", url, err, want)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%s: the error shows the password: %v", url, err)
		}
	}
	if _, err := tb.admin.RegisterAccount(adminCtx(), &bridgev1.RegisterAccountRequest{Spec: &bridgev1.AccountSpec{Name: "ok", ClouddriverUrl: "http://spin-clouddriver.spinnaker:7002"}}); err != nil {
		t.Fatal(err)
	}
}
