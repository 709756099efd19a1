package agent

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/semaphore"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	bridgev1 "github.com/spinops/terraform-provider-spinops/proto/spinops/bridge/v1"
)

// maxEventBytes: an object whose JSON is larger cannot be sent (the
// bridge's default message limit is 16 MiB; Kubernetes objects are at most
// 1.5 MiB).
const maxEventBytes = 15 << 20

// ClientConfig configures the stream client.
type ClientConfig struct {
	AgentID string
	Version string
	Bridge  BridgeConfig
	Budget  BudgetConfig
	// DialOptions are added to the connection's (tests add interceptors).
	DialOptions []grpc.DialOption
	Logger      *slog.Logger
}

// Client keeps one stream to the bridge open for every source it serves,
// reconnecting with exponential backoff and jitter. A bridge that is down
// never stops it.
type Client struct {
	cfg        ClientConfig
	log        *slog.Logger
	instanceID string

	mu      sync.Mutex
	sources map[string]*accountStream
	changed chan struct{}

	connected  atomic.Bool
	refusalsMu sync.Mutex
	refusals   map[string]error
}

// NewClient returns a client; Run connects.
func NewClient(cfg ClientConfig) *Client {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Budget.MaxInFlightBytes == 0 {
		cfg.Budget.MaxInFlightBytes = defaultMaxInFlightBytes
	}
	if cfg.Budget.MaxBatchBytes == 0 {
		cfg.Budget.MaxBatchBytes = defaultMaxBatchBytes
	}
	if cfg.Budget.MaxBatchEvents == 0 {
		cfg.Budget.MaxBatchEvents = defaultMaxBatchEvents
	}
	if cfg.Budget.MaxConcurrentOperations == 0 {
		cfg.Budget.MaxConcurrentOperations = defaultMaxConcurrentOperations
	}
	if cfg.Bridge.ReconnectMin.Duration == 0 {
		cfg.Bridge.ReconnectMin.Duration = defaultReconnectMin
	}
	if cfg.Bridge.ReconnectMax.Duration == 0 {
		cfg.Bridge.ReconnectMax.Duration = defaultReconnectMax
	}
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return &Client{
		cfg:        cfg,
		log:        cfg.Logger.With("component", "agent", "agent", cfg.AgentID),
		instanceID: hex.EncodeToString(b),
		sources:    map[string]*accountStream{},
		changed:    make(chan struct{}, 1),
		refusals:   map[string]error{},
	}
}

// Connected reports whether a stream is open and welcomed.
func (c *Client) Connected() bool { return c.connected.Load() }

// Refusal returns why the bridge refused an account on the last welcome
// (nil: accepted or not yet offered).
func (c *Client) Refusal(account string) error {
	c.refusalsMu.Lock()
	defer c.refusalsMu.Unlock()
	return c.refusals[account]
}

// SetSources replaces the accounts served; the bridge hears of the change
// at once on a live stream.
func (c *Client) SetSources(srcs []Source) {
	c.mu.Lock()
	next := map[string]*accountStream{}
	for _, s := range srcs {
		name := s.Hello().GetName()
		if cur := c.sources[name]; cur != nil && cur.src == s {
			next[name] = cur
			continue
		}
		next[name] = newAccountStream(s)
	}
	c.sources = next
	c.mu.Unlock()
	select {
	case c.changed <- struct{}{}:
	default:
	}
}

func (c *Client) snapshotSources() map[string]*accountStream {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]*accountStream, len(c.sources))
	for k, v := range c.sources {
		out[k] = v
	}
	return out
}

