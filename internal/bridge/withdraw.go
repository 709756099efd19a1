package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/util/workqueue"

	bridgev1 "github.com/spinops/terraform-provider-spinops/proto/spinops/bridge/v1"

	"github.com/spinops/terraform-provider-spinops/internal/bridge/store"
	"github.com/spinops/terraform-provider-spinops/internal/spinnaker"
)

// Withdrawal from Spinnaker. When an account's agent has been gone longer
// than the account's grace period, the bridge sets the account's
// SpinnakerAccount to spec.enabled: false, and the Spinnaker Operator
// leaves it out of Clouddriver's accounts (pkg/accounts/accounts.go
// AllValidCRDAccounts skips disabled accounts), as the Armory agent plugin
// drops the account from Clouddriver. When the agent is back, the account
// is enabled again.
//
//   - Only SpinnakerAccounts this bridge serves are touched: the name of one
//     of its registrations, labelled app.kubernetes.io/managed-by=spinops,
//     and annotated spinnaker.AccountRegistrationAnnotation with that
//     registration's id (spinops_agent_account writes it). A
//     SpinnakerAccount of the same name made by hand or attached through
//     another bridge is left alone.
//   - Only the lease holder acts: the replica whose agent stream serves
//     the account enables it; a withdrawal first claims the account's
//     lease in the store (with replication), so it cannot interleave with
//     an agent coming back through another replica (that agent is refused
//     for the moment of the write and reconnects).
//   - Level-triggered and idempotent: a work queue of account names (one
//     worker, so the writes for an account never race each other) reads
//     the account's current state when it gets to it; a state change
//     re-queues the name; every account is looked at again each Resync.
//     A write is a merge patch with the object's resourceVersion, so an
//     object changed in between is read again rather than overwritten.

// SpinnakerAccounts gives the bridge access to the SpinnakerAccounts of
// Spinnaker's cluster (Config.Spinnaker). The bridge needs get and patch on
// spinnakeraccounts in Namespace.
type SpinnakerAccounts struct {
	// Client reaches Spinnaker's cluster (required).
	Client dynamic.Interface
	// Namespace holds the SpinnakerAccounts (Spinnaker's namespace;
	// required).
	Namespace string
	// Resync is how often every account is checked again (default 1m),
	// which also repairs a SpinnakerAccount switched by hand.
	Resync time.Duration
}

func (c *SpinnakerAccounts) checkAndSetDefaults() error {
	if c.Client == nil {
		return errors.New("bridge: Spinnaker.Client is required to switch SpinnakerAccounts (spinops bridge --spinnaker-kubeconfig, or run in Spinnaker's cluster)")
	}
	if c.Namespace == "" {
		return errors.New("bridge: Spinnaker.Namespace is required: the namespace of the SpinnakerAccounts (spinops bridge --spinnaker-namespace)")
	}
	if c.Resync < 0 {
		return fmt.Errorf("bridge: Spinnaker.Resync must not be negative (got %s)", c.Resync)
	}
	if c.Resync == 0 {
		c.Resync = time.Minute
	}
	return nil
}

// bridgeFieldManager writes spec.enabled (spinops_agent_account keeps the
// value it finds, so Terraform and the bridge do not fight over it).
const bridgeFieldManager = "spinops-bridge"

// withdrawalAgentPrefix names the holder a withdrawal claims the lease as.
const withdrawalAgentPrefix = "withdrawal/"

var spinnakerAccountsResource = spinnaker.SpinnakerAccountGVK.GroupVersion().WithResource("spinnakeraccounts")

// accountSwitch keeps SpinnakerAccounts' spec.enabled in line with the
// bridge's view of their agents.
type accountSwitch struct {
	s     *Server
	cfg   *SpinnakerAccounts
	queue workqueue.TypedRateLimitingInterface[string]
}

func newAccountSwitch(s *Server, cfg *SpinnakerAccounts) *accountSwitch {
	return &accountSwitch{s: s, cfg: cfg, queue: workqueue.NewTypedRateLimitingQueueWithConfig(
		workqueue.DefaultTypedControllerRateLimiter[string](),
		workqueue.TypedRateLimitingQueueConfig[string]{Name: "spinops-bridge-spinnaker-accounts"})}
}

// enqueue asks for an account's SpinnakerAccount to be checked; nil-safe
// (the switch is off without Config.Spinnaker).
func (w *accountSwitch) enqueue(names ...string) {
	if w == nil {
		return
	}
	for _, n := range names {
		w.queue.Add(n)
	}
}

// run works the queue and re-queues every account each Resync until ctx
// ends.
func (w *accountSwitch) run(ctx context.Context) {
	go func() {
		<-ctx.Done()
		w.queue.ShutDown()
	}()
	go func() {
		t := time.NewTicker(w.cfg.Resync)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				w.enqueue(w.s.accountNames()...)
			}
		}
	}()
	w.enqueue(w.s.accountNames()...)
	for w.processNext(ctx) {
	}
}

func (w *accountSwitch) processNext(ctx context.Context) bool {
	name, quit := w.queue.Get()
	if quit {
		return false
	}
	defer w.queue.Done(name)
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	err := w.sync(sctx, name)
	cancel()
	if err != nil {
		reason := "error"
		if apierrors.IsForbidden(err) {
			reason = "forbidden"
		}
		w.s.metrics.spinnakerAccountErrors.WithLabelValues(reason).Inc()
		w.s.log.Warn("switching a SpinnakerAccount failed; retrying", "account", name, "namespace", w.cfg.Namespace, "reason", reason, "err", err)
		w.queue.AddRateLimited(name)
		return true
	}
	w.queue.Forget(name)
	return true
}

