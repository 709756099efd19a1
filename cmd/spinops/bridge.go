package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
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
	"github.com/spf13/pflag"

	"github.com/spinops/terraform-provider-spinops/internal/bridge"
	"github.com/spinops/terraform-provider-spinops/internal/bridge/store"
)

type bridgeFlags struct {
	grpcAddr, endpointAddr, endpointURL, opsAddr string
	sqlitePath, mysqlDSNEnv                      string
	tlsCert, tlsKey, tlsCA, clientCA             string
	selfSignedDir, keyFile                       string
	insecure, insecureRemote                     bool
	adminTokenFile                               string
	adminIdentities                              []string
	grace, heartbeat, minRequestTimeout          time.Duration
	maxMessageBytes                              int
	replicaID, peerURL                           string
	limits                                       bridge.Limits
	refresh                                      bridge.RefreshConfig
	spinnakerNamespace, spinnakerKubeconfig      string
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
	fl.StringVar(&f.tlsCA, "tls-ca", "", "CA that issued --tls-cert, written into the kubeconfigs the bridge hands out "+
		"(default: the last certificate of --tls-cert when it holds a chain; none: clients use their system roots)")
	fl.StringVar(&f.keyFile, "key-file", "", "the bridge key ring (a Kubernetes Secret mounted as a file; `spinops bridge keygen` makes one): "+
		"it derives agent credentials and endpoint tokens and never enters the store. Re-read when it changes. "+
		"Default with --self-signed-dir: <dir>/bridge.keys, created when missing")
	fl.StringVar(&f.clientCA, "client-ca", "", "CA of agent and admin client certificates (enables mTLS; certificates stay optional)")
	fl.StringVar(&f.selfSignedDir, "self-signed-dir", "", "create a CA and serving certificate in this directory when --tls-cert is not given (ca.pem is what agents trust)")
	fl.BoolVar(&f.insecure, "insecure-grpc", false, "serve gRPC in plaintext (local development only; loopback addresses only unless --insecure-grpc-allow-remote)")
	fl.BoolVar(&f.insecureRemote, "insecure-grpc-allow-remote", false, "with --insecure-grpc, also serve plaintext on non-loopback addresses: credentials cross the network in the clear")
	fl.StringVar(&f.adminTokenFile, "admin-token-file", "", "file holding the admin token (or set SPINOPS_ADMIN_TOKEN)")
	fl.StringSliceVar(&f.adminIdentities, "admin-identity", nil, "client certificate identity (CN or SAN) allowed to call the admin service")
	fl.DurationVar(&f.grace, "grace-period", 5*time.Minute, "default time a disconnected account stays known before it is withdrawn")
	fl.DurationVar(&f.heartbeat, "heartbeat-interval", 10*time.Second, "how often agents must send a heartbeat")
	fl.DurationVar(&f.minRequestTimeout, "min-request-timeout", 30*time.Minute,
		"a watch the cache answers without timeoutSeconds ends after between this and twice this, at random (as kube-apiserver's flag of the name)")
	fl.IntVar(&f.maxMessageBytes, "max-message-bytes", 16<<20, "largest message accepted from an agent")
	fl.StringVar(&f.replicaID, "replica-id", "", "this replica's id, stable and unique (the pod name); default: a random id")
	fl.StringVar(&f.peerURL, "peer-url", "", "run as one of several replicas sharing the MySQL store: this replica's endpoint as the other replicas reach it "+
		"(e.g. https://$(POD_IP):8443); needs --mysql-dsn-env and --replica-id")
	fl.IntVar(&f.limits.MaxObjects, "max-objects-per-account", 0, "most objects cached for one account; past it the agent is refused for that account (default 100000)")
	fl.IntVar(&f.limits.MaxKinds, "max-kinds-per-account", 0, "most kinds cached for one account (default 256)")
	fl.IntVar(&f.limits.MaxWatches, "max-watches-per-account", 0, "most concurrent watches/streams of one account's endpoint; more get 429 (default 128)")
	fl.Int64Var(&f.limits.MaxHistoryBytes, "max-history-bytes-per-account", 0, "most bytes of watch history kept for one account; past it its oldest events are forgotten "+
		"and a watch from before them gets 410 Expired, so the client lists again (default 32 MiB)")
	addRefreshFlags(fl, &f.refresh)
	fl.StringVar(&f.spinnakerNamespace, "spinnaker-namespace", "", "namespace of Spinnaker's SpinnakerAccounts: when set, the bridge disables the SpinnakerAccount of an account "+
		"whose agent has been gone longer than its grace period (Clouddriver drops it) and enables it again when the agent is back; needs get and patch on spinnakeraccounts there")
	fl.StringVar(&f.spinnakerKubeconfig, "spinnaker-kubeconfig", "", "kubeconfig of Spinnaker's cluster for --spinnaker-namespace (default: the in-cluster service account)")
	cmd.AddCommand(newBridgeKeygenCommand(), newBridgeMigrateKeyCommand())
	return cmd
}

