package bridge

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	bridgev1 "github.com/spinops/terraform-provider-spinops/proto/spinops/bridge/v1"
)

// Limits bound what one account may cost the bridge, so that one tenant
// cannot starve the others. Zero fields take the defaults; a negative
// field is an error.
type Limits struct {
	// MaxObjects is the most objects the cache keeps for one account
	// (default 100000). An agent whose account grows past it is refused
	// for that account (ResourceExhausted) and its cache is dropped; the
	// agent's other accounts and every other account keep serving.
	MaxObjects int
	// MaxKinds is the most kinds one account may cache (default 256). A
	// hello offering more is refused for that account.
	MaxKinds int
	// MaxWatches is the most concurrent watches and other streams
	// (watch=1, follow=true) one account's endpoint serves (default 128);
	// one more is answered 429 Too Many Requests.
	MaxWatches int
	// MaxHistoryBytes bounds the watch history the cache keeps for one
	// account over all its kinds (the JSON of the recent events a watch
	// from an older resourceVersion replays; default 32 MiB). Past it the
	// account's oldest events are forgotten, and a watch from before them
	// gets "too old resource version" (410 Expired), after which clients
	// list again, as with the API server's own watch cache.
	MaxHistoryBytes int64
}

func (l *Limits) checkAndSetDefaults() error {
	for what, v := range map[string]int{"MaxObjects": l.MaxObjects, "MaxKinds": l.MaxKinds, "MaxWatches": l.MaxWatches} {
		if v < 0 {
			return fmt.Errorf("bridge: Limits.%s must not be negative (got %d)", what, v)
		}
	}
	if l.MaxHistoryBytes < 0 {
		return fmt.Errorf("bridge: Limits.MaxHistoryBytes must not be negative (got %d)", l.MaxHistoryBytes)
	}
	if l.MaxHistoryBytes == 0 {
		l.MaxHistoryBytes = 32 << 20
	}
	if l.MaxObjects == 0 {
		l.MaxObjects = 100000
	}
	if l.MaxKinds == 0 {
		l.MaxKinds = 256
	}
	if l.MaxWatches == 0 {
		l.MaxWatches = 128
	}
	return nil
}

// checkKindsLimit refuses a hello whose account would cache more kinds
// than Limits.MaxKinds; s.reg.mu is held.
func (s *Server) checkKindsLimit(name string, st *accountState, ah *bridgev1.AccountHello) error {
	n := 0
	for _, k := range ah.GetKinds() {
		if kindAllowed(st.spec, k) {
			n++
		}
	}
	if n > s.cfg.Limits.MaxKinds {
		s.metrics.limitRefusals.WithLabelValues("kinds").Inc()
		return status.Errorf(codes.ResourceExhausted, "account %q offers %d kinds, more than this bridge's limit of %d per account (--max-kinds-per-account): "+
			"narrow the account with kinds/omit_kinds, or raise the limit", name, n, s.cfg.Limits.MaxKinds)
	}
	return nil
}

// isStream reports whether an endpoint request streams for as long as the
// client wants (a watch, a log follow).
func isStream(r *http.Request, apiPath string) bool {
	q := r.URL.Query()
	return q.Get("watch") == "true" || q.Get("watch") == "1" || q.Get("follow") == "true" || strings.Contains(apiPath, "/watch/")
}

// acquireStream counts a watch or log follow of the account against
// Limits.MaxWatches; when the account is at the limit it answers 429 Too
// Many Requests and returns false. release ends the count.
func (s *Server) acquireStream(w http.ResponseWriter, r *http.Request, name, apiPath string, st *accountState) (release func(), ok bool) {
	if !isStream(r, apiPath) {
		return func() {}, true
	}
	if n := st.streams.Add(1); n > int64(s.cfg.Limits.MaxWatches) {
		st.streams.Add(-1)
		s.metrics.limitRefusals.WithLabelValues("watches").Inc()
		w.Header().Set("Retry-After", "5")
		writeStatus(w, http.StatusTooManyRequests, "TooManyRequests", fmt.Sprintf("account %q has %d watches and log follows open, the most this bridge serves per account "+
			"(--max-watches-per-account): close some, or raise the limit", name, s.cfg.Limits.MaxWatches), map[string]any{"retryAfterSeconds": 5})
		return nil, false
	}
	return func() { st.streams.Add(-1) }, true
}

// checkObjectsLimit drops an account whose cache grew past
// Limits.MaxObjects from its agent stream (the agent's other accounts and
// every other account keep serving) and drops its cache: the bridge
// refuses to hold it rather than serve part of it. The refusal is recorded
// on the account (the agent proved itself).
func (sess *session) checkObjectsLimit(sa *sessionAccount) {
	s := sess.s
	n := 0
	for _, k := range sa.cache.Kinds() {
		n += k.Len()
	}
	if n <= s.cfg.Limits.MaxObjects {
		return
	}
	err := status.Errorf(codes.ResourceExhausted, "account %q has %d objects, more than this bridge's limit of %d per account (--max-objects-per-account): "+
		"narrow the account with namespaces/kinds, or raise the limit", sa.name, n, s.cfg.Limits.MaxObjects)
	s.metrics.limitRefusals.WithLabelValues("objects").Inc()
	s.metrics.revocations.WithLabelValues("objects").Inc()
	s.reg.mu.Lock()
	sa.st.lastRefusal, sa.st.lastRefusalAt = codes.ResourceExhausted.String()+": "+status.Convert(err).Message(), time.Now()
	s.reg.mu.Unlock()
	// drop takes locks the receive loop must not wait for in order.
	go func() {
		sess.drop(sa.name, err)
		s.cache.Drop(sa.name)
	}()
}
