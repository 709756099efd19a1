package agent

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"sort"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

// preloaded is an informer factory whose informers list the objects a test
// gave it (and then watch nothing), recording what the agent asked for.
type preloaded struct {
	objects map[string][]unstructured.Unstructured // by resource

	mu    sync.Mutex
	asked []string
}

func (p *preloaded) Informer(gvr schema.GroupVersionResource, ns string, metadataOnly bool, _ func(string) bool) cache.SharedIndexInformer {
	p.mu.Lock()
	p.asked = append(p.asked, gvr.Resource+"/"+ns)
	p.mu.Unlock()
	if metadataOnly {
		panic("no metadata-only kind was configured")
	}
	lw := &cache.ListWatch{
		ListWithContextFunc: func(context.Context, metav1.ListOptions) (runtime.Object, error) {
			return &unstructured.UnstructuredList{Object: map[string]any{"apiVersion": "v1", "kind": "List", "metadata": map[string]any{"resourceVersion": "7"}},
				Items: p.objects[gvr.Resource]}, nil
		},
		WatchFuncWithContext: func(context.Context, metav1.ListOptions) (watch.Interface, error) { return watch.NewFake(), nil },
	}
	// The fake lists and then watches; it does not serve streaming lists
	// (a watch with sendInitialEvents that ends its initial events with a
	// bookmark), which reflectors use by default (WatchListClient) unless
	// the ListerWatcher says it does not support them.
	return cache.NewSharedIndexInformer(cache.ToListWatcherWithWatchListSemantics(lw, listAndWatchOnly{}), &unstructured.Unstructured{}, 0, cache.Indexers{})
}

// listAndWatchOnly marks a fake ListWatch as not supporting WatchList
// semantics, so its reflector lists and then watches.
type listAndWatchOnly struct{}

func (listAndWatchOnly) IsWatchListSemanticsUnSupported() bool { return true }

func configMap(ns, name string) unstructured.Unstructured {
	return unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": name, "namespace": ns, "resourceVersion": "7"}, "data": map[string]any{"k": name}}}
}