// Run connects and serves until ctx ends.
func (c *Client) Run(ctx context.Context) error {
	creds, err := c.transportCredentials()
	if err != nil {
		return err
	}
	opts := []grpc.DialOption{
		grpc.WithTransportCredentials(creds),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(64 << 20)),
	}
	if every, timeout := c.cfg.Bridge.KeepAlive(); every > 0 {
		opts = append(opts, grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: every, Timeout: timeout, PermitWithoutStream: true}))
	}
	if c.cfg.Bridge.NoProxy {
		opts = append(opts, grpc.WithNoProxy())
	}
	opts = append(opts, c.cfg.DialOptions...)
	cc, err := grpc.NewClient(c.cfg.Bridge.GRPC, opts...)
	if err != nil {
		return fmt.Errorf("agent: creating a connection to the bridge at %s: %w", c.cfg.Bridge.GRPC, err)
	}
	defer cc.Close()
	client := bridgev1.NewAgentServiceClient(cc)
	attempt := 0
	for {
		welcomed, err := c.serve(ctx, client)
		c.connected.Store(false)
		if ctx.Err() != nil {
			return nil
		}
		if welcomed {
			attempt = 0
		}
		delay := backoff(c.cfg.Bridge.ReconnectMin.Duration, c.cfg.Bridge.ReconnectMax.Duration, attempt)
		attempt++
		lvl := slog.LevelWarn
		switch status.Code(err) {
		case codes.NotFound, codes.Unauthenticated, codes.PermissionDenied, codes.AlreadyExists, codes.InvalidArgument:
			lvl = slog.LevelError
		}
		c.log.Log(ctx, lvl, "stream to the bridge ended; reconnecting", "bridge", c.cfg.Bridge.GRPC, "err", err, "retry_in", delay.Round(time.Millisecond))
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// backoff is min·2^attempt capped at max, with jitter (50–100%).
func backoff(min, max time.Duration, attempt int) time.Duration {
	d := min
	for i := 0; i < attempt && d < max; i++ {
		d *= 2
	}
	if d > max {
		d = max
	}
	n, _ := rand.Int(rand.Reader, big.NewInt(int64(d/2)+1))
	return d/2 + time.Duration(n.Int64())
}

func (c *Client) transportCredentials() (credentials.TransportCredentials, error) {
	b := c.cfg.Bridge
	if b.Insecure {
		return insecure.NewCredentials(), nil
	}
	tc := &tls.Config{ServerName: b.TLS.ServerName, InsecureSkipVerify: b.TLS.InsecureSkipVerify, MinVersion: tls.VersionTLS12} //nolint:gosec // opt-in
	if b.TLS.CACertFile != "" {
		pem, err := os.ReadFile(b.TLS.CACertFile)
		if err != nil {
			return nil, fmt.Errorf("agent: reading the bridge CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("agent: %s holds no PEM certificate", b.TLS.CACertFile)
		}
		tc.RootCAs = pool
	}
	if b.TLS.ClientCertFile != "" {
		pair, err := tls.LoadX509KeyPair(b.TLS.ClientCertFile, b.TLS.ClientKeyFile)
		if err != nil {
			return nil, fmt.Errorf("agent: loading the client certificate: %w", err)
		}
		tc.Certificates = []tls.Certificate{pair}
	}
	return credentials.NewTLS(tc), nil
}

// connection is one stream's life.
type connection struct {
	c      *Client
	stream bridgev1.AgentService_ConnectClient
	sendMu sync.Mutex
	window *semaphore.Weighted
	// opSlots bounds the operations running at once.
	opSlots *semaphore.Weighted
	ctx     context.Context

	mu      sync.Mutex
	senders map[string]*sender
	ops     map[string]context.CancelFunc
	wg      sync.WaitGroup
}

type sender struct {
	as     *accountStream
	cancel context.CancelFunc
}

func (cn *connection) send(m *bridgev1.AgentMessage) error {
	cn.sendMu.Lock()
	defer cn.sendMu.Unlock()
	return cn.stream.Send(m)
}

func (c *Client) hello() (*bridgev1.Hello, map[string]*accountStream) {
	srcs := c.snapshotSources()
	h := &bridgev1.Hello{AgentId: c.cfg.AgentID, AgentVersion: c.cfg.Version, InstanceId: c.instanceID}
	for _, as := range srcs {
		ah := proto.Clone(as.src.Hello()).(*bridgev1.AccountHello)
		ah.LastAckedSeq = as.lastAcked()
		h.Accounts = append(h.Accounts, ah)
	}
	return h, srcs
}

// serve runs one stream; welcomed reports whether the bridge accepted it.
func (c *Client) serve(ctx context.Context, client bridgev1.AgentServiceClient) (welcomed bool, err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := client.Connect(ctx)
	if err != nil {
		return false, fmt.Errorf("opening the stream: %w", err)
	}
	cn := &connection{
		c: c, stream: stream, ctx: ctx,
		window:  semaphore.NewWeighted(int64(c.cfg.Budget.MaxInFlightBytes)),
		opSlots: semaphore.NewWeighted(int64(c.cfg.Budget.MaxConcurrentOperations)),
		senders: map[string]*sender{},
		ops:     map[string]context.CancelFunc{},
	}
	defer func() {
		cancel()
		cn.wg.Wait()
	}()
	hello, srcs := c.hello()
	if err := cn.send(&bridgev1.AgentMessage{Msg: &bridgev1.AgentMessage_Hello{Hello: hello}}); err != nil {
		return false, fmt.Errorf("sending hello: %w", err)
	}
	first, err := stream.Recv()
	if err != nil {
		return false, err
	}
	w := first.GetWelcome()
	if w == nil {
		return false, fmt.Errorf("the bridge answered the hello with %T, not a welcome", first.GetMsg())
	}
	c.connected.Store(true)
	c.log.Info("connected to the bridge", "bridge", c.cfg.Bridge.GRPC, "bridge_id", w.GetBridgeId(), "accounts", len(hello.GetAccounts()))
	cn.welcome(w, srcs)

	interval := time.Duration(w.GetHeartbeatIntervalMs()) * time.Millisecond
	if c.cfg.Bridge.HeartbeatInterval.Duration > 0 {
		interval = c.cfg.Bridge.HeartbeatInterval.Duration
	}
	if interval <= 0 {
		interval = 10 * time.Second
	}
	cn.wg.Add(2)
	go func() { defer cn.wg.Done(); cn.heartbeats(interval) }()
	go func() { defer cn.wg.Done(); cn.rehellos() }()

	for {
		m, err := stream.Recv()
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = errors.New("the bridge closed the stream")
			}
			return true, err
		}
		switch msg := m.GetMsg().(type) {
		case *bridgev1.BridgeMessage_Welcome:
			cn.welcome(msg.Welcome, c.snapshotSources())
		case *bridgev1.BridgeMessage_Ack:
			cn.ack(msg.Ack)
		case *bridgev1.BridgeMessage_Operation:
			cn.operation(msg.Operation)
		case *bridgev1.BridgeMessage_Cancel:
			cn.mu.Lock()
			if f := cn.ops[msg.Cancel.GetId()]; f != nil {
				f()
			}
			cn.mu.Unlock()
		case *bridgev1.BridgeMessage_Resync:
			cn.mu.Lock()
			if s := cn.senders[msg.Resync.GetAccount()]; s != nil {
				select {
				case s.as.resync <- int(msg.Resync.GetKind()):
				default:
				}
			}
			cn.mu.Unlock()
		}
	}
}

