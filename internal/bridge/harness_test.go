package bridge_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"sigs.k8s.io/yaml"

	bridgev1 "github.com/spinops/terraform-provider-spinops/proto/spinops/bridge/v1"

	"github.com/spinops/terraform-provider-spinops/internal/agent"
	"github.com/spinops/terraform-provider-spinops/internal/bridge"
	"github.com/spinops/terraform-provider-spinops/internal/bridge/cache"
	"github.com/spinops/terraform-provider-spinops/internal/bridge/store"
	"github.com/spinops/terraform-provider-spinops/internal/testenv"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestMain(m *testing.M) { testenv.Main(m) }

const adminToken = "test-admin-token"

// pki is the test CA with the certificates the bridge and agents use.
type pki struct {
	ca                   *bridge.CA
	dir                  string
	caFile               string
	serverPair           tls.Certificate
	serverCert, serverKy []byte
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	ca, err := bridge.NewCA("spinops-test")
	if err != nil {
		t.Fatal(err)
	}
	p := &pki{ca: ca, dir: t.TempDir()}
	p.caFile = filepath.Join(p.dir, "ca.pem")
	writeFile(t, p.caFile, ca.CertPEM)
	if p.serverPair, p.serverCert, p.serverKy, err = ca.IssueServer("127.0.0.1", "localhost"); err != nil {
		t.Fatal(err)
	}
	return p
}

func writeFile(t testing.TB, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// testBridge is a bridge on loopback with its store in dir.
type testBridge struct {
	*bridge.Server
	pki      *pki
	dbPath   string
	keys     *bridge.KeyRing
	grpcAddr string
	epAddr   string
	admin    bridgev1.AdminServiceClient
}

type bridgeOption func(*bridge.Config)

// peerURLIsEndpoint as Config.PeerURL in an option: use the replica's own
// endpoint URL (known only once the harness has bound it).
const peerURLIsEndpoint = "<endpoint>"

func startBridge(t *testing.T, p *pki, dbPath string, opts ...bridgeOption) *testBridge {
	t.Helper()
	return startBridgeWithKeys(t, p, newKeyRing(t), dbPath, opts...)
}

// startBridgeWithKeys starts a bridge with the given key file (replicas
// share one).
func startBridgeWithKeys(t *testing.T, p *pki, keys *bridge.KeyRing, dbPath string, opts ...bridgeOption) *testBridge {
	t.Helper()
	tb := &testBridge{pki: p, dbPath: dbPath, keys: keys, grpcAddr: "127.0.0.1:0", epAddr: "127.0.0.1:0"}
	tb.start(t, opts...)
	return tb
}

func (tb *testBridge) start(t *testing.T, opts ...bridgeOption) {
	t.Helper()
	ctx := context.Background()
	st, err := store.OpenSQLite(ctx, tb.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	cfg := bridge.Config{
		Store:             st,
		Keys:              tb.keys,
		GRPCAddr:          tb.grpcAddr,
		GRPCTLS:           &tls.Config{Certificates: []tls.Certificate{tb.pki.serverPair}, ClientCAs: tb.pki.ca.Pool(), ClientAuth: tls.VerifyClientCertIfGiven, MinVersion: tls.VersionTLS12},
		EndpointAddr:      tb.epAddr,
		EndpointTLS:       &tls.Config{Certificates: []tls.Certificate{tb.pki.serverPair}, MinVersion: tls.VersionTLS12},
		EndpointCAPEM:     tb.pki.ca.CertPEM,
		OpsAddr:           "127.0.0.1:0",
		AdminTokens:       []string{adminToken},
		AdminIdentities:   []string{"spinops-admin"},
		GracePeriod:       time.Minute,
		HeartbeatInterval: time.Second,
		Logger:            testLogger(t),
	}
	for _, o := range opts {
		o(&cfg)
	}
	// The endpoint URL must be known before New: a free port is picked
	// first (bound and closed). Another process on a busy machine may take
	// it before the bridge binds it again ("address already in use", seen
	// in the race lane): then the start is tried again on another port.
	peerIsEndpoint := cfg.PeerURL == peerURLIsEndpoint
	wantURL := cfg.EndpointURL == ""
	origAddr := tb.epAddr
	var s *bridge.Server
	for attempt := 1; ; attempt++ {
		picked := false
		if wantURL {
			if strings.HasSuffix(tb.epAddr, ":0") {
				l, err := net.Listen("tcp", tb.epAddr)
				if err != nil {
					t.Fatal(err)
				}
				tb.epAddr = l.Addr().String()
				l.Close()
				cfg.EndpointAddr = tb.epAddr
				picked = true
			}
			cfg.EndpointURL = "https://" + tb.epAddr
		}
		if peerIsEndpoint {
			cfg.PeerURL = cfg.EndpointURL
		}
		var err error
		if s, err = bridge.New(ctx, cfg); err != nil {
			t.Fatal(err)
		}
		err = s.Start()
		if err == nil {
			break
		}
		if !picked || !errors.Is(err, syscall.EADDRINUSE) || attempt == 5 {
			t.Fatal(err)
		}
		t.Logf("the picked endpoint port was taken before the bridge bound it (%v): another port", err)
		tb.epAddr = origAddr
	}
	tb.Server = s
	tb.grpcAddr = s.GRPCAddr()
	tb.epAddr = s.EndpointAddr()
	cc, err := grpc.NewClient(tb.grpcAddr, grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: tb.pki.ca.Pool(), MinVersion: tls.VersionTLS12})))
	if err != nil {
		t.Fatal(err)
	}
	tb.admin = bridgev1.NewAdminServiceClient(cc)
	stopped := false
	var mu sync.Mutex
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		if !stopped {
			stopped = true
			cc.Close()
			s.Stop()
			st.Close()
		}
	})
}

