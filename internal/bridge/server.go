// Package bridge is the bridge half of the Armory Agent design: agents in
// the target clusters dial out to it over gRPC and stream their clusters'
// state; it keeps the account registry (SQLite or MySQL), a watch-fed cache
// per account, and a per-account Kubernetes API endpoint that answers reads
// from the cache and forwards everything else to the agent.
package bridge

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"

	bridgev1 "github.com/spinops/terraform-provider-spinops/proto/spinops/bridge/v1"

	"github.com/spinops/terraform-provider-spinops/internal/bridge/cache"
	"github.com/spinops/terraform-provider-spinops/internal/bridge/store"
)

// Config configures a bridge.
type Config struct {
	// Store keeps the registrations (required).
	Store store.Store
	// BridgeID names this replica (default: a random id).
	BridgeID string

	// GRPCAddr is where agents and admin clients connect (":9091").
	GRPCAddr string
	// GRPCTLS serves gRPC over TLS; set ClientCAs and
	// ClientAuth = VerifyClientCertIfGiven for mTLS. Nil: plaintext (local
	// development only).
	GRPCTLS *tls.Config
	// MaxMessageBytes bounds one message from an agent (default 16 MiB).
	MaxMessageBytes int

	// EndpointAddr serves the per-account Kubernetes API (":8443"); empty
	// disables it. EndpointTLS is required with it.
	EndpointAddr string
	EndpointTLS  *tls.Config
	// EndpointURL is how clients reach the endpoint (it goes into
	// kubeconfigs), e.g. https://spinops-bridge.spinnaker:8443.
	EndpointURL string
	// EndpointCAPEM is the CA of the endpoint's serving certificate.
	EndpointCAPEM []byte

	// OpsAddr serves /healthz, /readyz and /metrics (":8080"); empty
	// disables it.
	OpsAddr string

	// AdminTokens and AdminIdentities (client certificate CN/SANs) may call
	// the admin service.
	AdminTokens     []string
	AdminIdentities []string

	// GracePeriod is the default time a disconnected account stays known
	// before it is withdrawn (default 5m).
	GracePeriod time.Duration
	// HeartbeatInterval is how often agents must send something (default 10s).
	HeartbeatInterval time.Duration

	// PeerURL turns on replication with other replicas that share Store
	// (MySQL): this replica's Kubernetes endpoint as the other replicas
	// reach it (e.g. https://<pod IP>:8443). Replicas then hold each
	// account's agent stream through a lease in the store, report each
	// other's accounts, and forward endpoint requests to the replica whose
	// agent serves the account. BridgeID must then be stable and unique per
	// replica (the pod name).
	PeerURL string
	// HoldTTL is how long a replica's hold of an account lasts without
	// renewal (default 3 heartbeat intervals); it is renewed every third of
	// it, which is also how fresh other replicas' view of the status is.
	HoldTTL time.Duration
	// SyncInterval is how often a replica re-reads registrations and holds
	// (default 2s).
	SyncInterval time.Duration

	Logger *slog.Logger
}

// Server is a running bridge.
type Server struct {
	cfg       Config
	log       *slog.Logger
	cache     *cache.Cache
	reg       registry
	metrics   *metrics
	secretKey []byte

	grpc     *grpc.Server
	health   *health.Server
	grpcLis  net.Listener
	endpoint *http.Server
	epLis    net.Listener
	ops      *http.Server
	opsLis   net.Listener
	wg       sync.WaitGroup
	ready    chan struct{}

	stopReplication context.CancelFunc
	peerOnce        sync.Once
	peerTransport   *http.Transport
}

// New checks cfg and loads the registry; Start serves.
func New(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.Store == nil {
		return nil, errors.New("bridge: a store is required")
	}
	if cfg.EndpointAddr != "" && cfg.EndpointTLS == nil {
		return nil, errors.New("bridge: the Kubernetes endpoint needs a TLS certificate (kubectl and Clouddriver send bearer tokens)")
	}
	if cfg.BridgeID == "" {
		cfg.BridgeID = "bridge-" + newID()[:8]
	}
	if cfg.MaxMessageBytes == 0 {
		cfg.MaxMessageBytes = 16 << 20
	}
	if cfg.GracePeriod == 0 {
		cfg.GracePeriod = 5 * time.Minute
	}
	if cfg.HeartbeatInterval == 0 {
		cfg.HeartbeatInterval = 10 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.HoldTTL == 0 {
		cfg.HoldTTL = missedHeartbeats * cfg.HeartbeatInterval
	}
	if cfg.SyncInterval == 0 {
		cfg.SyncInterval = 2 * time.Second
	}
	s := &Server{
		cfg:   cfg,
		log:   cfg.Logger.With("component", "bridge", "bridge", cfg.BridgeID),
		cache: cache.New(),
		reg:   registry{accounts: map[string]*accountState{}},
		ready: make(chan struct{}),
	}
	s.metrics = newMetrics(s)
	key, err := cfg.Store.Setting(ctx, "endpoint-token-key", func() (string, error) {
		b := make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			return "", err
		}
		return base64.StdEncoding.EncodeToString(b), nil
	})
	if err != nil {
		return nil, fmt.Errorf("bridge: loading the endpoint token key: %w", err)
	}
	if s.secretKey, err = base64.StdEncoding.DecodeString(key); err != nil {
		return nil, fmt.Errorf("bridge: decoding the endpoint token key: %w", err)
	}
	if err := s.loadRegistry(ctx); err != nil {
		return nil, fmt.Errorf("bridge: %w", err)
	}
	return s, nil
}

