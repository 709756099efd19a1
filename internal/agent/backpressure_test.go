package agent

import (
	"bytes"
	"context"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	bridgev1 "github.com/spinops/terraform-provider-spinops/proto/spinops/bridge/v1"
)

// endlessSource changes its objects forever.
type endlessSource struct {
	hello *bridgev1.AccountHello
	keys  chan Key
	obj   []byte
}

func (s *endlessSource) Hello() *bridgev1.AccountHello { return s.hello }
func (s *endlessSource) Synced(int) bool               { return true }
func (s *endlessSource) Snapshot(int) ([]*bridgev1.WatchEvent, string, error) {
	return nil, "1", nil
}
func (s *endlessSource) Keys() <-chan Key { return s.keys }
func (s *endlessSource) Event(k Key) (*bridgev1.WatchEvent, error) {
	return &bridgev1.WatchEvent{Type: bridgev1.EventType_EVENT_TYPE_MODIFIED, Name: k.Name, Object: s.obj}, nil
}
func (s *endlessSource) Done(Key)     {}
func (s *endlessSource) Enqueue(Key)  {}
func (s *endlessSource) Pending() int { return len(s.keys) }
func (s *endlessSource) Execute(context.Context, *bridgev1.Operation, func(*bridgev1.OperationResult) error) {
}

// slowBridge welcomes and counts event bytes; it acks only when told.
type slowBridge struct {
	bridgev1.UnimplementedAgentServiceServer
	received atomic.Int64
	mu       sync.Mutex
	pending  []*bridgev1.EventBatch
	ackNow   chan struct{}
}

func (b *slowBridge) Connect(stream bridgev1.AgentService_ConnectServer) error {
	m, err := stream.Recv()
	if err != nil {
		return err
	}
	w := &bridgev1.Welcome{HeartbeatIntervalMs: 1000}
	for _, a := range m.GetHello().GetAccounts() {
		w.Accounts = append(w.Accounts, &bridgev1.AccountWelcome{Name: a.GetName()})
	}
	if err := stream.Send(&bridgev1.BridgeMessage{Msg: &bridgev1.BridgeMessage_Welcome{Welcome: w}}); err != nil {
		return err
	}
	go func() {
		for range b.ackNow {
			b.mu.Lock()
			p := b.pending
			b.pending = nil
			b.mu.Unlock()
			for _, eb := range p {
				_ = stream.Send(&bridgev1.BridgeMessage{Msg: &bridgev1.BridgeMessage_Ack{Ack: &bridgev1.Ack{Account: eb.GetAccount(), Seq: eb.GetSeq()}}})
			}
		}
	}()
	for {
		m, err := stream.Recv()
		if err != nil {
			return err
		}
		if eb := m.GetEvents(); eb != nil {
			b.received.Add(int64(proto.Size(eb)))
			b.mu.Lock()
			b.pending = append(b.pending, eb)
			b.mu.Unlock()
		}
	}
}

// TestSlowBridgeCausesBackpressure: what the agent sends without an ack is
// bounded by budget.maxInFlightBytes; acks let it continue.
func TestSlowBridgeCausesBackpressure(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	sb := &slowBridge{ackNow: make(chan struct{})}
	bridgev1.RegisterAgentServiceServer(srv, sb)
	go func() { _ = srv.Serve(lis) }()
	defer srv.Stop()

	src := &endlessSource{hello: &bridgev1.AccountHello{Name: "bp", Kinds: []*bridgev1.Kind{{Version: "v1", Resource: "configmaps"}}}, keys: make(chan Key), obj: bytes.Repeat([]byte("x"), 10<<10)}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		for i := 0; ; i++ {
			select {
			case src.keys <- Key{Name: "o"}:
			case <-ctx.Done():
				return
			}
		}
	}()
	const budget = 256 << 10
	c := NewClient(ClientConfig{AgentID: "bp", Bridge: BridgeConfig{GRPC: lis.Addr().String(), Insecure: true},
		Budget: BudgetConfig{MaxInFlightBytes: budget, MaxBatchBytes: 64 << 10, MaxBatchEvents: 100}})
	c.SetSources([]Source{src})
	go func() { _ = c.Run(ctx) }()

	time.Sleep(time.Second)
	stalled := sb.received.Load()
	time.Sleep(500 * time.Millisecond)
	if now := sb.received.Load(); now != stalled || stalled > budget+(64<<10) || stalled == 0 {
		t.Fatalf("without acks the agent sent %d then %d bytes; the budget is %d", stalled, now, budget)
	}
	sb.ackNow <- struct{}{}
	deadline := time.Now().Add(5 * time.Second)
	for sb.received.Load() <= stalled {
		if time.Now().After(deadline) {
			t.Fatal("acks did not let the agent continue")
		}
		time.Sleep(10 * time.Millisecond)
	}
	close(sb.ackNow)
}
