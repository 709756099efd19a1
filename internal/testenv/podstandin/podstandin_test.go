package podstandin

import (
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spinops/terraform-provider-spinops/internal/attach"
	"github.com/spinops/terraform-provider-spinops/internal/bridge"
	"github.com/spinops/terraform-provider-spinops/internal/kube"
	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

// serviceAddr is what the platform module installs agents to dial: the
// bridge's in-cluster Service name, which nothing resolves outside a
// cluster.
const serviceAddr = "spinops-bridge.spinops.svc:9091"

// handshakes is a TLS listener standing for the pod behind the bridge's
// Service: it records the name each client asked for (SNI) and whether the
// client accepted its certificate.
type handshakes struct {
	ln   net.Listener
	mu   sync.Mutex
	sni  []string
	errs []error
}

func listenTLS(t *testing.T, cert tls.Certificate) *handshakes {
	t.Helper()
	h := &handshakes{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h.ln = ln
	t.Cleanup(func() { _ = ln.Close() })
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2"}}
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer func() { _ = conn.Close() }()
				tc := tls.Server(conn, cfg)
				_ = tc.SetDeadline(time.Now().Add(5 * time.Second))
				err := tc.Handshake()
				h.mu.Lock()
				h.sni = append(h.sni, tc.ConnectionState().ServerName)
				h.errs = append(h.errs, err)
				h.mu.Unlock()
			}()
		}
	}()
	return h
}

// wait returns the first handshake's server name and error, or false when
// none arrived within d.
func (h *handshakes) wait(d time.Duration) (string, error, bool) {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		h.mu.Lock()
		if len(h.sni) > 0 {
			sni, err := h.sni[0], h.errs[0]
			h.mu.Unlock()
			return sni, err, true
		}
		h.mu.Unlock()
		time.Sleep(100 * time.Millisecond)
	}
	return "", nil, false
}

