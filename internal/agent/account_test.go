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

func (p *preloaded) Informer(gvr schema.GroupVersionResource, ns string, metadataOnly bool, tweak func(*metav1.ListOptions)) cache.SharedIndexInformer {
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