// welcome starts a sender for every accepted account and stops those no
// longer served.
func (cn *connection) welcome(w *bridgev1.Welcome, srcs map[string]*accountStream) {
	c := cn.c
	accepted := map[string]bool{}
	cn.mu.Lock()
	defer cn.mu.Unlock()
	for _, aw := range w.GetAccounts() {
		name := aw.GetName()
		c.refusalsMu.Lock()
		if aw.GetRefusedCode() != 0 {
			c.refusals[name] = status.Error(codes.Code(aw.GetRefusedCode()), aw.GetRefusedMessage())
		} else {
			delete(c.refusals, name)
		}
		c.refusalsMu.Unlock()
		if aw.GetRefusedCode() != 0 {
			c.log.Error("the bridge refused an account", "account", name, "code", codes.Code(aw.GetRefusedCode()), "reason", aw.GetRefusedMessage())
			continue
		}
		as := srcs[name]
		if as == nil {
			continue
		}
		accepted[name] = true
		if s := cn.senders[name]; s != nil && s.as == as {
			continue // already sending (a hello after a config change)
		}
		if s := cn.senders[name]; s != nil {
			s.cancel()
		}
		ctx, cancel := context.WithCancel(cn.ctx)
		cn.senders[name] = &sender{as: as, cancel: cancel}
		resume, from := aw.GetResume(), aw.GetResumeFromSeq()
		cn.wg.Add(1)
		go func() {
			defer cn.wg.Done()
			cn.runSender(ctx, as, resume, from)
		}()
	}
	for name, s := range cn.senders {
		if !accepted[name] {
			s.cancel()
			delete(cn.senders, name)
		}
	}
}

