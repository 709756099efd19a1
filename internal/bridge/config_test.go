package bridge

import (
	"context"
	"crypto/tls"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/spinops/terraform-provider-spinops/internal/bridge/store"
)

func testRing(t *testing.T) *KeyRing {
	t.Helper()
	k, err := NewKey("k1")
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewKeyRing(k)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestConfigCheckAndSetDefaults: the one place the bridge's defaults are
// filled and its rules checked.
func TestConfigCheckAndSetDefaults(t *testing.T) {
	st, err := store.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "b.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ring := testRing(t)

	cfg := Config{Store: st, Keys: ring, GRPCAddr: "127.0.0.1:0"}
	if err := cfg.CheckAndSetDefaults(); err != nil {
		t.Fatal(err)
	}
	if cfg.MaxMessageBytes != 16<<20 || cfg.GracePeriod != 5*time.Minute || cfg.HeartbeatInterval != 10*time.Second ||
		cfg.HoldTTL != 30*time.Second || cfg.SyncInterval != time.Second || cfg.MinRequestTimeout != 30*time.Minute || cfg.Logger == nil ||
		!strings.HasPrefix(cfg.BridgeID, "bridge-") {
		t.Fatalf("defaults: %+v", cfg)
	}
	if cfg.Limits != (Limits{MaxObjects: 100000, MaxKinds: 256, MaxWatches: 128, MaxHistoryBytes: 32 << 20}) {
		t.Fatalf("limit defaults: %+v", cfg.Limits)
	}
	if r := cfg.Refresh; r.Coalesce != 20*time.Millisecond || r.AccountRate != 50 || r.AccountBurst != 100 || r.GlobalRate != 200 ||
		r.GlobalBurst != 400 || r.MaxPending != 10000 || r.Workers != 8 || r.Timeout != 5*time.Second || r.MaxAttempts != 5 ||
		r.UnhandledLimit != 3 || r.UnhandledPause != 10*time.Minute || r.Client == nil {
		t.Fatalf("refresh defaults: %+v", r)
	}
	// Set values are kept.
	cfg = Config{Store: st, Keys: ring, GRPCAddr: "[::1]:0", HeartbeatInterval: time.Second, Limits: Limits{MaxWatches: 3}}
	if err := cfg.CheckAndSetDefaults(); err != nil {
		t.Fatal(err)
	}
	if cfg.HoldTTL != 3*time.Second || cfg.Limits.MaxWatches != 3 {
		t.Fatalf("derived values: %+v", cfg)
	}

	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12}
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"no store", Config{Keys: ring, GRPCAddr: "127.0.0.1:0"}, "a store is required"},
		{"no keys", Config{Store: st, GRPCAddr: "127.0.0.1:0"}, "a key ring is required"},
		{"endpoint without TLS", Config{Store: st, Keys: ring, GRPCAddr: "127.0.0.1:0", EndpointAddr: ":8443"}, "needs a TLS certificate"},
		{"plaintext on all interfaces", Config{Store: st, Keys: ring, GRPCAddr: ":9091"}, "plaintext gRPC on \":9091\""},
		{"plaintext on a host address", Config{Store: st, Keys: ring, GRPCAddr: "10.0.0.5:9091"}, "--insecure-grpc-allow-remote"},
		{"replication without an id", Config{Store: st, Keys: ring, GRPCAddr: "127.0.0.1:0", PeerURL: "https://a:8443"}, "stable, unique BridgeID"},
		{"negative duration", Config{Store: st, Keys: ring, GRPCAddr: "127.0.0.1:0", GracePeriod: -time.Second}, "GracePeriod must not be negative"},
		{"negative watch timeout", Config{Store: st, Keys: ring, GRPCAddr: "127.0.0.1:0", MinRequestTimeout: -time.Minute}, "MinRequestTimeout must not be negative"},
		{"negative limit", Config{Store: st, Keys: ring, GRPCAddr: "127.0.0.1:0", Limits: Limits{MaxObjects: -1}}, "Limits.MaxObjects must not be negative"},
		{"negative refresh timeout", Config{Store: st, Keys: ring, GRPCAddr: "127.0.0.1:0", Refresh: RefreshConfig{Timeout: -time.Second}},
			"Refresh.Timeout (--refresh-timeout) must be between 100ms and 5m0s (got -1s)"},
		{"refresh timeout too long", Config{Store: st, Keys: ring, GRPCAddr: "127.0.0.1:0", Refresh: RefreshConfig{Timeout: time.Hour}},
			"Refresh.Timeout (--refresh-timeout) must be between 100ms and 5m0s (got 1h0m0s)"},
		{"negative coalesce window", Config{Store: st, Keys: ring, GRPCAddr: "127.0.0.1:0", Refresh: RefreshConfig{Coalesce: -time.Millisecond}},
			"Refresh.Coalesce (--refresh-coalesce) must be between 1ms and 1m0s (got -1ms)"},
		{"coalesce window below 1ms", Config{Store: st, Keys: ring, GRPCAddr: "127.0.0.1:0", Refresh: RefreshConfig{Coalesce: time.Microsecond}},
			"Refresh.Coalesce (--refresh-coalesce) must be between 1ms"},
		{"negative refresh rate", Config{Store: st, Keys: ring, GRPCAddr: "127.0.0.1:0", Refresh: RefreshConfig{AccountRate: -1}},
			"Refresh.AccountRate (--refresh-account-rate) must be above 0 and at most 10000 requests per second (got -1)"},
		{"NaN refresh rate", Config{Store: st, Keys: ring, GRPCAddr: "127.0.0.1:0", Refresh: RefreshConfig{GlobalRate: math.NaN()}},
			"Refresh.GlobalRate (--refresh-global-rate) must be above 0 and at most 10000 requests per second (got NaN)"},
		{"infinite refresh rate", Config{Store: st, Keys: ring, GRPCAddr: "127.0.0.1:0", Refresh: RefreshConfig{GlobalRate: math.Inf(1)}},
			"Refresh.GlobalRate (--refresh-global-rate) must be above 0 and at most 10000"},
		{"no refresh workers", Config{Store: st, Keys: ring, GRPCAddr: "127.0.0.1:0", Refresh: RefreshConfig{Workers: -2}},
			"Refresh.Workers (--refresh-workers) must be between 1 and 1024 (got -2)"},
		{"too many refresh workers", Config{Store: st, Keys: ring, GRPCAddr: "127.0.0.1:0", Refresh: RefreshConfig{Workers: 5000}},
			"Refresh.Workers (--refresh-workers) must be between 1 and 1024 (got 5000)"},
		{"negative account burst", Config{Store: st, Keys: ring, GRPCAddr: "127.0.0.1:0", Refresh: RefreshConfig{AccountBurst: -1}},
			"Refresh.AccountBurst (--refresh-account-burst) must be between 1 and 100000 (got -1)"},
		{"global burst too large", Config{Store: st, Keys: ring, GRPCAddr: "127.0.0.1:0", Refresh: RefreshConfig{GlobalBurst: 1 << 30}},
			"Refresh.GlobalBurst (--refresh-global-burst) must be between 1 and 100000"},
		{"max pending too large", Config{Store: st, Keys: ring, GRPCAddr: "127.0.0.1:0", Refresh: RefreshConfig{MaxPending: 2000000}},
			"Refresh.MaxPending (--refresh-max-pending) must be between 1 and 1000000 (got 2000000)"},
		{"backoff max below min", Config{Store: st, Keys: ring, GRPCAddr: "127.0.0.1:0", Refresh: RefreshConfig{BackoffMin: time.Second, BackoffMax: time.Millisecond}}, "BackoffMax (1ms) must not be below BackoffMin (1s)"},
	} {
		if err := tc.cfg.CheckAndSetDefaults(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
	// Plaintext elsewhere than loopback only when asked for; TLS anywhere.
	for _, cfg := range []Config{
		{Store: st, Keys: ring, GRPCAddr: ":9091", AllowPlaintextNonLoopback: true},
		{Store: st, Keys: ring, GRPCAddr: ":9091", GRPCTLS: tlsCfg},
		{Store: st, Keys: ring, GRPCAddr: "localhost:9091"},
	} {
		if err := cfg.CheckAndSetDefaults(); err != nil {
			t.Errorf("%s: %v", cfg.GRPCAddr, err)
		}
	}
}

// TestNewRefusesAStoreThatHoldsTheKey: a registry created before the key
// file kept the key in the store; the bridge does not start on it until
// the key is migrated out.
func TestNewRefusesAStoreThatHoldsTheKey(t *testing.T) {
	ctx := context.Background()
	st, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "b.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Setting(ctx, LegacyKeySetting, func() (string, error) { return "c2VjcmV0", nil }); err != nil {
		t.Fatal(err)
	}
	_, err = New(ctx, Config{Store: st, Keys: testRing(t), GRPCAddr: "127.0.0.1:0"})
	if err == nil || !strings.Contains(err.Error(), "spinops bridge migrate-key") {
		t.Fatalf("got %v", err)
	}
}

