package bridge

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"net/http/httputil"
	"net/url"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	bridgev1 "github.com/spinops/terraform-provider-spinops/proto/spinops/bridge/v1"

	"github.com/spinops/terraform-provider-spinops/internal/bridge/store"
)

// Several bridge replicas can share one store (MySQL). Each agent stream
// lands on one replica, which claims the stream's accounts in the store
// (store.Holder, a lease it renews while the stream lives and publishes the
// account's status with). The other replicas:
//
//   - refuse a second agent for a held account, whichever replica it dials;
//   - answer admin reads with the holder's published status;
//   - forward endpoint requests for the account (reads and writes) to the
//     holder's endpoint, so any replica behind a load balancer serves any
//     account;
//   - pick up registrations, changes and deregistrations made through
//     another replica from the store.
//
// Replication is on when Config.PeerURL is set.

// forwardedHeader marks a request one replica forwarded to another, so a
// stale hold can never make two replicas bounce a request between them.
const forwardedHeader = "X-Spinops-Forwarded-By"

func (s *Server) replicated() bool { return s.cfg.PeerURL != "" }

// holdFor is this replica's hold of an account, with its current status.
func (s *Server) holdFor(name string, st *accountState, now time.Time) *store.Holder {
	b, _ := protojson.Marshal(s.statusOfLocked(name, st))
	return &store.Holder{Account: name, BridgeID: s.cfg.BridgeID, AgentID: st.agentID, PeerURL: s.cfg.PeerURL, Status: b, Expires: now.Add(s.cfg.HoldTTL)}
}

// claimAccounts claims, in the store, every account of hello the session
// may serve, and returns refusals for those another live agent holds.
func (s *Server) claimAccounts(sess *session, hello *bridgev1.Hello) map[string]error {
	ctx, cancel := context.WithTimeout(sess.ctx, 10*time.Second)
	defer cancel()
	// Names this replica does not know are not looked up: only accounts
	// the hello proves itself for cost a store query.
	now := time.Now()
	var claims []*store.Holder
	s.reg.mu.Lock()
	for _, ah := range hello.GetAccounts() {
		st := s.reg.accounts[ah.GetName()]
		if s.authorizeLocked(sess, st, ah) != nil {
			continue // attach refuses it with the reason
		}
		initial, _ := protojson.Marshal(&bridgev1.AccountStatus{Connected: true, AgentId: sess.agentID,
			SyncState: bridgev1.SyncState_SYNC_STATE_SYNCING, ConnectedSinceUnix: now.Unix(), LastHeartbeatUnix: now.Unix()})
		claims = append(claims, &store.Holder{Account: ah.GetName(), BridgeID: s.cfg.BridgeID, AgentID: sess.agentID,
			PeerURL: s.cfg.PeerURL, Status: initial, Expires: now.Add(s.cfg.HoldTTL)})
	}
	s.reg.mu.Unlock()
	refused := map[string]error{}
	for _, h := range claims {
		cur, err := s.cfg.Store.Claim(ctx, h, now)
		switch {
		case errors.Is(err, store.ErrHeld):
			refused[h.Account] = status.Errorf(codes.AlreadyExists, "account %q is already served by agent %q through bridge replica %s (until %s unless renewed): one live agent per account",
				h.Account, cur.AgentID, cur.BridgeID, cur.Expires.UTC().Format(time.RFC3339))
		case err != nil:
			refused[h.Account] = status.Errorf(codes.Unavailable, "account %q: the shared store cannot be reached: %v", h.Account, err)
		}
	}
	return refused
}

// loadMissing adds registrations made through another replica that this
// one has not seen yet.
func (s *Server) loadMissing(ctx context.Context, names []string) {
	for _, name := range names {
		s.reg.mu.Lock()
		known := s.reg.accounts[name] != nil
		s.reg.mu.Unlock()
		if known {
			continue
		}
		rec, err := s.cfg.Store.Get(ctx, name)
		if err != nil {
			continue
		}
		spec, err := decodeSpec(rec)
		if err != nil {
			s.log.Warn("a stored registration cannot be decoded", "account", name, "err", err)
			continue
		}
		st := &accountState{rec: rec}
		st.setSpec(spec)
		s.reg.mu.Lock()
		if s.reg.accounts[name] == nil {
			s.reg.accounts[name] = st
		}
		s.reg.mu.Unlock()
	}
}

