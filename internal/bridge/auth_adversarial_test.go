package bridge_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"

	bridgev1 "github.com/spinops/terraform-provider-spinops/proto/spinops/bridge/v1"

	"github.com/spinops/terraform-provider-spinops/internal/bridge"
	"github.com/spinops/terraform-provider-spinops/internal/bridge/store"
)

// The adversarial tests of the bridge's authentication: each plays an
// attacker against a real bridge over its real listeners.

// stolenRow is what an attacker reads from a copy of the registry.
type stolenRow struct{ id, name, stored string }

// readStolenDatabase opens the registry file as an attacker with a copy of
// it would: every setting and every account row.
func readStolenDatabase(t *testing.T, path string) (settings []string, rows []stolenRow) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rs, err := db.Query(`SELECT value FROM spinops_settings`)
	if err != nil {
		t.Fatal(err)
	}
	for rs.Next() {
		var v string
		if err := rs.Scan(&v); err != nil {
			t.Fatal(err)
		}
		settings = append(settings, v)
	}
	rs.Close()
	rs, err = db.Query(`SELECT id, name, credential_hash FROM spinops_accounts`)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	for rs.Next() {
		var r stolenRow
		if err := rs.Scan(&r.id, &r.name, &r.stored); err != nil {
			t.Fatal(err)
		}
		rows = append(rows, r)
	}
	return settings, rows
}

// forge derives, from a candidate key, the credential and endpoint token
// of a stored row the way the bridge derives them (HMAC-SHA256 over the
// registration id and the stored salt).
func forge(key []byte, r stolenRow) (credential, token string) {
	parts := strings.Split(r.stored, "$")
	salt := parts[len(parts)-2]
	m := hmac.New(sha256.New, key)
	m.Write([]byte("agent\x00" + r.id + "\x00" + salt))
	credential = "spa_" + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
	m = hmac.New(sha256.New, key)
	m.Write([]byte("endpoint\x00" + r.id + "\x00" + salt))
	token = "spe_" + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
	return credential, token
}

// TestStolenDatabaseCannotMintCredentials: an attacker with a copy of the
// registry — every setting, every account row — tries every value in it
// as the bridge key, and presents what it derives as agent credential and
// endpoint token. The bridge accepts none of them. With write access, the
// attacker replaces an account's stored hash with the hash of a credential
// of its own; the bridge (restarted, so it reads the row again) still
// refuses it: a stored hash alone proves nothing.
func TestStolenDatabaseCannotMintCredentials(t *testing.T) {
	p := newPKI(t)
	db := filepath.Join(t.TempDir(), "bridge.db")
	tb := startBridge(t, p, db)
	real := tb.register(t, &bridgev1.AccountSpec{Name: "victim"})
	kc, err := tb.admin.GetKubeconfig(adminCtx(), &bridgev1.GetKubeconfigRequest{Name: "victim"})
	if err != nil {
		t.Fatal(err)
	}

	settings, rows := readStolenDatabase(t, db)
	if len(rows) != 1 {
		t.Fatalf("the stolen registry has %d accounts, want 1", len(rows))
	}
	row := rows[0]
	var candidates [][]byte
	for _, v := range append(settings, row.id, row.name, row.stored) {
		candidates = append(candidates, []byte(v))
		if b, err := base64.StdEncoding.DecodeString(v); err == nil {
			candidates = append(candidates, b)
		}
		if b, err := hex.DecodeString(v); err == nil {
			candidates = append(candidates, b)
		}
	}
	for i, key := range candidates {
		cred, token := forge(key, row)
		if cred == real {
			t.Fatalf("candidate key %d from the database derives the real agent credential", i)
		}
		if token == kc.GetToken() {
			t.Fatalf("candidate key %d from the database derives the real endpoint token", i)
		}
		hello := &bridgev1.Hello{AgentId: "thief", InstanceId: "thief", Accounts: []*bridgev1.AccountHello{{Name: "victim", Credential: cred}}}
		if _, err := rawHello(t, tb, nil, hello); status.Code(err) != codes.Unauthenticated {
			t.Fatalf("a credential forged from candidate key %d: got %v, want Unauthenticated", i, err)
		}
		forged := &bridgev1.GetKubeconfigResponse{Server: kc.GetServer(), Token: token}
		if code := endpointDo(t, tb, forged, http.MethodGet, "/api/v1/namespaces", ""); code != http.StatusUnauthorized {
			t.Fatalf("an endpoint token forged from candidate key %d: HTTP %d, want 401", i, code)
		}
	}

	// Write access: plant the hash of the attacker's own credential.
	tb.Stop()
	mine := "spa_attacker-chosen-credential"
	sum := sha256.Sum256([]byte(mine))
	parts := strings.Split(row.stored, "$")
	parts[len(parts)-1] = hex.EncodeToString(sum[:])
	w, err := sql.Open("sqlite", "file:"+db)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Exec(`UPDATE spinops_accounts SET credential_hash = ? WHERE name = 'victim'`, strings.Join(parts, "$")); err != nil {
		t.Fatal(err)
	}
	w.Close()
	tb.start(t)
	hello := &bridgev1.Hello{AgentId: "thief", InstanceId: "thief", Accounts: []*bridgev1.AccountHello{{Name: "victim", Credential: mine}}}
	if _, err := rawHello(t, tb, nil, hello); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("a credential whose hash the attacker planted in the store: got %v, want Unauthenticated", err)
	}
}