// accountNames lists the registry.
func (s *Server) accountNames() []string {
	s.reg.mu.Lock()
	defer s.reg.mu.Unlock()
	names := make([]string, 0, len(s.reg.accounts))
	for n := range s.reg.accounts {
		names = append(names, n)
	}
	return names
}

// desiredEnabled is what the account's SpinnakerAccount should say, as far
// as this replica decides it: true while an agent stream here serves it
// (this replica holds its lease), false once withdrawn; ok is false when
// this replica has nothing to say (inside the grace period, never
// connected, unknown).
func (s *Server) desiredEnabled(name string) (enabled bool, registrationID string, grace time.Duration, ok bool) {
	s.reg.mu.Lock()
	defer s.reg.mu.Unlock()
	st := s.reg.accounts[name]
	if st == nil || st.deleted.Load() {
		return false, "", 0, false
	}
	switch {
	case st.session != nil:
		return true, st.rec.ID, 0, true
	case st.withdrawn:
		return false, st.rec.ID, s.gracePeriod(st.spec), true
	}
	return false, "", 0, false
}

func (w *accountSwitch) sync(ctx context.Context, name string) error {
	want, id, grace, ok := w.s.desiredEnabled(name)
	if !ok {
		return nil
	}
	if !want && w.s.replicated() {
		release, held, err := w.s.claimForWithdrawal(ctx, name)
		if err != nil {
			return err
		}
		if held {
			// An agent serves it through another replica, which enables it.
			w.s.metrics.spinnakerAccountSkipped.WithLabelValues("held").Inc()
			w.s.log.Info("not withdrawing the account from Spinnaker: its lease is held (the agent is back through another replica)", "account", name)
			return nil
		}
		defer release()
		// The state may have changed while claiming (the agent came back
		// here): decide again under the lease.
		if want, id, grace, ok = w.s.desiredEnabled(name); !ok || want {
			return nil
		}
	}
	return w.set(ctx, name, id, want, grace)
}

// set writes spec.enabled of the account's SpinnakerAccount if it is one
// this bridge serves and says otherwise.
func (w *accountSwitch) set(ctx context.Context, name, registrationID string, enabled bool, grace time.Duration) error {
	c := w.cfg.Client.Resource(spinnakerAccountsResource).Namespace(w.cfg.Namespace)
	obj, err := c.Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil // not attached to Spinnaker (or not yet)
	}
	if err != nil {
		return w.accessError("read", name, err)
	}
	if !servedBy(obj, registrationID) {
		w.s.metrics.spinnakerAccountSkipped.WithLabelValues("foreign").Inc()
		return nil
	}
	if cur, found, _ := unstructured.NestedBool(obj.Object, "spec", "enabled"); found && cur == enabled {
		return nil
	}
	patch, err := json.Marshal(map[string]any{
		"metadata": map[string]any{"resourceVersion": obj.GetResourceVersion()},
		"spec":     map[string]any{"enabled": enabled},
	})
	if err != nil {
		return err
	}
	if _, err := c.Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: bridgeFieldManager}); err != nil {
		return w.accessError(fmt.Sprintf("set spec.enabled=%t on", enabled), name, err)
	}
	w.s.metrics.spinnakerAccountSwitches.WithLabelValues(fmt.Sprint(enabled)).Inc()
	if enabled {
		w.s.log.Info("SpinnakerAccount enabled again: its agent is back", "account", name, "namespace", w.cfg.Namespace)
	} else {
		w.s.log.Info("SpinnakerAccount disabled: its agent has been gone longer than the grace period, so Spinnaker drops the account",
			"account", name, "namespace", w.cfg.Namespace, "grace", grace)
	}
	return nil
}

// accessError says what failed, and for a refusal, what access the bridge
// lacks.
func (w *accountSwitch) accessError(what, name string, err error) error {
	if apierrors.IsForbidden(err) {
		return fmt.Errorf("the bridge may not %s SpinnakerAccount %s/%s: give the identity it runs as get and patch on spinnakeraccounts.spinnaker.io "+
			"in namespace %s (a Role and RoleBinding), or run it without --spinnaker-namespace to leave accounts in Spinnaker when their agents are gone: %w",
			what, w.cfg.Namespace, name, w.cfg.Namespace, err)
	}
	return fmt.Errorf("could not %s SpinnakerAccount %s/%s: %w", what, w.cfg.Namespace, name, err)
}

// servedBy says whether a SpinnakerAccount is the one spinops attached for
// registration id.
func servedBy(obj *unstructured.Unstructured, registrationID string) bool {
	return registrationID != "" &&
		obj.GetLabels()["app.kubernetes.io/managed-by"] == "spinops" &&
		obj.GetAnnotations()[spinnaker.AccountRegistrationAnnotation] == registrationID
}

// claimForWithdrawal takes the account's lease in the shared store for the
// time of a withdrawal; held says that another agent holds it (it is
// served: nothing to withdraw).
func (s *Server) claimForWithdrawal(ctx context.Context, name string) (release func(), held bool, err error) {
	now := time.Now()
	status, _ := protojson.Marshal(&bridgev1.AccountStatus{SyncState: bridgev1.SyncState_SYNC_STATE_WITHDRAWN})
	h := &store.Holder{Account: name, BridgeID: s.cfg.BridgeID, AgentID: withdrawalAgentPrefix + s.cfg.BridgeID,
		PeerURL: s.cfg.PeerURL, Status: status, Expires: now.Add(s.cfg.HoldTTL)}
	if _, err := s.cfg.Store.Claim(ctx, h, now); errors.Is(err, store.ErrHeld) {
		return nil, true, nil
	} else if err != nil {
		return nil, false, fmt.Errorf("claiming the lease of account %q before withdrawing it: %w", name, err)
	}
	return func() { s.releaseAccounts([]string{name}) }, false, nil
}
