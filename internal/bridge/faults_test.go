package bridge_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	bridgev1 "github.com/spinops/terraform-provider-spinops/proto/spinops/bridge/v1"

	"github.com/spinops/terraform-provider-spinops/internal/bridge"
	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

// recorder keeps every message an agent sends.
type recorder struct {
	mu   sync.Mutex
	sent [][]byte
}

func (r *recorder) interceptor() grpc.DialOption {
	return grpc.WithStreamInterceptor(func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
		s, err := streamer(ctx, desc, cc, method, opts...)
		return &recordingStream{ClientStream: s, r: r}, err
	})
}

type recordingStream struct {
	grpc.ClientStream
	r *recorder
}

func (s *recordingStream) SendMsg(m any) error {
	if am, ok := m.(*bridgev1.AgentMessage); ok {
		b, _ := protoMarshal(am)
		s.r.mu.Lock()
		s.r.sent = append(s.r.sent, b)
		s.r.mu.Unlock()
	}
	return s.ClientStream.SendMsg(m)
}

func (r *recorder) contains(b []byte) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, m := range r.sent {
		if bytes.Contains(m, b) {
			return true
		}
	}
	return false
}

// TestSecretsNeverLeaveTheCluster: a Secret's data is not in the bridge
// cache, not in the endpoint's answers (cache or forwarded), and not in
// anything the agent sends.
func TestSecretsNeverLeaveTheCluster(t *testing.T) {
	c := testenv.SharedCluster(t)
	ns := c.Namespace(t)
	p := newPKI(t)
	tb := startBridge(t, p, filepath.Join(t.TempDir(), "bridge.db"))
	cred := tb.register(t, &bridgev1.AccountSpec{Name: "sec", Permissions: &bridgev1.Permissions{Write: []string{"ops"}}})
	cfgPath := filepath.Join(t.TempDir(), "agent.yaml")
	tb.agentConfig("sec-agent", agentAccount{Name: "sec", KubeconfigFile: c.Kubeconfig, Credential: cred, Kinds: []string{"Secret", "ConfigMap"}, Permissions: &agentPermissions{Write: []string{"ops"}}}).write(t, cfgPath)
	rec := &recorder{}
	startAgent(t, cfgPath, rec.interceptor())
	tb.waitSynced(t, "sec")

	const value = "hunter2-very-secret-value"
	kc, err := tb.admin.GetKubeconfig(adminCtx(), &bridgev1.GetKubeconfigRequest{Name: "sec"})
	if err != nil {
		t.Fatal(err)
	}
	kcPath := filepath.Join(t.TempDir(), "kubeconfig")
	writeFile(t, kcPath, []byte(kc.GetKubeconfig()))
	// Applied with kubectl: the last-applied annotation holds the value too.
	out, err := kubectl(t, kcPath, []byte(`{"apiVersion":"v1","kind":"Secret","metadata":{"name":"db","namespace":"`+ns+`"},"stringData":{"password":"`+value+`"}}`), "apply", "-f", "-")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if _, err := c.Clientset().CoreV1().Secrets(ns).Create(context.Background(), &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "direct", Namespace: ns}, Data: map[string][]byte{"k": []byte(value)},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "secrets in the cache", func() bool {
		return tb.cached("sec", secrets, ns, "db") != nil && tb.cached("sec", secrets, ns, "direct") != nil
	})
	encoded := []byte("aHVudGVyMi") // base64 prefix of the value
	for _, name := range []string{"db", "direct"} {
		raw := tb.cached("sec", secrets, ns, name)
		if bytes.Contains(raw, []byte(value)) || bytes.Contains(raw, encoded) || bytes.Contains(raw, []byte(`"data"`)) {
			t.Fatalf("the cache holds secret data: %s", raw)
		}
	}
	for _, args := range [][]string{
		{"get", "secret", "db", "-n", ns, "-o", "json"},
		{"get", "secrets", "-n", ns, "-o", "yaml"},
	} {
		out, err := kubectl(t, kcPath, nil, args...)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(out, value) || strings.Contains(out, string(encoded)) || !strings.Contains(out, "name: db") && !strings.Contains(out, `"name": "db"`) {
			t.Fatalf("kubectl %v shows secret data:\n%s", args, out)
		}
	}
	// Forwarded reads (the uncached path) are scrubbed by the agent.
	body := endpointGet(t, tb, kc, "/api/v1/namespaces/"+ns+"/secrets/db?resourceVersion=0&fieldSelector=type%3DOpaque")
	if bytes.Contains(body, []byte(value)) || bytes.Contains(body, encoded) {
		t.Fatalf("a forwarded read shows secret data: %s", body)
	}
	if rec.contains([]byte(value)) || rec.contains(encoded) {
		t.Fatal("the agent sent secret data to the bridge")
	}
}