// Start binds the listeners and serves in the background.
func (s *Server) Start() error {
	var err error
	opts := []grpc.ServerOption{
		grpc.MaxRecvMsgSize(s.cfg.MaxMessageBytes),
		grpc.ChainUnaryInterceptor(s.unaryAdminAuth),
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: 30 * time.Second, Timeout: 10 * time.Second}),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 10 * time.Second, PermitWithoutStream: true}),
	}
	if s.cfg.GRPCTLS != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(s.cfg.GRPCTLS)))
	}
	s.grpc = grpc.NewServer(opts...)
	bridgev1.RegisterAgentServiceServer(s.grpc, &agentService{s: s})
	bridgev1.RegisterAdminServiceServer(s.grpc, &adminService{s: s})
	s.health = health.NewServer()
	healthpb.RegisterHealthServer(s.grpc, s.health)

	if s.grpcLis, err = net.Listen("tcp", s.cfg.GRPCAddr); err != nil {
		return fmt.Errorf("bridge: listening for gRPC on %s: %w", s.cfg.GRPCAddr, err)
	}
	s.serveBackground("gRPC", func() error { return s.grpc.Serve(s.grpcLis) })

	if s.cfg.EndpointAddr != "" {
		if s.epLis, err = net.Listen("tcp", s.cfg.EndpointAddr); err != nil {
			s.Stop()
			return fmt.Errorf("bridge: listening for the Kubernetes endpoint on %s: %w", s.cfg.EndpointAddr, err)
		}
		s.endpoint = &http.Server{Handler: s.endpointHandler(), TLSConfig: s.cfg.EndpointTLS, ReadHeaderTimeout: 10 * time.Second}
		s.serveBackground("Kubernetes endpoint", func() error { return s.endpoint.ServeTLS(s.epLis, "", "") })
	}
	if s.cfg.OpsAddr != "" {
		if s.opsLis, err = net.Listen("tcp", s.cfg.OpsAddr); err != nil {
			s.Stop()
			return fmt.Errorf("bridge: listening for /healthz and /metrics on %s: %w", s.cfg.OpsAddr, err)
		}
		s.ops = &http.Server{Handler: s.opsHandler(), ReadHeaderTimeout: 10 * time.Second}
		s.serveBackground("ops", func() error { return s.ops.Serve(s.opsLis) })
	}
	if s.replicated() {
		ctx, cancel := context.WithCancel(context.Background())
		s.stopReplication = cancel
		s.syncFromStore(ctx)
		s.wg.Add(1)
		go func() { defer s.wg.Done(); s.replicate(ctx) }()
	}
	s.health.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	close(s.ready)
	s.log.Info("bridge serving", "grpc", s.GRPCAddr(), "endpoint", s.EndpointAddr(), "ops", s.OpsAddr())
	return nil
}

func (s *Server) serveBackground(what string, serve func() error) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := serve(); err != nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, grpc.ErrServerStopped) && !errors.Is(err, net.ErrClosed) {
			s.log.Error("server stopped", "server", what, "err", err)
		}
	}()
}

// Stop ends every stream and server.
func (s *Server) Stop() {
	if s.health != nil {
		s.health.Shutdown()
	}
	if s.grpc != nil {
		s.grpc.Stop()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if s.endpoint != nil {
		_ = s.endpoint.Shutdown(ctx)
		_ = s.endpoint.Close()
	}
	if s.ops != nil {
		_ = s.ops.Shutdown(ctx)
	}
	if s.stopReplication != nil {
		s.stopReplication()
	}
	s.wg.Wait()
	s.reg.mu.Lock()
	for _, st := range s.reg.accounts {
		if st.graceTimer != nil {
			st.graceTimer.Stop()
		}
	}
	s.reg.mu.Unlock()
}

func addrOf(l net.Listener) string {
	if l == nil {
		return ""
	}
	return l.Addr().String()
}

// GRPCAddr is the address gRPC listens on.
func (s *Server) GRPCAddr() string { return addrOf(s.grpcLis) }

// EndpointAddr is the address of the per-account Kubernetes endpoint.
func (s *Server) EndpointAddr() string { return addrOf(s.epLis) }

// OpsAddr is the address of /healthz, /readyz and /metrics.
func (s *Server) OpsAddr() string { return addrOf(s.opsLis) }

// Cache is the bridge's cache (benchmarks and tests observe it).
func (s *Server) Cache() *cache.Cache { return s.cache }

func (s *Server) opsHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-s.ready:
		default:
			http.Error(w, "not serving yet", http.StatusServiceUnavailable)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if _, err := s.cfg.Store.List(ctx); err != nil {
			http.Error(w, "store unreachable: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.Handle("/metrics", promhttp.HandlerFor(s.metrics.registry, promhttp.HandlerOpts{}))
	return mux
}