// rehellos sends a new hello whenever the sources change.
func (cn *connection) rehellos() {
	for {
		select {
		case <-cn.ctx.Done():
			return
		case <-cn.c.changed:
			h, _ := cn.c.hello()
			if err := cn.send(&bridgev1.AgentMessage{Msg: &bridgev1.AgentMessage_Hello{Hello: h}}); err != nil {
				return
			}
		}
	}
}

func (cn *connection) heartbeats(every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-cn.ctx.Done():
			return
		case <-t.C:
			hb := &bridgev1.Heartbeat{SentUnixNano: time.Now().UnixNano(), BufferedKeys: map[string]uint64{}}
			cn.mu.Lock()
			for name, s := range cn.senders {
				hb.BufferedKeys[name] = uint64(s.as.src.Pending())
			}
			cn.mu.Unlock()
			if err := cn.send(&bridgev1.AgentMessage{Msg: &bridgev1.AgentMessage_Heartbeat{Heartbeat: hb}}); err != nil {
				return
			}
		}
	}
}

func (cn *connection) ack(a *bridgev1.Ack) {
	cn.mu.Lock()
	s := cn.senders[a.GetAccount()]
	cn.mu.Unlock()
	if s == nil {
		return
	}
	if n := s.as.acked(a.GetSeq(), cn); n > 0 {
		cn.window.Release(n)
	}
}

func (cn *connection) operation(op *bridgev1.Operation) {
	cn.c.mu.Lock()
	as := cn.c.sources[op.GetAccount()]
	cn.c.mu.Unlock()
	if as == nil {
		_ = cn.send(&bridgev1.AgentMessage{Msg: &bridgev1.AgentMessage_Result{Result: &bridgev1.OperationResult{
			Id: op.GetId(), StatusCode: 404, Done: true, Error: fmt.Sprintf("this agent does not serve account %q", op.GetAccount()),
		}}})
		return
	}
	// Operations run at most budget.maxConcurrentOperations at once; one
	// more is refused at once rather than queued behind them.
	if !cn.opSlots.TryAcquire(1) {
		_ = cn.send(&bridgev1.AgentMessage{Msg: &bridgev1.AgentMessage_Result{Result: statusResult(op.GetId(), http.StatusTooManyRequests, "TooManyRequests",
			fmt.Sprintf("the agent already runs %d operations (budget.maxConcurrentOperations): retry", cn.c.cfg.Budget.MaxConcurrentOperations))}})
		return
	}
	ctx, cancel := context.WithCancel(cn.ctx)
	cn.mu.Lock()
	cn.ops[op.GetId()] = cancel
	cn.mu.Unlock()
	cn.wg.Add(1)
	go func() {
		defer cn.wg.Done()
		defer func() {
			cn.mu.Lock()
			delete(cn.ops, op.GetId())
			cn.mu.Unlock()
			cancel()
			cn.opSlots.Release(1)
		}()
		as.src.Execute(ctx, op, func(r *bridgev1.OperationResult) error {
			return cn.send(&bridgev1.AgentMessage{Msg: &bridgev1.AgentMessage_Result{Result: r}})
		})
	}()
}
