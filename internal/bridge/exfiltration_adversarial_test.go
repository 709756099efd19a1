package bridge_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	bridgev1 "github.com/spinops/terraform-provider-spinops/proto/spinops/bridge/v1"

	"github.com/spinops/terraform-provider-spinops/internal/agent"
	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

// wire records what an agent sends (every message, marshalled) and the
// operations it is asked to run.
type wire struct {
	mu   sync.Mutex
	sent [][]byte
	ops  []string
}

func (w *wire) interceptor() grpc.DialOption {
	return grpc.WithStreamInterceptor(func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
		s, err := streamer(ctx, desc, cc, method, opts...)
		return &wireStream{ClientStream: s, w: w}, err
	})
}

type wireStream struct {
	grpc.ClientStream
	w *wire
}

func (s *wireStream) SendMsg(m any) error {
	if am, ok := m.(*bridgev1.AgentMessage); ok {
		b, _ := protoMarshal(am)
		s.w.mu.Lock()
		s.w.sent = append(s.w.sent, b)
		s.w.mu.Unlock()
	}
	return s.ClientStream.SendMsg(m)
}

func (s *wireStream) RecvMsg(m any) error {
	err := s.ClientStream.RecvMsg(m)
	if bm, ok := m.(*bridgev1.BridgeMessage); ok && err == nil && bm.GetOperation() != nil {
		op := bm.GetOperation()
		s.w.mu.Lock()
		s.w.ops = append(s.w.ops, op.GetMethod()+" "+op.GetPath()+"?"+op.GetQuery())
		s.w.mu.Unlock()
	}
	return err
}

func (w *wire) contains(b []byte) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, m := range w.sent {
		if bytes.Contains(m, b) {
			return true
		}
	}
	return false
}

func (w *wire) operations() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.ops...)
}

