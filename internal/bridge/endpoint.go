package bridge

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"

	bridgev1 "github.com/spinops/terraform-provider-spinops/proto/spinops/bridge/v1"

	"github.com/spinops/terraform-provider-spinops/internal/bridge/cache"
	"github.com/spinops/terraform-provider-spinops/internal/scope"
)

const (
	// maxRequestBody bounds what a caller may send through an operation
	// (Kubernetes objects are at most 1.5 MiB in etcd).
	maxRequestBody = 3 << 20
	// operationTimeout bounds operations that are not streams.
	operationTimeout = 60 * time.Second
)

// The per-account Kubernetes endpoint: https://<bridge>/accounts/<name>/...
// answers list, get and watch of cached kinds from the cache and forwards
// everything else to the account's agent.
//
// endpointHandler serves /accounts/<name>/... as it comes: an
// http.ServeMux would answer a path with "//", "." or ".." with a redirect
// to its cleaned form, which a client follows to an object the API server
// would not have given it (it answers such a path 404); scope refuses such
// paths (400) instead. Every answer says "Cache-Control: no-cache,
// private" unless the API server's says otherwise, as the API server's own
// filter does (k8s.io/apiserver v0.37.2 pkg/endpoints/filters
// cachecontrol.go): objects are not for shared caches.
func (s *Server) endpointHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache, private")
		if !strings.HasPrefix(r.URL.Path, "/accounts/") {
			writeStatus(w, http.StatusNotFound, "NotFound", "the bridge serves accounts' Kubernetes APIs under /accounts/<name>/", nil)
			return
		}
		s.serveAccount(w, r)
	})
}

// apiRequest is a request the cache may answer.
type apiRequest struct {
	gvr       schema.GroupVersionResource
	namespace string
	name      string
	watch     bool
}

func (s *Server) serveAccount(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	name, apiPath, perr := scope.SplitAccountPath(r.URL)
	st := s.lookup(name)
	if st == nil {
		writeStatus(w, http.StatusNotFound, "NotFound", fmt.Sprintf("account %q is not registered at this bridge", name), nil)
		return
	}
	s.reg.mu.Lock()
	id, stored := st.rec.ID, st.rec.CredentialHash
	withdrawn := st.withdrawn || !st.everConnected
	connected := st.session != nil
	rules := rulesOf(st.spec)
	kinds := catalogOf(st.hello.GetKinds())
	s.reg.mu.Unlock()
	token, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !s.endpointTokenValid(strings.TrimSpace(token), id, stored) {
		writeStatus(w, http.StatusUnauthorized, "Unauthorized", fmt.Sprintf("a valid bearer token for account %q is required (GetKubeconfig gives one)", name), nil)
		return
	}
	// The account's rules hold before anything reaches an agent or another
	// replica.
	req, q, err := scope.ParseRequest(r.Method, apiPath, r.URL.RawQuery)
	if perr != nil {
		err = perr
	}
	if err != nil {
		writeStatus(w, http.StatusBadRequest, "BadRequest", fmt.Sprintf("account %q: %v", name, err), nil)
		return
	}
	if err := rules.Check(req, kinds); err != nil {
		s.log.Info("request outside the account's rules refused", "account", name, "method", r.Method, "path", apiPath, "reason", err)
		writeStatus(w, http.StatusForbidden, "Forbidden", fmt.Sprintf("account %q: %v", name, err), nil)
		return
	}
	if !connected && s.forwardToHolder(w, r, name) {
		return
	}
	if withdrawn && !connected {
		writeStatus(w, http.StatusServiceUnavailable, "ServiceUnavailable", fmt.Sprintf("account %q is unavailable: no agent serves it", name), nil)
		return
	}
	release, ok := s.acquireStream(w, r, name, apiPath, st)
	if !ok {
		return
	}
	defer release()
	verb := methodLabel(r.Method)
	// Another representation than the objects (kubectl get's Table, the
	// metadata client's PartialObjectMetadata) is the API server's to
	// render: a Table's columns are its printers' (a ConfigMap's Data, a
	// Deployment's Ready and Up-to-date). While the agent is away, the
	// cache still answers a Table, with the columns every kind has.
	//
	// The cache writes JSON: while the agent is connected, a caller the API
	// server would answer in another encoding (YAML, protobuf) or refuse
	// (406) is forwarded, except for Secrets, whose every answer is JSON
	// (the agent asks for it, to scrub it). While the agent is away, the
	// cache's JSON is better than no answer (RFC 9110 lets a server answer
	// other than the preference rather than 406). A HEAD is forwarded: the
	// API server authorizes it as a get and answers it 405.
	as := alternateRepresentation(r)
	if cr, ok := cacheable(req); ok && r.Method == http.MethodGet && (as == "" || as == "Table" && !connected) {
		if k := s.cachedKind(name, cr); k != nil && (!connected || k.Info.MetadataOnly || negotiatesJSON(r)) {
			if !connected {
				w.Header().Add("Warning", fmt.Sprintf(`299 - "account %s: its agent is disconnected; this answer may be stale"`, name))
			}
			if s.serveFromCache(w, r, k, cr) {
				s.metrics.operationLatency.WithLabelValues("cache", verb).Observe(time.Since(start).Seconds())
				return
			}
		}
	}
	s.forward(w, r, name, req, q)
	s.metrics.operationLatency.WithLabelValues("agent", verb).Observe(time.Since(start).Seconds())
}

