package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/spinops/terraform-provider-spinops/internal/bridge"
	"github.com/spinops/terraform-provider-spinops/internal/bridge/store"
)

type bridgeFlags struct {
	grpcAddr, endpointAddr, endpointURL, opsAddr string
	sqlitePath, mysqlDSNEnv                      string
	tlsCert, tlsKey, clientCA, selfSignedDir     string
	insecure                                     bool
	adminTokenFile                               string
	adminIdentities                              []string
	grace, heartbeat                             time.Duration
	maxMessageBytes                              int
	replicaID, peerURL                           string
}

func newBridgeCommand() *cobra.Command {
	var f bridgeFlags
	cmd := &cobra.Command{
		Use:   "bridge",
		Short: "Run the bridge: agents stream their clusters to it; Spinnaker reads them through its per-account Kubernetes endpoint",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runBridge(cmd, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.grpcAddr, "grpc-addr", ":9091", "address of the gRPC server (agents and admin)")
	fl.StringVar(&f.endpointAddr, "endpoint-addr", ":8443", "address of the per-account Kubernetes API endpoint (HTTPS); empty disables it")
	fl.StringVar(&f.endpointURL, "endpoint-url", "", "URL clients reach the endpoint at (written into kubeconfigs), e.g. https://spinops-bridge.spinnaker:8443")
	fl.StringVar(&f.opsAddr, "ops-addr", ":8080", "address of /healthz, /readyz and /metrics")
	fl.StringVar(&f.sqlitePath, "sqlite", "/var/lib/spinops/bridge.db", "SQLite registry file (the default store)")
	fl.StringVar(&f.mysqlDSNEnv, "mysql-dsn-env", "", "name of an environment variable holding a MySQL DSN (user:pass@tcp(host:3306)/db); when set, MySQL is the store")
	fl.StringVar(&f.tlsCert, "tls-cert", "", "serving certificate (PEM) of gRPC and the endpoint")
	fl.StringVar(&f.tlsKey, "tls-key", "", "its key")
	fl.StringVar(&f.clientCA, "client-ca", "", "CA of agent and admin client certificates (enables mTLS; certificates stay optional)")
	fl.StringVar(&f.selfSignedDir, "self-signed-dir", "", "create a CA and serving certificate in this directory when --tls-cert is not given (ca.pem is what agents trust)")
	fl.BoolVar(&f.insecure, "insecure-grpc", false, "serve gRPC in plaintext (local development only)")
	fl.StringVar(&f.adminTokenFile, "admin-token-file", "", "file holding the admin token (or set SPINOPS_ADMIN_TOKEN)")
	fl.StringSliceVar(&f.adminIdentities, "admin-identity", nil, "client certificate identity (CN or SAN) allowed to call the admin service")
	fl.DurationVar(&f.grace, "grace-period", 5*time.Minute, "default time a disconnected account stays known before it is withdrawn")
	fl.DurationVar(&f.heartbeat, "heartbeat-interval", 10*time.Second, "how often agents must send a heartbeat")
	fl.IntVar(&f.maxMessageBytes, "max-message-bytes", 16<<20, "largest message accepted from an agent")
	fl.StringVar(&f.replicaID, "replica-id", "", "this replica's id, stable and unique (the pod name); default: a random id")
	fl.StringVar(&f.peerURL, "peer-url", "", "run as one of several replicas sharing the MySQL store: this replica's endpoint as the other replicas reach it "+
		"(e.g. https://$(POD_IP):8443); needs --mysql-dsn-env and --replica-id")
	return cmd
}

func runBridge(cmd *cobra.Command, f bridgeFlags) error {
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))

	var st store.Store
	var err error
	if f.mysqlDSNEnv != "" {
		dsn := os.Getenv(f.mysqlDSNEnv)
		if dsn == "" {
			return fmt.Errorf("--mysql-dsn-env names %s, which is empty", f.mysqlDSNEnv)
		}
		st, err = store.OpenMySQL(ctx, dsn)
	} else {
		st, err = store.OpenSQLite(ctx, f.sqlitePath)
	}
	if err != nil {
		return err
	}
	defer st.Close()

	cert, caPEM, err := servingCertificate(f)
	if err != nil {
		return err
	}
	if f.peerURL != "" && (f.mysqlDSNEnv == "" || f.replicaID == "") {
		return errors.New("--peer-url (several replicas) needs the shared MySQL store (--mysql-dsn-env) and a stable --replica-id")
	}
	cfg := bridge.Config{
		BridgeID:          f.replicaID,
		PeerURL:           strings.TrimRight(f.peerURL, "/"),
		Store:             st,
		GRPCAddr:          f.grpcAddr,
		MaxMessageBytes:   f.maxMessageBytes,
		EndpointAddr:      f.endpointAddr,
		EndpointURL:       strings.TrimRight(f.endpointURL, "/"),
		EndpointCAPEM:     caPEM,
		OpsAddr:           f.opsAddr,
		AdminIdentities:   f.adminIdentities,
		GracePeriod:       f.grace,
		HeartbeatInterval: f.heartbeat,
		Logger:            log,
	}
	if tok := os.Getenv("SPINOPS_ADMIN_TOKEN"); tok != "" {
		cfg.AdminTokens = append(cfg.AdminTokens, tok)
	}
	if f.adminTokenFile != "" {
		b, err := os.ReadFile(f.adminTokenFile)
		if err != nil {
			return fmt.Errorf("reading the admin token: %w", err)
		}
		cfg.AdminTokens = append(cfg.AdminTokens, strings.TrimSpace(string(b)))
	}
	if len(cfg.AdminTokens) == 0 && len(cfg.AdminIdentities) == 0 {
		log.Warn("no admin token and no admin identity: the admin service refuses every call")
	}
	if cert != nil {
		tc := &tls.Config{Certificates: []tls.Certificate{*cert}, MinVersion: tls.VersionTLS12}
		if f.clientCA != "" {
			pem, err := os.ReadFile(f.clientCA)
			if err != nil {
				return fmt.Errorf("reading --client-ca: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return fmt.Errorf("--client-ca %s holds no PEM certificate", f.clientCA)
			}
			tc.ClientCAs = pool
			tc.ClientAuth = tls.VerifyClientCertIfGiven
		}
		if !f.insecure {
			cfg.GRPCTLS = tc
		}
		cfg.EndpointTLS = &tls.Config{Certificates: []tls.Certificate{*cert}, MinVersion: tls.VersionTLS12}
	} else if cfg.EndpointAddr != "" {
		return errors.New("the Kubernetes endpoint needs --tls-cert/--tls-key or --self-signed-dir (or --endpoint-addr='')")
	}
	if cfg.GRPCTLS == nil && !f.insecure {
		return errors.New("gRPC needs --tls-cert/--tls-key or --self-signed-dir; --insecure-grpc serves plaintext for local development")
	}
	s, err := bridge.New(ctx, cfg)
	if err != nil {
		return err
	}
	if err := s.Start(); err != nil {
		return err
	}
	<-ctx.Done()
	log.Info("stopping")
	s.Stop()
	return nil
}

