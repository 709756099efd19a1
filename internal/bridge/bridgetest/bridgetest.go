// Package bridgetest runs a real bridge in the calling test's process: TLS
// from a fresh CA, a SQLite registry in a temporary directory, the
// per-account endpoint on loopback, and an admin client. For tests and
// benchmarks of other packages; the bridge's own tests have a harness that
// also restarts and reconfigures it.
package bridgetest

import (
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"

	bridgev1 "github.com/spinops/terraform-provider-spinops/proto/spinops/bridge/v1"

	"github.com/spinops/terraform-provider-spinops/internal/bridge"
	"github.com/spinops/terraform-provider-spinops/internal/bridge/store"
)

// AdminToken is the admin token of every bridge Start runs.
const AdminToken = "bridgetest-admin-token"

// Bridge is a running bridge, stopped when the test ends.
type Bridge struct {
	*bridge.Server
	// Addr is the gRPC address (agents and admin).
	Addr string
	// CA issued the serving certificate; CAPEM and CAFile are its
	// certificate, what agents and clients trust.
	CA     *bridge.CA
	CAPEM  string
	CAFile string
	// Admin is an admin client; use AdminCtx for its calls.
	Admin bridgev1.AdminServiceClient
}

// AdminCtx carries the admin token.
func AdminCtx() context.Context {
	return metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+AdminToken)
}

// Start runs a bridge. opts adjust its Config before it starts; when they
// set AdminIdentities, client certificates of CA are verified (mTLS).
func Start(tb testing.TB, opts ...func(*bridge.Config)) *Bridge {
	tb.Helper()
	ca, err := bridge.NewCA("bridgetest")
	if err != nil {
		tb.Fatal(err)
	}
	pair, _, _, err := ca.IssueServer("127.0.0.1", "localhost")
	if err != nil {
		tb.Fatal(err)
	}
	dir := tb.TempDir()
	st, err := store.OpenSQLite(context.Background(), filepath.Join(dir, "bridge.db"))
	if err != nil {
		tb.Fatal(err)
	}
	// The endpoint URL goes into kubeconfigs, so its port is chosen first.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	ep := l.Addr().String()
	_ = l.Close()
	key, err := bridge.NewKey(bridge.NewKeyID())
	if err != nil {
		tb.Fatal(err)
	}
	keys, err := bridge.NewKeyRing(key)
	if err != nil {
		tb.Fatal(err)
	}
	tc := &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
	cfg := bridge.Config{
		Store: st, Keys: keys, GRPCAddr: "127.0.0.1:0", GRPCTLS: tc, EndpointAddr: ep, EndpointTLS: tc,
		EndpointURL: "https://" + ep, EndpointCAPEM: ca.CertPEM, AdminTokens: []string{AdminToken},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	for _, o := range opts {
		o(&cfg)
	}
	if len(cfg.AdminIdentities) > 0 {
		mtls := tc.Clone()
		mtls.ClientCAs, mtls.ClientAuth = ca.Pool(), tls.VerifyClientCertIfGiven
		cfg.GRPCTLS = mtls
	}
	s, err := bridge.New(context.Background(), cfg)
	if err != nil {
		tb.Fatal(err)
	}
	if err := s.Start(); err != nil {
		tb.Fatal(err)
	}
	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, ca.CertPEM, 0o600); err != nil {
		tb.Fatal(err)
	}
	cc, err := grpc.NewClient(s.GRPCAddr(), grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: ca.Pool(), MinVersion: tls.VersionTLS12})))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = cc.Close(); s.Stop(); _ = st.Close() })
	return &Bridge{Server: s, Addr: s.GRPCAddr(), CA: ca, CAPEM: string(ca.CertPEM), CAFile: caFile, Admin: bridgev1.NewAdminServiceClient(cc)}
}
