package bridge

import (
	"bytes"
	"container/heap"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// RefreshConfig bounds how the bridge pushes changes to Clouddriver (the
// accounts' clouddriver_url): each change to an object Spinnaker manages
// becomes one on-demand re-cache request for that manifest, as Orca's
// ManifestForceCacheRefreshTask sent them.
type RefreshConfig struct {
	// Coalesce is how long a change waits for more changes of the same
	// object before its request is sent (default 20ms): a burst of changes
	// to one object is one request.
	Coalesce time.Duration
	// AccountRate and AccountBurst bound the requests per second to one
	// account (default 50/s, burst 100); GlobalRate and GlobalBurst bound
	// them over all accounts (default 200/s, burst 400).
	AccountRate, GlobalRate   float64
	AccountBurst, GlobalBurst int
	// MaxPending is how many objects may wait for a request at once
	// (default 10,000). Changes beyond it are dropped and counted: Clouddriver
	// sees them on its next caching cycle. The watch path never waits.
	MaxPending int
	// Workers is how many requests run at once (default 8).
	Workers int
	// Timeout bounds one request (default 5s): a Clouddriver that never
	// answers holds a worker for that long, never the watch path.
	Timeout time.Duration
	// MaxAttempts is how often a failed request is tried (default 5), with
	// a backoff from BackoffMin doubling up to BackoffMax (100ms, 5s).
	MaxAttempts            int
	BackoffMin, BackoffMax time.Duration
	// UnhandledPause: after UnhandledLimit answers in a row that cached
	// nothing for objects that exist (200 with no cachedIdentifiersByType:
	// a Clouddriver without a Kubernetes on-demand agent, 1.23 and later,
	// or liveManifestCalls), requests to that account stop for this long
	// (defaults 3 and 10m).
	UnhandledLimit int
	UnhandledPause time.Duration
	// Client sends the requests (default: an http.Client of its own).
	Client *http.Client
}

func (c *RefreshConfig) checkAndSetDefaults() error {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&c.Coalesce, 20*time.Millisecond)
	def(&c.Timeout, 5*time.Second)
	def(&c.BackoffMin, 100*time.Millisecond)
	def(&c.BackoffMax, 5*time.Second)
	def(&c.UnhandledPause, 10*time.Minute)
	for _, x := range []struct {
		p *float64
		v float64
	}{{&c.AccountRate, 50}, {&c.GlobalRate, 200}} {
		if *x.p == 0 {
			*x.p = x.v
		}
	}
	for _, x := range []struct {
		p *int
		v int
	}{{&c.AccountBurst, 100}, {&c.GlobalBurst, 400}, {&c.MaxPending, 10000}, {&c.Workers, 8}, {&c.MaxAttempts, 5}, {&c.UnhandledLimit, 3}} {
		if *x.p == 0 {
			*x.p = x.v
		}
	}
	if c.Client == nil {
		c.Client = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 32, IdleConnTimeout: time.Minute}}
	}
	for what, d := range map[string]time.Duration{"BackoffMin": c.BackoffMin, "BackoffMax": c.BackoffMax, "UnhandledPause": c.UnhandledPause} {
		if d < 0 {
			return fmt.Errorf("bridge: Refresh.%s must not be negative (got %s)", what, d)
		}
	}
	if c.BackoffMax < c.BackoffMin {
		return fmt.Errorf("bridge: Refresh.BackoffMax (%s) must not be below BackoffMin (%s)", c.BackoffMax, c.BackoffMin)
	}
	// The bounds set by flags (spinops bridge --refresh-*) have a range:
	// beyond it a value is a mistake (a rate of 1e9/s is no bound, a
	// coalesce window of an hour is longer than any caching cycle).
	for _, x := range []struct {
		what, flag  string
		v, min, max float64
		unit        string
	}{
		{"AccountRate", "--refresh-account-rate", c.AccountRate, 0, maxRefreshRate, "requests per second"},
		{"GlobalRate", "--refresh-global-rate", c.GlobalRate, 0, maxRefreshRate, "requests per second"},
	} {
		// !(v > min) also refuses NaN, which compares false to everything.
		if !(x.v > x.min) || x.v > x.max {
			return fmt.Errorf("bridge: Refresh.%s (%s) must be above %g and at most %g %s (got %g)", x.what, x.flag, x.min, x.max, x.unit, x.v)
		}
	}
	for _, x := range []struct {
		what, flag string
		v, max     int
	}{
		{"AccountBurst", "--refresh-account-burst", c.AccountBurst, maxRefreshBurst},
		{"GlobalBurst", "--refresh-global-burst", c.GlobalBurst, maxRefreshBurst},
		{"MaxPending", "--refresh-max-pending", c.MaxPending, maxRefreshPending},
		{"Workers", "--refresh-workers", c.Workers, maxRefreshWorkers},
	} {
		if x.v < 1 || x.v > x.max {
			return fmt.Errorf("bridge: Refresh.%s (%s) must be between 1 and %d (got %d)", x.what, x.flag, x.max, x.v)
		}
	}
	for _, x := range []struct {
		what, flag  string
		v, min, max time.Duration
	}{
		{"Coalesce", "--refresh-coalesce", c.Coalesce, time.Millisecond, maxRefreshCoalesce},
		{"Timeout", "--refresh-timeout", c.Timeout, 100 * time.Millisecond, maxRefreshTimeout},
	} {
		if x.v < x.min || x.v > x.max {
			return fmt.Errorf("bridge: Refresh.%s (%s) must be between %s and %s (got %s)", x.what, x.flag, x.min, x.max, x.v)
		}
	}
	for what, v := range map[string]int{"MaxAttempts": c.MaxAttempts, "UnhandledLimit": c.UnhandledLimit} {
		if v < 1 {
			return fmt.Errorf("bridge: Refresh.%s must be at least 1 (got %d)", what, v)
		}
	}
	return nil
}

