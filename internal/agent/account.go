package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"sort"
	"strings"
	"sync"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"

	"google.golang.org/protobuf/proto"

	bridgev1 "github.com/spinops/terraform-provider-spinops/proto/spinops/bridge/v1"

	"github.com/spinops/terraform-provider-spinops/internal/kube"
)

// watchedKind is one kind's informers (one per namespace when the account
// lists namespaces, else one for all).
type watchedKind struct {
	kind      *bridgev1.Kind
	informers map[string]cache.SharedIndexInformer // namespace ("" = all)
}

// clusterAccount watches one cluster and feeds the stream: informer
// handlers only enqueue keys (sample-controller style); the stream's sender
// reads the current object from the informer's store when it sends.
type clusterAccount struct {
	name       string
	cfg        AccountConfig
	credential string
	restCfg    *rest.Config
	informers  InformerFactory
	clock      clock.PassiveClock
	log        *slog.Logger

	hello *bridgev1.AccountHello
	kinds []*watchedKind

	queue workqueue.TypedRateLimitingInterface[Key]
	keys  chan Key // fed from queue by pump

	seenMu sync.Mutex
	seen   map[Key]int64 // when a queued key's change was first observed
	// deletedAt is the resourceVersion of a queued key's deletion, as its
	// watch event carried it: the API server sends a DELETED object at the
	// deletion's resourceVersion (k8s.io/apiserver v0.37.2,
	// pkg/storage/etcd3/watcher.go prepareObjs), which the store no longer
	// has once the event is built from it.
	deletedAt map[Key]string

	http httpClient
	// maxResponse is Options.MaxResponseBytes (0: the default).
	maxResponse int

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
}

// InformerFactory makes the informers of one cluster: one per kind and
// namespace ("" = all), holding only the objects whose namespace keep
// accepts (nil keeps every object; a cluster-scoped object's namespace is
// ""). Informers of metadataOnly kinds (Secrets) must hold object metadata
// only, never data.
type InformerFactory interface {
	Informer(gvr schema.GroupVersionResource, namespace string, metadataOnly bool, keep func(namespace string) bool) cache.SharedIndexInformer
}

// NewInformerFactory is the agent's informer factory: dynamic informers,
// and metadata informers for metadataOnly kinds, without resync.
func NewInformerFactory(restCfg *rest.Config) (InformerFactory, error) {
	dyn, err := dynamic.NewForConfig(restCfg)
	if err != nil {
		return nil, fmt.Errorf("creating a dynamic client for %s: %w", restCfg.Host, err)
	}
	meta, err := metadata.NewForConfig(restCfg)
	if err != nil {
		return nil, fmt.Errorf("creating a metadata client for %s: %w", restCfg.Host, err)
	}
	return &clientInformers{dyn: dyn, meta: meta}, nil
}

type clientInformers struct {
	dyn  dynamic.Interface
	meta metadata.Interface
}

// Informer lists and watches through the dynamic (or metadata) client and
// drops what keep refuses from every list and watch before it reaches the
// informer's store. The filter is the agent's own, not a
// metadata.namespace field selector: API servers refuse that selector for
// some namespaced kinds too ("field label not supported: metadata.namespace"
// for certificates.k8s.io PodCertificateRequests on Kubernetes 1.35), and
// an informer whose list is refused never syncs.
func (f *clientInformers) Informer(gvr schema.GroupVersionResource, ns string, metadataOnly bool, keep func(string) bool) cache.SharedIndexInformer {
	var (
		list    func(context.Context, metav1.ListOptions) (runtime.Object, error)
		watchFn func(context.Context, metav1.ListOptions) (watch.Interface, error)
		example runtime.Object
		client  any
	)
	if metadataOnly {
		c := f.meta.Resource(gvr).Namespace(ns)
		list = func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) { return c.List(ctx, o) }
		watchFn, example, client = c.Watch, &metav1.PartialObjectMetadata{}, f.meta
	} else {
		c := f.dyn.Resource(gvr).Namespace(ns)
		list = func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) { return c.List(ctx, o) }
		watchFn, example, client = c.Watch, &unstructured.Unstructured{}, f.dyn
	}
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			obj, err := list(ctx, o)
			if err != nil || keep == nil {
				return obj, err
			}
			return obj, keepItems(obj, keep)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			w, err := watchFn(ctx, o)
			if err != nil || keep == nil {
				return w, err
			}
			return watch.Filter(w, func(ev watch.Event) (watch.Event, bool) {
				m, err := apimeta.Accessor(ev.Object)
				return ev, err != nil || keep(m.GetNamespace()) // bookmarks and errors pass
			}), nil
		},
	}
	return cache.NewSharedIndexInformerWithOptions(cache.ToListWatcherWithWatchListSemantics(lw, client), example,
		cache.SharedIndexInformerOptions{ObjectDescription: gvr.String()})
}

