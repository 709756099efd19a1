package attach_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	bridgev1 "github.com/spinops/terraform-provider-spinops/proto/spinops/bridge/v1"

	"github.com/spinops/terraform-provider-spinops/internal/attach"
	"github.com/spinops/terraform-provider-spinops/internal/bridge/bridgetest"
	"github.com/spinops/terraform-provider-spinops/internal/kube"
	"github.com/spinops/terraform-provider-spinops/internal/spinnaker"
	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

// TestMain stops the shared local services after the tests.
func TestMain(m *testing.M) { testenv.Main(m) }

// deletes records the DELETE requests a client sends, in order.
type deletes struct {
	mu    sync.Mutex
	paths []string
}

func (d *deletes) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripper(func(req *http.Request) (*http.Response, error) {
		if req.Method == http.MethodDelete {
			d.mu.Lock()
			d.paths = append(d.paths, req.URL.Path)
			d.mu.Unlock()
		}
		return rt.RoundTrip(req)
	})
}

// first is the index of the first DELETE whose path contains s (-1: none).
func (d *deletes) first(s string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	for i, p := range d.paths {
		if strings.Contains(p, s) {
			return i
		}
	}
	return -1
}

func (d *deletes) reset() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.paths = nil
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

type fixture struct {
	cluster *testenv.Cluster
	bridge  *bridgetest.Bridge
	admin   *attach.Admin
	client  *kube.Client // admin, recording deletes
	deletes *deletes
	spinNS  string
}

// setup runs a real bridge and a real API server with the Spinnaker
// Operator's CRDs.
func setup(t *testing.T) *fixture {
	t.Helper()
	c := testenv.SharedCluster(t)
	f := &fixture{cluster: c, bridge: bridgetest.Start(t), deletes: &deletes{}}
	cfg := c.RESTConfig()
	cfg.Wrap(f.deletes.wrap)
	var err error
	if f.client, err = kube.NewClient(cfg); err != nil {
		t.Fatal(err)
	}
	if err := spinnaker.InstallCRDs(t.Context(), f.client, time.Minute); err != nil {
		t.Fatal(err)
	}
	f.admin, err = attach.Dial(attach.Settings{Address: f.bridge.Addr, Token: bridgetest.AdminToken, CACertificate: f.bridge.CAPEM})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.admin.Close() })
	f.spinNS = c.Namespace(t)
	return f
}

// attachment is an agent-mode account with its agent and its
// SpinnakerAccount in the fixture's cluster.
func (f *fixture) attachment(t *testing.T, name string) *attach.Attachment {
	t.Helper()
	spec := &bridgev1.AccountSpec{Name: name, Kinds: []string{"ConfigMap"}, Mode: bridgev1.Mode_MODE_AGENT, Permissions: &bridgev1.Permissions{Read: []string{"dev"}}}
	return &attach.Attachment{
		Spec: spec,
		Install: &attach.AgentInstall{Account: name, Namespace: "agent-" + name, Image: "ghcr.io/spinops/spinops:test", Replicas: 1,
			Bridge: attach.BridgeEndpoint{Address: f.bridge.Addr, CAPEM: f.bridge.CAPEM}, Filter: attach.FilterOf(spec)},
		Target:           f.client,
		Spinnaker:        &attach.SpinnakerAccount{Account: name, Namespace: f.spinNS, Filter: attach.FilterOf(spec)},
		SpinnakerCluster: f.client,
	}
}

