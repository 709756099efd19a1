// Package clouddrivertest is a stand-in for Clouddriver (Java, cannot run
// here) limited to what decides how fast Spinnaker sees a Kubernetes change:
// the on-demand cache endpoint (POST/GET /cache/{cloudProvider}/{type}) and
// the periodic listing cycle of the Kubernetes caching agents. It follows
// Clouddriver's source, not what spinops expects; docs/architecture.md
// ("Pushing changes to Clouddriver") lists each copied behaviour with the
// class and method it comes from, and clouddriver_test.go tests each one.
//
// Two versions exist because Clouddriver changed: Version Current is
// Clouddriver since commit 5ccc108c0 (Sept 2020, "Remove
// KubernetesOnDemandCachingAgent", Spinnaker 1.23): no Kubernetes caching
// agent implements OnDemandAgent, so an on-demand request for a Kubernetes
// manifest is answered 200 with nothing cached. Version OnDemand122 is the
// KubernetesOnDemandCachingAgent of Clouddriver before that commit (Spinnaker
// ≤ 1.22), which re-read the manifest through the account's kubeconfig and
// answered 202 with the cached identifiers.
package clouddrivertest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/clientcmd"
)

// Version selects whose on-demand behaviour the stand-in has.
type Version int

const (
	// Current is Clouddriver since 5ccc108c0 (Spinnaker 1.23 and later):
	// CacheController.handleOnDemand finds no OnDemandCacheUpdater that
	// handles (Manifest, kubernetes) and answers 200
	// {"cachedIdentifiersByType":{}}; nothing is read or cached.
	Current Version = iota
	// OnDemand122 is KubernetesOnDemandCachingAgent as of 5ccc108c0^
	// (Spinnaker ≤ 1.22) behind CatsOnDemandCacheUpdater with a non-atomic
	// agent scheduler.
	OnDemand122
)

func (v Version) String() string {
	if v == OnDemand122 {
		return "clouddriver<=1.22 (KubernetesOnDemandCachingAgent)"
	}
	return "clouddriver>=1.23 (no Kubernetes on-demand agent)"
}

// DefaultCacheInterval is the caching cycle when an account sets no
// cacheIntervalSeconds: the scheduler's default poll interval
// (RedisConfigurationProperties.poll.intervalSeconds = 30 and
// SqlAgentProperties.poll.intervalSeconds = 30), which
// DefaultAgentIntervalProvider.getInterval uses for agents whose
// getAgentInterval is null.
const DefaultCacheInterval = 30 * time.Second

// Kind is a kind an account's caching agent lists (its primary kinds).
type Kind struct {
	// Name is Clouddriver's KubernetesKind spelling (KubernetesKind.toString):
	// "deployment", "replicaSet"; kinds outside the native API groups carry
	// their group, "rollout.argoproj.io".
	Name       string
	GVR        schema.GroupVersionResource
	Namespaced bool
}

// Account is one Kubernetes account (KubernetesAccountProperties.ManagedAccount).
type Account struct {
	Name string
	// Kubeconfig is the account's kubeconfig (kubeconfigContents): spinops
	// points it at the bridge's per-account endpoint.
	Kubeconfig []byte
	// Namespaces the account is limited to; empty means every namespace
	// (Clouddriver then lists the namespaces through kubectl).
	Namespaces []string
	Kinds      []Kind
	// CacheInterval is cacheIntervalSeconds (0: DefaultCacheInterval).
	CacheInterval time.Duration
	// LiveManifestCalls is liveManifestCalls: handle() returns null for it.
	LiveManifestCalls bool
}

// Read is one read of a manifest into the stand-in's cache.
type Read struct {
	Account string
	Key     string // Keys.InfrastructureCacheKey
	// Source is "on-demand" or "cycle".
	Source string
	// Object is what was read; nil when an on-demand read found the object
	// gone (the entry was evicted).
	Object *unstructured.Unstructured
	At     time.Time
}

