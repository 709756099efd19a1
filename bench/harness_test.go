package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"

	bridgev1 "github.com/spinops/terraform-provider-spinops/proto/spinops/bridge/v1"

	"github.com/spinops/terraform-provider-spinops/internal/agent"
	"github.com/spinops/terraform-provider-spinops/internal/bridge/bridgetest"
	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

const adminToken = bridgetest.AdminToken // the scale benchmark gives it to its bridge process

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

type inProcBridge struct {
	*bridgetest.Bridge
}

// startInProcBridge runs a bridge in this process (latency and read-path
// benchmarks measure end to end; the scale benchmark runs the real binary).
func startInProcBridge(b *testing.B) *inProcBridge {
	b.Helper()
	return &inProcBridge{bridgetest.Start(b)}
}

func adminCtx() context.Context { return bridgetest.AdminCtx() }

// attach registers an account for the cluster and runs an agent for it.
func (ib *inProcBridge) attach(b *testing.B, name string, c *testenv.Cluster, kinds []string) {
	b.Helper()
	ib.attachShared(b, "bench-"+name, c, benchAccount{Name: name, Kinds: kinds})
}

// benchAccount is one account of an agent: its registration at the bridge
// and its entry in the agent's configuration (nil kinds: every kind).
type benchAccount struct {
	Name       string
	Kinds      []string
	Namespaces []string
}

// attachShared registers the accounts and runs one agent serving them all
// (one gRPC stream, one receive loop), then waits until each is synced.
func (ib *inProcBridge) attachShared(b *testing.B, agentID string, c *testenv.Cluster, accounts ...benchAccount) {
	b.Helper()
	var entries []any
	for _, a := range accounts {
		resp, err := ib.Admin.RegisterAccount(adminCtx(), &bridgev1.RegisterAccountRequest{Spec: &bridgev1.AccountSpec{Name: a.Name, Kinds: a.Kinds, Namespaces: a.Namespaces}})
		if err != nil {
			b.Fatalf("registering account %s: %v", a.Name, err)
		}
		entries = append(entries, map[string]any{
			"name": a.Name, "kubeconfigFile": c.Kubeconfig, "credential": resp.GetCredential(), "kinds": a.Kinds, "namespaces": a.Namespaces,
		})
	}
	cfg := map[string]any{
		"agentId":    agentID,
		"bridge":     map[string]any{"grpc": ib.GRPCAddr(), "tls": map[string]any{"caCertFile": ib.CAFile}},
		"kubernetes": map[string]any{"accounts": entries},
	}
	y, _ := yaml.Marshal(cfg)
	path := filepath.Join(b.TempDir(), "agent.yaml")
	if err := os.WriteFile(path, y, 0o600); err != nil {
		b.Fatal(err)
	}
	a, err := agent.New(path, agent.Options{Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = a.Run(ctx) }()
	b.Cleanup(func() { cancel(); <-done })
	deadline := time.Now().Add(2 * time.Minute)
	for _, acct := range accounts {
		for {
			got, err := ib.Admin.GetAccount(adminCtx(), &bridgev1.GetAccountRequest{Name: acct.Name})
			if err == nil && got.GetStatus().GetSyncState() == bridgev1.SyncState_SYNC_STATE_SYNCED {
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("%s never synced", acct.Name)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(p * float64(len(s)-1))
	return s[i]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func logf(b *testing.B, format string, args ...any) {
	b.Helper()
	line := fmt.Sprintf(format, args...)
	b.Log(line)
	fmt.Println("RESULT", b.Name(), line)
}

func restHTTPClientFor(cfg *rest.Config) (*http.Client, error) { return rest.HTTPClientFor(cfg) }

// metric reads one sample of the /metrics at addr (0 when absent).
func metric(b *testing.B, addr, sample string) float64 {
	b.Helper()
	v, err := testenv.MetricSample(addr, sample)
	if err != nil {
		b.Fatal(err)
	}
	return v
}
