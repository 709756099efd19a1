package bridge

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"k8s.io/apimachinery/pkg/runtime/schema"

	bridgev1 "github.com/spinops/terraform-provider-spinops/proto/spinops/bridge/v1"

	"github.com/spinops/terraform-provider-spinops/internal/bridge/cache"
	"github.com/spinops/terraform-provider-spinops/internal/bridge/store"
)

// accountState is the bridge's live view of one registration. Fields are
// guarded by registry.mu unless noted.
type accountState struct {
	rec  *store.Account
	spec *bridgev1.AccountSpec

	session           *session
	agentID           string
	instanceID        string
	hello             *bridgev1.AccountHello
	everConnected     bool
	connectedSince    time.Time
	disconnectedSince time.Time
	withdrawn         bool
	graceTimer        *time.Timer
	// lastRefusal says why an agent was last refused for the account
	// (cleared when one is accepted): Terraform's wait reports it.
	lastRefusal   string
	lastRefusalAt time.Time
	// leaseUntil is when this replica's lease on the account ends, and
	// fence stops serving it just before (replication only, fence.go).
	leaseUntil time.Time
	fence      *time.Timer

	// applied is the last event batch applied for instanceID (atomic: the
	// session's receive loop writes it without the registry lock).
	applied atomic.Uint64
	deleted atomic.Bool
	// streams counts the endpoint's open watches and follows (limits.go).
	streams atomic.Int64
	// specNow mirrors spec for the receive loops, which filter every event
	// by it without taking the registry lock.
	specNow atomic.Pointer[bridgev1.AccountSpec]
}

// setSpec replaces the registration; s.reg.mu is held (or st is not yet
// shared).
func (st *accountState) setSpec(spec *bridgev1.AccountSpec) {
	st.spec = spec
	st.specNow.Store(spec)
}

// registry holds every account's state.
type registry struct {
	mu       sync.Mutex
	accounts map[string]*accountState
	// remote: accounts other replicas hold (replication only).
	remote map[string]*store.Holder
}

func decodeSpec(rec *store.Account) (*bridgev1.AccountSpec, error) {
	spec := &bridgev1.AccountSpec{}
	if err := protojson.Unmarshal(rec.Spec, spec); err != nil {
		return nil, fmt.Errorf("decoding the stored spec of %q: %w", rec.Name, err)
	}
	return spec, nil
}

func encodeSpec(spec *bridgev1.AccountSpec) ([]byte, error) {
	b, err := protojson.Marshal(spec)
	if err != nil {
		return nil, fmt.Errorf("encoding the spec of %q: %w", spec.GetName(), err)
	}
	return b, nil
}

// load fills the registry from the store at start. Accounts an agent served
// before the restart begin their grace period now: their agents are expected
// back within it.
func (s *Server) loadRegistry(ctx context.Context) error {
	recs, err := s.cfg.Store.List(ctx)
	if err != nil {
		return fmt.Errorf("loading registrations: %w", err)
	}
	s.reg.mu.Lock()
	defer s.reg.mu.Unlock()
	now := time.Now()
	for _, rec := range recs {
		spec, err := decodeSpec(rec)
		if err != nil {
			return err
		}
		st := &accountState{rec: rec}
		st.setSpec(spec)
		if !rec.LastSeen.IsZero() {
			st.everConnected = true
			st.agentID = rec.AgentID
			st.disconnectedSince = now
			s.startGraceLocked(rec.Name, st)
		}
		s.reg.accounts[rec.Name] = st
	}
	return nil
}

func (s *Server) gracePeriod(spec *bridgev1.AccountSpec) time.Duration {
	if g := spec.GetGracePeriodSeconds(); g > 0 {
		return time.Duration(g) * time.Second
	}
	return s.cfg.GracePeriod
}

// startGraceLocked arms the withdrawal of a disconnected account.
func (s *Server) startGraceLocked(name string, st *accountState) {
	if st.graceTimer != nil {
		st.graceTimer.Stop()
	}
	st.graceTimer = time.AfterFunc(s.gracePeriod(st.spec), func() { s.withdraw(name, st) })
}