// Config configures the stand-in.
type Config struct {
	Version  Version
	Accounts []Account
	// OnRead, when set, is called for every manifest read into the cache.
	OnRead func(Read)
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Server is a running stand-in.
type Server struct {
	cfg      Config
	lis      net.Listener
	srv      *http.Server
	accounts map[string]*account
	cancel   context.CancelFunc
	wg       sync.WaitGroup

	reqMu    sync.Mutex
	requests []Request
}

// Request is an on-demand request the stand-in received.
type Request struct {
	At       time.Time // when it arrived
	Provider string
	Type     string
	Body     map[string]any
	Status   int
}

type onDemandEntry struct {
	cacheTime      int64 // ms
	processedTime  int64 // ms, -1 until a cycle processed it
	processedCount int
	object         *unstructured.Unstructured
	moniker        map[string]string
}

type account struct {
	Account
	client dynamic.Interface
	kinds  map[string]Kind // lower-cased name → kind

	mu       sync.Mutex
	cache    map[string]*unstructured.Unstructured // key → manifest
	onDemand map[string]*onDemandEntry
	cycles   int
	lastErr  error
}

// Start serves the stand-in on a loopback port and starts every account's
// listing cycle; ctx ends the cycles.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Server{cfg: cfg, accounts: map[string]*account{}}
	for _, a := range cfg.Accounts {
		rc, err := clientcmd.RESTConfigFromKubeConfig(a.Kubeconfig)
		if err != nil {
			return nil, fmt.Errorf("clouddrivertest: reading the kubeconfig of account %q: %w", a.Name, err)
		}
		// kubectl has no client-side rate limit; client-go's default (5/s)
		// would make the stand-in slower than Clouddriver.
		rc.QPS, rc.Burst = 1000, 2000
		dc, err := dynamic.NewForConfig(rc)
		if err != nil {
			return nil, fmt.Errorf("clouddrivertest: client for account %q: %w", a.Name, err)
		}
		if a.CacheInterval <= 0 {
			a.CacheInterval = DefaultCacheInterval
		}
		acc := &account{Account: a, client: dc, kinds: map[string]Kind{}, cache: map[string]*unstructured.Unstructured{}, onDemand: map[string]*onDemandEntry{}}
		for _, k := range a.Kinds {
			acc.kinds[strings.ToLower(k.Name)] = k
		}
		s.accounts[a.Name] = acc
	}
	var err error
	if s.lis, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		return nil, fmt.Errorf("clouddrivertest: listening: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/cache/{cloudProvider}/{type}", s.handleCache)
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	ctx, s.cancel = context.WithCancel(ctx)
	s.wg.Add(1)
	go func() { defer s.wg.Done(); _ = s.srv.Serve(s.lis) }()
	for _, acc := range s.accounts {
		s.wg.Add(1)
		go func() { defer s.wg.Done(); s.runCycles(ctx, acc) }()
	}
	return s, nil
}

// URL is the stand-in's base URL (Clouddriver's http://spin-clouddriver:7002).
func (s *Server) URL() string { return "http://" + s.lis.Addr().String() }

// Close stops serving and the cycles.
func (s *Server) Close() {
	s.cancel()
	_ = s.srv.Close()
	s.wg.Wait()
}

