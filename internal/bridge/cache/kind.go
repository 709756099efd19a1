package cache

import (
	"slices"
	"sort"
	"strconv"
	"sync"

	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
)

const (
	// historySize is how many recent events a kind keeps so a watch started
	// from a list's resourceVersion misses nothing.
	historySize = 512
	// watchBuffer is how many events a watcher may lag before it is ended
	// (the client then re-lists, as with a real API server).
	watchBuffer = 1024
)

// Kind is the cache of one kind of one account.
type Kind struct {
	Info KindInfo

	mu      sync.RWMutex
	objects map[string]*Object // namespace/name
	rv      string             // resourceVersion of the latest change applied
	synced  bool               // a full listing completed at least once
	syncGen uint64             // generation of the listing in progress (0: none)
	lastGen uint64
	// history is the recent events, oldest first, for watches started from
	// an older resourceVersion; histBytes is their size (counted in the
	// account's too). forgotRV is the newest numeric resourceVersion of an
	// event forgotten (by count or by the account's byte bound): a watch
	// from before it may have missed that event.
	history   []historyEntry
	histBytes int64
	forgotRV  uint64
	acct      *Account
	watchers  map[*Watcher]struct{}
	closed    bool
}

type historyEntry struct {
	rv   string
	seq  uint64 // order over the account's kinds
	size int64
	ev   Event
}

func newKind(a *Account, info KindInfo) *Kind {
	return &Kind{Info: info, acct: a, objects: map[string]*Object{}, watchers: map[*Watcher]struct{}{}}
}

func key(namespace, name string) string { return namespace + "/" + name }

// Len is the number of cached objects.
func (k *Kind) Len() int {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return len(k.objects)
}

// Synced reports whether a full listing completed.
func (k *Kind) Synced() bool {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.synced
}

// ResourceVersion is the resourceVersion of the latest change applied.
func (k *Kind) ResourceVersion() string {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.rv
}

// BeginSync starts a full listing: objects not Upserted before EndSync are
// removed then.
func (k *Kind) BeginSync() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.lastGen++
	k.syncGen = k.lastGen
}

// EndSync ends a full listing at resourceVersion rv.
func (k *Kind) EndSync(rv string) {
	k.endSync(rv)
	k.acct.trimHistory()
}

func (k *Kind) endSync(rv string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.syncGen == 0 {
		return
	}
	for key, o := range k.objects {
		if o.gen != k.syncGen {
			delete(k.objects, key)
			at := rvOr(rv, k.rv)
			k.record(at, Event{Type: Deleted, Object: o.atResourceVersion(at)})
		}
	}
	k.syncGen = 0
	k.synced = true
	k.advance(rv)
}

// advance moves the kind's resourceVersion to rv unless that would move it
// backwards; k.mu is held.
func (k *Kind) advance(rv string) {
	if rv != "" && !rvBefore(rv, k.rv) {
		k.rv = rv
	}
}

// rvBefore reports whether resourceVersion a is older than b. The API
// server's resourceVersions are etcd revisions: decimal numbers, compared
// as numbers ("9" is older than "10", which a string comparison gets
// wrong). Kubernetes calls them opaque, so when either is not a number
// there is no order to rely on and a is taken as the newer one (the
// latest event wins, as before).
func rvBefore(a, b string) bool {
	if a == "" || b == "" {
		return false
	}
	x, okA := ParseResourceVersion(a)
	y, okB := ParseResourceVersion(b)
	if !okA || !okB {
		return false
	}
	return x < y
}

func rvOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// Upsert adds or replaces an object and reports what it did.
func (k *Kind) Upsert(o *Object) EventType {
	t := k.upsert(o)
	k.acct.trimHistory()
	return t
}

func (k *Kind) upsert(o *Object) EventType {
	k.mu.Lock()
	defer k.mu.Unlock()
	kk := key(o.Namespace, o.Name)
	old := k.objects[kk]
	o.gen = k.syncGen
	k.objects[kk] = o
	t := Added
	if old != nil {
		t = Modified
		if old.ResourceVersion == o.ResourceVersion && o.ResourceVersion != "" {
			// A relist re-sent what we had: nothing to tell watchers, and
			// the kind's resourceVersion must not move back to this one.
			return ""
		}
	}
	k.advance(o.ResourceVersion)
	ev := Event{Type: t, Object: o}
	if old != nil && !slices.Equal(old.labels, o.labels) {
		ev.Prev = old // a watch with a label selector may see it come or go
	}
	k.record(k.rv, ev)
	return t
}

