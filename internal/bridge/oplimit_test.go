package bridge_test

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bridgev1 "github.com/spinops/terraform-provider-spinops/proto/spinops/bridge/v1"

	"github.com/spinops/terraform-provider-spinops/internal/agent"
)

// blockingSource holds every operation until released.
type blockingSource struct {
	evilSource
	started chan struct{}
	release chan struct{}
}

func (s *blockingSource) Execute(ctx context.Context, op *bridgev1.Operation, send func(*bridgev1.OperationResult) error) {
	s.started <- struct{}{}
	select {
	case <-s.release:
	case <-ctx.Done():
	}
	_ = send(&bridgev1.OperationResult{Id: op.GetId(), StatusCode: 200, Body: []byte(`{"kind":"ConfigMapList","items":[]}`), Done: true})
}

// TestAgentBoundsConcurrentOperations: with budget.maxConcurrentOperations
// running, one more operation is answered 429 at once instead of queueing,
// and a slot frees when an operation ends.
func TestAgentBoundsConcurrentOperations(t *testing.T) {
	p := newPKI(t)
	tb := startBridge(t, p, filepath.Join(t.TempDir(), "bridge.db"))
	cred := tb.register(t, &bridgev1.AccountSpec{Name: "busy"})
	src := &blockingSource{evilSource: evilSource{hello: &bridgev1.AccountHello{Name: "busy", Credential: cred}}, started: make(chan struct{}, 4), release: make(chan struct{})}
	c := agent.NewClient(agent.ClientConfig{AgentID: "busy-agent", Bridge: agent.BridgeConfig{GRPC: tb.grpcAddr, TLS: agent.TLSConfig{CACertFile: p.caFile}},
		Budget: agent.BudgetConfig{MaxConcurrentOperations: 2}, Logger: testLogger(t)})
	c.SetSources([]agent.Source{src})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = c.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	waitFor(t, 30*time.Second, "the agent to connect", func() bool { return tb.account(t, "busy").GetStatus().GetConnected() })
	kc, err := tb.admin.GetKubeconfig(adminCtx(), &bridgev1.GetKubeconfigRequest{Name: "busy"})
	if err != nil {
		t.Fatal(err)
	}
	path := "/api/v1/namespaces/x/configmaps?fieldSelector=metadata.name%3Da"
	codes := make(chan int, 2)
	for range 2 {
		go func() { code, _ := call(t, tb, kc, http.MethodGet, path, "", ""); codes <- code }()
		<-src.started
	}
	start := time.Now()
	code, body := call(t, tb, kc, http.MethodGet, path, "", "")
	if code != http.StatusTooManyRequests || !strings.Contains(string(body), "maxConcurrentOperations") || time.Since(start) > 10*time.Second {
		t.Fatalf("a third operation -> %d after %s: %s", code, time.Since(start), body)
	}
	src.release <- struct{}{}
	if code := <-codes; code != http.StatusOK {
		t.Fatalf("a held operation -> %d", code)
	}
	go func() { code, _ := call(t, tb, kc, http.MethodGet, path, "", ""); codes <- code }()
	select {
	case <-src.started:
	case <-time.After(20 * time.Second):
		t.Fatal("a freed slot was not reused")
	}
	close(src.release)
	for range 2 {
		if code := <-codes; code != http.StatusOK {
			t.Fatalf("an operation -> %d", code)
		}
	}
}