// Requests returns the on-demand requests received so far.
func (s *Server) Requests() []Request {
	s.reqMu.Lock()
	defer s.reqMu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Cached returns the cached manifest under key (InfrastructureKey).
func (s *Server) Cached(accountName, key string) *unstructured.Unstructured {
	acc := s.accounts[accountName]
	if acc == nil {
		return nil
	}
	acc.mu.Lock()
	defer acc.mu.Unlock()
	return acc.cache[key]
}

// Cycles is how many listing cycles the account completed.
func (s *Server) Cycles(accountName string) int {
	acc := s.accounts[accountName]
	if acc == nil {
		return 0
	}
	acc.mu.Lock()
	defer acc.mu.Unlock()
	return acc.cycles
}

// InfrastructureKey is Keys.InfrastructureCacheKey.createKey(kind, account,
// namespace, name): "kubernetes.v2:infrastructure:<kind>:<account>:<namespace>:<name>",
// a ':' inside a part replaced by ';' (Keys.createKeyFromParts).
func InfrastructureKey(kind, accountName, namespace, name string) string {
	parts := []string{"kubernetes.v2", "infrastructure", kind, accountName, namespace, name}
	for i, p := range parts[2:] {
		parts[i+2] = strings.ReplaceAll(p, ":", ";")
	}
	return strings.Join(parts, ":")
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// handleCache is CacheController: POST handleOnDemand, GET pendingOnDemands.
func (s *Server) handleCache(w http.ResponseWriter, r *http.Request) {
	provider, typ := r.PathValue("cloudProvider"), r.PathValue("type")
	switch r.Method {
	case http.MethodPost:
		var body map[string]any
		b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err == nil {
			err = json.Unmarshal(b, &body)
		}
		if err != nil || body == nil {
			// @RequestBody Map: Spring answers 400 to a body it cannot read.
			writeJSON(w, http.StatusBadRequest, map[string]any{"error": "Bad Request", "message": "Required request body is missing or not a JSON object"})
			return
		}
		at := s.cfg.Now() // when it arrived, before the read it causes
		status, ids := s.handleOnDemand(r.Context(), provider, typ, body)
		s.reqMu.Lock()
		s.requests = append(s.requests, Request{At: at, Provider: provider, Type: typ, Body: body, Status: status})
		s.reqMu.Unlock()
		writeJSON(w, status, map[string]any{"cachedIdentifiersByType": ids})
	case http.MethodGet:
		writeJSON(w, http.StatusOK, s.pendingOnDemands(provider, typ))
	default:
		w.Header().Set("Allow", "GET, POST")
		writeJSON(w, http.StatusMethodNotAllowed, map[string]any{"error": "Method Not Allowed"})
	}
}

// handles is KubernetesOnDemandCachingAgent.handles: type Manifest
// (OnDemandType.equals ignores case) and provider "kubernetes".
func (s *Server) handles(provider, typ string) bool {
	return s.cfg.Version == OnDemand122 && strings.EqualFold(typ, "manifest") && provider == "kubernetes"
}

// handleOnDemand is CacheController.handleOnDemand over
// CatsOnDemandCacheUpdater.handle: every agent that handles the type is
// asked; any agent with cache results makes the answer PENDING (202) with
// the cached identifiers, otherwise SUCCESSFUL (200) with none. An agent
// that fails is logged and skipped (its error never reaches the caller).
func (s *Server) handleOnDemand(ctx context.Context, provider, typ string, data map[string]any) (int, map[string][]string) {
	ids := map[string][]string{}
	if !s.handles(provider, typ) {
		return http.StatusOK, ids
	}
	pending := false
	for _, acc := range s.sortedAccounts() {
		kind, key, obj, handled, err := s.agentHandle(ctx, acc, data)
		if err != nil || !handled {
			continue
		}
		if obj != nil {
			pending = true
			ids[kind] = append(ids[kind], key)
		}
	}
	if pending {
		return http.StatusAccepted, ids
	}
	return http.StatusOK, map[string][]string{}
}

func (s *Server) sortedAccounts() []*account {
	out := make([]*account, 0, len(s.accounts))
	for _, a := range s.accounts {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func str(m map[string]any, k string) string {
	v, _ := m[k].(string)
	return v
}

// agentHandle is KubernetesOnDemandCachingAgent.handle for one account's
// agent. handled is false where handle returns null.
func (s *Server) agentHandle(ctx context.Context, acc *account, data map[string]any) (kindName, key string, obj *unstructured.Unstructured, handled bool, err error) {
	accountName, namespace, fullName := str(data, "account"), str(data, "location"), str(data, "name")
	if accountName == "" || accountName != acc.Name || acc.LiveManifestCalls {
		return "", "", nil, false, nil
	}
	// KubernetesCoordinates.fullResourceName → KubernetesManifest.fromFullResourceName:
	// "<kind> <name>", exactly two parts.
	parts := strings.Split(fullName, " ")
	if len(parts) != 2 {
		return "", "", nil, false, nil
	}
	kind, ok := acc.kinds[strings.ToLower(parts[0])]
	if !ok || parts[1] == "" {
		return "", "", nil, false, nil
	}
	if namespace != "" && !kind.Namespaced {
		namespace = "" // "Kind {} is not namespace but namespace {} was provided, ignoring"
	}
	if !acc.handleNamespace(namespace, kind) {
		return "", "", nil, false, nil
	}
	key = InfrastructureKey(kind.Name, acc.Name, namespace, parts[1])
	// loadPrimaryResource: kubectl get through the account's kubeconfig.
	obj, err = acc.get(ctx, kind, namespace, parts[1])
	if err != nil {
		return "", "", nil, false, err
	}
	now := s.cfg.Now()
	acc.mu.Lock()
	if obj == nil {
		// evictEntry: the on-demand entry and the cached manifest go.
		delete(acc.onDemand, key)
		delete(acc.cache, key)
	} else {
		// addEntry, then CatsOnDemandCacheUpdater writes the result into
		// the provider cache at once: readers see the new state now.
		acc.onDemand[key] = &onDemandEntry{cacheTime: now.UnixMilli(), processedTime: -1, object: obj, moniker: moniker(obj)}
		acc.cache[key] = obj
	}
	acc.mu.Unlock()
	s.emit(Read{Account: acc.Name, Key: key, Source: "on-demand", Object: obj, At: now})
	return kind.Name, key, obj, true, nil
}

// handleNamespace: a namespaced object in one of the account's namespaces;
// a cluster-scoped one only when the agent handles cluster-scoped kinds.
func (a *account) handleNamespace(namespace string, kind Kind) bool {
	if namespace == "" {
		return !kind.Namespaced
	}
	if len(a.Namespaces) == 0 {
		return true
	}
	for _, n := range a.Namespaces {
		if n == namespace {
			return true
		}
	}
	return false
}

func (a *account) get(ctx context.Context, kind Kind, namespace, name string) (*unstructured.Unstructured, error) {
	var ri dynamic.ResourceInterface = a.client.Resource(kind.GVR)
	if kind.Namespaced {
		ri = a.client.Resource(kind.GVR).Namespace(namespace)
	}
	obj, err := ri.Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s %s/%s of account %s: %w", kind.Name, namespace, name, a.Name, err)
	}
	return obj, nil
}

func moniker(obj *unstructured.Unstructured) map[string]string {
	ann := obj.GetAnnotations()
	return map[string]string{"app": ann["moniker.spinnaker.io/application"], "cluster": ann["moniker.spinnaker.io/cluster"]}
}

func (s *Server) emit(r Read) {
	if s.cfg.OnRead != nil {
		s.cfg.OnRead(r)
	}
}

// pendingOnDemands is CacheController.pendingOnDemands over
// KubernetesOnDemandCachingAgent.pendingOnDemandRequests (the core agent of
// each account answers): one entry per on-demand cache entry.
func (s *Server) pendingOnDemands(provider, typ string) []map[string]any {
	out := []map[string]any{}
	if !s.handles(provider, typ) {
		return out
	}
	for _, acc := range s.sortedAccounts() {
		acc.mu.Lock()
		keys := make([]string, 0, len(acc.onDemand))
		for k := range acc.onDemand {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			e := acc.onDemand[k]
			p := strings.Split(k, ":") // kubernetes.v2:infrastructure:kind:account:namespace:name
			out = append(out, map[string]any{
				"details":        map[string]string{"name": p[2] + " " + p[5], "account": p[3], "location": p[4]},
				"moniker":        e.moniker,
				"cacheTime":      e.cacheTime,
				"processedCount": e.processedCount,
				"processedTime":  e.processedTime,
			})
		}
		acc.mu.Unlock()
	}
	return out
}

// runCycles is the agent scheduler running the account's caching agent
// every CacheInterval (the first run at once).
func (s *Server) runCycles(ctx context.Context, acc *account) {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		// A failed cycle keeps the previous cache (the agent's result is
		// not written), as CATS does when loadData throws.
		err := s.cycle(ctx, acc)
		acc.mu.Lock()
		acc.lastErr = err
		acc.mu.Unlock()
		t.Reset(acc.CacheInterval)
	}
}

// cycle is KubernetesOnDemandCachingAgent.loadData (OnDemand122) or
// KubernetesCachingAgent.loadData (Current): list every primary kind,
// replace the account's cache with the result (the agent is authoritative
// for its kinds), and with on-demand entries: count each as processed, keep
// it while cacheTime >= the cycle's start or processedCount < 2, and let it
// overwrite the listed manifest when cacheTime >= start.
func (s *Server) cycle(ctx context.Context, acc *account) error {
	start := s.cfg.Now()
	listed := map[string]*unstructured.Unstructured{}
	for _, k := range acc.Kinds {
		var lists []*unstructured.UnstructuredList
		if k.Namespaced && len(acc.Namespaces) > 0 {
			for _, ns := range acc.Namespaces {
				l, err := acc.client.Resource(k.GVR).Namespace(ns).List(ctx, metav1.ListOptions{})
				if err != nil {
					return fmt.Errorf("listing %s in %s of account %s: %w", k.Name, ns, acc.Name, err)
				}
				lists = append(lists, l)
			}
		} else {
			l, err := acc.client.Resource(k.GVR).List(ctx, metav1.ListOptions{})
			if err != nil {
				return fmt.Errorf("listing %s of account %s: %w", k.Name, acc.Name, err)
			}
			lists = append(lists, l)
		}
		for _, l := range lists {
			for i := range l.Items {
				o := &l.Items[i]
				listed[InfrastructureKey(k.Name, acc.Name, o.GetNamespace(), o.GetName())] = o
			}
		}
	}
	startMs := start.UnixMilli()
	now := s.cfg.Now()
	acc.mu.Lock()
	for key := range listed {
		e := acc.onDemand[key]
		if e == nil {
			continue
		}
		e.processedCount++
		e.processedTime = now.UnixMilli()
		if e.cacheTime >= startMs {
			listed[key] = e.object // shouldOverwriteUsingOnDemand
		}
		keep := e.cacheTime >= startMs || e.processedCount < 2 // shouldKeepInOnDemand
		if !keep {
			delete(acc.onDemand, key) // evictFromOnDemand
		}
	}
	acc.cache = listed
	acc.cycles++
	acc.mu.Unlock()
	for key, o := range listed {
		s.emit(Read{Account: acc.Name, Key: key, Source: "cycle", Object: o, At: now})
	}
	return nil
}

// RunCycle runs one listing cycle of the account now, as the scheduler
// does every CacheInterval.
func (s *Server) RunCycle(ctx context.Context, accountName string) error {
	acc := s.accounts[accountName]
	if acc == nil {
		return fmt.Errorf("clouddrivertest: no account %q", accountName)
	}
	return s.cycle(ctx, acc)
}

// LastCycleError is the error of the account's last listing cycle, if any.
func (s *Server) LastCycleError(accountName string) error {
	acc := s.accounts[accountName]
	if acc == nil {
		return fmt.Errorf("clouddrivertest: no account %q", accountName)
	}
	acc.mu.Lock()
	defer acc.mu.Unlock()
	return acc.lastErr
}