func runBridge(cmd *cobra.Command, f bridgeFlags) error {
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))

	keyFile, err := bridgeKeyFile(f)
	if err != nil {
		return err
	}
	keys, err := bridge.LoadKeyRing(keyFile)
	if err != nil {
		return fmt.Errorf("--key-file: %w", err)
	}
	st, err := openBridgeStore(ctx, f.sqlitePath, f.mysqlDSNEnv)
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
		Keys:              keys,
		GRPCAddr:          f.grpcAddr,
		Limits:            f.limits,
		Refresh:           f.refresh,
		MaxMessageBytes:   f.maxMessageBytes,
		EndpointAddr:      f.endpointAddr,
		EndpointURL:       strings.TrimRight(f.endpointURL, "/"),
		EndpointCAPEM:     caPEM,
		OpsAddr:           f.opsAddr,
		AdminIdentities:   f.adminIdentities,
		GracePeriod:       f.grace,
		MinRequestTimeout: f.minRequestTimeout,
		HeartbeatInterval: f.heartbeat,
		Logger:            log,
	}
	if cfg.Spinnaker, err = spinnakerAccounts(f.spinnakerNamespace, f.spinnakerKubeconfig); err != nil {
		return err
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
	if cfg.GRPCTLS == nil && f.insecureRemote {
		cfg.AllowPlaintextNonLoopback = true
		fmt.Fprintf(cmd.ErrOrStderr(), "WARNING: gRPC is served in plaintext on %s (--insecure-grpc-allow-remote): agent credentials and admin tokens cross the network in the clear\n", f.grpcAddr)
	}
	s, err := bridge.New(ctx, cfg)
	if err != nil {
		return err
	}
	if err := s.Start(); err != nil {
		return err
	}
	go reloadKeys(ctx, s, keyFile, log)
	<-ctx.Done()
	log.Info("stopping")
	s.Stop()
	return nil
}

// addRefreshFlags binds the bounds of the re-cache requests the bridge
// pushes to Clouddriver (bridge.RefreshConfig). 0 takes the default;
// bridge.Config.CheckAndSetDefaults checks the ranges.
func addRefreshFlags(fl *pflag.FlagSet, r *bridge.RefreshConfig) {
	fl.Float64Var(&r.AccountRate, "refresh-account-rate", 0, "re-cache requests per second to one account's Clouddriver, above 0 and at most 10000 (default 50)")
	fl.IntVar(&r.AccountBurst, "refresh-account-burst", 0, "requests to one account's Clouddriver that may go at once before --refresh-account-rate applies, 1-100000 (default 100)")
	fl.Float64Var(&r.GlobalRate, "refresh-global-rate", 0, "re-cache requests per second over all accounts, above 0 and at most 10000 (default 200)")
	fl.IntVar(&r.GlobalBurst, "refresh-global-burst", 0, "requests over all accounts that may go at once before --refresh-global-rate applies, 1-100000 (default 400)")
	fl.IntVar(&r.Workers, "refresh-workers", 0, "re-cache requests in flight at once, 1-1024 (default 8)")
	fl.IntVar(&r.MaxPending, "refresh-max-pending", 0, "changed objects that may wait for a request; changes beyond it are dropped (Clouddriver sees them on its caching cycle), 1-1000000 (default 10000)")
	fl.DurationVar(&r.Coalesce, "refresh-coalesce", 0, "how long a change waits for more changes of the same object before its request is sent, 1ms-1m (default 20ms)")
	fl.DurationVar(&r.Timeout, "refresh-timeout", 0, "time limit of one re-cache request, 100ms-5m (default 5s)")
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
		caPEM, err := servingCA(f.tlsCA, f.tlsCert)
		if err != nil {
			return nil, nil, err
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

// servingCA is the CA of the endpoint's serving certificate, which the
// kubeconfigs the bridge hands out must trust: --tls-ca, else the last
// certificate of a chain in --tls-cert (nil: a single certificate, which
// clients verify with their system roots). Never the client CA: that one
// issues agents' certificates, not the endpoint's.
func servingCA(caFile, certFile string) ([]byte, error) {
	if caFile != "" {
		b, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("reading --tls-ca: %w", err)
		}
		if !x509.NewCertPool().AppendCertsFromPEM(b) {
			return nil, fmt.Errorf("--tls-ca %s holds no PEM certificate", caFile)
		}
		return b, nil
	}
	b, err := os.ReadFile(certFile)
	if err != nil {
		return nil, fmt.Errorf("reading --tls-cert: %w", err)
	}
	var last *pem.Block
	n := 0
	for rest := b; ; {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			break
		}
		if blk.Type == "CERTIFICATE" {
			last, n = blk, n+1
		}
	}
	if n < 2 {
		return nil, nil
	}
	return pem.EncodeToMemory(last), nil
}