// The agent watches through the informers its caller gives it and stamps
// changes with its caller's clock: a test preloads the caches (objects the
// API server does not hold) and fixes the time.
func TestAccountUsesTheCallersInformersAndClock(t *testing.T) {
	c := testenv.SharedCluster(t) // discovery is the real API server's
	ns := c.Namespace(t)
	inf := &preloaded{objects: map[string][]unstructured.Unstructured{"configmaps": {configMap(ns, "preloaded-a"), configMap(ns, "preloaded-b")}}}
	clk := clocktesting.NewFakeClock(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
	cfg := AccountConfig{Name: "injected", Kinds: []string{"ConfigMap"}, Namespaces: []string{ns}}
	acct, err := startAccount(t.Context(), cfg, "spa_test", c.RESTConfig(), inf, clk, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer acct.stop()
	if len(acct.kinds) != 1 || acct.kinds[0].kind.GetResource() != "configmaps" {
		t.Fatalf("kinds: %v", acct.hello.GetKinds())
	}
	inf.mu.Lock()
	asked := append([]string(nil), inf.asked...)
	inf.mu.Unlock()
	if len(asked) != 1 || asked[0] != "configmaps/"+ns {
		t.Fatalf("the agent asked its factory for %v, want [configmaps/%s]", asked, ns)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !acct.Synced(0) {
		if time.Now().After(deadline) {
			t.Fatal("the preloaded informer never synced")
		}
		time.Sleep(10 * time.Millisecond)
	}
	events, rv, err := acct.Snapshot(0)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, ev := range events {
		var o map[string]any
		if err := json.Unmarshal(ev.GetObject(), &o); err != nil {
			t.Fatal(err)
		}
		names = append(names, o["metadata"].(map[string]any)["name"].(string))
	}
	sort.Strings(names)
	if len(names) != 2 || names[0] != "preloaded-a" || names[1] != "preloaded-b" || rv != "7" {
		t.Fatalf("snapshot %v at %q, want the preloaded objects at 7", names, rv)
	}
	// Both objects were queued when the informer added them, stamped with
	// the fake clock's time.
	for range 2 {
		select {
		case k := <-acct.Keys():
			ev, err := acct.Event(k)
			if err != nil {
				t.Fatal(err)
			}
			if ev.GetObservedUnixNano() != clk.Now().UnixNano() {
				t.Fatalf("%v observed at %d, want the caller's clock %d", k, ev.GetObservedUnixNano(), clk.Now().UnixNano())
			}
			acct.Done(k)
		case <-time.After(10 * time.Second):
			t.Fatal("no key queued for a preloaded object")
		}
	}
}

// An account with omitNamespaces watching every sort of kind (what
// modules/spinops/platform's control account does: every kind, Spinnaker's
// and the cluster's own namespaces omitted) syncs them all, on a real API
// server: the omitted namespaces' objects are left out of the namespaced
// kinds, in the list and on the watch, and a cluster-scoped kind is listed
// whole. The API server refuses a metadata.namespace field selector for
// cluster-scoped kinds and for some namespaced ones (PodCertificateRequest),
// and an informer whose list is refused never syncs: examples/aws-complete
// applied for real (TestMotoAWSComplete) waited on its control account
// until the timeout.
func TestOmitNamespacesOnEveryKind(t *testing.T) {
	c := testenv.SharedCluster(t)
	omitted, kept := c.Namespace(t), c.Namespace(t)
	for _, ns := range []string{omitted, kept} {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cm-in-" + ns, Namespace: ns}}
		if _, err := c.Clientset().CoreV1().ConfigMaps(ns).Create(t.Context(), cm, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	inf, err := NewInformerFactory(c.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	// PodCertificateRequest is namespaced, and its API server refuses a
	// metadata.namespace field selector all the same.
	cfg := AccountConfig{Name: "omit", Kinds: []string{"ConfigMap", "Namespace", "PodCertificateRequest"}, OmitNamespaces: []string{omitted}}
	acct, err := startAccount(t.Context(), cfg, "spa_test", c.RESTConfig(), inf, clocktesting.NewFakeClock(time.Now()), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer acct.stop()
	names := map[string][]string{} // resource → namespace/name
	for i, k := range acct.kinds {
		deadline := time.Now().Add(20 * time.Second)
		for !acct.Synced(i) {
			if time.Now().After(deadline) {
				t.Fatalf("the %s informer never synced (omitNamespaces %v)", k.kind.GetResource(), cfg.OmitNamespaces)
			}
			time.Sleep(20 * time.Millisecond)
		}
		events, _, err := acct.Snapshot(i)
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range events {
			names[k.kind.GetResource()] = append(names[k.kind.GetResource()], ev.GetNamespace()+"/"+ev.GetName())
		}
	}
	has := func(resource, id string) bool {
		for _, n := range names[resource] {
			if n == id {
				return true
			}
		}
		return false
	}
	if !has("configmaps", kept+"/cm-in-"+kept) || has("configmaps", omitted+"/cm-in-"+omitted) {
		t.Errorf("ConfigMaps %v: want %s's and not the omitted %s's", names["configmaps"], kept, omitted)
	}
	if !has("namespaces", "/"+omitted) || !has("namespaces", "/"+kept) {
		t.Errorf("Namespaces %v: want both %s and %s (cluster-scoped kinds are not filtered by namespace)", names["namespaces"], omitted, kept)
	}
	if _, ok := names["podcertificaterequests"]; len(acct.kinds) != 3 || ok {
		t.Errorf("kinds %v, PodCertificateRequests %v: want three kinds, no PodCertificateRequest", acct.hello.GetKinds(), names["podcertificaterequests"])
	}

	// And on the watch: a ConfigMap made in the omitted namespace after
	// the sync never reaches the cache, one in the kept namespace does.
	for _, ns := range []string{omitted, kept} {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "later-in-" + ns, Namespace: ns}}
		if _, err := c.Clientset().CoreV1().ConfigMaps(ns).Create(t.Context(), cm, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	cmKind := -1
	for i, k := range acct.kinds {
		if k.kind.GetResource() == "configmaps" {
			cmKind = i
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		events, _, err := acct.Snapshot(cmKind)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]bool{}
		for _, ev := range events {
			got[ev.GetNamespace()+"/"+ev.GetName()] = true
		}
		if got[omitted+"/later-in-"+omitted] {
			t.Fatalf("a ConfigMap of the omitted namespace %s reached the cache through the watch", omitted)
		}
		if got[kept+"/later-in-"+kept] {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the ConfigMap made in %s after the sync never reached the cache", kept)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
