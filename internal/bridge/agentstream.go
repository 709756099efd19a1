package bridge

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"k8s.io/apimachinery/pkg/runtime/schema"

	bridgev1 "github.com/spinops/terraform-provider-spinops/proto/spinops/bridge/v1"

	"github.com/spinops/terraform-provider-spinops/internal/bridge/cache"
)

const (
	helloTimeout = 15 * time.Second
	// missedHeartbeats: a stream silent for this many heartbeat intervals
	// is considered dead.
	missedHeartbeats = 3
	// outBuffer: messages queued for an agent (acks, operations).
	outBuffer = 256
)

// agentService implements bridgev1.AgentServiceServer.
type agentService struct {
	bridgev1.UnimplementedAgentServiceServer
	s *Server
}

// session is one agent's stream.
type session struct {
	s          *Server
	agentID    string
	instanceID string
	peerCert   *x509.Certificate
	ctx        context.Context
	cancel     context.CancelCauseFunc
	out        chan *bridgev1.BridgeMessage

	lastHeartbeat atomic.Int64 // unix nanoseconds
	lastMessage   atomic.Int64

	// accounts and detached are guarded by s.reg.mu. Once detached (the
	// stream ended), attach refuses: a hello processed late must not bring
	// the ended session back.
	accounts map[string]*sessionAccount
	detached bool
	// welcomeMu orders welcomes: each is computed and queued under it, so
	// the agent never sees an older view of its accounts after a newer one.
	// Taken before s.reg.mu.
	welcomeMu sync.Mutex

	opsMu     sync.Mutex
	ops       map[string]*pendingOp
	opsClosed bool // failOperations ran: startOperation fails fast

	// cancels are Cancel messages for the agent. They bypass out, so a
	// full queue can never swallow one.
	cancelMu sync.Mutex
	cancels  []string
	kick     chan struct{}
}

// sessionAccount is an account served by a session.
type sessionAccount struct {
	name  string
	st    *accountState
	cache *cache.Account
	kinds []*bridgev1.Kind
}

type pendingOp struct {
	account string
	ch      chan *bridgev1.OperationResult
	gone    chan struct{} // closed when the operation ends without a result (stream ended, account revoked, reader too slow)
	once    sync.Once
}

func (p *pendingOp) end() { p.once.Do(func() { close(p.gone) }) }

// send queues a message for the agent; false when the session ended.
func (sess *session) send(ctx context.Context, m *bridgev1.BridgeMessage) bool {
	select {
	case sess.out <- m:
		return true
	case <-sess.ctx.Done():
		return false
	case <-ctx.Done():
		return false
	}
}

func (a *agentService) Connect(stream bridgev1.AgentService_ConnectServer) error {
	s := a.s
	hello, err := recvHello(stream)
	if err != nil {
		return err
	}
	if hello.GetAgentId() == "" {
		return status.Error(codes.InvalidArgument, "hello: agent_id is required")
	}
	ctx, cancel := context.WithCancelCause(stream.Context())
	defer cancel(nil)
	sess := &session{
		s:          s,
		agentID:    hello.GetAgentId(),
		instanceID: hello.GetInstanceId(),
		peerCert:   peerCertificate(stream.Context()),
		ctx:        ctx,
		cancel:     cancel,
		out:        make(chan *bridgev1.BridgeMessage, outBuffer),
		accounts:   map[string]*sessionAccount{},
		ops:        map[string]*pendingOp{},
		kick:       make(chan struct{}, 1),
	}
	now := time.Now().UnixNano()
	sess.lastHeartbeat.Store(now)
	sess.lastMessage.Store(now)

	sess.welcomeMu.Lock()
	welcome, err := s.attach(sess, hello)
	if err != nil {
		sess.welcomeMu.Unlock()
		return err
	}
	defer s.detach(sess)
	sess.out <- &bridgev1.BridgeMessage{Msg: &bridgev1.BridgeMessage_Welcome{Welcome: welcome}}
	sess.welcomeMu.Unlock()
	s.metrics.connectedAgents.Inc()
	defer s.metrics.connectedAgents.Dec()
	s.log.Info("agent connected", "agent", sess.agentID, "accounts", len(welcome.GetAccounts()))

	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel(nil)
	wg.Add(2)
	go func() { defer wg.Done(); sess.sendLoop(stream) }()
	go func() { defer wg.Done(); sess.watchdog() }()

	errc := make(chan error, 1)
	go func() { errc <- sess.recvLoop(stream) }()
	select {
	case err = <-errc:
	case <-ctx.Done():
		err = context.Cause(ctx)
	}
	if errors.Is(err, io.EOF) || errors.Is(err, context.Canceled) {
		err = nil
	}
	if err != nil {
		s.log.Info("agent stream ended", "agent", sess.agentID, "err", err)
	} else {
		s.log.Info("agent disconnected", "agent", sess.agentID)
	}
	if _, ok := status.FromError(err); !ok && err != nil {
		err = status.Error(codes.Unavailable, err.Error())
	}
	return err
}