// releaseAccounts ends this replica's holds of accounts whose stream ended.
func (s *Server) releaseAccounts(names []string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, name := range names {
		if err := s.cfg.Store.Release(ctx, name, s.cfg.BridgeID); err != nil {
			s.log.Warn("releasing the hold of an account", "account", name, "err", err)
		}
	}
}

// replicate runs while the server does: it renews this replica's holds
// (publishing each account's status) and re-reads registrations and holds.
func (s *Server) replicate(ctx context.Context) {
	renew := time.NewTicker(s.cfg.HoldTTL / 3)
	defer renew.Stop()
	sync := time.NewTicker(s.cfg.SyncInterval)
	defer sync.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-renew.C:
			s.renewHolds(ctx)
		case <-sync.C:
			s.syncFromStore(ctx)
		}
	}
}

func (s *Server) renewHolds(ctx context.Context) {
	type held struct {
		h    *store.Holder
		st   *accountState
		sess *session
	}
	var hs []held
	s.reg.mu.Lock()
	for name, st := range s.reg.accounts {
		if st.session != nil {
			hs = append(hs, held{s.holdFor(name, st, time.Now()), st, st.session})
		}
	}
	s.reg.mu.Unlock()
	for _, x := range hs {
		// The lease written ends HoldTTL after this moment, whatever the
		// store's latency: the fence counts from here.
		since := time.Now()
		x.h.Expires = since.Add(s.cfg.HoldTTL)
		rctx, cancel := context.WithTimeout(ctx, s.cfg.HoldTTL/3)
		ok, err := s.cfg.Store.Renew(rctx, x.h)
		cancel()
		if err != nil {
			s.log.Warn("renewing the hold of an account (its fence stops serving it if this goes on)", "account", x.h.Account, "err", err)
			continue
		}
		if !ok {
			// Another replica took the account over (the hold expired, or
			// the same agent reconnected there): this replica stops serving
			// it; the agent's other accounts go on.
			s.metrics.revocations.WithLabelValues("lease").Inc()
			x.sess.drop(x.h.Account, status.Errorf(codes.Aborted, "account %q is now held by another bridge replica; reconnect", x.h.Account))
			continue
		}
		s.reg.mu.Lock()
		s.leaseRenewedLocked(x.h.Account, x.st, x.sess, since)
		s.reg.mu.Unlock()
	}
}

// syncFromStore applies registrations, changes and deregistrations made
// through other replicas, and refreshes the holds of remote accounts.
func (s *Server) syncFromStore(ctx context.Context) {
	recs, err := s.cfg.Store.List(ctx)
	if err != nil {
		s.log.Warn("re-reading registrations from the shared store", "err", err)
		return
	}
	holders, err := s.cfg.Store.Holders(ctx)
	if err != nil {
		s.log.Warn("re-reading account holders from the shared store", "err", err)
		return
	}
	remote := map[string]*store.Holder{}
	for _, h := range holders {
		if h.BridgeID != s.cfg.BridgeID {
			remote[h.Account] = h
		}
	}
	inStore := map[string]bool{}
	var dropped []string
	type revocation struct {
		name string
		st   *accountState
		why  error
	}
	var revoked []revocation
	s.reg.mu.Lock()
	for _, rec := range recs {
		inStore[rec.Name] = true
		st := s.reg.accounts[rec.Name]
		if st != nil && st.rec.ID == rec.ID && st.rec.UpdatedAt.Equal(rec.UpdatedAt) {
			continue
		}
		spec, err := decodeSpec(rec)
		if err != nil {
			continue
		}
		if st == nil || st.rec.ID != rec.ID {
			if st != nil {
				st.deleted.Store(true)
				dropped = append(dropped, rec.Name)
				revoked = append(revoked, revocation{rec.Name, st, errDeregistered(rec.Name)})
			}
			nst := &accountState{rec: rec}
			nst.setSpec(spec)
			s.reg.accounts[rec.Name] = nst
			continue
		}
		// Changed elsewhere: new spec or credential. A new credential
		// cuts the agent holding the old one, as on the replica that
		// rotated it.
		if st.rec.CredentialHash != rec.CredentialHash {
			revoked = append(revoked, revocation{rec.Name, st, errRotated(rec.Name)})
		}
		st.rec.CredentialHash, st.rec.UpdatedAt = rec.CredentialHash, rec.UpdatedAt
		if !proto.Equal(spec, st.spec) {
			st.setSpec(spec)
			if st.session != nil {
				s.refilterLocked(rec.Name, st)
			}
		}
	}
	for name, st := range s.reg.accounts {
		if !inStore[name] {
			delete(s.reg.accounts, name)
			st.deleted.Store(true)
			if st.graceTimer != nil {
				st.graceTimer.Stop()
			}
			dropped = append(dropped, name)
			revoked = append(revoked, revocation{name, st, errDeregistered(name)})
		}
	}
	s.reg.remote = remote
	s.reg.mu.Unlock()
	for _, r := range revoked {
		s.metrics.revocations.WithLabelValues("replica-sync").Inc()
		s.revoke(r.name, r.st, r.why)
	}
	for _, name := range dropped {
		s.cache.Drop(name)
		s.log.Info("account deregistered through another replica", "account", name)
	}
}