// The ranges of the refresh bounds spinops bridge takes as flags.
const (
	maxRefreshRate     = 10000   // requests per second
	maxRefreshBurst    = 100000  // requests
	maxRefreshPending  = 1000000 // objects waiting (~200 bytes each)
	maxRefreshWorkers  = 1024    // requests in flight
	maxRefreshCoalesce = time.Minute
	maxRefreshTimeout  = 5 * time.Minute
)

// refreshKey names one manifest of one account as Clouddriver does.
type refreshKey struct {
	account   string
	kind      string // Clouddriver's kind: "Deployment", "Rollout.argoproj.io"
	namespace string
	name      string
}

type refreshItem struct {
	key      refreshKey
	url      string
	since    time.Time // the oldest change not yet re-cached
	due      time.Time
	attempts int
	inFlight bool
	dirty    bool // changed again while its request was in flight
	deleted  bool // the latest change deleted the object
	index    int  // in the heap; -1 when not queued
}

// refreshJob is one request: the item and what to send, copied under the
// lock (notify may change the item's URL meanwhile).
type refreshJob struct {
	it      *refreshItem
	key     refreshKey
	url     string
	deleted bool
}

type itemHeap []*refreshItem

func (h itemHeap) Len() int           { return len(h) }
func (h itemHeap) Less(i, j int) bool { return h[i].due.Before(h[j].due) }
func (h itemHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i]; h[i].index = i; h[j].index = j }
func (h *itemHeap) Push(x any)        { it := x.(*refreshItem); it.index = len(*h); *h = append(*h, it) }
func (h *itemHeap) Pop() any {
	old := *h
	it := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	it.index = -1
	return it
}

// refresher pushes re-cache requests to Clouddriver. notify is called on
// the watch path and never waits: it takes one short lock.
type refresher struct {
	cfg RefreshConfig
	m   *metrics
	log *slog.Logger

	mu        sync.Mutex
	items     map[refreshKey]*refreshItem
	queue     itemHeap                  // waiting until due
	ready     map[string][]*refreshItem // due, waiting for a token, per account in order
	turns     []string                  // accounts with ready items, next first
	global    *rate.Limiter
	accounts  map[string]*accountRefresh
	wake      chan struct{}
	slots     chan struct{} // one per worker: a request holds one while it runs
	stop      context.CancelFunc
	wg        sync.WaitGroup
	startOnce sync.Once
}