// restart stops the bridge and starts it again on the same addresses and
// store.
func (tb *testBridge) restart(t *testing.T, opts ...bridgeOption) {
	t.Helper()
	tb.Stop()
	tb.start(t, opts...)
}

// newKeyRing is a ring of one fresh key (the bridge's key file).
func newKeyRing(t testing.TB) *bridge.KeyRing {
	t.Helper()
	k, err := bridge.NewKey(bridge.NewKeyID())
	if err != nil {
		t.Fatal(err)
	}
	r, err := bridge.NewKeyRing(k)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func adminCtx() context.Context {
	return metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+adminToken)
}

// register registers an account and returns its credential.
func (tb *testBridge) register(t *testing.T, spec *bridgev1.AccountSpec) string {
	t.Helper()
	resp, err := tb.admin.RegisterAccount(adminCtx(), &bridgev1.RegisterAccountRequest{Spec: spec})
	if err != nil {
		t.Fatalf("registering %s: %v", spec.GetName(), err)
	}
	return resp.GetCredential()
}

func (tb *testBridge) account(t *testing.T, name string) *bridgev1.Account {
	t.Helper()
	a, err := tb.admin.GetAccount(adminCtx(), &bridgev1.GetAccountRequest{Name: name})
	if err != nil {
		t.Fatalf("GetAccount %s: %v", name, err)
	}
	return a
}

// waitFor polls cond (test-side only) until it holds.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (tb *testBridge) syncState(t *testing.T, name string) bridgev1.SyncState {
	return tb.account(t, name).GetStatus().GetSyncState()
}

func (tb *testBridge) waitSynced(t *testing.T, name string) {
	t.Helper()
	waitFor(t, 60*time.Second, name+" to be synced", func() bool {
		return tb.syncState(t, name) == bridgev1.SyncState_SYNC_STATE_SYNCED
	})
}

// cached returns a cached object's JSON, or nil.
func (tb *testBridge) cached(account string, gvr schema.GroupVersionResource, ns, name string) []byte {
	a := tb.Cache().Account(account, false)
	if a == nil {
		return nil
	}
	k := a.Kind(gvr, nil)
	if k == nil {
		return nil
	}
	if o := k.Get(ns, name); o != nil {
		return o.Raw
	}
	return nil
}

var _ = cache.New