// call runs one request against an account's endpoint.
func call(t *testing.T, tb *testBridge, kc *bridgev1.GetKubeconfigResponse, method, path, accept, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, kc.GetServer()+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+kc.GetToken())
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := (&http.Client{Transport: &http.Transport{TLSClientConfig: tlsTo(tb)}}).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// TestAdversarialSecretExfiltration: every way of asking for Secrets through
// an account's endpoint — get, list, field selectors, continue, resource
// versions, watches by parameter (any spelling the API server takes) and by
// the legacy /watch/ path, cluster-wide, Tables with whole objects,
// metadata-only lists, creates and patches — in JSON, protobuf, YAML and
// with no Accept (kubectl get --raw): neither the value nor its base64 is
// in any answer, nor in anything the agent sent.
func TestAdversarialSecretExfiltration(t *testing.T) {
	c := testenv.SharedCluster(t)
	ns := c.Namespace(t)
	ctx := context.Background()
	p := newPKI(t)
	tb := startBridge(t, p, filepath.Join(t.TempDir(), "bridge.db"))
	credNS := tb.register(t, &bridgev1.AccountSpec{Name: "adv-ns", Namespaces: []string{ns}, Kinds: []string{"Secret", "ConfigMap"}, Permissions: &bridgev1.Permissions{Write: []string{"ops"}}})
	credWide := tb.register(t, &bridgev1.AccountSpec{Name: "adv-wide", Kinds: []string{"Secret", "Namespace"}})
	cfgPath := filepath.Join(t.TempDir(), "agent.yaml")
	f := tb.agentConfig("adv-agent",
		agentAccount{Name: "adv-ns", KubeconfigFile: c.Kubeconfig, Credential: credNS, Kinds: []string{"Secret", "ConfigMap"}, Namespaces: []string{ns}, Permissions: &agentPermissions{Write: []string{"ops"}}},
		agentAccount{Name: "adv-wide", KubeconfigFile: c.Kubeconfig, Credential: credWide, Kinds: []string{"Secret", "Namespace"}})
	f.write(t, cfgPath)
	w := &wire{}
	startAgent(t, cfgPath, w.interceptor())
	tb.waitSynced(t, "adv-ns")
	tb.waitSynced(t, "adv-wide")

	const value = "hunter2-adversarial-secret-value"
	b64 := base64.StdEncoding.EncodeToString([]byte(value))
	leaked := func(b []byte) bool { return bytes.Contains(b, []byte(value)) || bytes.Contains(b, []byte(b64)) }
	lastApplied := `{"apiVersion":"v1","kind":"Secret","metadata":{"name":"db"},"stringData":{"password":"` + value + `"}}`
	for _, name := range []string{"db", "db2"} {
		if _, err := c.Clientset().CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Annotations: map[string]string{"kubectl.kubernetes.io/last-applied-configuration": lastApplied}},
			Type:       corev1.SecretTypeOpaque, Data: map[string][]byte{"password": []byte(value)},
		}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	page, err := c.Clientset().CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{Limit: 1})
	if err != nil || page.Continue == "" {
		t.Fatalf("listing a first page: %v (continue %q)", err, page.Continue)
	}
	kcNS, err := tb.admin.GetKubeconfig(adminCtx(), &bridgev1.GetKubeconfigRequest{Name: "adv-ns"})
	if err != nil {
		t.Fatal(err)
	}
	kcWide, err := tb.admin.GetKubeconfig(adminCtx(), &bridgev1.GetKubeconfigRequest{Name: "adv-wide"})
	if err != nil {
		t.Fatal(err)
	}

	nsp := "/api/v1/namespaces/" + ns + "/secrets"
	short := "timeoutSeconds=1"
	paths := []struct {
		kc   *bridgev1.GetKubeconfigResponse
		path string
	}{
		{kcNS, nsp + "/db"},
		{kcNS, nsp + "/db?resourceVersion=0"},
		{kcNS, nsp},
		{kcNS, nsp + "?fieldSelector=type%3DOpaque"},
		{kcNS, nsp + "?fieldSelector=metadata.name%3Ddb"},
		{kcNS, nsp + "?limit=1"},
		{kcNS, nsp + "?limit=1&continue=" + url.QueryEscape(page.Continue)},
		{kcNS, nsp + "?resourceVersion=0&resourceVersionMatch=NotOlderThan"},
		{kcNS, nsp + "?includeObject=Object&fieldSelector=type%3DOpaque"},
		{kcNS, nsp + "?watch=1&" + short},
		{kcNS, nsp + "?watch=true&resourceVersion=0&" + short},
		{kcNS, nsp + "?watch=yes&fieldSelector=type%3DOpaque&resourceVersion=0&" + short},
		{kcNS, nsp + "?watch=&fieldSelector=type%3DOpaque&resourceVersion=0&" + short},
		{kcNS, nsp + "?watch=1&sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan&" + short},
		{kcNS, "/api/v1/watch/namespaces/" + ns + "/secrets?resourceVersion=0&" + short},
		{kcNS, "/api/v1/watch/namespaces/" + ns + "/secrets/db?resourceVersion=0&" + short},
		{kcNS, "/api/v1/namespaces/" + ns + "/secrets/db?watch=1&resourceVersion=0&" + short},
		{kcWide, "/api/v1/secrets"},
		{kcWide, "/api/v1/secrets?fieldSelector=type%3DOpaque"},
		{kcWide, "/api/v1/secrets?watch=1&resourceVersion=0&fieldSelector=type%3DOpaque&" + short},
		{kcWide, "/api/v1/watch/secrets?resourceVersion=0&" + short},
	}
	accepts := []string{
		"application/json",
		"application/vnd.kubernetes.protobuf",
		"application/yaml",
		"", // kubectl get --raw
		"application/vnd.kubernetes.protobuf;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1;g=meta.k8s.io,application/json",
		"application/json;as=Table;v=v1;g=meta.k8s.io",
		"application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io,application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io",
		"application/vnd.kubernetes.protobuf;stream=watch",
		"*/*",
	}
	for _, pc := range paths {
		for _, accept := range accepts {
			code, body := call(t, tb, pc.kc, http.MethodGet, pc.path, accept, "")
			if leaked(body) {
				t.Errorf("GET %s (Accept %q) -> %d leaks the Secret:\n%.600s", pc.path, accept, code, body)
			}
			// 406 (a Table or metadata-only form a path does not offer)
			// and 410 are answers, not leaks; anything else must succeed.
			if code >= 300 && code != http.StatusGone && code != http.StatusNotAcceptable {
				t.Errorf("GET %s (Accept %q) -> %d: %.300s", pc.path, accept, code, body)
			}
		}
	}
	// Writes answer with the object: scrubbed too.
	created := `{"apiVersion":"v1","kind":"Secret","metadata":{"name":"posted"},"stringData":{"password":"` + value + `"}}`
	if code, body := call(t, tb, kcNS, http.MethodPost, nsp, "application/json", created); code != http.StatusCreated || leaked(body) {
		t.Errorf("POST a Secret -> %d:\n%.600s", code, body)
	}
	patch := `{"data":{"more":"` + b64 + `"}}`
	for _, accept := range []string{"application/json", "application/vnd.kubernetes.protobuf", "application/yaml"} {
		req, _ := http.NewRequest(http.MethodPatch, kcNS.GetServer()+nsp+"/posted", strings.NewReader(patch))
		req.Header.Set("Authorization", "Bearer "+kcNS.GetToken())
		req.Header.Set("Content-Type", "application/merge-patch+json")
		req.Header.Set("Accept", accept)
		resp, err := (&http.Client{Transport: &http.Transport{TLSClientConfig: tlsTo(tb)}}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || leaked(b) {
			t.Errorf("PATCH a Secret (Accept %q) -> %d:\n%.600s", accept, resp.StatusCode, b)
		}
	}
	if code, body := call(t, tb, kcNS, http.MethodDelete, nsp+"/posted", "application/vnd.kubernetes.protobuf", ""); code != http.StatusOK || leaked(body) {
		t.Errorf("DELETE a Secret -> %d:\n%.600s", code, body)
	}
	if w.contains([]byte(value)) || w.contains([]byte(b64)) {
		t.Error("the agent sent the Secret's value to the bridge")
	}
}

