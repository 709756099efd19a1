package podstandin

import (
	"crypto/tls"
	"net"
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

// TestAgentOptionsServices: AgentOptions.Services copies what the cluster's
// DNS and a ClusterIP Service do for an agent installed to dial the
// bridge's Service name — the connection reaches the pod serving it, and
// TLS still verifies the certificate for the Service's name (the client
// sends that name, and refuses a certificate for another). Without an
// entry the name resolves nowhere, as outside a cluster.
func TestAgentOptionsServices(t *testing.T) {
	if testing.Short() {
		t.Skip("runs an API server and the spinops binary")
	}
	c := testenv.SharedCluster(t)
	ca, err := bridge.NewCA("podstandin-test")
	if err != nil {
		t.Fatal(err)
	}
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

func TestMain(m *testing.M) { testenv.Main(m) }
