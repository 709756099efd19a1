package bridge_test

import (
	"context"
	"errors"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	bridgev1 "github.com/spinops/terraform-provider-spinops/proto/spinops/bridge/v1"

	"github.com/spinops/terraform-provider-spinops/internal/bridge"
	"github.com/spinops/terraform-provider-spinops/internal/bridge/store"
	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

// cuttableStore is the real MySQL store behind a switch that cuts this
// replica off from it (a network partition between one replica and the
// database): every call fails while cut. cutAccount cuts only the lease
// renewals of one account.
type cuttableStore struct {
	store.Store
	cut        atomic.Bool
	cutAccount atomic.Pointer[string]
}

var errPartition = errors.New("dial tcp: i/o timeout (test partition)")

func (c *cuttableStore) Claim(ctx context.Context, h *store.Holder, now time.Time) (*store.Holder, error) {
	if c.cut.Load() {
		return nil, errPartition
	}
	return c.Store.Claim(ctx, h, now)
}

func (c *cuttableStore) Renew(ctx context.Context, h *store.Holder) (bool, error) {
	if a := c.cutAccount.Load(); c.cut.Load() || (a != nil && *a == h.Account) {
		return false, errPartition
	}
	return c.Store.Renew(ctx, h)
}

func (c *cuttableStore) Holders(ctx context.Context) ([]*store.Holder, error) {
	if c.cut.Load() {
		return nil, errPartition
	}
	return c.Store.Holders(ctx)
}

func (c *cuttableStore) List(ctx context.Context) ([]*store.Account, error) {
	if c.cut.Load() {
		return nil, errPartition
	}
	return c.Store.List(ctx)
}

func (c *cuttableStore) RecordSeen(ctx context.Context, name, agentID string, at time.Time) error {
	if c.cut.Load() {
		return errPartition
	}
	return c.Store.RecordSeen(ctx, name, agentID, at)
}

func (c *cuttableStore) Release(ctx context.Context, account, bridgeID string) error {
	if c.cut.Load() {
		return errPartition
	}
	return c.Store.Release(ctx, account, bridgeID)
}

// TestLeaseFencing: two replicas on MariaDB. Replica B serves an agent's
// two accounts.
//
//   - B cannot renew the lease of one account: it stops serving that
//     account before the lease ends, and the agent's other account and
//     its stream go on.
//   - B is cut from the store altogether while a second agent keeps
//     dialing replica A for the first account: A takes the account over
//     once B's lease ended, and at no moment do both replicas serve it.
func TestLeaseFencing(t *testing.T) {
	m := testenv.SharedMariaDB(t)
	dsn := m.DSN(m.Database(t))
	ctx := context.Background()
	p := newPKI(t)
	const ttl = 1500 * time.Millisecond
	replica := func(id string, wrap *cuttableStore) bridgeOption {
		return func(cfg *bridge.Config) {
			st, err := store.OpenMySQL(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			cfg.Store = st
			if wrap != nil {
				wrap.Store = st
				cfg.Store = wrap
			}
			cfg.BridgeID, cfg.PeerURL = id, peerURLIsEndpoint
			cfg.HeartbeatInterval, cfg.HoldTTL, cfg.SyncInterval = 300*time.Millisecond, ttl, 100*time.Millisecond
		}
	}
	keys := newKeyRing(t)
	cutB := &cuttableStore{}
	a := startBridgeWithKeys(t, p, keys, filepath.Join(t.TempDir(), "a.db"), replica("replica-a", nil))
	b := startBridgeWithKeys(t, p, keys, filepath.Join(t.TempDir(), "b.db"), replica("replica-b", cutB))

	credF := a.register(t, &bridgev1.AccountSpec{Name: "fenced"})
	credK := a.register(t, &bridgev1.AccountSpec{Name: "kept"})
	waitFor(t, 10*time.Second, "replica B to learn the registrations", func() bool {
		l, err := b.admin.ListAccounts(adminCtx(), &bridgev1.ListAccountsRequest{})
		return err == nil && len(l.GetAccounts()) == 2
	})
	agent1 := connectRawAgentAccounts(t, b, "agent-1", map[string]string{"fenced": credF, "kept": credK})
	if !b.ServesAccount("fenced") || !b.ServesAccount("kept") {
		t.Fatal("replica B does not serve the agent's accounts")
	}

	// One account's renewals fail: that account alone stops being served,
	// before its lease could end.
	fenced := "fenced"
	cutAt := time.Now()
	cutB.cutAccount.Store(&fenced)
	waitFor(t, 2*ttl, "replica B to stop serving the account it cannot renew", func() bool { return !b.ServesAccount("fenced") })
	if d := time.Since(cutAt); d > ttl {
		t.Fatalf("replica B served the account %s after its last renewal could have succeeded; its lease lasts %s", d, ttl)
	}
	// The replica stops serving first and tells the agent after: the
	// message is on its way when ServesAccount turns false.
	toldOnlyFenced := func() bool {
		w := agent1.lastWelcome()
		return w != nil && refusedCode(w, "fenced") != 0 && refusedCode(w, "kept") == 0
	}
	waitFor(t, 5*time.Second, `the agent to be told that only "fenced" is dropped`, toldOnlyFenced)
	select {
	case <-agent1.ended:
		t.Fatalf("losing one account's lease ended the agent's stream: %v", agent1.endErr)
	default:
	}
	if !b.ServesAccount("kept") {
		t.Fatal("losing one account's lease ended the agent's other account")
	}
	cutB.cutAccount.Store(nil)
	agent1.cancel()
	<-agent1.ended
	waitFor(t, 10*time.Second, "agent 1 to be gone from B", func() bool { return !b.ServesAccount("kept") })
	waitFor(t, 10*time.Second, "B's leases to end", func() bool {
		return a.account(t, "fenced").GetStatus().GetConnected() == false && a.account(t, "kept").GetStatus().GetConnected() == false
	})

	// B is cut from the store while it serves the account; another agent
	// keeps dialing A. Never both.
	agent2 := connectRawAgentAccounts(t, b, "agent-2", map[string]string{"fenced": credF})
	if !b.ServesAccount("fenced") {
		t.Fatal("replica B does not serve agent 2")
	}
	var both atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if a.ServesAccount("fenced") && b.ServesAccount("fenced") {
				both.Add(1)
			}
			time.Sleep(2 * time.Millisecond)
		}
	}()
	cutB.cut.Store(true)
	var agent3 *rawAgent
	deadline := time.Now().Add(6 * ttl)
	for agent3 == nil && time.Now().Before(deadline) {
		agent3 = tryRawAgentAccounts(t, a, "agent-3", map[string]string{"fenced": credF})
		if agent3 == nil {
			time.Sleep(50 * time.Millisecond)
		}
	}
	time.Sleep(ttl) // keep watching a while with A serving
	close(stop)
	wg.Wait()
	if agent3 == nil {
		t.Fatal("replica A never took the account over after B's lease ended")
	}
	if n := both.Load(); n > 0 {
		t.Fatalf("both replicas served the account (%d samples)", n)
	}
	_ = agent2
}