// countingStore counts the store queries a bridge makes.
type countingStore struct {
	store.Store
	gets, lists atomic.Int64
}

func (c *countingStore) Get(ctx context.Context, name string) (*store.Account, error) {
	c.gets.Add(1)
	return c.Store.Get(ctx, name)
}

func (c *countingStore) List(ctx context.Context) ([]*store.Account, error) {
	c.lists.Add(1)
	return c.Store.List(ctx)
}

// TestUnauthenticatedHelloHasNoEffect: a flood of hellos without a valid
// credential — for unknown names and for a registered one — costs no
// store query per name, leaves the registered account's last_refusal as it
// was, and gets the same answer whether the name is registered or not.
// Replication is on, where an unknown name used to be looked up in the
// shared store.
func TestUnauthenticatedHelloHasNoEffect(t *testing.T) {
	p := newPKI(t)
	cs := &countingStore{}
	tb := startBridge(t, p, filepath.Join(t.TempDir(), "bridge.db"), func(c *bridge.Config) {
		cs.Store = c.Store
		c.Store = cs
		c.BridgeID, c.PeerURL = "replica-flood", peerURLIsEndpoint
		c.SyncInterval = time.Hour // only the flood may query the store
	})
	tb.register(t, &bridgev1.AccountSpec{Name: "known"})

	cc, err := grpc.NewClient(tb.grpcAddr, grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: p.ca.Pool(), MinVersion: tls.VersionTLS12})))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	client := bridgev1.NewAgentServiceClient(cc)
	hello := func(name, credential string) error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		stream, err := client.Connect(ctx)
		if err != nil {
			return err
		}
		if err := stream.Send(&bridgev1.AgentMessage{Msg: &bridgev1.AgentMessage_Hello{Hello: &bridgev1.Hello{AgentId: "flood", Accounts: []*bridgev1.AccountHello{{Name: name, Credential: credential}}}}}); err != nil {
			return err
		}
		_, err = stream.Recv()
		return err
	}
	// The answers, with the name taken out, are the same.
	answer := func(name string, err error) string {
		st, _ := status.FromError(err)
		return st.Code().String() + ": " + strings.ReplaceAll(st.Message(), `"`+name+`"`, "NAME")
	}
	known, unknown := answer("known", hello("known", "spa_guess")), answer("nobody", hello("nobody", "spa_guess"))
	if known != unknown {
		t.Fatalf("a registered and an unknown name get different answers:\n  registered: %s\n  unknown:    %s", known, unknown)
	}
	if !strings.HasPrefix(known, "Unauthenticated") {
		t.Fatalf("a wrong credential: %s", known)
	}

	gets0, lists0 := cs.gets.Load(), cs.lists.Load()
	const flood = 300
	var wg sync.WaitGroup
	var wrong atomic.Int64
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := i; j < flood; j += 8 {
				name := fmt.Sprintf("flood-%d", j)
				if j%3 == 0 {
					name = "known"
				}
				if err := hello(name, "spa_guess"); status.Code(err) != codes.Unauthenticated {
					wrong.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if n := wrong.Load(); n > 0 {
		t.Fatalf("%d hellos of the flood were not refused as Unauthenticated", n)
	}
	if g, l := cs.gets.Load()-gets0, cs.lists.Load()-lists0; g != 0 || l != 0 {
		t.Fatalf("%d unauthenticated hellos cost %d store Gets and %d Lists; want none", flood, g, l)
	}
	if st := tb.account(t, "known").GetStatus(); st.GetLastRefusal() != "" {
		t.Fatalf("unauthenticated hellos changed the account's last_refusal: %q", st.GetLastRefusal())
	}
	// Endpoint requests naming unknown accounts cost no store query either.
	for i := range 50 {
		bogus := &bridgev1.GetKubeconfigResponse{Server: "https://" + tb.epAddr + "/accounts/ep-flood-" + fmt.Sprint(i), Token: "spe_guess"}
		if code := endpointDo(t, tb, bogus, http.MethodGet, "/api/v1/namespaces", ""); code != http.StatusNotFound && code != http.StatusUnauthorized {
			t.Fatalf("an endpoint request for an unknown account: HTTP %d", code)
		}
	}
	if g := cs.gets.Load() - gets0; g != 0 {
		t.Fatalf("endpoint requests for unknown accounts cost %d store Gets; want none", g)
	}
}

// rawAgent is a hand-driven agent stream: it records the operations and
// welcomes the bridge sends it, answers operations, and keeps the stream
// alive with heartbeats.
type rawAgent struct {
	stream bridgev1.AgentService_ConnectClient
	cancel context.CancelFunc
	ended  chan struct{}
	endErr error
	endAt  time.Time
	ops    chan *bridgev1.Operation
	// cancels receives the ids of the operations the bridge cancels.
	cancels chan string
	// manual: the test answers every operation itself.
	manual atomic.Bool

	mu      sync.Mutex
	welcome *bridgev1.Welcome
	sendMu  sync.Mutex
}

// send sends a message on the agent's stream.
func (ra *rawAgent) send(m *bridgev1.AgentMessage) error {
	ra.sendMu.Lock()
	defer ra.sendMu.Unlock()
	return ra.stream.Send(m)
}

func (ra *rawAgent) lastWelcome() *bridgev1.Welcome {
	ra.mu.Lock()
	defer ra.mu.Unlock()
	return ra.welcome
}

func connectRawAgent(t *testing.T, tb *testBridge, agentID, account, credential string) *rawAgent {
	t.Helper()
	return connectRawAgentAccounts(t, tb, agentID, map[string]string{account: credential})
}

func connectRawAgentAccounts(t *testing.T, tb *testBridge, agentID string, accounts map[string]string) *rawAgent {
	t.Helper()
	ra, err := dialRawAgent(t, tb, agentID, accounts, nil)
	if err != nil {
		t.Fatalf("agent %s: %v", agentID, err)
	}
	return ra
}

// tryRawAgentAccounts is connectRawAgentAccounts that returns nil when
// the bridge refuses.
func tryRawAgentAccounts(t *testing.T, tb *testBridge, agentID string, accounts map[string]string) *rawAgent {
	t.Helper()
	ra, err := dialRawAgent(t, tb, agentID, accounts, nil)
	if err != nil {
		return nil
	}
	return ra
}

func dialRawAgent(t *testing.T, tb *testBridge, agentID string, accounts map[string]string, kinds []*bridgev1.Kind) (*rawAgent, error) {
	t.Helper()
	cc, err := grpc.NewClient(tb.grpcAddr, grpc.WithTransportCredentials(credentials.NewTLS(tlsTo(tb))))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	stream, err := bridgev1.NewAgentServiceClient(cc).Connect(ctx)
	if err != nil {
		cancel()
		return nil, err
	}
	hello := &bridgev1.Hello{AgentId: agentID, InstanceId: agentID}
	for name, cred := range accounts {
		hello.Accounts = append(hello.Accounts, &bridgev1.AccountHello{Name: name, Credential: cred, Kinds: kinds})
	}
	if err := stream.Send(&bridgev1.AgentMessage{Msg: &bridgev1.AgentMessage_Hello{Hello: hello}}); err != nil {
		cancel()
		return nil, err
	}
	m, err := stream.Recv()
	if err != nil {
		cancel()
		return nil, err
	}
	w := m.GetWelcome()
	if w == nil || len(w.GetAccounts()) != len(accounts) {
		cancel()
		return nil, fmt.Errorf("not welcomed: %v", m)
	}
	for _, aw := range w.GetAccounts() {
		if aw.GetRefusedCode() != 0 {
			cancel()
			return nil, fmt.Errorf("account %s refused: %s", aw.GetName(), aw.GetRefusedMessage())
		}
	}
	ra := &rawAgent{stream: stream, cancel: cancel, ended: make(chan struct{}), ops: make(chan *bridgev1.Operation, 100), cancels: make(chan string, 100), welcome: w}
	go func() {
		defer close(ra.ended)
		for {
			m, err := stream.Recv()
			if err != nil {
				ra.endErr, ra.endAt = err, time.Now()
				return
			}
			if w := m.GetWelcome(); w != nil {
				ra.mu.Lock()
				ra.welcome = w
				ra.mu.Unlock()
			}
			if c := m.GetCancel(); c != nil {
				select {
				case ra.cancels <- c.GetId():
				default:
				}
			}
			if op := m.GetOperation(); op != nil {
				ra.ops <- op
				if op.GetStream() || ra.manual.Load() {
					continue // the test answers streams (or, when manual, everything) itself
				}
				_ = ra.send(&bridgev1.AgentMessage{Msg: &bridgev1.AgentMessage_Result{Result: &bridgev1.OperationResult{Id: op.GetId(), StatusCode: 201, Body: []byte(`{}`), Done: true}}})
			}
		}
	}()
	go func() {
		tk := time.NewTicker(100 * time.Millisecond)
		defer tk.Stop()
		for {
			select {
			case <-ra.ended:
				return
			case <-tk.C:
				_ = ra.send(&bridgev1.AgentMessage{Msg: &bridgev1.AgentMessage_Heartbeat{Heartbeat: &bridgev1.Heartbeat{SentUnixNano: time.Now().UnixNano()}}})
			}
		}
	}()
	return ra, nil
}

// TestRevocationIsImmediate: within 2 s of RotateCredential, and of
// DeregisterAccount, the connected agent stream ends, the old endpoint
// token gets 401, no forwarded write reaches the old agent, and an agent
// with the new credential is accepted.
func TestRevocationIsImmediate(t *testing.T) {
	p := newPKI(t)
	tb := startBridge(t, p, filepath.Join(t.TempDir(), "bridge.db"))
	const write = `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"}}`
	for _, how := range []string{"rotate", "deregister"} {
		t.Run(how, func(t *testing.T) {
			name := "revoked-" + how
			// Writable (a WRITE role): the control write below must pass
			// the account's rules so that only the revocation refuses it.
			cred := tb.register(t, &bridgev1.AccountSpec{Name: name, Permissions: &bridgev1.Permissions{Write: []string{"ops"}}})
			old := connectRawAgent(t, tb, "old-agent", name, cred)
			kc, err := tb.admin.GetKubeconfig(adminCtx(), &bridgev1.GetKubeconfigRequest{Name: name})
			if err != nil {
				t.Fatal(err)
			}
			// Control: a write reaches the agent before the revocation.
			if code := endpointDo(t, tb, kc, http.MethodPost, "/api/v1/namespaces/default/configmaps", write); code != 201 {
				t.Fatalf("a write before the revocation: HTTP %d", code)
			}
			<-old.ops

			revokedAt := time.Now()
			newCred := ""
			switch how {
			case "rotate":
				r, err := tb.admin.RotateCredential(adminCtx(), &bridgev1.RotateCredentialRequest{Name: name})
				if err != nil {
					t.Fatal(err)
				}
				newCred = r.GetCredential()
			case "deregister":
				if _, err := tb.admin.DeregisterAccount(adminCtx(), &bridgev1.DeregisterAccountRequest{Name: name}); err != nil {
					t.Fatal(err)
				}
			}
			// The old endpoint token is refused at once (401; 404 once
			// the account is gone) and no write reaches the old agent.
			if code := endpointDo(t, tb, kc, http.MethodPost, "/api/v1/namespaces/default/configmaps", write); code != http.StatusUnauthorized && code != http.StatusNotFound {
				t.Fatalf("the old endpoint token after %s: HTTP %d, want 401/404", how, code)
			}
			select {
			case <-old.ended:
				if d := old.endAt.Sub(revokedAt); d > 2*time.Second {
					t.Fatalf("the old agent's stream ended %s after the %s, want within 2s", d, how)
				}
				if status.Code(old.endErr) != codes.Unauthenticated {
					t.Fatalf("the old stream ended with %v, want Unauthenticated", old.endErr)
				}
			case <-time.After(2 * time.Second):
				t.Fatalf("the old agent's stream still runs 2s after the %s", how)
			}
			if how == "rotate" {
				fresh, err := tb.admin.GetKubeconfig(adminCtx(), &bridgev1.GetKubeconfigRequest{Name: name})
				if err != nil {
					t.Fatal(err)
				}
				// No agent serves the account now: the write is not forwarded anywhere.
				if code := endpointDo(t, tb, fresh, http.MethodPost, "/api/v1/namespaces/default/configmaps", write); code != http.StatusServiceUnavailable {
					t.Fatalf("a write with no agent connected: HTTP %d, want 503", code)
				}
				// A new agent with the new credential is accepted at once,
				// and writes go to it.
				nu := connectRawAgent(t, tb, "new-agent", name, newCred)
				if code := endpointDo(t, tb, fresh, http.MethodPost, "/api/v1/namespaces/default/configmaps", write); code != 201 {
					t.Fatalf("a write through the new agent: HTTP %d", code)
				}
				<-nu.ops
			}
			select {
			case op := <-old.ops:
				t.Fatalf("an operation reached the old agent after the %s: %s %s", how, op.GetMethod(), op.GetPath())
			default:
			}
		})
	}
}

var _ = io.EOF
var _ = errors.New