// TestAdversarialOutOfScopeRequests: requests outside an account's rules —
// another namespace (by path, by the legacy watch path, across all
// namespaces), a kind the account does not serve, a write on a read-only
// account, the subresources that reach past the API server — are refused
// with 403 by the bridge, and the agent is never asked to run them.
func TestAdversarialOutOfScopeRequests(t *testing.T) {
	c := testenv.SharedCluster(t)
	ns := c.Namespace(t)
	other := c.Namespace(t)
	ctx := context.Background()
	if _, err := c.Clientset().CoreV1().ConfigMaps(other).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "private"}, Data: map[string]string{"k": "other-namespace-data"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	p := newPKI(t)
	tb := startBridge(t, p, filepath.Join(t.TempDir(), "bridge.db"))
	cred := tb.register(t, &bridgev1.AccountSpec{Name: "scoped", Namespaces: []string{ns}, Kinds: []string{"ConfigMap", "Secret"}, Permissions: &bridgev1.Permissions{Read: []string{"dev"}}})
	cfgPath := filepath.Join(t.TempDir(), "agent.yaml")
	tb.agentConfig("scoped-agent", agentAccount{Name: "scoped", KubeconfigFile: c.Kubeconfig, Credential: cred, Kinds: []string{"ConfigMap", "Secret"}, Namespaces: []string{ns}}).write(t, cfgPath)
	w := &wire{}
	startAgent(t, cfgPath, w.interceptor())
	tb.waitSynced(t, "scoped")
	kc, err := tb.admin.GetKubeconfig(adminCtx(), &bridgev1.GetKubeconfigRequest{Name: "scoped"})
	if err != nil {
		t.Fatal(err)
	}
	cm := `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"}}`
	for _, r := range []struct{ method, path, body string }{
		{"GET", "/api/v1/namespaces/" + other + "/configmaps", ""},
		{"GET", "/api/v1/namespaces/" + other + "/configmaps/private", ""},
		{"GET", "/api/v1/namespaces/" + other + "/configmaps?fieldSelector=metadata.name%3Dprivate", ""},
		{"GET", "/api/v1/watch/namespaces/" + other + "/configmaps?timeoutSeconds=1", ""},
		{"GET", "/api/v1/namespaces/" + other + "/configmaps?watch=yes&timeoutSeconds=1", ""},
		{"GET", "/api/v1/configmaps", ""},
		{"GET", "/api/v1/configmaps?fieldSelector=metadata.namespace%3D" + other, ""},
		{"GET", "/api/v1/watch/configmaps?timeoutSeconds=1", ""},
		{"GET", "/api/v1/namespaces/" + ns + "/pods", ""},
		{"GET", "/apis/apps/v1/namespaces/" + ns + "/deployments", ""},
		{"GET", "/api/v1/namespaces/" + ns + "/serviceaccounts", ""},
		{"GET", "/api/v1/namespaces/" + other, ""},
		{"POST", "/api/v1/namespaces/" + ns + "/configmaps", cm},
		{"POST", "/api/v1/namespaces/" + ns + "/configmaps?dryRun=All", cm},
		{"PUT", "/api/v1/namespaces/" + ns + "/configmaps/x", cm},
		{"PATCH", "/api/v1/namespaces/" + ns + "/configmaps/x", `{}`},
		{"DELETE", "/api/v1/namespaces/" + ns + "/configmaps/x", ""},
		{"DELETE", "/api/v1/namespaces/" + ns + "/configmaps", ""},
		{"POST", "/api/v1/namespaces/" + ns + "/serviceaccounts/default/token", `{}`},
		{"GET", "/api/v1/namespaces/" + ns + "/services/s:80/proxy", ""},
		{"GET", "/api/v1/proxy/namespaces/" + ns + "/services/s", ""},
		{"GET", "/logs/kube-apiserver.log", ""},
		{"GET", "/metrics", ""},
	} {
		code, body := call(t, tb, kc, r.method, r.path, "application/json", r.body)
		if code != http.StatusForbidden {
			t.Errorf("%s %s -> %d, want 403: %.300s", r.method, r.path, code, body)
			continue
		}
		var st struct{ Kind, Reason, Message string }
		if err := json.Unmarshal(body, &st); err != nil || st.Kind != "Status" || st.Reason != "Forbidden" || !strings.Contains(st.Message, `account "scoped"`) {
			t.Errorf("%s %s: the refusal is not a Status saying why: %s", r.method, r.path, body)
		}
		if bytes.Contains(body, []byte("other-namespace-data")) {
			t.Errorf("%s %s: the refusal carries data", r.method, r.path)
		}
	}
	if ops := w.operations(); len(ops) > 0 {
		t.Errorf("requests outside the account's rules reached the agent: %v", ops)
	}
	// What is inside the rules still works, forwarded included.
	if code, body := call(t, tb, kc, "GET", "/api/v1/watch/namespaces/"+ns+"/configmaps?timeoutSeconds=1", "application/json", ""); code != http.StatusOK {
		t.Errorf("an allowed forwarded watch -> %d: %s", code, body)
	}
	if len(w.operations()) != 1 {
		t.Errorf("the allowed forwarded watch did not reach the agent once: %v", w.operations())
	}
}