func refusedCode(w *bridgev1.Welcome, name string) int32 {
	for _, aw := range w.GetAccounts() {
		if aw.GetName() == name {
			return aw.GetRefusedCode()
		}
	}
	return -1
}

// TestRevocationAcrossReplicas: the credential is rotated through replica
// A while the agent is connected to replica B. Within 2 s B ends the
// agent's stream and refuses the old endpoint token, and an agent with the
// new credential is accepted.
func TestRevocationAcrossReplicas(t *testing.T) {
	m := testenv.SharedMariaDB(t)
	dsn := m.DSN(m.Database(t))
	ctx := context.Background()
	p := newPKI(t)
	replica := func(id string) bridgeOption {
		return func(cfg *bridge.Config) {
			st, err := store.OpenMySQL(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			cfg.Store, cfg.BridgeID, cfg.PeerURL = st, id, peerURLIsEndpoint
			cfg.HeartbeatInterval, cfg.HoldTTL = 300*time.Millisecond, 1500*time.Millisecond // SyncInterval: the default
		}
	}
	keys := newKeyRing(t)
	a := startBridgeWithKeys(t, p, keys, filepath.Join(t.TempDir(), "a.db"), replica("replica-a"))
	b := startBridgeWithKeys(t, p, keys, filepath.Join(t.TempDir(), "b.db"), replica("replica-b"))
	cred := a.register(t, &bridgev1.AccountSpec{Name: "rotated"})
	waitFor(t, 10*time.Second, "replica B to learn the registration", func() bool {
		l, err := b.admin.ListAccounts(adminCtx(), &bridgev1.ListAccountsRequest{})
		return err == nil && len(l.GetAccounts()) == 1
	})
	old := connectRawAgent(t, b, "old-agent", "rotated", cred)
	kcB, err := b.admin.GetKubeconfig(adminCtx(), &bridgev1.GetKubeconfigRequest{Name: "rotated"})
	if err != nil {
		t.Fatal(err)
	}
	rotatedAt := time.Now()
	r, err := a.admin.RotateCredential(adminCtx(), &bridgev1.RotateCredentialRequest{Name: "rotated"})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-old.ended:
		if d := old.endAt.Sub(rotatedAt); d > 2*time.Second {
			t.Fatalf("replica B ended the old stream %s after the rotation through A, want within 2s", d)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("replica B still serves the old agent 2s after the rotation through A")
	}
	waitFor(t, 2*time.Second-time.Since(rotatedAt), "replica B to refuse the old endpoint token", func() bool {
		return endpointDo(t, b, kcB, http.MethodGet, "/api/v1/namespaces", "") == http.StatusUnauthorized
	})
	var nu *rawAgent
	waitFor(t, 5*time.Second, "an agent with the new credential to be accepted", func() bool {
		nu = tryRawAgentAccounts(t, b, "new-agent", map[string]string{"rotated": r.GetCredential()})
		return nu != nil
	})
}
