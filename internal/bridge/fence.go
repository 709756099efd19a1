package bridge

import (
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Lease fencing between replicas. A replica serves an account only while
// its lease (store.Holder) is certainly its own: the lease it last wrote
// ends at <time the write started> + HoldTTL, and another replica may
// claim the account only after that. So each held account has a fence, a
// timer set fenceMargin before that end; a renewal that succeeds moves it,
// and when it fires the replica stops serving the account (the account
// alone: the agent's other accounts go on) — before the lease can pass to
// another replica. The store being unreachable, slow or refusing all end
// the same way. Clocks of the replicas are assumed to agree to well within
// fenceMargin (NTP).

// fenceMargin is how long before its lease ends a replica stops serving.
func (s *Server) fenceMargin() time.Duration { return s.cfg.HoldTTL / 5 }

// leaseRenewedLocked records that the lease of the account served by sess
// was written at since, and moves its fence; s.reg.mu is held.
func (s *Server) leaseRenewedLocked(name string, st *accountState, sess *session, since time.Time) {
	if !s.replicated() || st.session != sess {
		return
	}
	until := since.Add(s.cfg.HoldTTL)
	if !until.After(st.leaseUntil) {
		return
	}
	st.leaseUntil = until
	if st.fence != nil {
		st.fence.Stop()
	}
	st.fence = time.AfterFunc(time.Until(until)-s.fenceMargin(), func() { s.fenceFired(name, st, sess, until) })
}

// stopFenceLocked disarms the fence of an account no longer served here.
func (st *accountState) stopFenceLocked() {
	if st.fence != nil {
		st.fence.Stop()
		st.fence = nil
	}
	st.leaseUntil = time.Time{}
}

func (s *Server) fenceFired(name string, st *accountState, sess *session, until time.Time) {
	s.reg.mu.Lock()
	lost := st.session == sess && st.leaseUntil.Equal(until)
	s.reg.mu.Unlock()
	if !lost {
		return
	}
	s.metrics.fenced.Inc()
	s.metrics.revocations.WithLabelValues("lease").Inc()
	sess.drop(name, status.Errorf(codes.Unavailable, "bridge replica %s could not renew its lease on account %q in time (the shared store is unreachable or slow): "+
		"it stopped serving the account before another replica could take it over; the agent reconnects", s.cfg.BridgeID, name))
}
