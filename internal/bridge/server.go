// Package bridge is the bridge half of the Armory Agent design: agents in
// the target clusters dial out to it over gRPC and stream their clusters'
// state; it keeps the account registry (SQLite or MySQL), a watch-fed cache
// per account, and a per-account Kubernetes API endpoint that answers reads
// from the cache and forwards everything else to the agent.
package bridge

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
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
	// Keys derive agent credentials and endpoint tokens (required). They
	// live outside the store (LoadKeyRing reads the key file); SetKeys
	// replaces them while the bridge runs. Replicas sharing a store must
	// use the same key file: a credential derived by one replica is
	// verified by whichever replica the agent dials.
	Keys *KeyRing
	// BridgeID names this replica (default: a random id).
	BridgeID string

	// GRPCAddr is where agents and admin clients connect (":9091").
	GRPCAddr string
	// GRPCTLS serves gRPC over TLS; set ClientCAs and
	// ClientAuth = VerifyClientCertIfGiven for mTLS. Nil: plaintext, which
	// is refused on any address but loopback unless
	// AllowPlaintextNonLoopback says so (credentials would cross the
	// network in the clear).
	GRPCTLS                   *tls.Config
	AllowPlaintextNonLoopback bool
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
	// MinRequestTimeout: a watch the cache answers without a timeoutSeconds
	// (or with 0) ends after between this and twice this, at random, as
	// kube-apiserver's --min-request-timeout (default 30m; k8s.io/apiserver
	// v0.37.2 pkg/endpoints/handlers/get.go handleWatch); the client then
	// watches again, so long watches spread over replicas and restarts.
	MinRequestTimeout time.Duration

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
	// (default 1s): a credential rotated or an account deregistered through
	// another replica is cut here within it.
	SyncInterval time.Duration

	// Limits bound what one account may cost the bridge (limits.go).
	Limits Limits

	// Refresh bounds the re-cache requests the bridge sends to the
	// Clouddriver of accounts that name one (refresh.go).
	Refresh RefreshConfig

	// Spinnaker, when set, lets the bridge disable the SpinnakerAccount of
	// an account whose agent has been gone longer than its grace period,
	// and enable it again when the agent is back (withdraw.go).
	Spinnaker *SpinnakerAccounts

	Logger *slog.Logger
}

// HTTP limits of the endpoint and the ops listener.
const (
	httpReadHeaderTimeout = 10 * time.Second
	httpIdleTimeout       = 2 * time.Minute
	// httpMaxHeaderBytes: a bearer token, Accept and the like need a few
	// KiB; Go's default (1 MiB) would let one client hold much more.
	httpMaxHeaderBytes = 64 << 10
)

// Server is a running bridge.
type Server struct {
	cfg     Config
	log     *slog.Logger
	cache   *cache.Cache
	reg     registry
	metrics *metrics
	refresh *refresher
	keyRing atomic.Pointer[KeyRing]

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
	spinSwitch      *accountSwitch
	stopSwitch      context.CancelFunc
	peerOnce        sync.Once
	peerTransport   *http.Transport
}

// CheckAndSetDefaults fills what cfg leaves unset and checks the result:
// the one place the bridge's defaults and rules live.
func (cfg *Config) CheckAndSetDefaults() error {
	if cfg.Store == nil {
		return errors.New("bridge: a store is required")
	}
	if cfg.Keys == nil {
		return errors.New("bridge: a key ring is required (spinops bridge --key-file; spinops bridge keygen makes one)")
	}
	if cfg.EndpointAddr != "" && cfg.EndpointTLS == nil {
		return errors.New("bridge: the Kubernetes endpoint needs a TLS certificate (kubectl and Clouddriver send bearer tokens)")
	}
	if cfg.GRPCTLS == nil && !cfg.AllowPlaintextNonLoopback && !loopbackAddr(cfg.GRPCAddr) {
		return fmt.Errorf("bridge: plaintext gRPC on %q would carry agent credentials and admin tokens in the clear: "+
			"serve TLS, listen on loopback (127.0.0.1:PORT), or allow it explicitly (--insecure-grpc-allow-remote)", cfg.GRPCAddr)
	}
	if cfg.PeerURL != "" && cfg.BridgeID == "" {
		return errors.New("bridge: replication (PeerURL) needs a stable, unique BridgeID (the pod name)")
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
		cfg.SyncInterval = time.Second
	}
	if cfg.MinRequestTimeout == 0 {
		cfg.MinRequestTimeout = 30 * time.Minute
	}
	for what, d := range map[string]time.Duration{"GracePeriod": cfg.GracePeriod, "HeartbeatInterval": cfg.HeartbeatInterval,
		"HoldTTL": cfg.HoldTTL, "SyncInterval": cfg.SyncInterval, "MinRequestTimeout": cfg.MinRequestTimeout} {
		if d < 0 {
			return fmt.Errorf("bridge: %s must not be negative (got %s)", what, d)
		}
	}
	if cfg.MaxMessageBytes < 0 {
		return fmt.Errorf("bridge: MaxMessageBytes must not be negative (got %d)", cfg.MaxMessageBytes)
	}
	if err := cfg.Refresh.checkAndSetDefaults(); err != nil {
		return err
	}
	if cfg.Spinnaker != nil {
		if err := cfg.Spinnaker.checkAndSetDefaults(); err != nil {
			return err
		}
	}
	return cfg.Limits.checkAndSetDefaults()
}