// endpointStream opens a long GET (a watch) on the account endpoint.
func endpointStream(t *testing.T, tb *testBridge, kc *bridgev1.GetKubeconfigResponse, path string) io.ReadCloser {
	req, _ := http.NewRequest(http.MethodGet, kc.GetServer()+path, nil)
	req.Header.Set("Authorization", "Bearer "+kc.GetToken())
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: tb.pki.ca.Pool(), MinVersion: tls.VersionTLS12}}}
	resp, err := client.Do(req)
	if err != nil {
		t.Errorf("watch: %v", err)
		return nil
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		t.Errorf("watch: %s: %s", resp.Status, b)
		return nil
	}
	return resp.Body
}

func endpointGet(t *testing.T, tb *testBridge, kc *bridgev1.GetKubeconfigResponse, path string) []byte {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, kc.GetServer()+path, nil)
	req.Header.Set("Authorization", "Bearer "+kc.GetToken())
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: tb.pki.ca.Pool(), MinVersion: tls.VersionTLS12}}}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return b
}

// TestAgentDisconnectAndBridgeRestart: a killed agent's account is
// unavailable at once and withdrawn when its grace period ends; it comes
// back when the agent does. A restarted bridge loses no registration and
// its agents are back within seconds, the cache converging to the cluster.
func TestAgentDisconnectAndBridgeRestart(t *testing.T) {
	c := testenv.SharedCluster(t)
	ns := c.Namespace(t)
	ctx := context.Background()
	p := newPKI(t)
	db := filepath.Join(t.TempDir(), "bridge.db")
	tb := startBridge(t, p, db)
	cred := tb.register(t, &bridgev1.AccountSpec{Name: "flaky", GracePeriodSeconds: 1})
	cfgPath := filepath.Join(t.TempDir(), "agent.yaml")
	tb.agentConfig("flaky-agent", agentAccount{Name: "flaky", KubeconfigFile: c.Kubeconfig, Credential: cred, Kinds: []string{"ConfigMap"}}).write(t, cfgPath)
	ag := startAgent(t, cfgPath)
	tb.waitSynced(t, "flaky")

	ag.stop()
	stopped := time.Now()
	waitFor(t, 2*time.Second, "unavailable", func() bool {
		return tb.syncState(t, "flaky") == bridgev1.SyncState_SYNC_STATE_UNAVAILABLE
	})
	waitFor(t, 3*time.Second, "withdrawn", func() bool {
		return tb.syncState(t, "flaky") == bridgev1.SyncState_SYNC_STATE_WITHDRAWN
	})
	if d := time.Since(stopped); d > 2*time.Second {
		t.Fatalf("withdrawn %s after the agent stopped; the grace period is 1s", d)
	}
	if tb.Cache().Account("flaky", false) != nil {
		t.Fatal("a withdrawn account is still cached")
	}
	// Changes while nobody watched are there once the agent is back.
	if _, err := c.Clientset().CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "while-away", Namespace: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	startAgent(t, cfgPath)
	tb.waitSynced(t, "flaky")
	waitFor(t, 10*time.Second, "object created while away", func() bool { return tb.cached("flaky", configMaps, ns, "while-away") != nil })

	// Bridge restart: registrations survive, the agent reconnects.
	tb.restart(t)
	if err := c.Clientset().CoreV1().ConfigMaps(ns).Delete(ctx, "while-away", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	restarted := time.Now()
	tb.waitSynced(t, "flaky")
	if d := time.Since(restarted); d > 5*time.Second {
		t.Fatalf("the agent took %s to come back after a bridge restart", d)
	}
	waitFor(t, 10*time.Second, "deletion seen after the restart", func() bool { return tb.cached("flaky", configMaps, ns, "while-away") == nil })
	if _, err := c.Clientset().CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "after", Namespace: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "new object after the restart", func() bool { return tb.cached("flaky", configMaps, ns, "after") != nil })
}