type accountRefresh struct {
	limiter     *rate.Limiter
	unhandled   int
	pausedUntil time.Time
}

func newRefresher(cfg RefreshConfig, m *metrics, log *slog.Logger) *refresher {
	return &refresher{cfg: cfg, m: m, log: log, items: map[refreshKey]*refreshItem{}, ready: map[string][]*refreshItem{},
		global:   rate.NewLimiter(rate.Limit(cfg.GlobalRate), cfg.GlobalBurst),
		accounts: map[string]*accountRefresh{}, wake: make(chan struct{}, 1), slots: make(chan struct{}, cfg.Workers)}
}

func (r *refresher) start() {
	r.startOnce.Do(func() {
		ctx, cancel := context.WithCancel(context.Background())
		r.stop = cancel
		r.wg.Add(1)
		go func() { defer r.wg.Done(); r.dispatch(ctx) }()
	})
}

func (r *refresher) close() {
	if r.stop != nil {
		r.stop()
		r.wg.Wait()
	}
}

func (r *refresher) pending() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.items)
}

func (r *refresher) accountLocked(name string) *accountRefresh {
	a := r.accounts[name]
	if a == nil {
		a = &accountRefresh{limiter: rate.NewLimiter(rate.Limit(r.cfg.AccountRate), r.cfg.AccountBurst)}
		r.accounts[name] = a
	}
	return a
}

// forget drops an account's state (deregistered or its URL changed).
func (r *refresher) forget(account string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.accounts, account)
}

// notify records a change of a managed object (observed at since). It
// never blocks: a change of an object already waiting is coalesced into
// it; with MaxPending objects waiting, it is dropped and counted.
func (r *refresher) notify(url string, k refreshKey, since time.Time, deleted bool) {
	now := time.Now()
	r.mu.Lock()
	if a := r.accounts[k.account]; a != nil && now.Before(a.pausedUntil) {
		r.mu.Unlock()
		r.m.refreshDropped.WithLabelValues("paused").Inc()
		return
	}
	if it := r.items[k]; it != nil {
		it.url, it.deleted = url, deleted
		if it.inFlight {
			it.dirty = true
		}
		r.mu.Unlock()
		r.m.refreshCoalesced.Inc()
		return
	}
	if len(r.items) >= r.cfg.MaxPending {
		r.mu.Unlock()
		r.m.refreshDropped.WithLabelValues("queue_full").Inc()
		return
	}
	it := &refreshItem{key: k, url: url, since: since, due: now.Add(r.cfg.Coalesce), deleted: deleted}
	r.items[k] = it
	heap.Push(&r.queue, it)
	r.mu.Unlock()
	r.kick()
}

func (r *refresher) kick() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// dispatch hands due items to the workers within the rate bounds. Items
// wait in the heap until due (coalescing, backoff), then in their account's
// FIFO for a token: within an account they go in the order they became due,
// and accounts take turns, so a busy object or account cannot starve the
// others.
func (r *refresher) dispatch(ctx context.Context) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		// A free worker first: the token is taken just before the request
		// is sent, so the rate bound holds for what Clouddriver receives.
		select {
		case r.slots <- struct{}{}:
		case <-ctx.Done():
			return
		}
		r.mu.Lock()
		now := time.Now()
		wait := time.Hour
		for r.queue.Len() > 0 {
			it := r.queue[0]
			if d := it.due.Sub(now); d > 0 {
				wait = d
				break
			}
			heap.Pop(&r.queue)
			if len(r.ready[it.key.account]) == 0 {
				r.turns = append(r.turns, it.key.account)
			}
			r.ready[it.key.account] = append(r.ready[it.key.account], it)
		}
		next, tokenWait := r.nextReadyLocked(now)
		if next == nil && tokenWait > 0 && tokenWait < wait {
			wait = tokenWait
		}
		r.mu.Unlock()
		if next != nil {
			r.wg.Add(1)
			go func(j refreshJob) {
				defer r.wg.Done()
				defer func() { <-r.slots }()
				r.finish(j, r.send(ctx, j))
			}(*next)
			continue
		}
		<-r.slots
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case <-r.wake:
		case <-timer.C:
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
	}
}