// installAgent installs account's agent as spinops_agent_account does,
// dialling serviceAddr and trusting ca.
func installAgent(t *testing.T, c *testenv.Cluster, ns string, ca *bridge.CA, account string) {
	t.Helper()
	kc, err := kube.NewClient(c.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	in := &attach.AgentInstall{
		Account: account, Namespace: ns, Image: "spinops:test", Replicas: 1,
		Bridge: attach.BridgeEndpoint{Address: serviceAddr, CAPEM: string(ca.CertPEM)},
		Filter: attach.AccountFilter{Kinds: []string{"ConfigMap"}},
	}
	ctx := t.Context()
	rules, err := attach.ResolveRules(ctx, kc, in.Filter)
	if err != nil {
		t.Fatal(err)
	}
	if err := in.Apply(ctx, kc, rules, "test-credential"); err != nil {
		t.Fatal(err)
	}
}

// clusterAndCA is the shared API server and a bridge CA for a test that
// runs the spinops binary (skipped under -short).
func clusterAndCA(t *testing.T) (*testenv.Cluster, *bridge.CA) {
	t.Helper()
	if testing.Short() {
		t.Skip("runs an API server and the spinops binary")
	}
	ca, err := bridge.NewCA("podstandin-test")
	if err != nil {
		t.Fatal(err)
	}
	return testenv.SharedCluster(t), ca
}

// TestAgentOptionsServices: AgentOptions.Services copies what the cluster's
// DNS and a ClusterIP Service do for an agent installed to dial the
// bridge's Service name — the connection reaches the pod serving it, and
// TLS still verifies the certificate for the Service's name (the client
// sends that name, and refuses a certificate for another). Without an
// entry the name resolves nowhere, as outside a cluster.
func TestAgentOptionsServices(t *testing.T) {
	c, ca := clusterAndCA(t)
	host, _, _ := net.SplitHostPort(serviceAddr)

	t.Run("the Service's name reaches its pod, verified for that name", func(t *testing.T) {
		h := agentDialling(t, c, ca, "services-ok", serviceAddr, host)
		sni, herr, ok := h.wait(90 * time.Second)
		if !ok {
			t.Fatal("the agent never reached the loopback address standing for the Service")
		}
		if sni != host {
			t.Errorf("the agent asked for %q, want the Service's name %q", sni, host)
		}
		if herr != nil {
			t.Errorf("the agent refused a certificate for the Service's name: %v", herr)
		}
	})

	t.Run("a certificate for another name is refused", func(t *testing.T) {
		h := agentDialling(t, c, ca, "services-wrong-name", serviceAddr, "someone-else.spinops.svc", "127.0.0.1")
		sni, herr, ok := h.wait(90 * time.Second)
		if !ok {
			t.Fatal("the agent never reached the loopback address standing for the Service")
		}
		if sni != host {
			t.Errorf("the agent asked for %q, want the Service's name %q", sni, host)
		}
		if herr == nil {
			t.Error("the agent accepted a certificate for someone-else.spinops.svc (and 127.0.0.1) when dialling " + host)
		}
	})

	t.Run("without an entry the name resolves nowhere", func(t *testing.T) {
		h := agentDialling(t, c, ca, "services-none", "other:9091", host)
		if _, _, ok := h.wait(10 * time.Second); ok {
			t.Error("a connection arrived though no Service entry names the installed address")
		}
		if _, err := net.DefaultResolver.LookupHost(t.Context(), host); err == nil {
			t.Errorf("%s resolves on this machine: the check above proves nothing here", host)
		}
	})
}

// agentDialling serves a certificate for hosts at a loopback listener,
// installs account's agent to dial serviceAddr, and runs its pod with
// Services mapping entry to that listener.
func agentDialling(t *testing.T, c *testenv.Cluster, ca *bridge.CA, account, entry string, hosts ...string) *handshakes {
	t.Helper()
	cert, _, _, err := ca.IssueServer(hosts...)
	if err != nil {
		t.Fatal(err)
	}
	h := listenTLS(t, cert)
	ns := c.Namespace(t)
	installAgent(t, c, ns, ca, account)
	StartAgentPodWith(t, c, ns, account, AgentOptions{Services: map[string]string{entry: h.ln.Addr().String()}})
	return h
}

// TestPodProcessRestartsAfterCrashBackOff: a pod's process that exits on
// its own (here killed as a crash would) is started again, as the kubelet
// does for a Deployment's pod (restartPolicy Always) — not at once, but
// after the crash-loop back-off's first 10 s. Before, the stand-in took the
// dead process for a running one and never started it again (a bridge
// whose port was taken stayed down for the rest of the test).
func TestPodProcessRestartsAfterCrashBackOff(t *testing.T) {
	c, ca := clusterAndCA(t)
	ns := c.Namespace(t)
	installAgent(t, c, ns, ca, "crashes")
	p := StartAgentPod(t, c, ns, "crashes")
	waitFor := func(what string, d time.Duration, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(d)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within %s; log:\n%s", what, d, p.tail())
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	starts := func() int { p.mu.Lock(); defer p.mu.Unlock(); return p.starts }
	running := func() bool { r, _ := p.state(); return r }
	waitFor("the agent started", time.Minute, running)
	p.mu.Lock()
	proc := p.cmd.Process
	p.mu.Unlock()
	crashed := time.Now()
	if err := proc.Kill(); err != nil {
		t.Fatal(err)
	}
	waitFor("the crash seen", 10*time.Second, func() bool { return !running() })
	time.Sleep(crashBackOffInitial - 2*time.Second - time.Since(crashed))
	if n := starts(); n != 1 || running() {
		t.Fatalf("started again before the back-off ended: %d starts, running %v", n, running())
	}
	waitFor("started again after the back-off", 30*time.Second, func() bool { return starts() == 2 && running() })
	if since := time.Since(crashed); since < crashBackOffInitial {
		t.Errorf("started again %s after the crash, want at least %s", since, crashBackOffInitial)
	}
	if !strings.Contains(p.tail(), "restarting it in 10s") {
		t.Errorf("the log does not say the process exited and when it restarts:\n%s", p.tail())
	}
}

// TestCrashBackOffSequence: the waits between restarts are the kubelet's —
// 10 s, doubled after each exit up to five minutes, and 10 s again after
// an exit of a process that ran ten minutes or of a new pod's.
func TestCrashBackOffSequence(t *testing.T) {
	var p podProcess
	var got []time.Duration
	for range 8 {
		p.startedAt = time.Now()
		got = append(got, p.nextBackoff())
	}
	want := []time.Duration{10 * time.Second, 20 * time.Second, 40 * time.Second, 80 * time.Second,
		160 * time.Second, 300 * time.Second, 300 * time.Second, 300 * time.Second}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("back-offs %v, want %v", got, want)
	}
	p.startedAt = time.Now().Add(-crashBackOffReset)
	if b := p.nextBackoff(); b != crashBackOffInitial {
		t.Errorf("after ten minutes running: back-off %s, want %s", b, crashBackOffInitial)
	}
	if until := time.Until(p.restartAt); until <= 9*time.Second || until > crashBackOffInitial {
		t.Errorf("restart at %s from now, want %s", until, crashBackOffInitial)
	}
	// A rollout's new pod counts its restarts from the start.
	p.startedAt = time.Now()
	p.nextBackoff()
	p.newPod()
	if !p.restartAt.IsZero() {
		t.Error("a new pod waits for the old pod's back-off")
	}
	if b := p.nextBackoff(); b != crashBackOffInitial {
		t.Errorf("a new pod's first back-off: %s, want %s", b, crashBackOffInitial)
	}
}

// TestPrebuiltSpinops: the binary make test links once is taken when it is
// there, and a name that is not a file is ignored (the stand-in then
// builds its own).
func TestPrebuiltSpinops(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "spinops")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ env, want string }{{"", ""}, {filepath.Join(dir, "missing"), ""}, {dir, ""}, {bin, bin}} {
		t.Setenv(EnvSpinopsBinary, c.env)
		if got := prebuiltSpinops(); got != c.want {
			t.Errorf("%s=%q: %q, want %q", EnvSpinopsBinary, c.env, got, c.want)
		}
	}
}

func TestMain(m *testing.M) { testenv.Main(m) }