func recvHello(stream bridgev1.AgentService_ConnectServer) (*bridgev1.Hello, error) {
	type result struct {
		m   *bridgev1.AgentMessage
		err error
	}
	rc := make(chan result, 1)
	go func() {
		m, err := stream.Recv()
		rc <- result{m, err}
	}()
	t := time.NewTimer(helloTimeout)
	defer t.Stop()
	select {
	case r := <-rc:
		if r.err != nil {
			return nil, r.err
		}
		h := r.m.GetHello()
		if h == nil {
			return nil, status.Error(codes.InvalidArgument, "the first message of a stream must be a hello")
		}
		return h, nil
	case <-t.C:
		return nil, status.Errorf(codes.DeadlineExceeded, "no hello within %s", helloTimeout)
	}
}

func (sess *session) sendLoop(stream bridgev1.AgentService_ConnectServer) {
	for {
		// Cancels first: they free the agent's work.
		for _, id := range sess.takeCancels() {
			if !sess.sendNow(stream, &bridgev1.BridgeMessage{Msg: &bridgev1.BridgeMessage_Cancel{Cancel: &bridgev1.CancelOperation{Id: id}}}) {
				return
			}
		}
		select {
		case m := <-sess.out:
			if op := m.GetOperation(); op != nil && !sess.serves(op.GetAccount()) {
				// Queued before the account was revoked or dropped: it must
				// not reach the agent.
				sess.endOperation(op.GetId(), false)
				continue
			}
			if !sess.sendNow(stream, m) {
				return
			}
		case <-sess.kick:
		case <-sess.ctx.Done():
			return
		}
	}
}

// sendNow sends m unless the session already ended.
func (sess *session) sendNow(stream bridgev1.AgentService_ConnectServer, m *bridgev1.BridgeMessage) bool {
	if sess.ctx.Err() != nil {
		return false
	}
	if err := stream.Send(m); err != nil {
		sess.cancel(fmt.Errorf("sending to agent %s: %w", sess.agentID, err))
		return false
	}
	return true
}

// serves reports whether the session still serves the account.
func (sess *session) serves(account string) bool {
	sess.s.reg.mu.Lock()
	defer sess.s.reg.mu.Unlock()
	sa := sess.accounts[account]
	return !sess.detached && sa != nil && sa.st.session == sess
}

func (sess *session) queueCancel(id string) {
	sess.cancelMu.Lock()
	sess.cancels = append(sess.cancels, id)
	sess.cancelMu.Unlock()
	select {
	case sess.kick <- struct{}{}:
	default:
	}
}

func (sess *session) takeCancels() []string {
	sess.cancelMu.Lock()
	defer sess.cancelMu.Unlock()
	c := sess.cancels
	sess.cancels = nil
	return c
}

func (sess *session) watchdog() {
	every := sess.s.cfg.HeartbeatInterval
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			silent := time.Since(time.Unix(0, sess.lastMessage.Load()))
			if silent > missedHeartbeats*every {
				sess.cancel(status.Errorf(codes.Unavailable, "agent %s sent nothing for %s (heartbeats are due every %s)",
					sess.agentID, silent.Round(time.Millisecond), every))
				return
			}
		case <-sess.ctx.Done():
			return
		}
	}
}