// TestConfigReload: accounts added, changed and removed in the file apply
// without a restart; a broken edit keeps the last good config running.
func TestConfigReload(t *testing.T) {
	c := testenv.SharedCluster(t)
	ns := c.Namespace(t)
	p := newPKI(t)
	tb := startBridge(t, p, filepath.Join(t.TempDir(), "bridge.db"))
	credA := tb.register(t, &bridgev1.AccountSpec{Name: "reload-a"})
	credB := tb.register(t, &bridgev1.AccountSpec{Name: "reload-b"})
	cfgPath := filepath.Join(t.TempDir(), "agent.yaml")
	a := agentAccount{Name: "reload-a", KubeconfigFile: c.Kubeconfig, Credential: credA, Kinds: []string{"ConfigMap"}}
	b := agentAccount{Name: "reload-b", KubeconfigFile: c.Kubeconfig, Credential: credB, Kinds: []string{"Namespace"}}
	tb.agentConfig("reload-agent", a).write(t, cfgPath)
	ag := startAgent(t, cfgPath)
	tb.waitSynced(t, "reload-a")

	tb.agentConfig("reload-agent", a, b).write(t, cfgPath) // add
	tb.waitSynced(t, "reload-b")

	a.Kinds = []string{"ConfigMap", "ServiceAccount"} // change
	tb.agentConfig("reload-agent", a, b).write(t, cfgPath)
	waitFor(t, 10*time.Second, "serviceaccounts of reload-a cached", func() bool {
		ca := tb.Cache().Account("reload-a", false)
		if ca == nil {
			return false
		}
		k := ca.Kind(schema.GroupVersionResource{Version: "v1", Resource: "serviceaccounts"}, nil)
		return k != nil && k.Synced()
	})

	// A broken edit: reported, and the last good config keeps running.
	writeFile(t, cfgPath, []byte("bridge: {grpc: nope}\nkubernetes: {accounts: [{name: Bad_Name}]}\n"))
	waitFor(t, 5*time.Second, "the broken edit reported", func() bool { return ag.LastReloadError() != nil })
	if msg := ag.LastReloadError().Error(); !strings.Contains(msg, "must be host:port") || !strings.Contains(msg, "Bad_Name") {
		t.Fatalf("unclear reload error: %s", msg)
	}
	if _, err := c.Clientset().CoreV1().ConfigMaps(ns).Create(context.Background(), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "still", Namespace: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the last good config still streaming", func() bool { return tb.cached("reload-a", configMaps, ns, "still") != nil })

	tb.agentConfig("reload-agent", a).write(t, cfgPath) // remove b
	waitFor(t, 10*time.Second, "reload-b unavailable", func() bool {
		return tb.syncState(t, "reload-b") == bridgev1.SyncState_SYNC_STATE_UNAVAILABLE
	})
	if tb.syncState(t, "reload-a") != bridgev1.SyncState_SYNC_STATE_SYNCED {
		t.Fatal("removing one account disturbed another")
	}
}

// TestMalformedConfigAtStart: a clear error, no agent.
func TestMalformedConfigAtStart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "agent.yaml")
	writeFile(t, path, []byte("bridge: {grpc: 'b:1'}\nkubernetes: {accounts: [{name: a, kubeconfigFile: k, kinds: [Pod], omitKinds: [Secret]}]}\n"))
	_, err := newAgent(path)
	if err == nil || !strings.Contains(err.Error(), "kinds and omitKinds are exclusive") || !strings.Contains(err.Error(), path) {
		t.Fatalf("got %v", err)
	}
}

