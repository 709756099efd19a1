package bridge

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/metadata"

	bridgev1 "github.com/spinops/terraform-provider-spinops/proto/spinops/bridge/v1"

	"github.com/spinops/terraform-provider-spinops/internal/bridge/store"
)

// newUnstartedServer is a bridge with a SQLite store whose listeners are
// not started: the registry and sessions are driven directly.
func newUnstartedServer(t *testing.T) *Server {
	t.Helper()
	ctx := context.Background()
	st, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "bridge.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	k, err := NewKey("test")
	if err != nil {
		t.Fatal(err)
	}
	ring, err := NewKeyRing(k)
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(ctx, Config{Store: st, Keys: ring, GRPCAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

func newTestSession(s *Server, agentID string) *session {
	ctx, cancel := context.WithCancelCause(context.Background())
	return &session{s: s, agentID: agentID, instanceID: agentID, ctx: ctx, cancel: cancel,
		out: make(chan *bridgev1.BridgeMessage, outBuffer), accounts: map[string]*sessionAccount{},
		ops: map[string]*pendingOp{}, kick: make(chan struct{}, 1)}
}

func registerForTest(t *testing.T, s *Server, name string) string {
	t.Helper()
	resp, err := (&adminService{s: s}).RegisterAccount(metadata.NewIncomingContext(context.Background(), nil),
		&bridgev1.RegisterAccountRequest{Spec: &bridgev1.AccountSpec{Name: name}})
	if err != nil {
		t.Fatal(err)
	}
	return resp.GetCredential()
}

// TestLateHelloDoesNotResurrectADetachedSession: a hello the receive loop
// processes after its stream was detached must not attach the ended
// session again (it would hold the account with nobody behind it, and
// refuse the real agent). Raced in a loop; run with -race.
func TestLateHelloDoesNotResurrectADetachedSession(t *testing.T) {
	s := newUnstartedServer(t)
	cred := registerForTest(t, s, "zombie")
	hello := &bridgev1.Hello{AgentId: "agent", InstanceId: "agent", Accounts: []*bridgev1.AccountHello{{Name: "zombie", Credential: cred}}}
	st := s.lookup("zombie")

	// In order: detached first, then the late hello.
	sess := newTestSession(s, "agent")
	if _, err := s.attach(sess, hello); err != nil {
		t.Fatal(err)
	}
	s.detach(sess)
	if _, err := s.attach(sess, hello); err == nil {
		t.Fatal("a hello after the detach was accepted")
	}
	s.reg.mu.Lock()
	zombie := st.session == sess
	s.reg.mu.Unlock()
	if zombie {
		t.Fatal("a hello after the detach brought the session back")
	}

	// Raced.
	for i := range 300 {
		sess := newTestSession(s, "agent")
		if _, err := s.attach(sess, hello); err != nil {
			t.Fatalf("round %d: %v", i, err)
		}
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); sess.cancel(nil); s.detach(sess) }()
		go func() { defer wg.Done(); _, _ = s.attach(sess, hello) }()
		wg.Wait()
		s.reg.mu.Lock()
		zombie := st.session == sess
		s.reg.mu.Unlock()
		if zombie {
			t.Fatalf("round %d: the detached session holds the account again", i)
		}
	}
}

// TestStartOperationAfterFailOperationsFailsFast: once a stream's
// operations were failed, a new one fails at once instead of waiting for
// an answer that cannot come.
func TestStartOperationAfterFailOperationsFailsFast(t *testing.T) {
	s := newUnstartedServer(t)
	sess := newTestSession(s, "agent")
	sess.failOperations()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	p, err := sess.startOperation(ctx, &bridgev1.Operation{Id: "op-1", Account: "a", Method: "GET", Path: "/api/v1/pods"})
	if !errors.Is(err, errAgentGone) || p != nil {
		t.Fatalf("startOperation after failOperations: %v, %v; want errAgentGone", p, err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("startOperation after failOperations took %s", d)
	}
	if len(sess.out) != 0 {
		t.Fatal("the operation was queued for the agent")
	}
}