// bridgeKeyFile is --key-file, or with --self-signed-dir (development)
// <dir>/bridge.keys, created with a new key when missing.
func bridgeKeyFile(f bridgeFlags) (string, error) {
	if f.keyFile != "" {
		return f.keyFile, nil
	}
	if f.selfSignedDir == "" {
		return "", errors.New("the bridge needs its key file: --key-file FILE (make one with `spinops bridge keygen --out FILE` and keep it " +
			"in a Kubernetes Secret, not in the store); a store created by an older bridge keeps its key in the database: run `spinops bridge migrate-key --key-file FILE` first")
	}
	path := filepath.Join(f.selfSignedDir, "bridge.keys")
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	if err := os.MkdirAll(f.selfSignedDir, 0o700); err != nil {
		return "", fmt.Errorf("creating %s: %w", f.selfSignedDir, err)
	}
	if err := writeNewKeyFile(path, nil); err != nil {
		return "", err
	}
	return path, nil
}

// writeNewKeyFile writes a key file with a new current key followed by
// older keys (0600, created exclusively: an existing key is never
// overwritten).
func writeNewKeyFile(path string, older []bridge.Key) error {
	k, err := bridge.NewKey(bridge.NewKeyID())
	if err != nil {
		return err
	}
	var b strings.Builder
	b.WriteString("# spinops bridge key ring: the first key is current; see `spinops bridge keygen --help`\n")
	for _, k := range append([]bridge.Key{k}, older...) {
		b.WriteString(bridge.KeyLine(k) + "\n")
	}
	fh, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("creating the key file: %w", err)
	}
	if _, err := fh.WriteString(b.String()); err != nil {
		fh.Close()
		return fmt.Errorf("writing the key file %s: %w", path, err)
	}
	if err := fh.Close(); err != nil {
		return fmt.Errorf("writing the key file %s: %w", path, err)
	}
	return nil
}

// reloadKeys re-reads the key file when it changes (a Kubernetes Secret
// update swaps the mounted file), so a key added or retired takes effect
// without a restart. A file that does not parse keeps the keys in use.
func reloadKeys(ctx context.Context, s *bridge.Server, path string, log *slog.Logger) {
	last, _ := os.ReadFile(path)
	t := time.NewTicker(10 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		b, err := os.ReadFile(path)
		if err != nil || bytes.Equal(b, last) {
			continue
		}
		r, err := bridge.LoadKeyRing(path)
		if err != nil {
			log.Error("the changed key file is not valid; keeping the keys in use", "file", path, "err", err)
			continue
		}
		last = b
		s.SetKeys(r)
	}
}