// nextReadyLocked takes the first ready item of the first account, in
// turn, that has a token; otherwise it says how long until one may.
func (r *refresher) nextReadyLocked(now time.Time) (*refreshJob, time.Duration) {
	var wait time.Duration
	for i := 0; i < len(r.turns); i++ {
		acct := r.turns[i]
		q := r.ready[acct]
		a := r.accountLocked(acct)
		ra := a.limiter.ReserveN(now, 1)
		rg := r.global.ReserveN(now, 1)
		if d := max(ra.DelayFrom(now), rg.DelayFrom(now)); d > 0 {
			ra.CancelAt(now)
			rg.CancelAt(now)
			if wait == 0 || d < wait {
				wait = d
			}
			continue
		}
		it := q[0]
		q[0] = nil
		q = q[1:]
		// This account goes to the back of the turns.
		r.turns = append(r.turns[:i], r.turns[i+1:]...)
		if len(q) > 0 {
			r.ready[acct] = q
			r.turns = append(r.turns, acct)
		} else {
			delete(r.ready, acct)
		}
		it.inFlight, it.dirty = true, false
		return &refreshJob{it: it, key: it.key, url: it.url, deleted: it.deleted}, 0
	}
	return nil, wait
}

// refreshOutcome is how Clouddriver answered.
type refreshOutcome int

const (
	refreshCached  refreshOutcome = iota // 202: the manifest was re-read and cached
	refreshNothing                       // 200 with nothing cached
	refreshFailed                        // no answer, or an error status: retry
)

