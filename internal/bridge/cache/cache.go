// Package cache is the bridge's watch-fed cache: per account and per kind
// the JSON of every object the account's agent reported, kept current by the
// agent's watch events and answering list, get and watch without touching
// the cluster.
package cache

import (
	"encoding/json"
	"sort"
	"sync"
	"sync/atomic"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// EventType is what happened to an object.
type EventType string

// Event types, spelled as in the Kubernetes watch API.
const (
	Added    EventType = "ADDED"
	Modified EventType = "MODIFIED"
	Deleted  EventType = "DELETED"
)

// KindInfo describes a cached kind.
type KindInfo struct {
	GVR          schema.GroupVersionResource
	Kind         string
	Namespaced   bool
	MetadataOnly bool
}

// Object is one cached object.
type Object struct {
	Namespace string
	Name      string
	// Raw is the object's JSON, as the agent sent it.
	Raw             []byte
	ResourceVersion string
	labels          labelSet
	gen             uint64 // sync generation that last saw it
}

// Labels returns the object's labels (for selectors).
func (o *Object) Labels() labels.Labels { return o.labels }

// Event is one change delivered to watchers.
type Event struct {
	Type   EventType
	Object *Object
	// Prev is the object's state before a MODIFIED change of its labels
	// (nil otherwise): a watch with a label selector sees the object come
	// (ADDED) or go (DELETED) by it.
	Prev *Object
}

// Options shape a cache.
type Options struct {
	// HistoryBytes bounds the watch history one account keeps, over all its
	// kinds: the sum of the JSON sizes of the events a watch started from
	// an older resourceVersion would replay. Past it the account's oldest
	// events (whatever their kind) are forgotten, and a watch from a
	// resourceVersion before them is answered "too old resource version"
	// (410 Expired), after which clients list again. 0: no byte bound
	// (each kind still keeps at most its last 512 events).
	HistoryBytes int64
	// OnHistoryEvict, when set, is told how many events of an account were
	// forgotten to keep it within HistoryBytes (metrics).
	OnHistoryEvict func(account string, events int)
}

// Cache holds every account's objects.
type Cache struct {
	opts     Options
	mu       sync.RWMutex
	accounts map[string]*Account
}

// New returns an empty cache.
func New(opts Options) *Cache { return &Cache{opts: opts, accounts: map[string]*Account{}} }

// Account returns the named account's cache, creating it when create is set.
func (c *Cache) Account(name string, create bool) *Account {
	c.mu.RLock()
	a := c.accounts[name]
	c.mu.RUnlock()
	if a != nil || !create {
		return a
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if a = c.accounts[name]; a == nil {
		a = &Account{name: name, opts: &c.opts, kinds: map[schema.GroupVersionResource]*Kind{}}
		c.accounts[name] = a
	}
	return a
}

// Drop forgets an account (withdrawn or deregistered) and ends its watches.
func (c *Cache) Drop(name string) {
	c.mu.Lock()
	a := c.accounts[name]
	delete(c.accounts, name)
	c.mu.Unlock()
	if a != nil {
		a.close()
	}
}

// Accounts returns the names of the cached accounts.
func (c *Cache) Accounts() []string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]string, 0, len(c.accounts))
	for n := range c.accounts {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// ObjectCount is the number of cached objects over all accounts.
func (c *Cache) ObjectCount() int {
	c.mu.RLock()
	accts := make([]*Account, 0, len(c.accounts))
	for _, a := range c.accounts {
		accts = append(accts, a)
	}
	c.mu.RUnlock()
	n := 0
	for _, a := range accts {
		for _, k := range a.Kinds() {
			n += k.Len()
		}
	}
	return n
}

// HistoryBytes is the size of every account's watch history.
func (c *Cache) HistoryBytes() int64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	var n int64
	for _, a := range c.accounts {
		n += a.HistoryBytes()
	}
	return n
}

// Account is one account's cache.
type Account struct {
	name  string
	opts  *Options
	mu    sync.RWMutex
	kinds map[schema.GroupVersionResource]*Kind

	// histBytes is the size of the watch history of all the account's
	// kinds; histSeq orders their events across kinds (oldest first), so
	// the byte bound forgets the account's oldest events first.
	histBytes atomic.Int64
	histSeq   atomic.Uint64
	trimMu    sync.Mutex
}

// HistoryBytes is the size of the account's watch history (the JSON of
// the events it keeps for watches started from an older resourceVersion).
func (a *Account) HistoryBytes() int64 { return a.histBytes.Load() }

// trimHistory forgets the account's oldest events, over all kinds, until
// its history fits Options.HistoryBytes. It runs after an event was
// recorded, without any kind's lock held.
func (a *Account) trimHistory() {
	limit := a.opts.HistoryBytes
	if limit <= 0 || a.histBytes.Load() <= limit {
		return
	}
	a.trimMu.Lock()
	defer a.trimMu.Unlock()
	n := 0
	for a.histBytes.Load() > limit {
		var victim *Kind
		var oldest uint64
		for _, k := range a.Kinds() {
			if seq, ok := k.oldestSeq(); ok && (victim == nil || seq < oldest) {
				victim, oldest = k, seq
			}
		}
		if victim == nil || !victim.forgetOldest() {
			break
		}
		n++
	}
	if n > 0 && a.opts.OnHistoryEvict != nil {
		a.opts.OnHistoryEvict(a.name, n)
	}
}