func openBridgeStore(ctx context.Context, sqlitePath, mysqlDSNEnv string) (store.Store, error) {
	if mysqlDSNEnv != "" {
		dsn := os.Getenv(mysqlDSNEnv)
		if dsn == "" {
			return nil, fmt.Errorf("--mysql-dsn-env names %s, which is empty", mysqlDSNEnv)
		}
		return store.OpenMySQL(ctx, dsn)
	}
	return store.OpenSQLite(ctx, sqlitePath)
}

func newBridgeKeygenCommand() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "keygen",
		Short: "Make a bridge key file (or print a new key line to put first in an existing one, for a key rotation)",
		Long: `Makes a bridge key: 32 random bytes under a new id.

With --out, writes a new key file (0600; an existing file is never overwritten).
Without it, prints one key line. To rotate the key, put that line FIRST in the
key file and keep the old key below it (optionally with not-after=<RFC 3339
time>): new credentials come from the new key, those issued under the old one
stay valid until rotated (RotateCredential) or until not-after. Then remove the
old key.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out != "" {
				return writeNewKeyFile(out, nil)
			}
			k, err := bridge.NewKey(bridge.NewKeyID())
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), bridge.KeyLine(k))
			return err
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "write a new key file here")
	return cmd
}

func newBridgeMigrateKeyCommand() *cobra.Command {
	var keyFile, sqlitePath, mysqlDSNEnv string
	cmd := &cobra.Command{
		Use:   "migrate-key",
		Short: "Move the key an older bridge kept in its store into the key file, and delete it from the store",
		Long: `Registries created before the key file kept the bridge key in the store, so a
copy of the database could mint every credential. This writes that key into
the key file under the id "legacy" (a new key file gets a new current key
first; an existing one gets the legacy key appended), then deletes it from the
store. Credentials issued before keep working; rotate them (RotateCredential,
spinops_agent_account.credential_rotation) to derive them from the current key,
then remove the "legacy" line. Database backups taken before the migration
still hold the old key: they can mint credentials derived from it until those
are rotated and the legacy key is removed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if keyFile == "" {
				return errors.New("--key-file is required: the file the bridge will be started with")
			}
			st, err := openBridgeStore(ctx, sqlitePath, mysqlDSNEnv)
			if err != nil {
				return err
			}
			defer st.Close()
			v, found, err := st.LookupSetting(ctx, bridge.LegacyKeySetting)
			if err != nil {
				return err
			}
			if !found {
				_, err := fmt.Fprintln(cmd.OutOrStdout(), "the store holds no key: nothing to migrate")
				return err
			}
			secret, err := base64.StdEncoding.DecodeString(v)
			if err != nil {
				return fmt.Errorf("the key in the store is not base64: %w", err)
			}
			legacy := bridge.Key{ID: bridge.LegacyKeyID, Secret: secret}
			if err := addLegacyKey(keyFile, legacy); err != nil {
				return err
			}
			if _, err := bridge.LoadKeyRing(keyFile); err != nil {
				return fmt.Errorf("the key file after adding the legacy key: %w", err)
			}
			if err := st.DeleteSetting(ctx, bridge.LegacyKeySetting); err != nil {
				return err
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "moved the store's key into %s as %q and deleted it from the store; rotate every account's credential, then remove that line\n", keyFile, bridge.LegacyKeyID)
			return err
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&keyFile, "key-file", "", "the key file to put the legacy key into (created when missing)")
	fl.StringVar(&sqlitePath, "sqlite", "/var/lib/spinops/bridge.db", "SQLite registry file")
	fl.StringVar(&mysqlDSNEnv, "mysql-dsn-env", "", "name of an environment variable holding the MySQL DSN")
	return cmd
}

// addLegacyKey adds the legacy key to the key file (a new file gets a new
// current key first). Running it twice is harmless.
func addLegacyKey(path string, legacy bridge.Key) error {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return writeNewKeyFile(path, []bridge.Key{legacy})
	}
	if err != nil {
		return fmt.Errorf("reading the key file: %w", err)
	}
	line := bridge.KeyLine(legacy)
	if strings.Contains(string(b), line) {
		return nil
	}
	if !strings.HasSuffix(string(b), "\n") && len(b) > 0 {
		b = append(b, '\n')
	}
	b = append(b, line+"\n"...)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return fmt.Errorf("writing the key file %s: %w", path, err)
	}
	return nil
}