// keepItems drops the items of list whose namespace keep refuses.
func keepItems(list runtime.Object, keep func(string) bool) error {
	items, err := apimeta.ExtractList(list)
	if err != nil {
		return fmt.Errorf("reading the items of a list: %w", err)
	}
	kept := items[:0]
	for _, it := range items {
		if m, err := apimeta.Accessor(it); err != nil || keep(m.GetNamespace()) {
			kept = append(kept, it)
		}
	}
	if err := apimeta.SetList(list, kept); err != nil {
		return fmt.Errorf("filtering the items of a list: %w", err)
	}
	return nil
}

// startAccount connects to the cluster, discovers the kinds to watch and
// starts their informers.
func startAccount(parent context.Context, cfg AccountConfig, credential string, restCfg *rest.Config, informers InformerFactory,
	clk clock.PassiveClock, log *slog.Logger) (*clusterAccount, error) {
	ctx, cancel := context.WithCancel(parent)
	a := &clusterAccount{
		name:       cfg.Name,
		cfg:        cfg,
		credential: credential,
		restCfg:    restCfg,
		informers:  informers,
		clock:      clk,
		log:        log.With("account", cfg.Name),
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[Key](),
			workqueue.TypedRateLimitingQueueConfig[Key]{Name: "spinops-agent-" + cfg.Name}),
		keys:      make(chan Key),
		seen:      map[Key]int64{},
		deletedAt: map[Key]string{},
		ctx:       ctx,
		cancel:    cancel,
		done:      make(chan struct{}),
	}
	if err := a.discover(ctx); err != nil {
		cancel()
		a.queue.ShutDown()
		return nil, err
	}
	go a.pump()
	return a, nil
}

