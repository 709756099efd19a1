package bridge

import (
	"fmt"

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
	// account (default 64 MiB): the oldest events are dropped first, and a
	// watch from before them gets 410 Gone, as from a compacted API server.
	MaxHistoryBytes int64
}

func (l *Limits) checkAndSetDefaults() error {
	for what, v := range map[string]int64{"MaxObjects": int64(l.MaxObjects), "MaxKinds": int64(l.MaxKinds),
		"MaxWatches": int64(l.MaxWatches), "MaxHistoryBytes": l.MaxHistoryBytes} {
		if v < 0 {
			return fmt.Errorf("bridge: Limits.%s must not be negative (got %d)", what, v)
		}
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
	if l.MaxHistoryBytes == 0 {
		l.MaxHistoryBytes = 64 << 20
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
