package bridge

import (
	"context"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	bridgev1 "github.com/spinops/terraform-provider-spinops/proto/spinops/bridge/v1"
)

// Revocation is immediate: when an account's credential is rotated, the
// account is deregistered, its lease is lost or it goes over a limit, the
// agent stream serving it stops serving it at once —
//
//   - the account leaves the session (the endpoint then has no agent to
//     forward to, and the receive loop ignores its events),
//   - its operations in flight end and the agent is told to cancel them,
//     and operations still queued for the agent are not sent,
//   - the agent gets a welcome that refuses the account, so it stops
//     sending it while its other accounts go on; a stream left with no
//     account ends.

// revokeTimeout bounds how long a revocation waits to queue the agent's
// new welcome before it ends the stream instead.
const revokeTimeout = 2 * time.Second

// revoke stops whichever local session serves the account; why says what
// the agent is told.
func (s *Server) revoke(name string, st *accountState, why error) {
	s.reg.mu.Lock()
	sess := st.session
	s.reg.mu.Unlock()
	if sess != nil {
		sess.drop(name, why)
	}
}

// drop removes one account from the session (see above).
func (sess *session) drop(name string, why error) {
	s := sess.s
	sess.welcomeMu.Lock()
	defer sess.welcomeMu.Unlock()
	now := time.Now()
	s.reg.mu.Lock()
	sa := sess.accounts[name]
	if sa == nil || sess.detached {
		s.reg.mu.Unlock()
		return
	}
	dropped := s.detachAccountLocked(sess, name, sa.st, now)
	delete(sess.accounts, name)
	st, _ := status.FromError(why)
	w := &bridgev1.Welcome{BridgeId: s.cfg.BridgeID, HeartbeatIntervalMs: s.cfg.HeartbeatInterval.Milliseconds()}
	for other := range sess.accounts {
		w.Accounts = append(w.Accounts, &bridgev1.AccountWelcome{Name: other})
	}
	w.Accounts = append(w.Accounts, &bridgev1.AccountWelcome{Name: name, RefusedCode: int32(st.Code()), RefusedMessage: st.Message()})
	remaining := len(sess.accounts)
	s.reg.mu.Unlock()

	sess.failAccountOperations(name)
	s.log.Warn("account revoked from its agent stream", "account", name, "agent", sess.agentID, "code", st.Code(), "reason", st.Message())
	if remaining == 0 {
		sess.cancel(why)
	} else {
		ctx, cancel := context.WithTimeout(sess.ctx, revokeTimeout)
		if !sess.send(ctx, &bridgev1.BridgeMessage{Msg: &bridgev1.BridgeMessage_Welcome{Welcome: w}}) {
			sess.cancel(status.Errorf(codes.Aborted, "account %q was revoked and the agent did not take the news within %s", name, revokeTimeout))
		}
		cancel()
	}
	if dropped && s.replicated() {
		go s.releaseAccounts([]string{name})
	}
}

func errRotated(name string) error {
	return status.Errorf(codes.Unauthenticated, "the credential of account %q was rotated: the agent must present the new one", name)
}

func errDeregistered(name string) error {
	return status.Errorf(codes.Unauthenticated, "account %q was deregistered", name)
}
