package clouddrivertest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/spinops/terraform-provider-spinops/internal/clouddriver/clouddrivertest"
	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

var deploymentKind = clouddrivertest.Kind{Name: "deployment", GVR: schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}, Namespaced: true}

// fixture: a real cluster, a namespace, a stand-in with one account "k8s"
// whose kubeconfig is the cluster's.
type fixture struct {
	c     *testenv.Cluster
	ns    string
	cd    *clouddrivertest.Server
	mu    sync.Mutex
	reads []clouddrivertest.Read
}

func start(t *testing.T, v clouddrivertest.Version, interval time.Duration, mod ...func(*clouddrivertest.Account)) *fixture {
	return startWithClock(t, v, interval, nil, mod...)
}

func startWithClock(t *testing.T, v clouddrivertest.Version, interval time.Duration, now func() time.Time, mod ...func(*clouddrivertest.Account)) *fixture {
	t.Helper()
	f := &fixture{c: testenv.SharedCluster(t)}
	f.ns = f.c.Namespace(t)
	kc, err := os.ReadFile(f.c.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	acc := clouddrivertest.Account{Name: "k8s", Kubeconfig: kc, Namespaces: []string{f.ns}, Kinds: []clouddrivertest.Kind{deploymentKind}, CacheInterval: interval}
	for _, m := range mod {
		m(&acc)
	}
	f.cd, err = clouddrivertest.Start(t.Context(), clouddrivertest.Config{Version: v, Accounts: []clouddrivertest.Account{acc}, Now: now,
		OnRead: func(r clouddrivertest.Read) { f.mu.Lock(); f.reads = append(f.reads, r); f.mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.cd.Close)
	return f
}

func (f *fixture) onDemandReads() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, r := range f.reads {
		if r.Source == "on-demand" {
			n++
		}
	}
	return n
}

func (f *fixture) deploy(t *testing.T, name string, replicas int32) {
	t.Helper()
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: f.ns, Annotations: map[string]string{
			"moniker.spinnaker.io/application": "web", "moniker.spinnaker.io/cluster": "deployment " + name}},
		Spec: appsv1.DeploymentSpec{Replicas: &replicas, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": name}},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "nginx"}}}}},
	}
	ds := f.c.Clientset().AppsV1().Deployments(f.ns)
	cur, err := ds.Get(t.Context(), name, metav1.GetOptions{})
	if err == nil {
		cur.Spec.Replicas = &replicas
		_, err = ds.Update(t.Context(), cur, metav1.UpdateOptions{})
	} else {
		_, err = ds.Create(t.Context(), d, metav1.CreateOptions{})
	}
	if err != nil {
		t.Fatal(err)
	}
}

// post sends what Orca's ManifestForceCacheRefreshTask sent:
// POST /cache/kubernetes/manifest {"account","location","name":"<kind> <name>"}.
func post(t *testing.T, url string, body any, path ...string) (int, map[string][]string) {
	t.Helper()
	p := "/cache/kubernetes/manifest"
	if len(path) > 0 {
		p = path[0]
	}
	var rd *bytes.Reader
	if s, ok := body.(string); ok {
		rd = bytes.NewReader([]byte(s))
	} else {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	resp, err := http.Post(url+p, "application/json", rd)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		IDs map[string][]string `json:"cachedIdentifiersByType"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out.IDs
}

func replicas(f *fixture, key string) int64 {
	o := f.cd.Cached("k8s", key)
	if o == nil {
		return -1
	}
	n, _, _ := unstructuredInt(o.Object, "spec", "replicas")
	return n
}

func unstructuredInt(m map[string]any, path ...string) (int64, bool, error) {
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

func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Clouddriver >= 1.23 (5ccc108c0): no OnDemandCacheUpdater handles
// (Manifest, kubernetes), so handleOnDemand answers 200 with an empty map and
// reads nothing; pendingOnDemands answers [].
func TestCurrentClouddriverIgnoresManifestRefresh(t *testing.T) {
	f := start(t, clouddrivertest.Current, time.Hour)
	f.deploy(t, "web", 1)
	code, ids := post(t, f.cd.URL(), map[string]string{"account": "k8s", "location": f.ns, "name": "deployment web"})
	if code != http.StatusOK || len(ids) != 0 {
		t.Fatalf("current Clouddriver answered %d %v, want 200 with no cached identifiers", code, ids)
	}
	if n := f.onDemandReads(); n != 0 {
		t.Fatalf("current Clouddriver read %d manifests on demand, want none", n)
	}
	resp, err := http.Get(f.cd.URL() + "/cache/kubernetes/manifest")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var pending []any
	if err := json.NewDecoder(resp.Body).Decode(&pending); err != nil || len(pending) != 0 {
		t.Fatalf("pending on-demand requests: %v %v, want []", pending, err)
	}
}

// KubernetesOnDemandCachingAgent.handle + CatsOnDemandCacheUpdater: the
// manifest is read through the account's kubeconfig, in the cache at once,
// and the answer is 202 (PENDING) with its key under its kind.
func TestOnDemandReadsManifestAndAnswersAccepted(t *testing.T) {
	f := start(t, clouddrivertest.OnDemand122, time.Hour)
	waitFor(t, 10*time.Second, "first cycle", func() bool { return f.cd.Cycles("k8s") == 1 })
	f.deploy(t, "web", 1)
	key := clouddrivertest.InfrastructureKey("deployment", "k8s", f.ns, "web")
	if replicas(f, key) != -1 {
		t.Fatal("the deployment is cached before any cycle or on-demand request saw it")
	}
	code, ids := post(t, f.cd.URL(), map[string]string{"account": "k8s", "location": f.ns, "name": "deployment web"})
	if code != http.StatusAccepted || len(ids["deployment"]) != 1 || ids["deployment"][0] != key {
		t.Fatalf("on-demand answered %d %v, want 202 {deployment: [%s]}", code, ids, key)
	}
	if r := replicas(f, key); r != 1 {
		t.Fatalf("cached replicas %d after the on-demand read, want 1", r)
	}
	f.deploy(t, "web", 3)
	// The kind is matched ignoring case (KubernetesKind.fromString).
	if code, _ := post(t, f.cd.URL(), map[string]string{"account": "k8s", "location": f.ns, "name": "Deployment web"}); code != http.StatusAccepted {
		t.Fatalf("second on-demand answered %d", code)
	}
	if r := replicas(f, key); r != 3 {
		t.Fatalf("cached replicas %d after the second on-demand read, want 3", r)
	}
}

// evictEntry: an on-demand request for an object that is gone removes it
// from the cache; the result has no cache data, so the answer is 200.
func TestOnDemandDeletedObjectIsEvicted(t *testing.T) {
	f := start(t, clouddrivertest.OnDemand122, time.Hour)
	f.deploy(t, "gone", 1)
	key := clouddrivertest.InfrastructureKey("deployment", "k8s", f.ns, "gone")
	if code, _ := post(t, f.cd.URL(), map[string]string{"account": "k8s", "location": f.ns, "name": "deployment gone"}); code != http.StatusAccepted {
		t.Fatalf("on-demand answered %d", code)
	}
	if err := f.c.Clientset().AppsV1().Deployments(f.ns).Delete(t.Context(), "gone", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	code, ids := post(t, f.cd.URL(), map[string]string{"account": "k8s", "location": f.ns, "name": "deployment gone"})
	if code != http.StatusOK || len(ids) != 0 {
		t.Fatalf("on-demand for a deleted object answered %d %v, want 200 with nothing", code, ids)
	}
	if f.cd.Cached("k8s", key) != nil {
		t.Fatal("the deleted deployment is still cached")
	}
}

// handle returns null (nothing read, 200 with nothing) for another account,
// a name that is not "<kind> <name>", a kind the agent does not cache, a
// namespace outside the account's, an account with liveManifestCalls, and
// any type or provider but (manifest, kubernetes).
func TestOnDemandRequestsNotHandled(t *testing.T) {
	f := start(t, clouddrivertest.OnDemand122, time.Hour)
	f.deploy(t, "web", 1)
	for _, c := range []struct {
		what string
		body map[string]string
		path string
	}{
		{"another account", map[string]string{"account": "other", "location": f.ns, "name": "deployment web"}, ""},
		{"no account", map[string]string{"location": f.ns, "name": "deployment web"}, ""},
		{"name without kind", map[string]string{"account": "k8s", "location": f.ns, "name": "web"}, ""},
		{"kind not cached", map[string]string{"account": "k8s", "location": f.ns, "name": "configMap web"}, ""},
		{"namespace outside the account", map[string]string{"account": "k8s", "location": "kube-system", "name": "deployment web"}, ""},
		{"type serverGroup", map[string]string{"account": "k8s", "location": f.ns, "name": "deployment web"}, "/cache/kubernetes/serverGroup"},
		{"provider aws", map[string]string{"account": "k8s", "location": f.ns, "name": "deployment web"}, "/cache/aws/manifest"},
	} {
		var code int
		var ids map[string][]string
		if c.path != "" {
			code, ids = post(t, f.cd.URL(), c.body, c.path)
		} else {
			code, ids = post(t, f.cd.URL(), c.body)
		}
		if code != http.StatusOK || len(ids) != 0 {
			t.Errorf("%s: answered %d %v, want 200 with nothing", c.what, code, ids)
		}
	}
	if n := f.onDemandReads(); n != 0 {
		t.Fatalf("%d on-demand reads for requests no agent handles", n)
	}
	// The type is matched ignoring case (OnDemandType.equals).
	if code, _ := post(t, f.cd.URL(), map[string]string{"account": "k8s", "location": f.ns, "name": "deployment web"}, "/cache/kubernetes/Manifest"); code != http.StatusAccepted {
		t.Fatalf("type Manifest answered %d, want 202", code)
	}
}

func TestOnDemandLiveManifestCallsNotHandled(t *testing.T) {
	f := start(t, clouddrivertest.OnDemand122, time.Hour, func(a *clouddrivertest.Account) { a.LiveManifestCalls = true })
	f.deploy(t, "web", 1)
	if code, ids := post(t, f.cd.URL(), map[string]string{"account": "k8s", "location": f.ns, "name": "deployment web"}); code != http.StatusOK || len(ids) != 0 {
		t.Fatalf("liveManifestCalls account answered %d %v, want 200 with nothing", code, ids)
	}
}

// A body Spring cannot bind to a Map is a 400.
func TestOnDemandBadBody(t *testing.T) {
	f := start(t, clouddrivertest.OnDemand122, time.Hour)
	if code, _ := post(t, f.cd.URL(), "not json"); code != http.StatusBadRequest {
		t.Fatalf("a body that is not JSON answered %d, want 400", code)
	}
}

// pendingOnDemandRequests lists each on-demand entry with details
// {name, account, location}, cacheTime, processedCount 0 and processedTime
// -1 until a cycle processes it; each cycle counts it, and once processed
// twice with a cacheTime before the cycle's start it is evicted.
func TestPendingOnDemandsProcessedByCycles(t *testing.T) {
	f := start(t, clouddrivertest.OnDemand122, 400*time.Millisecond)
	f.deploy(t, "web", 1)
	if code, _ := post(t, f.cd.URL(), map[string]string{"account": "k8s", "location": f.ns, "name": "deployment web"}); code != http.StatusAccepted {
		t.Fatalf("on-demand answered %d", code)
	}
	type pending struct {
		Details        map[string]string `json:"details"`
		CacheTime      int64             `json:"cacheTime"`
		ProcessedCount int               `json:"processedCount"`
		ProcessedTime  int64             `json:"processedTime"`
	}
	get := func() []pending {
		resp, err := http.Get(f.cd.URL() + "/cache/kubernetes/manifest")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out []pending
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	p := get()
	if len(p) != 1 || p[0].Details["name"] != "deployment web" || p[0].Details["account"] != "k8s" || p[0].Details["location"] != f.ns || p[0].CacheTime == 0 {
		t.Fatalf("pending: %+v", p)
	}
	if p[0].ProcessedCount > 0 && p[0].ProcessedTime < p[0].CacheTime {
		t.Fatalf("processed entry with processedTime before cacheTime: %+v", p[0])
	}
	waitFor(t, 10*time.Second, "a cycle to process the entry", func() bool {
		p := get()
		return len(p) == 1 && p[0].ProcessedCount >= 1 && p[0].ProcessedTime >= p[0].CacheTime
	})
	waitFor(t, 10*time.Second, "the entry to be evicted after two cycles", func() bool { return len(get()) == 0 })
	if replicas(f, clouddrivertest.InfrastructureKey("deployment", "k8s", f.ns, "web")) != 1 {
		t.Fatal("the listing cycle lost the deployment")
	}
}

// Without on-demand requests a change is seen only by the next listing
// cycle, every cacheIntervalSeconds; a listed object that is gone leaves the
// cache (the agent is authoritative for its kinds).
func TestCycleListsEveryInterval(t *testing.T) {
	f := start(t, clouddrivertest.Current, 1500*time.Millisecond)
	waitFor(t, 10*time.Second, "first cycle", func() bool { return f.cd.Cycles("k8s") >= 1 })
	key := clouddrivertest.InfrastructureKey("deployment", "k8s", f.ns, "web")
	n := f.cd.Cycles("k8s")
	f.deploy(t, "web", 2)
	changed := time.Now()
	waitFor(t, 10*time.Second, "the next cycle to list the deployment", func() bool { return replicas(f, key) == 2 })
	if f.cd.Cycles("k8s") == n {
		t.Fatal("the deployment was cached without a cycle")
	}
	if time.Since(changed) > 3*time.Second {
		t.Fatalf("seen after %s with a 1.5s cycle", time.Since(changed))
	}
	if err := f.c.Clientset().AppsV1().Deployments(f.ns).Delete(context.Background(), "web", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the next cycle to drop the deployment", func() bool { return f.cd.Cached("k8s", key) == nil })
	if err := f.cd.LastCycleError("k8s"); err != nil {
		t.Fatal(err)
	}
}

func TestInfrastructureKey(t *testing.T) {
	if k := clouddrivertest.InfrastructureKey("rollout.argoproj.io", "acct", "ns", "a:b"); k != "kubernetes.v2:infrastructure:rollout.argoproj.io:acct:ns:a;b" {
		t.Fatal(k)
	}
	if !strings.HasPrefix(clouddrivertest.Current.String(), "clouddriver>=1.23") {
		t.Fatal(clouddrivertest.Current.String())
	}
}

// shouldOverwriteUsingOnDemand: an on-demand entry cached after the cycle
// started wins over what the cycle listed; once older than the cycle's start
// the listing wins, and after two cycles the entry is evicted.
func TestCycleKeepsNewerOnDemandEntry(t *testing.T) {
	var mu sync.Mutex
	clock := time.Unix(1_000_000, 0)
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	set := func(t time.Time) { mu.Lock(); clock = t; mu.Unlock() }
	f := startWithClock(t, clouddrivertest.OnDemand122, time.Hour, now)
	waitFor(t, 10*time.Second, "first cycle", func() bool { return f.cd.Cycles("k8s") == 1 })
	f.deploy(t, "web", 1)
	key := clouddrivertest.InfrastructureKey("deployment", "k8s", f.ns, "web")
	t1 := time.Unix(2_000_000, 0)
	set(t1)
	if code, _ := post(t, f.cd.URL(), map[string]string{"account": "k8s", "location": f.ns, "name": "deployment web"}); code != http.StatusAccepted {
		t.Fatalf("on-demand answered %d", code)
	}
	f.deploy(t, "web", 2)     // the cluster moves on; no on-demand request
	set(t1.Add(-time.Second)) // a cycle that started before the entry was cached
	if err := f.cd.RunCycle(t.Context(), "k8s"); err != nil {
		t.Fatal(err)
	}
	if r := replicas(f, key); r != 1 {
		t.Fatalf("after a cycle that started before the on-demand entry: replicas %d, want the entry's 1", r)
	}
	set(t1.Add(10 * time.Second)) // a cycle that started after it
	if err := f.cd.RunCycle(t.Context(), "k8s"); err != nil {
		t.Fatal(err)
	}
	if r := replicas(f, key); r != 2 {
		t.Fatalf("after a cycle that started after the on-demand entry: replicas %d, want the listed 2", r)
	}
	resp, err := http.Get(f.cd.URL() + "/cache/kubernetes/manifest")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var pending []any
	if err := json.NewDecoder(resp.Body).Decode(&pending); err != nil || len(pending) != 0 {
		t.Fatalf("pending after two cycles: %v %v, want the entry evicted", pending, err)
	}
}