// loopbackAddr reports whether a listen address binds only loopback.
func loopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// New checks cfg and loads the registry; Start serves.
func New(ctx context.Context, cfg Config) (*Server, error) {
	if err := cfg.CheckAndSetDefaults(); err != nil {
		return nil, err
	}
	s := &Server{
		cfg:   cfg,
		log:   cfg.Logger.With("component", "bridge", "bridge", cfg.BridgeID),
		reg:   registry{accounts: map[string]*accountState{}},
		ready: make(chan struct{}),
	}
	s.cache = cache.New(cache.Options{HistoryBytes: cfg.Limits.MaxHistoryBytes, OnHistoryEvict: func(_ string, n int) {
		s.metrics.historyEvicted.Add(float64(n))
	}})
	s.keyRing.Store(cfg.Keys)
	s.metrics = newMetrics(s)
	s.refresh = newRefresher(cfg.Refresh, s.metrics, s.log)
	if cfg.Spinnaker != nil {
		s.spinSwitch = newAccountSwitch(s, cfg.Spinnaker)
	}
	if cfg.GRPCTLS == nil && !loopbackAddr(cfg.GRPCAddr) {
		s.log.Warn("gRPC is served in PLAINTEXT on a non-loopback address: agent credentials and admin tokens cross the network in the clear", "grpc", cfg.GRPCAddr)
	}
	// Registries created before the key file kept the key in the store,
	// where a copy of the database could mint every credential.
	if _, found, err := cfg.Store.LookupSetting(ctx, LegacyKeySetting); err != nil {
		return nil, fmt.Errorf("bridge: checking the store for a key: %w", err)
	} else if found {
		return nil, errors.New("bridge: the store still holds the bridge key (a registry created before the key file), " +
			"so a copy of the database could mint credentials: run `spinops bridge migrate-key --key-file FILE` once with the same store flags; " +
			"it moves the key into the key file (id \"legacy\") and deletes it from the store")
	}
	if err := s.loadRegistry(ctx); err != nil {
		return nil, fmt.Errorf("bridge: %w", err)
	}
	return s, nil
}

// keys is the current key ring.
func (s *Server) keys() *KeyRing { return s.keyRing.Load() }

// SetKeys replaces the key ring (the key file changed): credentials of
// keys no longer in it stop being accepted at once.
func (s *Server) SetKeys(r *KeyRing) {
	if r != nil {
		s.keyRing.Store(r)
		s.log.Info("bridge keys loaded", "keys", r.IDs())
	}
}

// Start binds the listeners and serves in the background.
func (s *Server) Start() error {
	var err error
	opts := []grpc.ServerOption{
		grpc.MaxRecvMsgSize(s.cfg.MaxMessageBytes),
		grpc.ChainUnaryInterceptor(s.unaryAdminAuth),
		grpc.ChainStreamInterceptor(s.streamAdminAuth),
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
		s.endpoint = &http.Server{Handler: s.endpointHandler(), TLSConfig: s.cfg.EndpointTLS,
			// No ReadTimeout/WriteTimeout: watches and log follows stream
			// for as long as the client wants; request bodies are bounded
			// by size (maxRequestBody).
			ReadHeaderTimeout: httpReadHeaderTimeout, IdleTimeout: httpIdleTimeout, MaxHeaderBytes: httpMaxHeaderBytes}
		s.serveBackground("Kubernetes endpoint", func() error { return s.endpoint.ServeTLS(s.epLis, "", "") })
	}
	if s.cfg.OpsAddr != "" {
		if s.opsLis, err = net.Listen("tcp", s.cfg.OpsAddr); err != nil {
			s.Stop()
			return fmt.Errorf("bridge: listening for /healthz and /metrics on %s: %w", s.cfg.OpsAddr, err)
		}
		s.ops = &http.Server{Handler: s.opsHandler(), ReadHeaderTimeout: httpReadHeaderTimeout, ReadTimeout: 30 * time.Second,
			WriteTimeout: 30 * time.Second, IdleTimeout: httpIdleTimeout, MaxHeaderBytes: httpMaxHeaderBytes}
		s.serveBackground("ops", func() error { return s.ops.Serve(s.opsLis) })
	}
	if s.replicated() {
		ctx, cancel := context.WithCancel(context.Background())
		s.stopReplication = cancel
		s.syncFromStore(ctx)
		s.wg.Add(1)
		go func() { defer s.wg.Done(); s.replicate(ctx) }()
	}
	s.refresh.start()
	if s.spinSwitch != nil {
		ctx, cancel := context.WithCancel(context.Background())
		s.stopSwitch = cancel
		s.wg.Add(1)
		go func() { defer s.wg.Done(); s.spinSwitch.run(ctx) }()
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
	if s.stopSwitch != nil {
		s.stopSwitch()
	}
	s.wg.Wait()
	if s.refresh != nil {
		s.refresh.close()
	}
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