// remoteHolderLocked returns the live hold another replica has on the
// account; s.reg.mu is held.
func (s *Server) remoteHolderLocked(name string) *store.Holder {
	h := s.reg.remote[name]
	if h == nil || time.Now().After(h.Expires) {
		return nil
	}
	return h
}

// remoteStatusLocked is the status the holding replica published.
func (s *Server) remoteStatusLocked(name string) *bridgev1.AccountStatus {
	h := s.remoteHolderLocked(name)
	if h == nil {
		return nil
	}
	st := &bridgev1.AccountStatus{}
	if err := protojson.Unmarshal(h.Status, st); err != nil {
		return nil
	}
	return st
}

// peerProxy forwards an endpoint request to the replica holding the
// account. Its TLS trusts the endpoint CA (every replica's endpoint
// certificate is issued by it) and the system roots.
func (s *Server) peerProxy(h *store.Holder) (*httputil.ReverseProxy, error) {
	target, err := url.Parse(h.PeerURL)
	if err != nil {
		return nil, fmt.Errorf("the peer URL %q of replica %s: %w", h.PeerURL, h.BridgeID, err)
	}
	s.peerOnce.Do(func() {
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if len(s.cfg.EndpointCAPEM) > 0 {
			pool.AppendCertsFromPEM(s.cfg.EndpointCAPEM)
		}
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		s.peerTransport = tr
	})
	p := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Host = target.Host
			pr.Out.Header.Set(forwardedHeader, s.cfg.BridgeID)
		},
		Transport:     s.peerTransport,
		FlushInterval: -1, // watches and log follows stream
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			writeStatus(w, http.StatusBadGateway, "ServiceUnavailable",
				fmt.Sprintf("forwarding to bridge replica %s (%s), which serves this account: %v", h.BridgeID, h.PeerURL, err), nil)
		},
	}
	return p, nil
}

// forwardToHolder serves the request through the replica holding the
// account; false when no other replica holds it.
func (s *Server) forwardToHolder(w http.ResponseWriter, r *http.Request, name string) bool {
	if !s.replicated() || r.Header.Get(forwardedHeader) != "" {
		return false
	}
	s.reg.mu.Lock()
	st := s.reg.accounts[name]
	local := st != nil && st.session != nil
	h := s.remoteHolderLocked(name)
	s.reg.mu.Unlock()
	if local || h == nil {
		return false
	}
	p, err := s.peerProxy(h)
	if err != nil {
		writeStatus(w, http.StatusBadGateway, "ServiceUnavailable", err.Error(), nil)
		return true
	}
	s.metrics.forwarded.Inc()
	w.Header().Del("Cache-Control") // the holder's answer says it (writeStatus on a failure)
	p.ServeHTTP(w, r)
	return true
}