// send is Orca's ManifestForceCacheRefreshTask.refreshManifests request:
// POST {clouddriver}/cache/kubernetes/manifest with
// {"account", "location", "name": "<kind> <name>"}.
func (r *refresher) send(ctx context.Context, it refreshJob) refreshOutcome {
	body, _ := json.Marshal(map[string]string{"account": it.key.account, "location": it.key.namespace, "name": it.key.kind + " " + it.key.name})
	ctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(it.url, "/")+"/cache/kubernetes/manifest", bytes.NewReader(body))
	if err != nil {
		r.m.refreshRequests.WithLabelValues("error").Inc()
		r.log.Warn("clouddriver re-cache request not sent", "account", it.key.account, "err", err)
		return refreshFailed
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := r.cfg.Client.Do(req)
	if err != nil {
		r.m.refreshRequests.WithLabelValues("error").Inc()
		r.log.Debug("clouddriver re-cache request failed", "account", it.key.account, "object", it.key.namespace+"/"+it.key.name, "err", errors.Unwrap(err))
		return refreshFailed
	}
	defer resp.Body.Close()
	var out struct {
		IDs map[string][]string `json:"cachedIdentifiersByType"`
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	switch resp.StatusCode {
	case http.StatusAccepted:
		r.m.refreshRequests.WithLabelValues("accepted").Inc()
		return refreshCached
	case http.StatusOK:
		_ = json.Unmarshal(b, &out)
		r.m.refreshRequests.WithLabelValues("ok").Inc()
		for _, ids := range out.IDs {
			if len(ids) > 0 {
				return refreshCached
			}
		}
		return refreshNothing
	default:
		r.m.refreshRequests.WithLabelValues("error").Inc()
		r.log.Debug("clouddriver refused a re-cache request", "account", it.key.account, "status", resp.StatusCode)
		return refreshFailed
	}
}

// finish settles an item after its request.
func (r *refresher) finish(j refreshJob, out refreshOutcome) {
	it := j.it
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	it.inFlight = false
	a := r.accountLocked(it.key.account)
	switch out {
	case refreshCached:
		a.unhandled = 0
		r.m.refreshLag.Observe(now.Sub(it.since).Seconds())
	case refreshNothing:
		// 200 with nothing cached: the object is gone (Clouddriver evicted
		// it: done), or this Clouddriver does not re-cache Kubernetes
		// manifests on demand. Retrying would not change the answer.
		if j.deleted { // the deletion the request was for is evicted
			r.m.refreshLag.Observe(now.Sub(it.since).Seconds())
			break
		}
		a.unhandled++
		r.m.refreshUnhandled.Inc()
		if a.unhandled >= r.cfg.UnhandledLimit {
			a.unhandled = 0
			a.pausedUntil = now.Add(r.cfg.UnhandledPause)
			r.log.Warn("Clouddriver re-caches nothing on demand for this account (Clouddriver 1.23 and later removed on-demand caching "+
				"for Kubernetes, or the account sets liveManifestCalls): pushes paused; Spinnaker sees changes on its caching cycle "+
				"(the account's cacheIntervalSeconds)", "account", it.key.account, "clouddriver", it.url, "pause", r.cfg.UnhandledPause)
		}
	case refreshFailed:
		it.attempts++
		if it.attempts < r.cfg.MaxAttempts {
			backoff := r.cfg.BackoffMin << (it.attempts - 1)
			if backoff > r.cfg.BackoffMax || backoff <= 0 {
				backoff = r.cfg.BackoffMax
			}
			it.due = now.Add(backoff)
			heap.Push(&r.queue, it)
			r.kick()
			return
		}
		r.m.refreshFailures.Inc()
		r.log.Warn("Clouddriver did not take a re-cache request after retries; it sees the change on its caching cycle",
			"account", it.key.account, "object", it.key.kind+" "+it.key.namespace+"/"+it.key.name, "attempts", it.attempts, "clouddriver", it.url)
	}
	if it.dirty {
		// Changed while the request ran: Clouddriver may have read the
		// state before the change. Ask again.
		it.dirty, it.attempts, it.since = false, 0, now
		it.due = now.Add(r.cfg.Coalesce)
		heap.Push(&r.queue, it)
		r.kick()
		return
	}
	delete(r.items, it.key)
}

// nativeGroups are the API groups whose kinds Clouddriver names without
// their group (KubernetesApiGroup.NATIVE_GROUPS).
var nativeGroups = map[string]bool{"": true, "core": true, "batch": true, "apps": true, "extensions": true, "storage.k8s.io": true,
	"apiextensions.k8s.io": true, "apiregistration.k8s.io": true, "autoscaling": true, "admissionregistration.k8s.io": true,
	"policy": true, "scheduling.k8s.io": true, "settings.k8s.io": true, "authorization.k8s.io": true, "authentication.k8s.io": true,
	"rbac.authorization.k8s.io": true, "certificates.k8s.io": true, "networking.k8s.io": true}

// clouddriverKind is KubernetesKind.toString for a kind: its name, with
// ".<group>" outside the native groups. Clouddriver matches kind names
// ignoring case (KubernetesKind equality is on the lower-cased name).
func clouddriverKind(kind, group string) string {
	if nativeGroups[group] {
		return kind
	}
	return kind + "." + group
}

// spinnakerManaged reports whether an object carries the annotations
// Clouddriver sets on what it deploys (KubernetesManifestAnnotater:
// moniker.spinnaker.io/* and artifact.spinnaker.io/*).
func spinnakerManaged(raw []byte) bool {
	if !bytes.Contains(raw, []byte(".spinnaker.io/")) {
		return false // the common case, without parsing
	}
	var m struct {
		Metadata struct {
			Annotations map[string]string `json:"annotations"`
		} `json:"metadata"`
	}
	if json.Unmarshal(raw, &m) != nil {
		return false
	}
	for k := range m.Metadata.Annotations {
		if strings.HasPrefix(k, "moniker.spinnaker.io/") || strings.HasPrefix(k, "artifact.spinnaker.io/") {
			return true
		}
	}
	return false
}