// servingCertificate loads --tls-cert/--tls-key or creates a self-signed
// pair in --self-signed-dir (kept across restarts).
func servingCertificate(f bridgeFlags) (*tls.Certificate, []byte, error) {
	switch {
	case f.tlsCert != "":
		pair, err := tls.LoadX509KeyPair(f.tlsCert, f.tlsKey)
		if err != nil {
			return nil, nil, fmt.Errorf("loading --tls-cert/--tls-key: %w", err)
		}
		var caPEM []byte
		if f.clientCA != "" {
			caPEM, _ = os.ReadFile(f.clientCA)
		}
		return &pair, caPEM, nil
	case f.selfSignedDir != "":
		certFile, keyFile, caFile := filepath.Join(f.selfSignedDir, "tls.crt"), filepath.Join(f.selfSignedDir, "tls.key"), filepath.Join(f.selfSignedDir, "ca.pem")
		if pair, err := tls.LoadX509KeyPair(certFile, keyFile); err == nil {
			caPEM, err := os.ReadFile(caFile)
			if err != nil {
				return nil, nil, fmt.Errorf("reading %s: %w", caFile, err)
			}
			return &pair, caPEM, nil
		}
		ca, err := bridge.NewCA("spinops-bridge-ca")
		if err != nil {
			return nil, nil, err
		}
		host, _ := os.Hostname()
		pair, certPEM, keyPEM, err := ca.IssueServer("localhost", "127.0.0.1", host, "spinops-bridge")
		if err != nil {
			return nil, nil, err
		}
		if err := os.MkdirAll(f.selfSignedDir, 0o700); err != nil {
			return nil, nil, fmt.Errorf("creating %s: %w", f.selfSignedDir, err)
		}
		for p, b := range map[string][]byte{certFile: certPEM, keyFile: keyPEM, caFile: ca.CertPEM} {
			if err := os.WriteFile(p, b, 0o600); err != nil {
				return nil, nil, fmt.Errorf("writing %s: %w", p, err)
			}
		}
		return &pair, ca.CertPEM, nil
	}
	return nil, nil, nil
}