func (sess *session) recvLoop(stream bridgev1.AgentService_ConnectServer) error {
	s := sess.s
	for {
		m, err := stream.Recv()
		if err != nil {
			return err
		}
		now := time.Now().UnixNano()
		sess.lastMessage.Store(now)
		switch msg := m.GetMsg().(type) {
		case *bridgev1.AgentMessage_Events:
			sess.applyBatch(msg.Events)
		case *bridgev1.AgentMessage_Heartbeat:
			sess.lastHeartbeat.Store(now)
		case *bridgev1.AgentMessage_Result:
			sess.deliver(msg.Result)
		case *bridgev1.AgentMessage_Hello:
			if msg.Hello.GetAgentId() != sess.agentID {
				return status.Errorf(codes.InvalidArgument, "a stream's hellos must keep agent_id %q", sess.agentID)
			}
			sess.welcomeMu.Lock()
			welcome, err := s.attach(sess, msg.Hello)
			if err != nil {
				sess.welcomeMu.Unlock()
				return err
			}
			sent := sess.send(stream.Context(), &bridgev1.BridgeMessage{Msg: &bridgev1.BridgeMessage_Welcome{Welcome: welcome}})
			sess.welcomeMu.Unlock()
			if !sent {
				return context.Cause(sess.ctx)
			}
		default:
			return status.Errorf(codes.InvalidArgument, "unexpected message %T", m.GetMsg())
		}
	}
}

// authorizeLocked decides whether sess may serve the account ah names;
// s.reg.mu is held.
func (s *Server) authorizeLocked(sess *session, st *accountState, ah *bridgev1.AccountHello) error {
	name := ah.GetName()
	if st == nil {
		// Unknown names get the answer a wrong credential gets, after the
		// same work: a caller without a credential learns nothing.
		s.keys().burn(name, ah.GetCredential())
		return errNotAuthenticated(name)
	}
	certOK := false
	if sess.peerCert != nil && st.spec.GetClientIdentity() != "" {
		certOK = slices.Contains(certIdentities(sess.peerCert), st.spec.GetClientIdentity())
	}
	if !certOK && !s.keys().verifyCredential(st.rec.ID, st.rec.CredentialHash, ah.GetCredential(), time.Now()) {
		if id := s.keys().missingKey(st.rec.CredentialHash); id != "" {
			// Told to the operator, not to the caller: typically replicas
			// sharing a store with different key files.
			s.log.Warn("agent refused: the account's credential was derived from a bridge key this replica's key file lacks; "+
				"replicas sharing a store must use the same key file", "account", name, "key", id, "keys", s.keys().IDs())
		}
		return errNotAuthenticated(name)
	}
	if cur := st.session; cur != nil && cur != sess && cur.agentID != sess.agentID {
		return status.Errorf(codes.AlreadyExists, "account %q is already served by agent %q (connected since %s): one live agent per account",
			name, cur.agentID, st.connectedSince.UTC().Format(time.RFC3339))
	}
	return nil
}

// errNotAuthenticated is the one answer to a hello that does not prove
// itself for an account, whether the account exists or not.
func errNotAuthenticated(name string) error {
	return status.Errorf(codes.Unauthenticated, "account %q: neither the credential nor the client certificate presented is valid for it: "+
		"check that the account is registered at this bridge, that the credential is the current one (rotated?), "+
		"or that the certificate is the identity the registration names", name)
}