// cacheable reports whether the cache may answer a request: a get, list or
// watch of a resource (no subresource, no verb in the path).
func cacheable(req scope.Request) (apiRequest, bool) {
	if !req.IsResource || req.Subresource != "" || req.PathVerb {
		return apiRequest{}, false
	}
	switch req.Verb {
	case "get", "list", "watch":
	default:
		return apiRequest{}, false
	}
	ar := apiRequest{gvr: schema.GroupVersionResource{Group: req.Group, Version: req.Version, Resource: req.Resource}, namespace: req.Namespace, watch: req.Verb == "watch"}
	if req.Verb == "get" {
		ar.name = req.Name // list and watch name an object only through fieldSelector
	}
	if req.Group == "" && req.Resource == "namespaces" {
		ar.namespace = "" // the API server reads /namespaces/x as namespace x, object x
	}
	return ar, true
}

// cachedKind returns the kind's cache when it can answer reads.
func (s *Server) cachedKind(account string, req apiRequest) *cache.Kind {
	ca := s.cache.Account(account, false)
	if ca == nil {
		return nil
	}
	k := ca.Kind(req.gvr, nil)
	if k == nil || !k.Synced() {
		return nil
	}
	if !k.Info.Namespaced && req.namespace != "" {
		return nil
	}
	if k.Info.Namespaced && req.namespace == "" && req.name != "" {
		return nil // no such path: the API server's 404 says so
	}
	return k
}