// TestAdminAuthCoversStreams: the stream interceptor refuses an admin
// streaming method without the admin token, so no future streaming admin
// method can skip authentication; other services' streams pass.
func TestAdminAuthCoversStreams(t *testing.T) {
	s := newUnstartedServer(t)
	s.cfg.AdminTokens = []string{"tok"}
	called := false
	handler := func(any, grpc.ServerStream) error { called = true; return nil }
	err := s.streamAdminAuth(nil, &fakeStream{ctx: context.Background()}, &grpc.StreamServerInfo{FullMethod: adminServicePrefix + "WatchAccounts"}, handler)
	if status.Code(err) != codes.Unauthenticated || called {
		t.Fatalf("an admin stream without a token: %v (handler called: %v)", err, called)
	}
	ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", "Bearer tok"))
	if err := s.streamAdminAuth(nil, &fakeStream{ctx: ctx}, &grpc.StreamServerInfo{FullMethod: adminServicePrefix + "WatchAccounts"}, handler); err != nil || !called {
		t.Fatalf("an admin stream with the token: %v", err)
	}
	called = false
	if err := s.streamAdminAuth(nil, &fakeStream{ctx: context.Background()}, &grpc.StreamServerInfo{FullMethod: "/spinops.bridge.v1.AgentService/Connect"}, handler); err != nil || !called {
		t.Fatalf("the agent stream: %v", err)
	}
}

type fakeStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (f *fakeStream) Context() context.Context { return f.ctx }

// TestMethodLabelIsAFixedSet: invented HTTP methods do not become metric
// label values.
func TestMethodLabelIsAFixedSet(t *testing.T) {
	for in, want := range map[string]string{"GET": "get", "PATCH": "patch", "DELETE": "delete", "BREW": "other", "get": "other", "X-" + strings.Repeat("A", 100): "other"} {
		if got := methodLabel(in); got != want {
			t.Errorf("methodLabel(%q) = %q, want %q", in, got, want)
		}
	}
}
