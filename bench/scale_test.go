package bench

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	bridgev1 "github.com/spinops/terraform-provider-spinops/proto/spinops/bridge/v1"

	"github.com/spinops/terraform-provider-spinops/internal/agent"
	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

// syntheticSource is a cluster of fixed objects fed to the real protocol
// client: the scale benchmark's simulated agent.
type syntheticSource struct {
	hello  *bridgev1.AccountHello
	events []*bridgev1.WatchEvent
}

func newSyntheticSource(name, credential string, objects int) *syntheticSource {
	s := &syntheticSource{hello: &bridgev1.AccountHello{
		Name: name, Credential: credential, ApiServerHost: "https://" + name + ".example:6443", KubernetesVersion: "v1.33.13",
		Kinds: []*bridgev1.Kind{{Version: "v1", Resource: "configmaps", Kind: "ConfigMap", Namespaced: true}},
	}}
	for i := 0; i < objects; i++ {
		n := fmt.Sprintf("cm-%03d", i)
		obj := fmt.Sprintf(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":%q,"namespace":"app-%d","uid":"6f1c1d9e-%04d-4c1e-9f4e-%012d","resourceVersion":"%d","creationTimestamp":"2026-01-01T00:00:00Z","labels":{"app":"app-%d","tier":"web","team":"platform"}},"data":{"config.yaml":"replicas: 3\nimage: registry.example/app:1.2.3\nport: 8080\nlog_level: info\nfeature_flags: [a, b, c]\n"}}`,
			n, i%10, i, i, 1000+i, i%10)
		s.events = append(s.events, &bridgev1.WatchEvent{Type: bridgev1.EventType_EVENT_TYPE_ADDED, Namespace: fmt.Sprintf("app-%d", i%10), Name: n, Object: []byte(obj), ResourceVersion: strconv.Itoa(1000 + i)})
	}
	return s
}

func (s *syntheticSource) Hello() *bridgev1.AccountHello { return s.hello }
func (s *syntheticSource) Synced(int) bool               { return true }
func (s *syntheticSource) Snapshot(int) ([]*bridgev1.WatchEvent, string, error) {
	return s.events, "1200", nil
}
func (s *syntheticSource) Keys() <-chan agent.Key                        { return nil }
func (s *syntheticSource) Event(agent.Key) (*bridgev1.WatchEvent, error) { return nil, nil }
func (s *syntheticSource) Done(agent.Key)                                {}
func (s *syntheticSource) Enqueue(agent.Key)                             {}
func (s *syntheticSource) Pending() int                                  { return 0 }
func (s *syntheticSource) Execute(_ context.Context, op *bridgev1.Operation, send func(*bridgev1.OperationResult) error) {
	_ = send(&bridgev1.OperationResult{Id: op.GetId(), StatusCode: 501, Done: true})
}

// BenchmarkScale: the real `spinops bridge` binary with 1,000 then 2,000
// simulated agents of 200 objects each; RSS and CPU of the bridge process
// at steady heartbeats.
func BenchmarkScale(b *testing.B) {
	const objects = 200
	dir := b.TempDir()
	bin := filepath.Join(dir, "spinops")
	build := exec.Command("go", "build", "-o", bin, "github.com/spinops/terraform-provider-spinops/cmd/spinops")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		b.Fatalf("building spinops: %v", err)
	}
	grpcAddr, opsAddr := freeAddr(b), freeAddr(b)
	heartbeat := 10 * time.Second
	cmd := exec.Command(bin, "bridge", "--sqlite", filepath.Join(dir, "bridge.db"), "--self-signed-dir", filepath.Join(dir, "tls"),
		"--grpc-addr", grpcAddr, "--endpoint-addr", "", "--ops-addr", opsAddr, "--heartbeat-interval", heartbeat.String())
	cmd.Env = append(os.Environ(), "SPINOPS_ADMIN_TOKEN="+adminToken)
	logf2, _ := os.Create(filepath.Join(dir, "bridge.log"))
	cmd.Stdout, cmd.Stderr = logf2, logf2
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	waitHTTP(b, "http://"+opsAddr+"/readyz")
	caPEM, err := os.ReadFile(filepath.Join(dir, "tls", "ca.pem"))
	if err != nil {
		b.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	cc, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12})))
	if err != nil {
		b.Fatal(err)
	}
	defer cc.Close()
	admin := bridgev1.NewAdminServiceClient(cc)
	caFile := filepath.Join(dir, "tls", "ca.pem")

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	started := 0
	for _, n := range []int{1000, 2000} {
		t0 := time.Now()
		for ; started < n; started++ {
			name := fmt.Sprintf("cluster-%04d", started)
			resp, err := admin.RegisterAccount(adminCtx(), &bridgev1.RegisterAccountRequest{Spec: &bridgev1.AccountSpec{Name: name}})
			if err != nil {
				b.Fatal(err)
			}
			c := agent.NewClient(agent.ClientConfig{
				AgentID: "sim-" + name,
				Bridge:  agent.BridgeConfig{GRPC: grpcAddr, TLS: agent.TLSConfig{CACertFile: caFile}},
				Logger:  quiet,
			})
			c.SetSources([]agent.Source{newSyntheticSource(name, resp.GetCredential(), objects)})
			wg.Add(1)
			go func() { defer wg.Done(); _ = c.Run(ctx) }()
		}
		want := float64(n * objects)
		deadline := time.Now().Add(5 * time.Minute)
		for metric(b, opsAddr, "spinops_bridge_cached_objects") < want || metric(b, opsAddr, "spinops_bridge_connected_agents") < float64(n) {
			if time.Now().After(deadline) {
				b.Fatalf("%d agents: only %.0f objects cached, %.0f agents connected", n, metric(b, opsAddr, "spinops_bridge_cached_objects"), metric(b, opsAddr, "spinops_bridge_connected_agents"))
			}
			time.Sleep(500 * time.Millisecond)
		}
		synced := time.Since(t0)
		// Steady state: only heartbeats flow.
		time.Sleep(5 * time.Second)
		window := 3 * heartbeat
		cpu0, w0 := cpuSeconds(b, cmd.Process.Pid), time.Now()
		var peak int64
		for end := time.Now().Add(window); time.Now().Before(end); time.Sleep(time.Second) {
			if r := rssBytes(b, cmd.Process.Pid); r > peak {
				peak = r
			}
		}
		cpu := (cpuSeconds(b, cmd.Process.Pid) - cpu0) / time.Since(w0).Seconds()
		rss := rssBytes(b, cmd.Process.Pid)
		b.ReportMetric(float64(rss)/(1<<20), fmt.Sprintf("rss-MiB@%d", n))
		b.ReportMetric(cpu*100, fmt.Sprintf("cpu-%%@%d", n))
		logf(b, "%d agents x %d objects (%d cached): all synced %s after they started; bridge RSS %.0f MiB (peak %.0f MiB), CPU %.1f%% of one core at steady heartbeats (every %s) over %s",
			n, objects, n*objects, synced.Round(time.Second), float64(rss)/(1<<20), float64(peak)/(1<<20), cpu*100, heartbeat, window)
	}
}

func freeAddr(b *testing.B) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func waitHTTP(b *testing.B, url string) {
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		if time.Now().After(deadline) {
			b.Fatalf("%s not ready: %v", url, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func rssBytes(b *testing.B, pid int) int64 {
	s, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(s), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// cpuSeconds is the user + system CPU time of pid, in seconds.
func cpuSeconds(b *testing.B, pid int) float64 {
	b.Helper()
	s, err := testenv.CPUSeconds(pid)
	if err != nil {
		b.Fatal(err)
	}
	return s
}