// Delete removes an object; rv is the deletion's resourceVersion when known.
func (k *Kind) Delete(namespace, name, rv string) bool {
	ok := k.delete(namespace, name, rv)
	k.acct.trimHistory()
	return ok
}

func (k *Kind) delete(namespace, name, rv string) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	kk := key(namespace, name)
	old := k.objects[kk]
	if old == nil {
		return false
	}
	delete(k.objects, kk)
	k.advance(rv)
	k.record(k.rv, Event{Type: Deleted, Object: old.atResourceVersion(rvOr(rv, k.rv))})
	return true
}

// record appends to the history and notifies watchers; k.mu is held. The
// account's byte bound is applied by the caller once k.mu is released
// (Account.trimHistory).
func (k *Kind) record(rv string, ev Event) {
	if k.closed {
		return // dropped (Retain): its history no longer counts
	}
	e := historyEntry{rv: rv, seq: k.acct.histSeq.Add(1), size: int64(len(ev.Object.Raw)), ev: ev}
	if ev.Prev != nil {
		e.size += int64(len(ev.Prev.Raw))
	}
	k.history = append(k.history, e)
	k.histBytes += e.size
	k.acct.histBytes.Add(e.size)
	if len(k.history) > historySize {
		k.forgetOldestLocked()
	}
	v, numeric := ParseResourceVersion(rv)
	for w := range k.watchers {
		if w.after > 0 && numeric && v <= w.after {
			continue // the watch asked for changes after w.after only
		}
		w.offer(ev)
	}
}

// ParseResourceVersion reads a resourceVersion as the etcd revision it is;
// false when it is not a number (Kubernetes calls them opaque).
func ParseResourceVersion(rv string) (uint64, bool) {
	v, err := strconv.ParseUint(rv, 10, 64)
	return v, err == nil
}

// forgetOldestLocked drops the oldest event of the history; k.mu is held.
func (k *Kind) forgetOldestLocked() {
	e := k.history[0]
	k.history[0] = historyEntry{} // the backing array must not keep the object
	k.history = k.history[1:]
	k.histBytes -= e.size
	k.acct.histBytes.Add(-e.size)
	if v, err := strconv.ParseUint(e.rv, 10, 64); err == nil && v > k.forgotRV {
		k.forgotRV = v
	}
}

// oldestSeq is the account-wide order of the kind's oldest event.
func (k *Kind) oldestSeq() (uint64, bool) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	if len(k.history) == 0 {
		return 0, false
	}
	return k.history[0].seq, true
}

// forgetOldest drops the kind's oldest event; false when it has none.
func (k *Kind) forgetOldest() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	if len(k.history) == 0 {
		return false
	}
	k.forgetOldestLocked()
	return true
}

// HistoryLen is the number of events the kind keeps for watches.
func (k *Kind) HistoryLen() int {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return len(k.history)
}

// Get returns one object, or nil.
func (k *Kind) Get(namespace, name string) *Object {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.objects[key(namespace, name)]
}

// Filter selects objects.
type Filter struct {
	Namespace string // "" for all
	Labels    labels.Selector
	Fields    fields.Selector // metadata.name, metadata.namespace
}

func (f *Filter) matches(o *Object) bool {
	if f.Namespace != "" && o.Namespace != f.Namespace {
		return false
	}
	if f.Labels != nil && !f.Labels.Empty() && !f.Labels.Matches(o.labels) {
		return false
	}
	if f.Fields != nil && !f.Fields.Empty() && !f.Fields.Matches(fields.Set{"metadata.name": o.Name, "metadata.namespace": o.Namespace}) {
		return false
	}
	return true
}