// applied is a new attachment, prepared and applied.
func (f *fixture) applied(t *testing.T) *attach.Attachment {
	t.Helper()
	a := f.attachment(t, testenv.UniqueName("att-", 6))
	if err := a.Prepare(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Apply(t.Context(), f.admin, attach.ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	return a
}

func (f *fixture) nobody(t *testing.T) *kube.Client {
	t.Helper()
	c, err := kube.NewClient(f.cluster.RESTConfigWithToken(f.cluster.NobodyToken))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (f *fixture) exists(t *testing.T, kind, ns, name string) bool {
	t.Helper()
	cs := f.cluster.Clientset()
	var err error
	switch kind {
	case "Deployment":
		_, err = cs.AppsV1().Deployments(ns).Get(t.Context(), name, metav1.GetOptions{})
	case "Secret":
		_, err = cs.CoreV1().Secrets(ns).Get(t.Context(), name, metav1.GetOptions{})
	case "SpinnakerAccount":
		_, err = f.client.Get(t.Context(), attach.SpinnakerAccountGVK, ns, name)
	default:
		t.Fatalf("exists: %s", kind)
	}
	if apierrors.IsNotFound(err) {
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	return true
}

func (f *fixture) registered(t *testing.T, name string) bool {
	t.Helper()
	_, err := f.admin.Get(t.Context(), name)
	if attach.IsNotFound(err) {
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	return true
}

// Apply registers the account and installs the agent and the
// SpinnakerAccount; the credential reaches the agent's Secret only.
func TestAttachmentApplyInstallsEveryPart(t *testing.T) {
	f := setup(t)
	a := f.attachment(t, testenv.UniqueName("att-", 6))
	if err := a.Prepare(t.Context()); err != nil {
		t.Fatal(err)
	}
	applied, err := a.Apply(t.Context(), f.admin, attach.ApplyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if applied.Account.GetId() == "" || !f.registered(t, a.Name()) {
		t.Fatalf("not registered: %+v", applied.Account)
	}
	for _, o := range [][3]string{{"Deployment", a.Install.Namespace, a.Install.Name()}, {"Secret", a.Install.Namespace, a.Install.Name()},
		{"SpinnakerAccount", f.spinNS, a.Name()}, {"Secret", f.spinNS, a.Spinnaker.SecretName()}} {
		if !f.exists(t, o[0], o[1], o[2]) {
			t.Errorf("%s %s/%s was not installed", o[0], o[1], o[2])
		}
	}
	f.agentHoldsCurrentCredential(t, a)
}

// agentHoldsCurrentCredential fails t unless the agent's Secret of a holds
// the credential the bridge has for the account now.
func (f *fixture) agentHoldsCurrentCredential(t *testing.T, a *attach.Attachment) {
	t.Helper()
	cred, err := f.admin.Credential(t.Context(), a.Name())
	if err != nil {
		t.Fatal(err)
	}
	s, err := f.cluster.Clientset().CoreV1().Secrets(a.Install.Namespace).Get(t.Context(), a.Install.Name(), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if string(s.Data[attach.SecretCredentialKey]) != cred {
		t.Fatal("the agent's Secret does not hold the account's current credential")
	}
}

// A new account whose parts fail to install is removed again: nothing is
// left registered or installed.
func TestAttachmentApplyRollsBackANewAccount(t *testing.T) {
	f := setup(t)
	a := f.attachment(t, testenv.UniqueName("att-", 6))
	a.Spinnaker.Namespace = "no-such-namespace" // the SpinnakerAccount cannot be created
	if err := a.Prepare(t.Context()); err != nil {
		t.Fatal(err)
	}
	_, err := a.Apply(t.Context(), f.admin, attach.ApplyOptions{})
	var se *attach.StepError
	if !errors.As(err, &se) || se.Step != attach.StepAttach || !se.RolledBack || se.Rollback != nil {
		t.Fatalf("want a rolled-back attach step, got %#v", err)
	}
	if !strings.Contains(se.Err.Error(), "creating the SpinnakerAccount") {
		t.Fatalf("the error does not say what failed: %v", se.Err)
	}
	if f.registered(t, a.Name()) || f.exists(t, "Deployment", a.Install.Namespace, a.Install.Name()) || f.exists(t, "Secret", a.Install.Namespace, a.Install.Name()) {
		t.Fatal("the rollback left the registration or the agent behind")
	}
}

// An update that moves the SpinnakerAccount to another namespace removes
// it from the old one; a rotation issues a new credential and delivers it.
func TestAttachmentApplyMovesAndRotates(t *testing.T) {
	f := setup(t)
	name := testenv.UniqueName("att-", 6)
	prev := f.attachment(t, name)
	if err := prev.Prepare(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := prev.Apply(t.Context(), f.admin, attach.ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	before, err := f.admin.Credential(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	next := f.attachment(t, name)
	next.Spinnaker.Namespace = f.cluster.Namespace(t)
	if err := next.Prepare(t.Context()); err != nil {
		t.Fatal(err)
	}
	applied, err := next.Apply(t.Context(), f.admin, attach.ApplyOptions{Previous: prev, Rotate: true})
	if err != nil || len(applied.Warnings) > 0 || !applied.Rotated {
		t.Fatalf("apply: %v %+v", err, applied)
	}
	if f.exists(t, "SpinnakerAccount", f.spinNS, name) || !f.exists(t, "SpinnakerAccount", next.Spinnaker.Namespace, name) {
		t.Fatal("the SpinnakerAccount did not move")
	}
	after, err := f.admin.Credential(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	s, err := f.cluster.Clientset().CoreV1().Secrets(next.Install.Namespace).Get(t.Context(), next.Install.Name(), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if after == before || string(s.Data[attach.SecretCredentialKey]) != after {
		t.Fatal("the rotated credential was not delivered to the agent's Secret")
	}
}

// An update on a bridge that has no registration of the account (a new
// bridge, or one whose store was replaced: the provider then re-applies
// every account, pending.go) registers it again and delivers the new
// credential to the agent's Secret, instead of failing on the update.
func TestAttachmentApplyRegistersAgainOnABridgeWithout(t *testing.T) {
	f := setup(t)
	prev := f.applied(t)
	name := prev.Name()
	first, err := f.admin.Get(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.admin.Deregister(t.Context(), name); err != nil {
		t.Fatal(err)
	}
	next := f.attachment(t, name)
	if err := next.Prepare(t.Context()); err != nil {
		t.Fatal(err)
	}
	applied, err := next.Apply(t.Context(), f.admin, attach.ApplyOptions{Previous: prev, Rotate: true})
	if err != nil || !applied.Reregistered || applied.Rotated || len(applied.Warnings) > 0 {
		t.Fatalf("apply: %v %+v", err, applied)
	}
	if applied.Account.GetId() == "" || applied.Account.GetId() == first.GetId() {
		t.Fatalf("registration id %q after %q: not a new registration", applied.Account.GetId(), first.GetId())
	}
	f.agentHoldsCurrentCredential(t, next) // the new registration's credential, delivered
	if !f.exists(t, "SpinnakerAccount", f.spinNS, name) {
		t.Fatal("the SpinnakerAccount is gone")
	}
}

// Prepare checks before anything is registered and names the part that
// fails, so the caller can point at its configuration.
func TestAttachmentPrepareNamesThePart(t *testing.T) {
	f := setup(t)
	a := f.attachment(t, testenv.UniqueName("att-", 6))
	a.Target = f.nobody(t)
	var ce *attach.CheckError
	if err := a.Prepare(t.Context()); !errors.As(err, &ce) || ce.Part != attach.PartAgent || ce.Summary != "Missing permissions in the target cluster" {
		t.Fatalf("want a missing-permissions check of the agent part, got %v", err)
	}
	a = f.attachment(t, a.Name())
	a.Install, a.Target = nil, nil
	a.CredentialSecret = &attach.CredentialSecret{Account: a.Name(), Namespace: f.spinNS, Name: "cred", Bridge: attach.BridgeEndpoint{Address: f.bridge.Addr}}
	a.CredentialSecretCluster = f.nobody(t)
	if err := a.Prepare(t.Context()); !errors.As(err, &ce) || ce.Part != attach.PartCredentialSecret {
		t.Fatalf("want a check of the credential Secret part, got %v", err)
	}
	a.CredentialSecret, a.CredentialSecretCluster = nil, nil
	a.Install = f.attachment(t, a.Name()).Install
	a.Install.Filter.Kinds = []string{"NoSuchKind"}
	a.Target = f.client
	if err := a.Prepare(t.Context()); !errors.As(err, &ce) || ce.Part != attach.PartKinds {
		t.Fatalf("want a check of the kinds, got %v", err)
	}
	if f.registered(t, a.Name()) {
		t.Fatal("Prepare registered the account")
	}
}

// Wait's timeout names the missing step and what Apply already did.
func TestAttachmentWaitNamesTheMissingStep(t *testing.T) {
	f := setup(t)
	a := f.applied(t)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	err := a.Wait(ctx, f.admin, 100*time.Millisecond)
	if err == nil {
		t.Fatal("no agent runs, yet the wait succeeded")
	}
	for _, want := range []string{"agent not connected: no agent has connected for account " + a.Name(), "agent objects applied in " + f.cluster.Host} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q missing from %v", want, err)
		}
	}
}

// slowBridge answers the first GetAccount at once (no agent yet) and then
// holds every call until its caller gives up, like a bridge that is busy
// when the wait's time runs out.
type slowBridge struct {
	bridgev1.UnimplementedAdminServiceServer
	mu    sync.Mutex
	calls int
}

func (b *slowBridge) GetAccount(ctx context.Context, req *bridgev1.GetAccountRequest) (*bridgev1.Account, error) {
	b.mu.Lock()
	b.calls++
	first := b.calls == 1
	b.mu.Unlock()
	if first {
		return &bridgev1.Account{Spec: &bridgev1.AccountSpec{Name: req.GetName()},
			Status: &bridgev1.AccountStatus{SyncState: bridgev1.SyncState_SYNC_STATE_NEVER_CONNECTED}}, nil
	}
	<-ctx.Done()
	return nil, ctx.Err()
}

// A call still running when the wait's time runs out does not hide the
// missing step: the error is the wait's timeout with its last progress.
func TestAttachmentWaitTimeoutDuringACallNamesTheMissingStep(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	bridgev1.RegisterAdminServiceServer(srv, &slowBridge{})
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(srv.Stop)
	admin, err := attach.Dial(attach.Settings{Address: l.Addr().String(), Insecure: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = admin.Close() })
	a := &attach.Attachment{Spec: &bridgev1.AccountSpec{Name: "slow"}}
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	err = a.Wait(ctx, admin, 50*time.Millisecond)
	var we *kube.WaitError
	if !errors.As(err, &we) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want the wait's timeout, got %v", err)
	}
	if want := "agent not connected: no agent has connected for account slow"; !strings.Contains(err.Error(), want) {
		t.Fatalf("%q missing from %v", want, err)
	}
}