// attach authorizes and attaches the accounts of a hello. Accounts of sess
// missing from the hello are detached. It fails only when every account was
// refused.
func (s *Server) attach(sess *session, hello *bridgev1.Hello) (*bridgev1.Welcome, error) {
	welcome := &bridgev1.Welcome{BridgeId: s.cfg.BridgeID, HeartbeatIntervalMs: s.cfg.HeartbeatInterval.Milliseconds()}
	var refusal error
	accepted := map[string]bool{}
	var seen []string
	now := time.Now()

	var held map[string]error
	claimedAt := time.Now()
	if s.replicated() {
		held = s.claimAccounts(sess, hello)
	}
	s.reg.mu.Lock()
	if sess.detached {
		s.reg.mu.Unlock()
		return nil, status.Error(codes.Aborted, "the stream ended")
	}
	for _, ah := range hello.GetAccounts() {
		name := ah.GetName()
		st := s.reg.accounts[name]
		err := s.authorizeLocked(sess, st, ah)
		if err == nil {
			err = s.checkKindsLimit(name, st, ah)
		}
		if err == nil {
			err = held[name]
		}
		if err != nil {
			st, _ := status.FromError(err)
			s.metrics.refusals.WithLabelValues(st.Code().String()).Inc()
			s.log.Warn("agent refused for an account", "agent", sess.agentID, "account", name, "code", st.Code(), "reason", st.Message())
			welcome.Accounts = append(welcome.Accounts, &bridgev1.AccountWelcome{Name: name, RefusedCode: int32(st.Code()), RefusedMessage: st.Message()})
			// Only an agent that proved itself for the account may leave
			// a mark on it: an unauthenticated hello has no effect.
			if acct := s.reg.accounts[name]; acct != nil && st.Code() != codes.Unauthenticated {
				acct.lastRefusal, acct.lastRefusalAt = st.Code().String()+": "+st.Message(), now
			}
			if refusal == nil {
				refusal = err
			}
			continue
		}
		accepted[name] = true
		st.lastRefusal = ""
		aw := &bridgev1.AccountWelcome{Name: name}
		if st.session == sess {
			aw.Resume, aw.ResumeFromSeq = true, st.applied.Load()
		} else {
			if old := st.session; old != nil {
				old.cancel(status.Errorf(codes.Aborted, "agent %s connected again: this older stream is replaced", old.agentID))
			}
			ca := s.cache.Account(name, false)
			if ca != nil && !st.withdrawn && st.instanceID != "" && st.instanceID == sess.instanceID {
				aw.Resume, aw.ResumeFromSeq = true, st.applied.Load()
			} else {
				st.applied.Store(0)
			}
			if st.graceTimer != nil {
				st.graceTimer.Stop()
				st.graceTimer = nil
			}
			st.session = sess
			st.instanceID = sess.instanceID
			st.agentID = sess.agentID
			st.everConnected = true
			st.withdrawn = false
			st.connectedSince = now
			st.disconnectedSince = time.Time{}
			seen = append(seen, name)
		}
		h := proto.Clone(ah).(*bridgev1.AccountHello)
		h.Credential = ""
		st.hello = h
		ca := s.cache.Account(name, true)
		keep := map[schema.GroupVersionResource]bool{}
		for _, k := range h.GetKinds() {
			if kindAllowed(st.spec, k) {
				keep[gvrOf(k)] = true
				ca.Kind(gvrOf(k), kindInfo(k))
			}
		}
		ca.Retain(keep)
		sess.accounts[name] = &sessionAccount{name: name, st: st, cache: ca, kinds: h.GetKinds()}
		s.leaseRenewedLocked(name, st, sess, claimedAt)
		welcome.Accounts = append(welcome.Accounts, aw)
	}
	for name, sa := range sess.accounts {
		if !accepted[name] {
			s.detachAccountLocked(sess, name, sa.st, now)
			delete(sess.accounts, name)
		}
	}
	s.reg.mu.Unlock()

	if len(accepted) == 0 && refusal != nil {
		return nil, refusal
	}
	for _, name := range seen {
		if err := s.cfg.Store.RecordSeen(sess.ctx, name, sess.agentID, now); err != nil {
			s.log.Warn("recording the connection of an account", "account", name, "err", err)
		}
	}
	// An account withdrawn from Spinnaker is enabled again (withdraw.go).
	s.spinSwitch.enqueue(seen...)
	return welcome, nil
}

// detach marks every account of an ended stream unavailable and starts its
// grace period.
func (s *Server) detach(sess *session) {
	now := time.Now()
	var names []string
	s.reg.mu.Lock()
	sess.detached = true
	for name, sa := range sess.accounts {
		if s.detachAccountLocked(sess, name, sa.st, now) {
			names = append(names, name)
		}
	}
	s.reg.mu.Unlock()
	sess.failOperations()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, name := range names {
		if err := s.cfg.Store.RecordSeen(ctx, name, sess.agentID, now); err != nil {
			s.log.Warn("recording the disconnection of an account", "account", name, "err", err)
		}
	}
	if s.replicated() {
		s.releaseAccounts(names)
	}
}