// view is the event as a watch with this filter is sent it, as the API
// server's cacheWatcher converts it (k8s.io/apiserver v0.37.2,
// pkg/storage/cacher/cache_watcher.go convertToWatchEvent): a change that
// makes an object match is ADDED, one that makes it stop matching is
// DELETED (its previous state at the change's resourceVersion), one that
// keeps it matching is MODIFIED; false when the watch is not sent it.
func (f *Filter) view(ev Event) (Event, bool) {
	cur := ev.Type != Deleted && f.matches(ev.Object)
	switch ev.Type {
	case Deleted:
		return ev, f.matches(ev.Object)
	case Modified:
		if ev.Prev == nil { // the labels did not change: neither did the match
			return ev, cur
		}
		switch old := f.matches(ev.Prev); {
		case cur && old:
			return Event{Type: Modified, Object: ev.Object}, true
		case cur:
			return Event{Type: Added, Object: ev.Object}, true
		case old:
			return Event{Type: Deleted, Object: ev.Prev.atResourceVersion(ev.Object.ResourceVersion)}, true
		}
		return ev, false
	default:
		return ev, cur
	}
}

// List returns the matching objects sorted by namespace and name, and the
// kind's resourceVersion.
func (k *Kind) List(f Filter) ([]*Object, string) {
	k.mu.RLock()
	out := make([]*Object, 0, len(k.objects))
	for _, o := range k.objects {
		if f.matches(o) {
			out = append(out, o)
		}
	}
	rv := k.rv
	k.mu.RUnlock()
	sortObjects(out)
	return out, rv
}

// sortObjects orders objects by namespace and name (the API server's key
// order).
func sortObjects(out []*Object) {
	sort.Slice(out, func(i, j int) bool {
		if out[i].Namespace != out[j].Namespace {
			return out[i].Namespace < out[j].Namespace
		}
		return out[i].Name < out[j].Name
	})
}

// Watcher receives a kind's events.
type Watcher struct {
	kind   *Kind
	filter Filter
	ch     chan Event
	once   sync.Once
	// overflowed is set when the watcher fell too far behind and was ended.
	overflowed bool
	// after: a watch from a resourceVersion newer than the kind's when it
	// started delivers only changes recorded after it (0: no such bound).
	after uint64
}

// Events delivers events; it is closed when the watch ends.
func (w *Watcher) Events() <-chan Event { return w.ch }

// offer queues an event without blocking; k.mu is held.
func (w *Watcher) offer(ev Event) {
	ev, ok := w.filter.view(ev)
	if !ok {
		return
	}
	select {
	case w.ch <- ev:
	default:
		w.overflowed = true
		delete(w.kind.watchers, w)
		w.closeCh()
	}
}

func (w *Watcher) closeCh() { w.once.Do(func() { close(w.ch) }) }

// Progress returns the kind's resourceVersion when every change recorded
// up to it has been taken from this watch's events; ok is false while
// some wait (or once the watch ended). A BOOKMARK at that resourceVersion
// then promises the watcher nothing it has not been sent.
func (w *Watcher) Progress() (rv string, ok bool) {
	w.kind.mu.RLock()
	defer w.kind.mu.RUnlock()
	if _, live := w.kind.watchers[w]; !live || len(w.ch) > 0 {
		return "", false
	}
	return w.kind.rv, true
}

// Stop ends the watch.
func (w *Watcher) Stop() {
	w.kind.mu.Lock()
	delete(w.kind.watchers, w)
	w.kind.mu.Unlock()
	w.closeCh()
}