// rawHello opens a stream with hello and returns the status it ends with
// (OK when welcomed).
func rawHello(t *testing.T, tb *testBridge, tc *tls.Config, hello *bridgev1.Hello) (*bridgev1.Welcome, error) {
	t.Helper()
	if tc == nil {
		tc = &tls.Config{RootCAs: tb.pki.ca.Pool(), MinVersion: tls.VersionTLS12}
	}
	cc, err := grpc.NewClient(tb.grpcAddr, grpc.WithTransportCredentials(credentials.NewTLS(tc)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	stream, err := bridgev1.NewAgentServiceClient(cc).Connect(ctx)
	if err != nil {
		return nil, err
	}
	if err := stream.Send(&bridgev1.AgentMessage{Msg: &bridgev1.AgentMessage_Hello{Hello: hello}}); err != nil {
		return nil, err
	}
	m, err := stream.Recv()
	if err != nil {
		return nil, err
	}
	return m.GetWelcome(), nil
}

// TestAgentAuthentication: unknown names, wrong credentials, wrong client
// certificates, a second agent for a served account, a second registration
// of a name and an oversized message are refused with clear statuses.
func TestAgentAuthentication(t *testing.T) {
	p := newPKI(t)
	tb := startBridge(t, p, filepath.Join(t.TempDir(), "bridge.db"), func(c *bridge.Config) { c.MaxMessageBytes = 1 << 20 })
	cred := tb.register(t, &bridgev1.AccountSpec{Name: "auth", ClientIdentity: "spiffe://spinops/agent/auth"})
	hello := func(agentID, name, credential string) *bridgev1.Hello {
		return &bridgev1.Hello{AgentId: agentID, InstanceId: agentID, Accounts: []*bridgev1.AccountHello{{Name: name, Credential: credential}}}
	}
	expect := func(err error, code codes.Code, text string) {
		t.Helper()
		st, _ := status.FromError(err)
		if st.Code() != code || !strings.Contains(st.Message(), text) {
			t.Fatalf("got %v, want %s containing %q", err, code, text)
		}
	}

	_, err := tb.admin.RegisterAccount(adminCtx(), &bridgev1.RegisterAccountRequest{Spec: &bridgev1.AccountSpec{Name: "auth"}})
	expect(err, codes.AlreadyExists, `account "auth" is already registered`)
	_, err = tb.admin.RegisterAccount(adminCtx(), &bridgev1.RegisterAccountRequest{Spec: &bridgev1.AccountSpec{Name: "x", Kinds: []string{"Pod"}, OmitKinds: []string{"Secret"}}})
	expect(err, codes.InvalidArgument, "both kinds and omit_kinds")
	_, err = tb.admin.ListAccounts(context.Background(), &bridgev1.ListAccountsRequest{})
	expect(err, codes.Unauthenticated, "admin")

	// An unknown name, a wrong credential and no credential get one answer.
	_, err = rawHello(t, tb, nil, hello("a1", "nobody-registered-this", cred))
	expect(err, codes.Unauthenticated, `account "nobody-registered-this": neither the credential nor the client certificate presented is valid`)
	_, err = rawHello(t, tb, nil, hello("a1", "auth", "spa_wrong"))
	expect(err, codes.Unauthenticated, `account "auth": neither the credential nor the client certificate presented is valid`)
	_, err = rawHello(t, tb, nil, hello("a1", "auth", ""))
	expect(err, codes.Unauthenticated, `account "auth": neither the credential nor the client certificate presented is valid`)

	// mTLS: the registered identity needs no credential; another identity
	// from the same CA is refused; a certificate from another CA fails the
	// handshake.
	mtls := func(ca *bridge.CA, identity string) *tls.Config {
		pair, _, _, err := ca.IssueClient(identity)
		if err != nil {
			t.Fatal(err)
		}
		return &tls.Config{RootCAs: tb.pki.ca.Pool(), Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
	}
	_, err = rawHello(t, tb, mtls(p.ca, "spiffe://spinops/agent/other"), hello("a1", "auth", ""))
	expect(err, codes.Unauthenticated, "the certificate is the identity the registration names")
	other, _ := bridge.NewCA("rogue")
	_, err = rawHello(t, tb, mtls(other, "spiffe://spinops/agent/auth"), hello("a1", "auth", ""))
	// (Go's TLS client does not even offer a certificate the server's CA
	// list does not name: the bridge sees no certificate.)
	if code := status.Code(err); code != codes.Unavailable && code != codes.Unauthenticated {
		t.Fatalf("a certificate of an unknown CA: got %v", err)
	}

	// The registered certificate holds the account; a second agent is refused.
	w, err := rawHello(t, tb, mtls(p.ca, "spiffe://spinops/agent/auth"), hello("holder", "auth", ""))
	if err != nil || len(w.GetAccounts()) != 1 || w.GetAccounts()[0].GetRefusedCode() != 0 {
		t.Fatalf("the registered certificate was refused: %v %v", err, w)
	}
	_, err = rawHello(t, tb, nil, hello("intruder", "auth", cred))
	expect(err, codes.AlreadyExists, `already served by agent "holder"`)

	// Oversized message.
	cc, err := grpc.NewClient(tb.grpcAddr, grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: p.ca.Pool(), MinVersion: tls.VersionTLS12})))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	stream, err := bridgev1.NewAgentServiceClient(cc).Connect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	_ = stream.Send(&bridgev1.AgentMessage{Msg: &bridgev1.AgentMessage_Hello{Hello: &bridgev1.Hello{AgentId: "big", Accounts: []*bridgev1.AccountHello{{Name: strings.Repeat("x", 2<<20)}}}}})
	_, err = stream.Recv()
	expect(err, codes.ResourceExhausted, "larger than max")
}