func (s *Server) detachAccountLocked(sess *session, name string, st *accountState, now time.Time) bool {
	if st.session != sess {
		return false
	}
	st.session = nil
	st.stopFenceLocked()
	st.disconnectedSince = now
	if !st.deleted.Load() {
		s.startGraceLocked(name, st)
	}
	s.log.Info("account unavailable: its agent disconnected", "account", name, "agent", sess.agentID, "grace", s.gracePeriod(st.spec))
	return true
}

// refilterLocked applies a changed registration to a connected account:
// kinds it now excludes leave the cache, and the agent is asked for
// everything again.
func (s *Server) refilterLocked(name string, st *accountState) {
	if ca := s.cache.Account(name, false); ca != nil && st.hello != nil {
		keep := map[schema.GroupVersionResource]bool{}
		for _, k := range st.hello.GetKinds() {
			if kindAllowed(st.spec, k) {
				keep[gvrOf(k)] = true
				ca.Kind(gvrOf(k), kindInfo(k))
			}
		}
		ca.Retain(keep)
	}
	sess := st.session
	go sess.send(context.Background(), &bridgev1.BridgeMessage{Msg: &bridgev1.BridgeMessage_Resync{Resync: &bridgev1.ResyncRequest{Account: name, Kind: -1}}})
}

// applyBatch puts a batch of watch events into the cache and acks it.
func (sess *session) applyBatch(b *bridgev1.EventBatch) {
	s := sess.s
	s.reg.mu.Lock()
	sa := sess.accounts[b.GetAccount()]
	current := sa != nil && sa.st.session == sess
	s.reg.mu.Unlock()
	if !current || sa.st.deleted.Load() {
		return // an account this stream does not serve (refused, revoked or removed)
	}
	st := sa.st
	spec := st.specNow.Load()
	now := time.Now()
	kinds := make(map[uint32]*cache.Kind, 2)
	kindFor := func(i uint32) *cache.Kind {
		if k, ok := kinds[i]; ok {
			return k
		}
		var k *cache.Kind
		if int(i) < len(sa.kinds) && kindAllowed(spec, sa.kinds[i]) {
			k = sa.cache.Kind(gvrOf(sa.kinds[i]), kindInfo(sa.kinds[i]))
		}
		kinds[i] = k
		return k
	}
	for _, ev := range b.GetEvents() {
		k := kindFor(ev.GetKind())
		if k == nil {
			continue
		}
		switch ev.GetType() {
		case bridgev1.EventType_EVENT_TYPE_SYNC_BEGIN:
			k.BeginSync()
		case bridgev1.EventType_EVENT_TYPE_SYNC_END:
			k.EndSync(ev.GetResourceVersion())
		case bridgev1.EventType_EVENT_TYPE_ADDED, bridgev1.EventType_EVENT_TYPE_MODIFIED:
			if !namespaceAllowed(spec, ev.GetNamespace()) {
				k.Delete(ev.GetNamespace(), ev.GetName(), "")
				continue
			}
			raw := ev.GetObject()
			if isSecret(k.Info.GVR) {
				raw = scrubSecret(raw)
			}
			o, err := cache.NewObject(raw)
			if err != nil {
				s.log.Warn("dropping an object that is not valid JSON", "account", sa.name, "kind", k.Info.GVR.String(), "name", ev.GetName(), "err", err)
				continue
			}
			changed := k.Upsert(o) != ""
			s.metrics.upserts.Inc()
			if t := ev.GetObservedUnixNano(); t > 0 {
				s.metrics.propagationLatency.Observe(now.Sub(time.Unix(0, t)).Seconds())
			}
			if cd := spec.GetClouddriverUrl(); cd != "" && changed && spinnakerManaged(raw) {
				s.refresh.notify(cd, refreshKeyOf(sa.name, k, ev), observedAt(ev, now), false)
			}
		case bridgev1.EventType_EVENT_TYPE_DELETED:
			var managed bool
			cd := spec.GetClouddriverUrl()
			if cd != "" {
				if old := k.Get(ev.GetNamespace(), ev.GetName()); old != nil {
					managed = spinnakerManaged(old.Raw)
				}
			}
			if k.Delete(ev.GetNamespace(), ev.GetName(), ev.GetResourceVersion()) && managed {
				s.refresh.notify(cd, refreshKeyOf(sa.name, k, ev), observedAt(ev, now), true)
			}
			s.metrics.deletes.Inc()
		}
	}
	st.applied.Store(b.GetSeq())
	sess.checkObjectsLimit(sa)
	sess.send(sess.ctx, &bridgev1.BridgeMessage{Msg: &bridgev1.BridgeMessage_Ack{Ack: &bridgev1.Ack{Account: b.GetAccount(), Seq: b.GetSeq()}}})
}