// Watch starts a watch. With fromRV set and still in the history, the
// events after it are replayed; otherwise (fromRV "" or "0") every current
// object is sent as ADDED first. ok is false when fromRV is too old (the
// caller answers 410 Gone, as the API server does).
func (k *Kind) Watch(f Filter, fromRV string) (w *Watcher, ok bool) {
	if fromRV == "" || fromRV == "0" {
		w, _, _ = k.WatchList(f)
		return w, true
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	w = &Watcher{kind: k, filter: f, ch: make(chan Event, watchBuffer+len(k.objects))}
	if k.closed {
		w.closeCh()
		return w, true
	}
	replay, found := k.since(fromRV)
	if !found {
		return nil, false
	}
	if want, ok := ParseResourceVersion(fromRV); ok {
		if cur, ok := ParseResourceVersion(k.rv); ok && want > cur {
			// The caller has seen fromRV (from a write answered by the API
			// server, say) and the cache has not caught up with it: the
			// changes up to fromRV that arrive now are not sent, as the API
			// server's watch cache skips events not newer than the watch's
			// resourceVersion (k8s.io/apiserver v0.37.2,
			// pkg/storage/cacher/cache_watcher.go, processInterval and
			// process). A deletion whose resourceVersion is unknown is
			// recorded at the kind's and counts as before fromRV then.
			w.after = want
		}
	}
	for _, ev := range replay {
		w.offer(ev)
	}
	k.watchers[w] = struct{}{}
	return w, true
}

// WatchNow starts a watch of the changes after the current state, with no
// initial events and nothing replayed (sendInitialEvents=false from
// resourceVersion "" or "0"). A watch from the kind's resourceVersion
// would replay the history entries recorded after the first at that
// resourceVersion (a change that arrived out of order is recorded at the
// kind's), which the current state already holds.
func (k *Kind) WatchNow(f Filter) *Watcher {
	k.mu.Lock()
	defer k.mu.Unlock()
	w := &Watcher{kind: k, filter: f, ch: make(chan Event, watchBuffer)}
	if k.closed {
		w.closeCh()
		return w
	}
	k.watchers[w] = struct{}{}
	return w
}

// WatchList starts a watch whose first events are every current object as
// ADDED, and also returns how many there are and the resourceVersion they
// reflect, so that the caller can mark the end of the initial events (the
// API server's watch-list, sendInitialEvents=true).
func (k *Kind) WatchList(f Filter) (w *Watcher, initial int, rv string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	w = &Watcher{kind: k, filter: f, ch: make(chan Event, watchBuffer+len(k.objects))}
	if k.closed {
		w.closeCh()
		return w, 0, k.rv
	}
	matching := make([]*Object, 0, len(k.objects))
	for _, o := range k.objects {
		if f.matches(o) {
			matching = append(matching, o)
		}
	}
	sortObjects(matching) // in key order, as the API server's watch cache sends them
	for _, o := range matching {
		w.ch <- Event{Type: Added, Object: o}
	}
	k.watchers[w] = struct{}{}
	return w, len(matching), k.rv
}

// since returns the history after rv; k.mu is held. It follows the API
// server's watch cache (k8s.io/apiserver v0.33.13,
// pkg/storage/cacher/watch_cache.go getAllEventsSinceLocked): a
// resourceVersion older than an event the cache has forgotten is too old
// (the caller answers 410 Expired); otherwise the events after it are
// replayed.
func (k *Kind) since(rv string) ([]Event, bool) {
	want, errWant := strconv.ParseUint(rv, 10, 64)
	cur, errCur := strconv.ParseUint(k.rv, 10, 64)
	numeric := errWant == nil && errCur == nil
	if numeric && k.forgotRV > 0 && want <= k.forgotRV {
		// An event at or after rv was forgotten: replaying the rest would
		// skip it silently.
		return nil, false
	}
	// The first entry at rv is the change a list at rv already reflects;
	// later entries may carry the same rv (a deletion whose resourceVersion
	// was unknown keeps the kind's), so everything after the first counts.
	for i, h := range k.history {
		if h.rv == rv {
			return eventsOf(k.history[i+1:]), true
		}
	}
	if rv == k.rv {
		return nil, true // the current state, e.g. a full listing's resourceVersion
	}
	if numeric {
		if want >= cur {
			// Newer than anything recorded: nothing missed (kube
			// resourceVersions are etcd revisions).
			return nil, true
		}
		// No event at rv itself (a listing's resourceVersion is the
		// collection's, not an object's): what came after it.
		for i, h := range k.history {
			if v, err := strconv.ParseUint(h.rv, 10, 64); err == nil && v > want {
				return eventsOf(k.history[i:]), true
			}
		}
		return nil, true
	}
	return nil, false
}

func eventsOf(h []historyEntry) []Event {
	out := make([]Event, 0, len(h))
	for _, e := range h {
		out = append(out, e.ev)
	}
	return out
}

func (k *Kind) close() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.closed = true
	k.acct.histBytes.Add(-k.histBytes)
	k.history, k.histBytes = nil, 0
	for w := range k.watchers {
		delete(k.watchers, w)
		w.closeCh()
	}
}