// Kind returns the cache of a kind, creating it (unsynced) when info is set.
func (a *Account) Kind(gvr schema.GroupVersionResource, info *KindInfo) *Kind {
	a.mu.RLock()
	k := a.kinds[gvr]
	a.mu.RUnlock()
	if k != nil || info == nil {
		return k
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if k = a.kinds[gvr]; k == nil {
		k = newKind(a, *info)
		a.kinds[gvr] = k
	}
	return k
}

// Kinds returns the account's cached kinds.
func (a *Account) Kinds() []*Kind {
	a.mu.RLock()
	defer a.mu.RUnlock()
	out := make([]*Kind, 0, len(a.kinds))
	for _, k := range a.kinds {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Info.GVR.String() < out[j].Info.GVR.String() })
	return out
}

// Retain drops every kind not in keep (the agent stopped watching it).
func (a *Account) Retain(keep map[schema.GroupVersionResource]bool) {
	a.mu.Lock()
	var dropped []*Kind
	for gvr, k := range a.kinds {
		if !keep[gvr] {
			dropped = append(dropped, k)
			delete(a.kinds, gvr)
		}
	}
	a.mu.Unlock()
	for _, k := range dropped {
		k.close()
	}
}

// Counts returns the number of objects per kind ("deployments.apps").
func (a *Account) Counts() map[string]int64 {
	out := map[string]int64{}
	for _, k := range a.Kinds() {
		out[k.Info.GVR.GroupResource().String()] = int64(k.Len())
	}
	return out
}

// Synced reports whether every kind finished its first full listing.
func (a *Account) Synced() bool {
	ks := a.Kinds()
	for _, k := range ks {
		if !k.Synced() {
			return false
		}
	}
	return len(ks) > 0
}

func (a *Account) close() {
	for _, k := range a.Kinds() {
		k.close()
	}
}

// labelSet is a compact labels.Labels: sorted key/value pairs.
type labelSet []string

func (l labelSet) Has(key string) bool { _, ok := l.lookup(key); return ok }
func (l labelSet) Get(key string) string {
	v, _ := l.lookup(key)
	return v
}
func (l labelSet) Lookup(key string) (string, bool) { return l.lookup(key) }

func (l labelSet) lookup(key string) (string, bool) {
	for i := 0; i+1 < len(l); i += 2 {
		if l[i] == key {
			return l[i+1], true
		}
	}
	return "", false
}

// objectMeta is the part of an object the cache reads.
type objectMeta struct {
	Metadata struct {
		Name            string            `json:"name"`
		Namespace       string            `json:"namespace"`
		ResourceVersion string            `json:"resourceVersion"`
		Labels          map[string]string `json:"labels"`
	} `json:"metadata"`
}

// atResourceVersion is the object as a watch's DELETED event carries it:
// its last state with metadata.resourceVersion set to the deletion's, as
// the API server sends it (k8s.io/apiserver v0.37.2,
// pkg/storage/etcd3/watcher.go prepareObjs: "the *old* object with the etcd
// revision for the time at which it gets deleted"). A client records that
// resourceVersion and watches on from it. o is unchanged; when rv is
// empty or the JSON cannot be rewritten, o itself is returned.
func (o *Object) atResourceVersion(rv string) *Object {
	if rv == "" || rv == o.ResourceVersion {
		return o
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(o.Raw, &top); err != nil {
		return o
	}
	var meta map[string]json.RawMessage
	if err := json.Unmarshal(top["metadata"], &meta); err != nil || meta == nil {
		return o
	}
	v, _ := json.Marshal(rv)
	meta["resourceVersion"] = v
	m, err := json.Marshal(meta)
	if err != nil {
		return o
	}
	top["metadata"] = m
	raw, err := json.Marshal(top)
	if err != nil {
		return o
	}
	c := *o
	c.Raw, c.ResourceVersion = raw, rv
	return &c
}

// NewObject parses the metadata the cache needs out of raw.
func NewObject(raw []byte) (*Object, error) {
	var m objectMeta
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	o := &Object{Namespace: m.Metadata.Namespace, Name: m.Metadata.Name, Raw: raw, ResourceVersion: m.Metadata.ResourceVersion}
	if len(m.Metadata.Labels) > 0 {
		keys := make([]string, 0, len(m.Metadata.Labels))
		for k := range m.Metadata.Labels {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		o.labels = make(labelSet, 0, 2*len(keys))
		for _, k := range keys {
			o.labels = append(o.labels, k, m.Metadata.Labels[k])
		}
	}
	return o, nil
}