var _ = os.Remove

// The agent credential can be fetched again by an admin (so Terraform can
// put it in the target cluster without keeping it), changes on rotation,
// survives a restart, and a refusal is reported in the account's status.
func TestCredentialRetrievalAndRotation(t *testing.T) {
	p := newPKI(t)
	tb := startBridge(t, p, filepath.Join(t.TempDir(), "bridge.db"))
	cred := tb.register(t, &bridgev1.AccountSpec{Name: "cred"})
	get := func() string {
		t.Helper()
		r, err := tb.admin.GetCredential(adminCtx(), &bridgev1.GetCredentialRequest{Name: "cred"})
		if err != nil {
			t.Fatal(err)
		}
		return r.GetCredential()
	}
	if got := get(); got != cred {
		t.Fatalf("GetCredential = %q, want the credential issued at registration", got)
	}
	if _, err := tb.admin.GetCredential(context.Background(), &bridgev1.GetCredentialRequest{Name: "cred"}); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("GetCredential without the admin token: %v", err)
	}
	if _, err := tb.admin.GetCredential(adminCtx(), &bridgev1.GetCredentialRequest{Name: "nope"}); status.Code(err) != codes.NotFound {
		t.Fatalf("GetCredential of an unknown account: %v", err)
	}

	kcBefore, err := tb.admin.GetKubeconfig(adminCtx(), &bridgev1.GetKubeconfigRequest{Name: "cred"})
	if err != nil {
		t.Fatal(err)
	}
	rot, err := tb.admin.RotateCredential(adminCtx(), &bridgev1.RotateCredentialRequest{Name: "cred"})
	if err != nil {
		t.Fatal(err)
	}
	// The endpoint token rotates with the credential.
	kcAfter, err := tb.admin.GetKubeconfig(adminCtx(), &bridgev1.GetKubeconfigRequest{Name: "cred"})
	if err != nil {
		t.Fatal(err)
	}
	if kcAfter.GetToken() == kcBefore.GetToken() {
		t.Fatal("RotateCredential left the endpoint token as it was")
	}
	if code := endpointDo(t, tb, kcBefore, http.MethodGet, "/api/v1/configmaps", ""); code != http.StatusUnauthorized {
		t.Fatalf("the endpoint token from before the rotation: HTTP %d, want 401", code)
	}
	if code := endpointDo(t, tb, kcAfter, http.MethodGet, "/api/v1/configmaps", ""); code == http.StatusUnauthorized {
		t.Fatal("the rotated endpoint token is refused")
	}
	if rot.GetCredential() == cred || get() != rot.GetCredential() {
		t.Fatalf("after rotation GetCredential must return the new credential")
	}
	hello := &bridgev1.Hello{AgentId: "a1", InstanceId: "a1", Accounts: []*bridgev1.AccountHello{{Name: "cred", Credential: cred}}}
	if _, err := rawHello(t, tb, nil, hello); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("the rotated-away credential: %v", err)
	}
	// A hello that does not prove itself leaves no mark on the account.
	if st := tb.account(t, "cred").GetStatus(); st.GetLastRefusal() != "" || st.GetLastRefusalUnix() != 0 {
		t.Fatalf("an unauthenticated hello changed the account's last refusal: %+v", st)
	}

	tb.restart(t)
	if get() != rot.GetCredential() {
		t.Fatalf("the credential changed across a bridge restart")
	}
	hello.Accounts[0].Credential = rot.GetCredential()
	if w, err := rawHello(t, tb, nil, hello); err != nil || w.GetAccounts()[0].GetRefusedCode() != 0 {
		t.Fatalf("the current credential was refused after a restart: %v", err)
	}
}