// discover fills hello and kinds and starts the informers.
func (a *clusterAccount) discover(ctx context.Context) error {
	ver, kinds, err := a.discoverKinds()
	if err != nil {
		return err
	}
	fp := ""
	if ca, err := caBytes(a.restCfg); err == nil && len(ca) > 0 {
		fp, _ = kube.CAFingerprint(ca)
	}
	a.hello = &bridgev1.AccountHello{
		Name:              a.name,
		Credential:        a.credential,
		ApiServerHost:     a.restCfg.Host,
		CaFingerprint:     fp,
		KubernetesVersion: ver,
	}
	a.hello.Kinds = kinds

	namespaces := []string{metav1.NamespaceAll}
	if len(a.cfg.Namespaces) > 0 {
		namespaces = a.cfg.Namespaces
	}
	// omitNamespaces leaves the omitted namespaces' objects out of every
	// kind (a cluster-scoped object, in no namespace, is always kept).
	var keep func(string) bool
	if len(a.cfg.OmitNamespaces) > 0 {
		omitted := map[string]bool{}
		for _, ns := range a.cfg.OmitNamespaces {
			omitted[ns] = true
		}
		keep = func(ns string) bool { return !omitted[ns] }
	}
	for i, k := range kinds {
		wk := &watchedKind{kind: k, informers: map[string]cache.SharedIndexInformer{}}
		gvr := schema.GroupVersionResource{Group: k.Group, Version: k.Version, Resource: k.Resource}
		kindNamespaces := namespaces
		if !k.Namespaced {
			kindNamespaces = []string{metav1.NamespaceAll}
		}
		for _, ns := range kindNamespaces {
			// Secrets are metadata only, so their data never reaches this
			// process.
			inf := a.informers.Informer(gvr, ns, k.MetadataOnly, keep)
			if err := inf.SetTransform(stripManagedFields); err != nil {
				return fmt.Errorf("account %s: %w", a.name, err)
			}
			idx := i
			if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
				AddFunc:    func(obj any) { a.enqueue(idx, obj) },
				UpdateFunc: func(_, obj any) { a.enqueue(idx, obj) },
				DeleteFunc: func(obj any) { a.enqueueDeleted(idx, obj) },
			}); err != nil {
				return fmt.Errorf("account %s: %w", a.name, err)
			}
			wname := gvr.String()
			_ = inf.SetWatchErrorHandlerWithContext(func(ctx context.Context, r *cache.Reflector, err error) {
				a.log.Warn("watch failed; the informer retries (relisting when its resourceVersion expired)", "kind", wname, "namespace", ns, "err", err)
			})
			wk.informers[ns] = inf
			go inf.RunWithContext(ctx)
		}
		a.kinds = append(a.kinds, wk)
	}
	a.log.Info("account watching", "host", a.restCfg.Host, "kubernetes", ver, "kinds", len(kinds))
	return nil
}

// discoverKinds lists the kinds to watch: every listable and watchable
// resource (CRDs included) at its preferred version, filtered by the
// account's kinds / omitKinds / onlyNamespacedResources.
func (a *clusterAccount) discoverKinds() (string, []*bridgev1.Kind, error) {
	disc, err := discovery.NewDiscoveryClientForConfig(a.restCfg)
	if err != nil {
		return "", nil, fmt.Errorf("account %s: creating a discovery client: %w", a.name, err)
	}
	ver, err := disc.ServerVersion()
	if err != nil {
		return "", nil, fmt.Errorf("account %s: reading the API server version at %s: %w", a.name, a.restCfg.Host, err)
	}
	lists, err := disc.ServerPreferredResources()
	if err != nil && len(lists) == 0 {
		return "", nil, fmt.Errorf("account %s: discovering the API server's resources: %w", a.name, err)
	} else if err != nil {
		a.log.Warn("some API groups could not be discovered; their kinds are not watched", "err", err)
	}
	kinds := SelectKinds(lists, a.cfg)
	return ver.GitVersion, kinds, nil
}

// kindsChanged reports whether discovery now finds other kinds than the
// account watches (a CRD was installed or removed).
func (a *clusterAccount) kindsChanged() bool {
	_, kinds, err := a.discoverKinds()
	if err != nil {
		return false // unreachable: the informers report it
	}
	cur := a.hello.GetKinds()
	if len(kinds) != len(cur) {
		return true
	}
	for i := range kinds {
		if !proto.Equal(kinds[i], cur[i]) {
			return true
		}
	}
	return false
}