// agentAccount is one account of an agent config.
type agentAccount struct {
	Name           string   `json:"name"`
	KubeconfigFile string   `json:"kubeconfigFile,omitempty"`
	ServiceAccount bool     `json:"serviceAccount,omitempty"`
	Credential     string   `json:"credential,omitempty"`
	Kinds          []string `json:"kinds,omitempty"`
	OmitKinds      []string `json:"omitKinds,omitempty"`
	Namespaces     []string `json:"namespaces,omitempty"`
	// Permissions: writes through the endpoint need WRITE roles, at the
	// bridge (the registration) and at the agent (its config).
	Permissions *agentPermissions `json:"permissions,omitempty"`
}

type agentPermissions struct {
	Read  []string `json:"READ,omitempty"`
	Write []string `json:"WRITE,omitempty"`
}

type agentFile struct {
	Mode       string         `json:"mode,omitempty"`
	AgentID    string         `json:"agentId"`
	Bridge     map[string]any `json:"bridge"`
	Kubernetes struct {
		Accounts []agentAccount `json:"accounts"`
	} `json:"kubernetes"`
}

func (tb *testBridge) agentConfig(agentID string, accounts ...agentAccount) *agentFile {
	f := &agentFile{AgentID: agentID, Bridge: map[string]any{
		"grpc":         tb.grpcAddr,
		"tls":          map[string]any{"caCertFile": tb.pki.caFile},
		"reconnectMin": "50ms",
		"reconnectMax": "500ms",
	}}
	f.Kubernetes.Accounts = accounts
	return f
}

func (f *agentFile) write(t *testing.T, path string) {
	t.Helper()
	b, err := yaml.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	tmp := path + ".tmp"
	writeFile(t, tmp, b)
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// runningAgent is an agent process-in-a-goroutine.
type runningAgent struct {
	*agent.Agent
	cancel context.CancelFunc
	done   chan struct{}
}

func startAgent(t *testing.T, path string, dial ...grpc.DialOption) *runningAgent {
	t.Helper()
	return startAgentWith(t, path, agent.Options{DialOptions: dial})
}

// startAgentWith starts an agent with opts (its Logger: the test's).
func startAgentWith(t *testing.T, path string, opts agent.Options) *runningAgent {
	t.Helper()
	opts.Logger = testLogger(t)
	a, err := agent.New(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ra := &runningAgent{Agent: a, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(ra.done)
		if err := a.Run(ctx); err != nil {
			t.Errorf("agent: %v", err)
		}
	}()
	t.Cleanup(ra.stop)
	return ra
}

func (ra *runningAgent) stop() {
	ra.cancel()
	<-ra.done
}

// testLogger logs to the test log (only shown on failure or -v).
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(&testWriter{t: t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

type testWriter struct {
	mu sync.Mutex
	t  testing.TB
}

func (w *testWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	defer func() { _ = recover() }() // a log line after the test ended
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

// kubectl runs the real kubectl (built by scripts/testenv.sh from
// tools/k8s-testenv/kubectl).
func kubectl(t *testing.T, kubeconfig string, stdin []byte, args ...string) (string, error) {
	t.Helper()
	bin := findKubectl(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{"--kubeconfig", kubeconfig}, args...)...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if err != nil {
		return out.String(), fmt.Errorf("kubectl %s: %w: %s", strings.Join(args, " "), err, out.String())
	}
	return out.String(), nil
}

func findKubectl(t *testing.T) string {
	t.Helper()
	var dirs []string
	if d := os.Getenv(testenv.EnvBinDir); d != "" {
		dirs = append(dirs, d)
	}
	if wd, err := os.Getwd(); err == nil {
		for d := wd; d != "/"; d = filepath.Dir(d) {
			if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
				dirs = append(dirs, filepath.Join(d, ".testenv", "bin"))
				break
			}
		}
	}
	for _, d := range dirs {
		if p := filepath.Join(d, "kubectl"); isExec(p) {
			return p
		}
	}
	if p, err := exec.LookPath("kubectl"); err == nil {
		return p
	}
	msg := "kubectl not found: build it with `make testenv` (scripts/testenv.sh builds tools/k8s-testenv/kubectl)"
	if testenv.Required() {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

func isExec(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}

// metric reads one sample of the bridge's /metrics ("name" or
// `name{label="v"}`; 0 when absent).
func (tb *testBridge) metric(t *testing.T, sample string) float64 {
	t.Helper()
	v, err := testenv.MetricSample(tb.OpsAddr(), sample)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