// deliver routes an operation result to the request waiting for it.
func (sess *session) deliver(r *bridgev1.OperationResult) {
	sess.opsMu.Lock()
	p := sess.ops[r.GetId()]
	sess.opsMu.Unlock()
	if p == nil {
		return // the caller gave up
	}
	// Never block: the receive loop carries every account of the agent,
	// and one slow HTTP reader must not hold up the others. A caller that
	// fell opResultBuffer results behind loses its operation (the agent is
	// told to stop it).
	select {
	case p.ch <- r:
	default:
		sess.s.log.Warn("ending an operation whose caller stopped reading", "agent", sess.agentID, "account", p.account, "op", r.GetId())
		sess.s.metrics.slowReaders.Inc()
		p.end()
		sess.endOperation(r.GetId(), true)
	}
}

// opResultBuffer is how many results (chunks of a stream) an operation's
// caller may lag behind.
const opResultBuffer = 256

// startOperation registers an operation and sends it to the agent.
func (sess *session) startOperation(ctx context.Context, op *bridgev1.Operation) (*pendingOp, error) {
	p := &pendingOp{account: op.GetAccount(), ch: make(chan *bridgev1.OperationResult, opResultBuffer), gone: make(chan struct{})}
	sess.opsMu.Lock()
	if sess.opsClosed || sess.ctx.Err() != nil {
		sess.opsMu.Unlock()
		return nil, errAgentGone
	}
	sess.ops[op.GetId()] = p
	sess.opsMu.Unlock()
	if !sess.send(ctx, &bridgev1.BridgeMessage{Msg: &bridgev1.BridgeMessage_Operation{Operation: op}}) {
		sess.endOperation(op.GetId(), false)
		return nil, errAgentGone
	}
	return p, nil
}

var errAgentGone = errors.New("the agent disconnected")

// endOperation forgets an operation; cancel tells the agent to stop it.
func (sess *session) endOperation(id string, cancel bool) {
	sess.opsMu.Lock()
	p := sess.ops[id]
	delete(sess.ops, id)
	sess.opsMu.Unlock()
	if p != nil && cancel {
		sess.queueCancel(id)
	}
}

// failOperations ends every operation of an ended stream; operations
// started after it fail at once.
func (sess *session) failOperations() {
	sess.opsMu.Lock()
	defer sess.opsMu.Unlock()
	sess.opsClosed = true
	for id, p := range sess.ops {
		p.end()
		delete(sess.ops, id)
	}
}

// failAccountOperations ends the operations of one account (revoked or
// dropped) and tells the agent to stop them.
func (sess *session) failAccountOperations(account string) {
	sess.opsMu.Lock()
	var ids []string
	for id, p := range sess.ops {
		if p.account == account {
			p.end()
			delete(sess.ops, id)
			ids = append(ids, id)
		}
	}
	sess.opsMu.Unlock()
	for _, id := range ids {
		sess.queueCancel(id)
	}
}

// refreshKeyOf names an event's object as Clouddriver does.
func refreshKeyOf(account string, k *cache.Kind, ev *bridgev1.WatchEvent) refreshKey {
	return refreshKey{account: account, kind: clouddriverKind(k.Info.Kind, k.Info.GVR.Group), namespace: ev.GetNamespace(), name: ev.GetName()}
}

// observedAt is when the agent saw the change (now when it did not say).
func observedAt(ev *bridgev1.WatchEvent, now time.Time) time.Time {
	if t := ev.GetObservedUnixNano(); t > 0 {
		return time.Unix(0, t)
	}
	return now
}