// evilSource is a compromised agent: it answers every operation with a
// Secret's data, in the spellings a byte-level check misses and in an
// encoding the bridge cannot parse.
type evilSource struct {
	hello *bridgev1.AccountHello
	body  func(op *bridgev1.Operation) []byte
}

func (s *evilSource) Hello() *bridgev1.AccountHello                        { return s.hello }
func (s *evilSource) Synced(int) bool                                      { return true }
func (s *evilSource) Snapshot(int) ([]*bridgev1.WatchEvent, string, error) { return nil, "1", nil }
func (s *evilSource) Keys() <-chan agent.Key                               { return nil }
func (s *evilSource) Event(agent.Key) (*bridgev1.WatchEvent, error)        { return nil, nil }
func (s *evilSource) Done(agent.Key)                                       {}
func (s *evilSource) Enqueue(agent.Key)                                    {}
func (s *evilSource) Pending() int                                         { return 0 }
func (s *evilSource) Execute(_ context.Context, op *bridgev1.Operation, send func(*bridgev1.OperationResult) error) {
	b := s.body(op)
	hdr := []*bridgev1.Header{{Name: "Content-Type", Values: []string{"application/json"}}}
	if op.GetStream() {
		_ = send(&bridgev1.OperationResult{Id: op.GetId(), StatusCode: 200, Headers: hdr})
		for len(b) > 0 { // cut anywhere: the bridge must put values back together
			n := min(len(b), 7)
			_ = send(&bridgev1.OperationResult{Id: op.GetId(), Body: b[:n]})
			b = b[n:]
		}
		_ = send(&bridgev1.OperationResult{Id: op.GetId(), Done: true})
		return
	}
	_ = send(&bridgev1.OperationResult{Id: op.GetId(), StatusCode: 200, Headers: hdr, Body: b, Done: true})
}

