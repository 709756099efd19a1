package bridge

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"

	bridgev1 "github.com/spinops/terraform-provider-spinops/proto/spinops/bridge/v1"

	"github.com/spinops/terraform-provider-spinops/internal/bridge/cache"
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
func (s *Server) endpointHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/accounts/", s.serveAccount)
	return mux
}

// apiRequest is a parsed Kubernetes API path.
type apiRequest struct {
	gvr       schema.GroupVersionResource
	namespace string
	name      string
	sub       string
	resource  bool // the path names a resource (not discovery)
}

func parseAPIPath(p string) apiRequest {
	segs := strings.Split(strings.Trim(p, "/"), "/")
	var r apiRequest
	switch {
	case len(segs) >= 2 && segs[0] == "api":
		r.gvr.Version = segs[1]
		segs = segs[2:]
	case len(segs) >= 3 && segs[0] == "apis":
		r.gvr.Group, r.gvr.Version = segs[1], segs[2]
		segs = segs[3:]
	default:
		return r
	}
	if len(segs) == 0 || segs[0] == "" {
		return r
	}
	if segs[0] == "namespaces" && len(segs) >= 3 {
		r.namespace = segs[1]
		segs = segs[2:]
	}
	r.gvr.Resource = segs[0]
	if len(segs) > 1 {
		r.name = segs[1]
	}
	if len(segs) > 2 {
		r.sub = strings.Join(segs[2:], "/")
	}
	r.resource = true
	return r
}

func (s *Server) serveAccount(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rest := strings.TrimPrefix(r.URL.Path, "/accounts/")
	name, apiPath, _ := strings.Cut(rest, "/")
	apiPath = "/" + apiPath
	st := s.lookup(name)
	if st == nil {
		writeStatus(w, http.StatusNotFound, "NotFound", fmt.Sprintf("account %q is not registered at this bridge", name), nil)
		return
	}
	s.reg.mu.Lock()
	id, stored := st.rec.ID, st.rec.CredentialHash
	withdrawn := st.withdrawn || !st.everConnected
	connected := st.session != nil
	s.reg.mu.Unlock()
	token, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !s.endpointTokenValid(strings.TrimSpace(token), id, stored) {
		writeStatus(w, http.StatusUnauthorized, "Unauthorized", fmt.Sprintf("a valid bearer token for account %q is required (GetKubeconfig gives one)", name), nil)
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
	req := parseAPIPath(apiPath)
	verb := methodLabel(r.Method)
	if req.resource && req.sub == "" && r.Method == http.MethodGet {
		if k := s.cachedKind(name, req); k != nil {
			if !connected {
				w.Header().Add("Warning", fmt.Sprintf(`299 - "account %s: its agent is disconnected; this answer may be stale"`, name))
			}
			if s.serveFromCache(w, r, k, req) {
				s.metrics.operationLatency.WithLabelValues("cache", verb).Observe(time.Since(start).Seconds())
				return
			}
		}
	}
	s.forward(w, r, name, apiPath)
	s.metrics.operationLatency.WithLabelValues("agent", verb).Observe(time.Since(start).Seconds())
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
	return k
}

// serveFromCache answers a list, get or watch; false when the request asks
// for something the cache cannot do (the caller forwards it).
func (s *Server) serveFromCache(w http.ResponseWriter, r *http.Request, k *cache.Kind, req apiRequest) bool {
	q := r.URL.Query()
	f := cache.Filter{Namespace: req.namespace}
	if ls := q.Get("labelSelector"); ls != "" {
		sel, err := labels.Parse(ls)
		if err != nil {
			writeStatus(w, http.StatusBadRequest, "BadRequest", fmt.Sprintf("unable to parse labelSelector: %v", err), nil)
			return true
		}
		f.Labels = sel
	}
	if fs := q.Get("fieldSelector"); fs != "" {
		sel, err := fields.ParseSelector(fs)
		if err != nil {
			writeStatus(w, http.StatusBadRequest, "BadRequest", fmt.Sprintf("unable to parse fieldSelector: %v", err), nil)
			return true
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
	watch := q.Get("watch") == "true" || q.Get("watch") == "1"
	switch {
	case watch && req.name == "":
		s.serveWatch(w, r, k, f, q.Get("resourceVersion"), q.Get("timeoutSeconds"))
	case watch:
		return false
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

// serveWatch streams the kind's changes as the API server's watch does.
func (s *Server) serveWatch(w http.ResponseWriter, r *http.Request, k *cache.Kind, f cache.Filter, rv, timeout string) {
	watcher, ok := k.Watch(f, rv)
	if !ok {
		writeStatus(w, http.StatusGone, "Expired", fmt.Sprintf("too old resource version: %s (%s)", rv, k.ResourceVersion()), nil)
		return
	}
	defer watcher.Stop()
	ctx := r.Context()
	if secs, err := strconv.Atoi(timeout); err == nil && secs > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(secs)*time.Second)
		defer cancel()
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	fl, _ := w.(http.Flusher)
	if fl != nil {
		fl.Flush()
	}
	var line bytes.Buffer
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
			if fl != nil && len(watcher.Events()) == 0 {
				fl.Flush()
			}
		case <-ctx.Done():
			return
		}
	}
}

// forward runs the request against the API server through the agent.
func (s *Server) forward(w http.ResponseWriter, r *http.Request, name, apiPath string) {
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
	q := r.URL.Query()
	stream := q.Get("watch") == "true" || q.Get("watch") == "1" || q.Get("follow") == "true" || strings.Contains(apiPath, "/watch/")
	op := &bridgev1.Operation{
		Id:      newID(),
		Account: name,
		Method:  r.Method,
		Path:    apiPath,
		Query:   r.URL.RawQuery,
		Body:    body,
		User:    r.RemoteAddr,
		Stream:  stream,
	}
	for _, h := range []string{"Accept", "Content-Type", "User-Agent"} {
		if v := r.Header.Values(h); len(v) > 0 {
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
	wrote := false
	for {
		select {
		case res := <-p.ch:
			if !wrote {
				wrote = true
				if res.GetError() != "" {
					done = true
					writeStatus(w, http.StatusBadGateway, "InternalError", fmt.Sprintf("account %q: the agent could not reach its API server: %s", name, res.GetError()), nil)
					return
				}
				for _, h := range res.GetHeaders() {
					switch http.CanonicalHeaderKey(h.GetName()) {
					case "Content-Length", "Content-Encoding", "Transfer-Encoding", "Connection":
						continue
					}
					for _, v := range h.GetValues() {
						w.Header().Add(h.GetName(), v)
					}
				}
				w.WriteHeader(int(res.GetStatusCode()))
			}
			if len(res.GetBody()) > 0 {
				if _, err := w.Write(res.GetBody()); err != nil {
					return
				}
			}
			if res.GetDone() {
				done = true
				return
			}
			if fl != nil {
				fl.Flush()
			}
		case <-p.gone:
			if !wrote {
				writeStatus(w, http.StatusServiceUnavailable, "ServiceUnavailable", fmt.Sprintf("account %q: the agent disconnected during the request", name), nil)
			}
			done = true
			return
		case <-ctx.Done():
			if !wrote {
				writeStatus(w, http.StatusGatewayTimeout, "Timeout", fmt.Sprintf("account %q: the agent did not answer within %s", name, operationTimeout), nil)
			}
			return
		}
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
	w.WriteHeader(code)
	_, _ = w.Write(b)
}