// serveFromCache answers a list, get or watch; false when the request asks
// for something the cache cannot do (the caller forwards it).
func (s *Server) serveFromCache(w http.ResponseWriter, r *http.Request, k *cache.Kind, req apiRequest) bool {
	q := r.URL.Query()
	f := cache.Filter{Namespace: req.namespace}
	// What does not parse is the API server's to refuse, in its words.
	if ls := q.Get("labelSelector"); ls != "" {
		sel, err := labels.Parse(ls)
		if err != nil {
			return false
		}
		f.Labels = sel
	}
	for _, p := range []string{"limit", "timeoutSeconds"} {
		if v := q.Get(p); v != "" {
			if _, err := strconv.ParseInt(v, 10, 64); err != nil {
				return false
			}
		}
	}
	if fs := q.Get("fieldSelector"); fs != "" {
		sel, err := fields.ParseSelector(fs)
		if err != nil {
			return false
		}
		for _, rq := range sel.Requirements() {
			if rq.Field != "metadata.name" && rq.Field != "metadata.namespace" {
				return false // the API server knows the other fields
			}
		}
		f.Fields = sel
	}
	if q.Get("continue") != "" {
		return false
	}
	if !req.watch && !cacheIsFreshEnough(k, q, req.name == "") {
		return false
	}
	switch {
	case req.watch:
		if rv := q.Get("resourceVersion"); rv != "" {
			if _, ok := cache.ParseResourceVersion(rv); !ok {
				return false
			}
		}
		opts, err := watchOptionsOf(q)
		if err != nil {
			writeStatus(w, http.StatusUnprocessableEntity, "Invalid", err.Error(), map[string]any{"group": "meta.k8s.io", "kind": "ListOptions"})
			return true
		}
		s.serveWatch(w, r, k, f, opts)
	case req.name != "":
		o := k.Get(req.namespace, req.name)
		if o == nil {
			writeStatus(w, http.StatusNotFound, "NotFound", fmt.Sprintf("%s %q not found", k.Info.GVR.GroupResource(), req.name),
				map[string]any{"name": req.name, "group": k.Info.GVR.Group, "kind": k.Info.GVR.Resource})
			return true
		}
		if wantsTable(r) {
			writeTable(w, k, []*cache.Object{o}, o.ResourceVersion)
			return true
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(o.Raw)
	default:
		items, rv := k.List(f)
		if wantsTable(r) {
			writeTable(w, k, items, rv)
			return true
		}
		writeList(w, k, items, rv)
	}
	return true
}

// cacheIsFreshEnough reports whether the cache's state may answer a get or
// list with the request's resourceVersion, by the API's semantics for get
// and list (kubernetes.io, "API concepts", "Semantics for get and list";
// k8s.io/apiserver v0.37.2 pkg/storage/cacher/delegator ShouldDelegateList):
// resourceVersion "" (most recent) and "0" (any) are answered from the
// cache; a number N means "not older than N", which the cache meets only
// once it reflects N; resourceVersionMatch=Exact, a limit with a
// resourceVersion (the legacy exact match), a resourceVersion that is not a
// number and any other resourceVersionMatch are the API server's to answer
// (the request is forwarded), so the caller never gets older data than it
// asked for, and gets the API server's own error for what is invalid.
func cacheIsFreshEnough(k *cache.Kind, q url.Values, list bool) bool {
	rv := q.Get("resourceVersion")
	if list {
		switch q.Get("resourceVersionMatch") {
		case "":
			if rv != "" && rv != "0" && q.Get("limit") != "" {
				return false // legacy exact match
			}
		case "NotOlderThan":
			if rv == "" {
				return false // invalid: the API server says so
			}
		default:
			return false
		}
	}
	if rv == "" || rv == "0" {
		return true
	}
	want, ok := cache.ParseResourceVersion(rv)
	if !ok {
		return false
	}
	have, ok := cache.ParseResourceVersion(k.ResourceVersion())
	return ok && have >= want
}

func apiVersionOf(gvr schema.GroupVersionResource) string {
	return gvr.GroupVersion().String()
}

// writeList writes a <Kind>List straight from the cached JSON.
func writeList(w http.ResponseWriter, k *cache.Kind, items []*cache.Object, rv string) {
	n := 128
	for _, o := range items {
		n += len(o.Raw) + 1
	}
	buf := bytes.NewBuffer(make([]byte, 0, n))
	fmt.Fprintf(buf, `{"kind":%q,"apiVersion":%q,"metadata":{"resourceVersion":%q},"items":[`, k.Info.Kind+"List", apiVersionOf(k.Info.GVR), rv)
	for i, o := range items {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.Write(o.Raw)
	}
	buf.WriteString("]}")
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	_, _ = w.Write(buf.Bytes())
}

// watchOptions are the query parameters of a watch the cache answers.
type watchOptions struct {
	rv, timeout string
	// sendInitialEvents: nil when absent; then the watch is the classic
	// one (rv "" or "0": the current objects first, as ADDED).
	sendInitialEvents *bool
	bookmarks         bool
}

// watchOptionsOf reads and validates a watch's options as the API server
// does (k8s.io/apimachinery v0.37.2,
// pkg/apis/meta/internalversion/validation/validation.go
// validateWatchOptions, with the WatchList feature on, its default since
// v1.32): sendInitialEvents needs resourceVersionMatch=NotOlderThan, and
// resourceVersionMatch on a watch needs sendInitialEvents. The messages are
// the API server's, so a client reads the same error from both.
func watchOptionsOf(q url.Values) (watchOptions, error) {
	o := watchOptions{rv: q.Get("resourceVersion"), timeout: q.Get("timeoutSeconds")}
	o.bookmarks = scope.QueryBool(q["allowWatchBookmarks"])
	match := q.Get("resourceVersionMatch")
	if v, set := q["sendInitialEvents"]; set {
		b := scope.QueryBool(v)
		o.sendInitialEvents = &b
		if match != "NotOlderThan" {
			return o, errors.New(`ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan`)
		}
	} else if match != "" {
		return o, errors.New(`ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided`)
	}
	if o.sendInitialEvents == nil && (o.rv == "" || o.rv == "0") {
		// A watch "from now with the current state" is a watch-list, as the
		// API server defaults it with the WatchList feature on (k8s.io/apimachinery
		// v0.37.2 pkg/apis/meta/internalversion/defaults.go
		// SetListOptionsDefaults): with bookmarks allowed, the initial
		// events end with the k8s.io/initial-events-end bookmark.
		on := true
		o.sendInitialEvents = &on
	}
	return o, nil
}

// serveWatch streams the kind's changes as the API server's watch does.
//
// With sendInitialEvents=true (a watch-list: client-go's reflector and
// kubectl from v1.34 on ask for it instead of a list), the stream starts with
// every current object as ADDED, then, when bookmarks are allowed, a
// BOOKMARK whose object carries the resourceVersion of that state and the
// annotation k8s.io/initial-events-end: "true" (k8s.io/apimachinery
// v0.37.2 pkg/apis/meta/v1/types.go, ListOptions.SendInitialEvents); the
// changes after it follow. A client that gets no such bookmark waits for it
// and gives up. sendInitialEvents=false starts at resourceVersion, or now
// when it is "" or "0", with no initial events.
func (s *Server) serveWatch(w http.ResponseWriter, r *http.Request, k *cache.Kind, f cache.Filter, o watchOptions) {
	var (
		watcher *cache.Watcher
		ok      = true
		initial = -1 // initial events still to send before the bookmark; -1: none
		snapRV  string
	)
	switch {
	case o.sendInitialEvents != nil && *o.sendInitialEvents:
		watcher, initial, snapRV = k.WatchList(f)
		if !o.bookmarks {
			initial = -1
		}
	case o.sendInitialEvents != nil && (o.rv == "" || o.rv == "0"):
		watcher = k.WatchNow(f)
	default:
		watcher, ok = k.Watch(f, o.rv)
	}
	if !ok {
		// As the API server's watch cache answers (k8s.io/apiserver v0.33.13,
		// pkg/storage/cacher/cacher.go Watch → newErrWatcher): the watch
		// starts (200) and its one event is an ERROR carrying the 410
		// Expired Status; clients list again.
		st, _ := json.Marshal(map[string]any{"kind": "Status", "apiVersion": "v1", "metadata": map[string]any{}, "status": "Failure",
			"message": fmt.Sprintf("too old resource version: %s (%s)", o.rv, k.ResourceVersion()), "reason": "Expired", "code": http.StatusGone})
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = fmt.Fprintf(w, "{\"type\":\"ERROR\",\"object\":%s}\n", st)
		return
	}
	defer watcher.Stop()
	ctx := r.Context()
	// A negative timeout ends the watch at once, as the API server's
	// (k8s.io/apiserver v0.37.2 pkg/endpoints/handlers/get.go handleWatch:
	// the timeout is the value given; none or 0 is between the minimum
	// request timeout and twice it, at random).
	timeout := s.cfg.MinRequestTimeout + rand.N(s.cfg.MinRequestTimeout+1)
	if secs, err := strconv.Atoi(o.timeout); err == nil && secs != 0 {
		timeout = time.Duration(secs) * time.Second
	}
	deadline := time.Now().Add(timeout)
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	fl, _ := w.(http.Flusher)
	if fl != nil {
		fl.Flush()
	}
	if !deadline.After(time.Now()) {
		return
	}
	var line bytes.Buffer
	// sentRV is the newest resourceVersion this watch has told of: a
	// bookmark is sent only past it (the API server's cacheWatcher sends
	// nothing not newer than the watch's resourceVersion).
	sentRV := max(rvNumber(o.rv), rvNumber(snapRV))
	writeBookmark := func(rv, annotations string) bool {
		line.Reset()
		fmt.Fprintf(&line, `{"type":"BOOKMARK","object":{"kind":%q,"apiVersion":%q,"metadata":{"resourceVersion":%q%s}}}`+"\n",
			k.Info.Kind, apiVersionOf(k.Info.GVR), rv, annotations)
		_, err := w.Write(line.Bytes())
		if fl != nil {
			fl.Flush()
		}
		return err == nil
	}
	bookmark := func() bool {
		return writeBookmark(snapRV, fmt.Sprintf(`,"annotations":{%q:"true"}`, metav1.InitialEventsAnnotationKey))
	}
	if initial == 0 && !bookmark() {
		return
	}
	// Progress bookmarks, when allowed, as the API server's cacheWatcher
	// schedules them (pkg/storage/cacher/cache_watcher.go nextBookmarkTime):
	// about every minute, and 2 s before the watch's deadline, so that a
	// client whose watch saw nothing (its selector matched no change) still
	// resumes from a recent resourceVersion instead of one the history may
	// have forgotten.
	var progress <-chan time.Time
	schedule := func() {
		progress = nil
		if !o.bookmarks {
			return
		}
		next := time.Now().Add(bookmarkFrequency)
		if pre := deadline.Add(-2 * time.Second); pre.Before(next) {
			next = pre
		}
		if d := time.Until(next); d > 0 {
			progress = time.After(d)
		}
	}
	schedule()
	for {
		select {
		case ev, open := <-watcher.Events():
			if !open {
				return
			}
			line.Reset()
			fmt.Fprintf(&line, `{"type":%q,"object":`, ev.Type)
			line.Write(ev.Object.Raw)
			line.WriteString("}\n")
			if _, err := w.Write(line.Bytes()); err != nil {
				return
			}
			sentRV = max(sentRV, rvNumber(ev.Object.ResourceVersion))
			if initial > 0 {
				if initial--; initial == 0 && !bookmark() {
					return
				}
			}
			if fl != nil && len(watcher.Events()) == 0 {
				fl.Flush()
			}
		case <-progress:
			if rv, ok := watcher.Progress(); ok && initial <= 0 && rvNumber(rv) > sentRV {
				if !writeBookmark(rv, "") {
					return
				}
				sentRV = rvNumber(rv)
			}
			schedule()
		case <-ctx.Done():
			return
		}
	}
}

// bookmarkFrequency is how often a watch that allows bookmarks is sent one
// (k8s.io/apiserver v0.37.2 pkg/storage/cacher/cacher.go
// defaultBookmarkFrequency).
const bookmarkFrequency = time.Minute

// rvNumber is a resourceVersion as the etcd revision it is; 0 when it is
// not a number.
func rvNumber(rv string) uint64 {
	v, _ := cache.ParseResourceVersion(rv)
	return v
}

// maxSecretAnswer bounds a Secret answer (not a stream) the bridge holds to
// scrub it before it answers.
const maxSecretAnswer = 64 << 20

// forward runs the request against the API server through the agent. A
// Secret answer is parsed and scrubbed here again, whatever the agent sent:
// one that is not JSON is refused.
func (s *Server) forward(w http.ResponseWriter, r *http.Request, name string, req scope.Request, q url.Values) {
	st := s.lookup(name)
	s.reg.mu.Lock()
	sess := st.session
	s.reg.mu.Unlock()
	if sess == nil {
		writeStatus(w, http.StatusServiceUnavailable, "ServiceUnavailable", fmt.Sprintf("account %q is unavailable: its agent is not connected", name), nil)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBody+1))
	if err != nil {
		writeStatus(w, http.StatusBadRequest, "BadRequest", fmt.Sprintf("reading the request body: %v", err), nil)
		return
	}
	if len(body) > maxRequestBody {
		writeStatus(w, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", fmt.Sprintf("request bodies are limited to %d bytes", maxRequestBody), nil)
		return
	}
	// A JSON Patch can read the Secret it changes (copy, move, test), and
	// a server-side apply without force compares values: one that reads
	// what the scrubber hides is refused here, and again at the agent.
	if err := scope.CheckSecretRequest(req, q, r.Header.Values("Content-Type"), body); err != nil {
		s.log.Info("a Secret patch that reads hidden values refused", "account", name, "method", r.Method, "path", req.Path, "reason", err)
		writeStatus(w, http.StatusForbidden, "Forbidden", fmt.Sprintf("account %q: %v", name, err), nil)
		return
	}
	stream := req.Streams(q)
	secret := req.IsSecret()
	op := &bridgev1.Operation{
		Id:      newID(),
		Account: name,
		Method:  r.Method,
		Path:    req.Path,
		Query:   r.URL.RawQuery,
		Body:    body,
		User:    r.RemoteAddr,
		Stream:  stream,
	}
	for _, h := range []string{"Accept", "Content-Type", "User-Agent"} {
		v := r.Header.Values(h)
		if h == "Accept" && secret {
			v = []string{scope.SecretAccept(v)} // JSON, the one encoding the scrubbers read
		}
		if len(v) > 0 {
			op.Headers = append(op.Headers, &bridgev1.Header{Name: h, Values: v})
		}
	}
	ctx := r.Context()
	if !stream {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, operationTimeout)
		defer cancel()
	}
	p, err := sess.startOperation(ctx, op)
	if err != nil {
		writeStatus(w, http.StatusServiceUnavailable, "ServiceUnavailable", fmt.Sprintf("account %q: %v", name, err), nil)
		return
	}
	done := false
	defer func() { sess.endOperation(op.GetId(), !done) }()
	fl, _ := w.(http.Flusher)
	flush := func() {
		if fl != nil {
			fl.Flush()
		}
	}
	var first *bridgev1.OperationResult
	wroteHeader := false
	writeHeader := func() {
		wroteHeader = true
		replaced := map[string]bool{}
		for _, h := range first.GetHeaders() {
			name := http.CanonicalHeaderKey(h.GetName())
			switch name {
			case "Content-Length", "Content-Encoding", "Transfer-Encoding", "Connection":
				continue
			}
			if secret && !scope.SecretAnswerHeader(name) {
				continue
			}
			if !replaced[name] {
				w.Header().Del(name) // the API server's header, not the bridge's default
				replaced[name] = true
			}
			for _, v := range h.GetValues() {
				w.Header().Add(name, v)
			}
		}
		w.WriteHeader(int(first.GetStatusCode()))
	}
	// A Secret stream is scrubbed as it comes: the agent's bytes go into a
	// pipe, and only whole, parsed, scrubbed values come out to the caller.
	var pw *io.PipeWriter
	var scrubbed chan error
	defer func() {
		if pw != nil {
			_ = pw.CloseWithError(errors.New("the operation ended"))
			if err := <-scrubbed; err != nil {
				s.log.Debug("a Secret stream ended early", "account", name, "path", req.Path, "err", err)
			}
		}
	}()
	var held bytes.Buffer // a Secret answer that is not a stream, until it is whole
	for {
		select {
		case res := <-p.ch:
			if first == nil {
				first = res
				if res.GetError() != "" {
					done = true
					writeStatus(w, http.StatusBadGateway, "InternalError", fmt.Sprintf("account %q: the agent could not run the request: %s", name, res.GetError()), nil)
					return
				}
				switch {
				case !secret:
					writeHeader()
				case stream:
					writeHeader()
					flush()
					var pr *io.PipeReader
					pr, pw = io.Pipe()
					scrubbed = make(chan error, 1)
					go func() {
						err := scope.ScrubSecretStream(pr, func(b []byte) error {
							if _, err := w.Write(b); err != nil {
								return err
							}
							flush()
							return nil
						})
						_ = pr.CloseWithError(err)
						scrubbed <- err
					}()
				}
			}
			b := res.GetBody()
			switch {
			case !secret:
				if len(b) > 0 {
					if _, err := w.Write(b); err != nil {
						return
					}
				}
			case stream:
				if len(b) > 0 {
					if _, err := pw.Write(b); err != nil {
						s.log.Warn("a Secret stream was cut: it could not be scrubbed", "account", name, "path", req.Path, "err", err)
						return
					}
				}
			default:
				if held.Len()+len(b) > maxSecretAnswer {
					done = true
					writeStatus(w, http.StatusBadGateway, "InternalError", fmt.Sprintf("account %q: the Secret answer exceeds %d bytes and cannot be scrubbed: narrow the request (limit, labelSelector)", name, maxSecretAnswer), nil)
					return
				}
				held.Write(b)
			}
			if res.GetDone() {
				done = true
				switch {
				case secret && stream:
					_ = pw.Close()
					if err := <-scrubbed; err != nil {
						s.log.Warn("a Secret stream was cut: it could not be scrubbed", "account", name, "path", req.Path, "err", err)
					}
					pw = nil
				case secret:
					// The agent's own refusal keeps its words; whatever
					// the API server wrote loses them (scope.scrubStatus).
					scrub := scope.ScrubSecrets
					for _, h := range first.GetHeaders() {
						if http.CanonicalHeaderKey(h.GetName()) == scope.AgentStatusHeader {
							scrub = scope.ScrubAgentStatus
						}
					}
					out, err := scrub(held.Bytes())
					if err != nil {
						s.log.Warn("a Secret answer was refused: it could not be scrubbed", "account", name, "path", req.Path, "err", err)
						writeStatus(w, http.StatusBadGateway, "InternalError", fmt.Sprintf("account %q: the answer to %s could not be scrubbed of Secret data, so it is refused", name, req.Path), nil)
						return
					}
					writeHeader()
					_, _ = w.Write(out)
				}
				return
			}
			if !secret {
				flush()
			}
		case <-p.gone:
			if !wroteHeader {
				writeStatus(w, http.StatusServiceUnavailable, "ServiceUnavailable", fmt.Sprintf("account %q: the agent disconnected during the request", name), nil)
			}
			done = true
			abortCut(wroteHeader, stream)
			return
		case <-ctx.Done():
			if !wroteHeader {
				writeStatus(w, http.StatusGatewayTimeout, "Timeout", fmt.Sprintf("account %q: the agent did not answer within %s", name, operationTimeout), nil)
			}
			abortCut(wroteHeader, stream)
			return
		}
	}
}

// abortCut ends an answer that was cut after its first bytes went out
// (the agent went away, the operation timed out) by aborting the
// connection, so the client's read fails: ending it normally would hand
// the client the first part of a list or object as if it were whole.
// Streams (watches, log follows) end normally, as the API server ends
// them.
func abortCut(wroteHeader, stream bool) {
	if wroteHeader && !stream {
		panic(http.ErrAbortHandler)
	}
}

// writeStatus writes a Kubernetes Status object.
func writeStatus(w http.ResponseWriter, code int, reason, msg string, details map[string]any) {
	st := map[string]any{
		"kind": "Status", "apiVersion": "v1", "metadata": map[string]any{},
		"status": "Failure", "message": msg, "reason": reason, "code": code,
	}
	if details != nil {
		st["details"] = details
	}
	b, _ := json.Marshal(st)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff") // as the API server's errors (responsewriters.RespondWithError)
	w.Header().Set("Cache-Control", "no-cache, private")
	w.WriteHeader(code)
	_, _ = w.Write(b)
}