// TestAdversarialCompromisedAgent: whatever an agent answers for a Secret
// path, the bridge parses it and scrubs it again — an escaped key
// ("d\u0061ta"), an upper-case one, a stream cut mid-value — and refuses
// what it cannot parse (protobuf), so no value reaches the caller.
func TestAdversarialCompromisedAgent(t *testing.T) {
	p := newPKI(t)
	tb := startBridge(t, p, filepath.Join(t.TempDir(), "bridge.db"))
	cred := tb.register(t, &bridgev1.AccountSpec{Name: "evil", Kinds: []string{"Secret"}})
	const value = "compromised-agent-secret-value"
	b64 := base64.StdEncoding.EncodeToString([]byte(value))
	secret := `{"kind":"Secret","apiVersion":"v1","metadata":{"name":"db","annotations":{"kubectl.kubernetes.io/last-applied-configuration":"` + value + `"}},"d\u0061ta":{"p":"` + b64 + `"},"STRINGDATA":{"p":"` + value + `"}}`
	var mode atomic.Value
	mode.Store("json")
	src := &evilSource{hello: &bridgev1.AccountHello{Name: "evil", Credential: cred}, body: func(op *bridgev1.Operation) []byte {
		if mode.Load() == "protobuf" {
			return []byte("k8s\x00\n\x0c\n\x02v1\x12\x06Secret" + value)
		}
		if op.GetStream() {
			return []byte(`{"type":"ADDED","object":` + secret + "}\n" + `{"type":"MODIFIED","object":` + secret + "}\n")
		}
		return []byte(`{"kind":"SecretList","apiVersion":"v1","metadata":{},"items":[` + secret + `]}`)
	}}
	c := agent.NewClient(agent.ClientConfig{AgentID: "evil-agent", Bridge: agent.BridgeConfig{GRPC: tb.grpcAddr, TLS: agent.TLSConfig{CACertFile: p.caFile}}, Logger: testLogger(t)})
	c.SetSources([]agent.Source{src})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = c.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	waitFor(t, 30*time.Second, "the agent to connect", func() bool { return tb.account(t, "evil").GetStatus().GetConnected() })
	kc, err := tb.admin.GetKubeconfig(adminCtx(), &bridgev1.GetKubeconfigRequest{Name: "evil"})
	if err != nil {
		t.Fatal(err)
	}
	leaked := func(b []byte) bool { return bytes.Contains(b, []byte(value)) || bytes.Contains(b, []byte(b64)) }
	for _, path := range []string{
		"/api/v1/namespaces/x/secrets?fieldSelector=type%3DOpaque",
		"/api/v1/namespaces/x/secrets/db?resourceVersion=0",
		"/api/v1/watch/namespaces/x/secrets",
		"/api/v1/secrets?watch=yes",
	} {
		code, body := call(t, tb, kc, http.MethodGet, path, "application/vnd.kubernetes.protobuf", "")
		if leaked(body) || code != http.StatusOK || !bytes.Contains(body, []byte(`"name":"db"`)) {
			t.Errorf("GET %s -> %d:\n%.600s", path, code, body)
		}
	}
	mode.Store("protobuf")
	for _, path := range []string{"/api/v1/namespaces/x/secrets?fieldSelector=type%3DOpaque", "/api/v1/watch/namespaces/x/secrets"} {
		code, body := call(t, tb, kc, http.MethodGet, path, "application/vnd.kubernetes.protobuf", "")
		if leaked(body) {
			t.Errorf("GET %s (protobuf from the agent) -> %d leaks:\n%.600s", path, code, body)
		}
	}
	if code, _ := call(t, tb, kc, http.MethodGet, "/api/v1/namespaces/x/secrets?fieldSelector=type%3DOpaque", "", ""); code != http.StatusBadGateway {
		t.Errorf("an answer that cannot be scrubbed -> %d, want 502", code)
	}
}