// withdraw removes a disconnected account's objects once its grace period
// ended: Spinnaker no longer sees it until its agent comes back.
func (s *Server) withdraw(name string, st *accountState) {
	s.reg.mu.Lock()
	if st.session != nil || st.withdrawn || s.reg.accounts[name] != st {
		s.reg.mu.Unlock()
		return
	}
	st.withdrawn = true
	s.reg.mu.Unlock()
	s.cache.Drop(name)
	s.log.Info("account withdrawn: no agent within the grace period", "account", name, "grace", s.gracePeriod(st.spec))
	s.spinSwitch.enqueue(name)
}

// lookup returns an account's state as this replica knows it. It never
// queries the store: unauthenticated callers (hellos, endpoint requests)
// name accounts, and must not cost a store query each. Registrations made
// through another replica arrive within SyncInterval.
func (s *Server) lookup(name string) *accountState {
	s.reg.mu.Lock()
	defer s.reg.mu.Unlock()
	return s.reg.accounts[name]
}

// lookupOrLoad is lookup for admin calls (authenticated): with
// replication, a name this replica does not know yet is looked up in the
// shared store (it may have been registered through another replica a
// moment ago).
func (s *Server) lookupOrLoad(name string) *accountState {
	st := s.lookup(name)
	if st != nil || !s.replicated() {
		return st
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s.loadMissing(ctx, []string{name})
	s.reg.mu.Lock()
	defer s.reg.mu.Unlock()
	return s.reg.accounts[name]
}

// statusOf builds an account's status; s.reg.mu is held.
func (s *Server) statusOfLocked(name string, st *accountState) *bridgev1.AccountStatus {
	if st.session == nil && s.replicated() {
		if rs := s.remoteStatusLocked(name); rs != nil {
			return rs
		}
	}
	out := &bridgev1.AccountStatus{
		Connected: st.session != nil,
		AgentId:   st.agentID,
	}
	if st.session != nil {
		out.LastHeartbeatUnix = st.session.lastHeartbeat.Load() / int64(time.Second)
		out.ConnectedSinceUnix = st.connectedSince.Unix()
	}
	if !st.disconnectedSince.IsZero() && st.session == nil {
		out.DisconnectedSinceUnix = st.disconnectedSince.Unix()
	}
	if st.lastRefusal != "" {
		out.LastRefusal = st.lastRefusal
		out.LastRefusalUnix = st.lastRefusalAt.Unix()
	}
	if h := st.hello; h != nil {
		out.KubernetesVersion = h.GetKubernetesVersion()
		out.CaFingerprint = h.GetCaFingerprint()
		out.ApiServerHost = h.GetApiServerHost()
	}
	ca := s.cache.Account(name, false)
	if ca != nil {
		out.ObjectCounts = ca.Counts()
	}
	switch {
	case !st.everConnected:
		out.SyncState = bridgev1.SyncState_SYNC_STATE_NEVER_CONNECTED
	case st.session == nil && st.withdrawn:
		out.SyncState = bridgev1.SyncState_SYNC_STATE_WITHDRAWN
	case st.session == nil:
		out.SyncState = bridgev1.SyncState_SYNC_STATE_UNAVAILABLE
	case ca != nil && ca.Synced():
		out.SyncState = bridgev1.SyncState_SYNC_STATE_SYNCED
	default:
		out.SyncState = bridgev1.SyncState_SYNC_STATE_SYNCING
	}
	return out
}

func (s *Server) accountProtoLocked(name string, st *accountState) *bridgev1.Account {
	return &bridgev1.Account{
		Id:          st.rec.ID,
		Spec:        st.spec,
		Status:      s.statusOfLocked(name, st),
		CreatedUnix: st.rec.CreatedAt.Unix(),
		UpdatedUnix: st.rec.UpdatedAt.Unix(),
	}
}

func gvrOf(k *bridgev1.Kind) schema.GroupVersionResource {
	return schema.GroupVersionResource{Group: k.GetGroup(), Version: k.GetVersion(), Resource: k.GetResource()}
}

func kindInfo(k *bridgev1.Kind) *cache.KindInfo {
	return &cache.KindInfo{GVR: gvrOf(k), Kind: k.GetKind(), Namespaced: k.GetNamespaced(), MetadataOnly: k.GetMetadataOnly()}
}