func hasVerbs(verbs metav1.Verbs, want ...string) bool {
	for _, w := range want {
		found := false
		for _, v := range verbs {
			if v == w {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func isSecretKind(k *bridgev1.Kind) bool { return k.GetGroup() == "" && k.GetResource() == "secrets" }

// SelectKinds picks, from discovery's preferred resources, the kinds an
// account watches: every listable and watchable resource (CRDs included),
// filtered by its kinds / omitKinds / onlyNamespacedResources, sorted by
// group and resource. Secrets are marked metadata-only. Installers use it
// to grant the agent exactly what it will watch.
func SelectKinds(lists []*metav1.APIResourceList, cfg AccountConfig) []*bridgev1.Kind {
	rules := cfg.Rules()
	var kinds []*bridgev1.Kind
	for _, l := range lists {
		gv, err := schema.ParseGroupVersion(l.GroupVersion)
		if err != nil {
			continue
		}
		for _, r := range l.APIResources {
			if strings.Contains(r.Name, "/") || !hasVerbs(r.Verbs, "list", "watch") {
				continue
			}
			k := &bridgev1.Kind{Group: gv.Group, Version: gv.Version, Resource: r.Name, Kind: r.Kind, Namespaced: r.Namespaced}
			if !rules.Watches(scopeKind(k)) {
				continue
			}
			k.MetadataOnly = isSecretKind(k)
			kinds = append(kinds, k)
		}
	}
	sort.Slice(kinds, func(i, j int) bool {
		return kinds[i].GetGroup()+"/"+kinds[i].GetResource() < kinds[j].GetGroup()+"/"+kinds[j].GetResource()
	})
	return kinds
}

// stripManagedFields drops managedFields before an object enters the
// informer's store (they are large and Spinnaker does not use them).
func stripManagedFields(obj any) (any, error) {
	if m, ok := obj.(metav1.Object); ok {
		m.SetManagedFields(nil)
	}
	return obj, nil
}

func (a *clusterAccount) enqueue(kind int, obj any) { a.enqueueChange(kind, obj, false) }

// enqueueDeleted queues a deleted object's key with the deletion's
// resourceVersion (unknown for a deletion a relist found:
// DeletedFinalStateUnknown carries the last state seen).
func (a *clusterAccount) enqueueDeleted(kind int, obj any) { a.enqueueChange(kind, obj, true) }

func (a *clusterAccount) enqueueChange(kind int, obj any, deleted bool) {
	rvKnown := deleted
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj, rvKnown = d.Obj, false
	}
	m, ok := obj.(metav1.Object)
	if !ok {
		return
	}
	k := Key{Kind: kind, Namespace: m.GetNamespace(), Name: m.GetName()}
	now := a.clock.Now().UnixNano()
	a.seenMu.Lock()
	if _, ok := a.seen[k]; !ok {
		a.seen[k] = now
	}
	if rvKnown {
		a.deletedAt[k] = m.GetResourceVersion()
	} else {
		delete(a.deletedAt, k)
	}
	a.seenMu.Unlock()
	a.queue.Add(k)
}

// pump moves keys from the work queue to the keys channel so the sender can
// wait for a key and for its connection at once.
func (a *clusterAccount) pump() {
	defer close(a.done)
	for {
		k, shutdown := a.queue.Get()
		if shutdown {
			return
		}
		select {
		case a.keys <- k:
		case <-a.ctx.Done():
			a.queue.Done(k)
			return
		}
	}
}

// stop ends the informers and the queue.
func (a *clusterAccount) stop() {
	a.cancel()
	a.queue.ShutDown()
	<-a.done
}

// Hello implements Source.
func (a *clusterAccount) Hello() *bridgev1.AccountHello { return a.hello }

// Keys implements Source.
func (a *clusterAccount) Keys() <-chan Key { return a.keys }

// Done implements Source.
func (a *clusterAccount) Done(k Key) { a.queue.Forget(k); a.queue.Done(k) }

// Enqueue implements Source.
func (a *clusterAccount) Enqueue(k Key) { a.queue.Add(k) }

// Pending implements Source.
func (a *clusterAccount) Pending() int { return a.queue.Len() }

// Synced implements Source: the kind's informers listed.
func (a *clusterAccount) Synced(kind int) bool {
	for _, inf := range a.kinds[kind].informers {
		if !inf.HasSynced() {
			return false
		}
	}
	return true
}

// Event builds the watch event of a key from the informer store: DELETED
// when the object is gone.
// Event implements Source.
func (a *clusterAccount) Event(k Key) (*bridgev1.WatchEvent, error) {
	wk := a.kinds[k.Kind]
	inf := wk.informers[k.Namespace]
	if inf == nil {
		inf = wk.informers[metav1.NamespaceAll]
	}
	ev := &bridgev1.WatchEvent{Kind: uint32(k.Kind), Namespace: k.Namespace, Name: k.Name}
	a.seenMu.Lock()
	ev.ObservedUnixNano = a.seen[k]
	delete(a.seen, k)
	deletedAt := a.deletedAt[k]
	delete(a.deletedAt, k)
	a.seenMu.Unlock()
	if inf == nil {
		ev.Type, ev.ResourceVersion = bridgev1.EventType_EVENT_TYPE_DELETED, deletedAt
		return ev, nil
	}
	storeKey := k.Name
	if k.Namespace != "" {
		storeKey = k.Namespace + "/" + k.Name
	}
	obj, exists, err := inf.GetStore().GetByKey(storeKey)
	if err != nil {
		return nil, fmt.Errorf("reading %s from the informer: %w", storeKey, err)
	}
	if !exists {
		ev.Type, ev.ResourceVersion = bridgev1.EventType_EVENT_TYPE_DELETED, deletedAt
		return ev, nil
	}
	ev.Type = bridgev1.EventType_EVENT_TYPE_MODIFIED
	return a.fill(ev, wk.kind, obj)
}

// fill encodes obj into ev.
func (a *clusterAccount) fill(ev *bridgev1.WatchEvent, k *bridgev1.Kind, obj any) (*bridgev1.WatchEvent, error) {
	b, rv, err := encodeObject(k, obj)
	if err != nil {
		return nil, fmt.Errorf("encoding %s/%s: %w", ev.Namespace, ev.Name, err)
	}
	ev.Object = b
	ev.ResourceVersion = rv
	return ev, nil
}

// encodeObject returns an object's JSON. Informer objects are shared: the
// copy is shallow, and only what is removed is copied.
func encodeObject(k *bridgev1.Kind, obj any) ([]byte, string, error) {
	switch o := obj.(type) {
	case *unstructured.Unstructured:
		b, err := json.Marshal(o.Object)
		return b, o.GetResourceVersion(), err
	case *metav1.PartialObjectMetadata:
		meta := o.ObjectMeta
		meta.ManagedFields = nil
		if _, ok := meta.Annotations[lastAppliedAnnotation]; ok {
			meta.Annotations = maps.Clone(meta.Annotations)
			delete(meta.Annotations, lastAppliedAnnotation)
		}
		apiVersion := k.Version
		if k.Group != "" {
			apiVersion = k.Group + "/" + k.Version
		}
		b, err := json.Marshal(map[string]any{"apiVersion": apiVersion, "kind": k.Kind, "metadata": meta})
		return b, meta.ResourceVersion, err
	default:
		return nil, "", fmt.Errorf("unexpected object type %T", obj)
	}
}

// Snapshot returns every object of a kind as ADDED events and the
// resourceVersion the informers last listed at.
func (a *clusterAccount) Snapshot(kind int) ([]*bridgev1.WatchEvent, string, error) {
	wk := a.kinds[kind]
	var out []*bridgev1.WatchEvent
	rv := ""
	for _, inf := range wk.informers {
		for _, obj := range inf.GetStore().List() {
			m, ok := obj.(metav1.Object)
			if !ok {
				continue
			}
			ev := &bridgev1.WatchEvent{Type: bridgev1.EventType_EVENT_TYPE_ADDED, Kind: uint32(kind), Namespace: m.GetNamespace(), Name: m.GetName()}
			if _, err := a.fill(ev, wk.kind, obj); err != nil {
				return nil, "", err
			}
			out = append(out, ev)
		}
		if v := inf.LastSyncResourceVersion(); v > rv {
			rv = v
		}
	}
	return out, rv, nil
}

func caBytes(cfg *rest.Config) ([]byte, error) {
	if len(cfg.CAData) > 0 {
		return cfg.CAData, nil
	}
	if cfg.CAFile != "" {
		return readFile(cfg.CAFile)
	}
	return nil, nil
}
