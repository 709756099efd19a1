package bridge_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	bridgev1 "github.com/spinops/terraform-provider-spinops/proto/spinops/bridge/v1"

	"github.com/spinops/terraform-provider-spinops/internal/agent"
	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

// TestAgentReportsAnswersOverItsLimit: an answer of the API server larger
// than the agent's limit (agent.Options.MaxResponseBytes, 256 MiB by
// default; 32 KiB here) reaches the client as an error Status naming the
// limit — never as the first bytes of the list, which a client could take
// for a whole (shorter) list — and the agent keeps serving: a smaller
// answer of the same account and its cache still work.
func TestAgentReportsAnswersOverItsLimit(t *testing.T) {
	const limit = 32 << 10
	c := testenv.SharedCluster(t)
	ns := c.Namespace(t)
	ctx := context.Background()
	for i := range 12 {
		if _, err := c.Clientset().CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("big-%02d", i)},
			Data: map[string]string{"v": strings.Repeat("x", 8<<10)}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	// A page token, as kubectl's chunked listing sends: the cache cannot
	// answer a continue, so the request goes to the agent.
	page, err := c.Clientset().CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{Limit: 1})
	if err != nil || page.Continue == "" {
		t.Fatalf("listing a first page: %v (continue %q)", err, page.Continue)
	}
	p := newPKI(t)
	tb := startBridge(t, p, filepath.Join(t.TempDir(), "bridge.db"))
	cred := tb.register(t, &bridgev1.AccountSpec{Name: "big", Namespaces: []string{ns}, Kinds: []string{"ConfigMap"}})
	cfgPath := filepath.Join(t.TempDir(), "agent.yaml")
	tb.agentConfig("big-agent", agentAccount{Name: "big", KubeconfigFile: c.Kubeconfig, Credential: cred, Kinds: []string{"ConfigMap"}, Namespaces: []string{ns}}).write(t, cfgPath)
	startAgentWith(t, cfgPath, agent.Options{MaxResponseBytes: limit})
	tb.waitSynced(t, "big")
	kc, err := tb.admin.GetKubeconfig(adminCtx(), &bridgev1.GetKubeconfigRequest{Name: "big"})
	if err != nil {
		t.Fatal(err)
	}
	nsp := "/api/v1/namespaces/" + ns + "/configmaps"

	// The rest of the list (11 × 8 KiB): over the limit.
	code, body := call(t, tb, kc, http.MethodGet, nsp+"?limit=500&continue="+url.QueryEscape(page.Continue), "", "")
	var st struct {
		Kind    string `json:"kind"`
		Code    int    `json:"code"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal(body, &st); err != nil {
		t.Fatalf("the answer over the limit is not JSON (a cut body?): HTTP %d, %d bytes: %v", code, len(body), err)
	}
	if code != http.StatusBadGateway || st.Kind != "Status" || st.Code != http.StatusBadGateway ||
		!strings.Contains(st.Message, fmt.Sprintf("exceeds the agent's limit of %d bytes", limit)) || !strings.Contains(st.Message, "not sent cut") {
		t.Fatalf("the answer over the limit: HTTP %d %+v (%d bytes), want 502 and a Status naming the limit", code, st, len(body))
	}
	if strings.Contains(string(body), "big-0") {
		t.Fatal("the answer over the limit carries part of the list")
	}

	// The agent keeps serving: a smaller page of the same list, and the cache.
	code, body = call(t, tb, kc, http.MethodGet, nsp+"?limit=2&continue="+url.QueryEscape(page.Continue), "", "")
	var list corev1.ConfigMapList
	if err := json.Unmarshal(body, &list); err != nil || code != http.StatusOK || len(list.Items) != 2 {
		t.Fatalf("a page under the limit after the refusal: HTTP %d, %v, %d items", code, err, len(list.Items))
	}
	if code, _ := call(t, tb, kc, http.MethodGet, nsp, "", ""); code != http.StatusOK {
		t.Fatalf("the cached list after the refusal: HTTP %d", code)
	}
	if st := tb.account(t, "big").GetStatus(); !st.GetConnected() {
		t.Fatalf("the account after the refusal: %+v", st)
	}
}

// TestBridgeNeverEndsACutAnswerCleanly: when the agent goes away in the
// middle of a forwarded answer whose first bytes were already sent, the
// client's read fails (the connection is aborted) instead of the answer
// ending as if it were whole.
func TestBridgeNeverEndsACutAnswerCleanly(t *testing.T) {
	p := newPKI(t)
	tb := startBridge(t, p, filepath.Join(t.TempDir(), "bridge.db"))
	cred := tb.register(t, &bridgev1.AccountSpec{Name: "cut"})
	ra, err := dialRawAgent(t, tb, "cut-agent", map[string]string{"cut": cred}, []*bridgev1.Kind{configMapKind})
	if err != nil {
		t.Fatal(err)
	}
	ra.manual.Store(true)
	if err := ra.send(&bridgev1.AgentMessage{Msg: &bridgev1.AgentMessage_Events{Events: &bridgev1.EventBatch{Account: "cut", Seq: 1, Events: []*bridgev1.WatchEvent{
		{Type: bridgev1.EventType_EVENT_TYPE_SYNC_BEGIN}, {Type: bridgev1.EventType_EVENT_TYPE_SYNC_END, ResourceVersion: "1"}}}}}); err != nil {
		t.Fatal(err)
	}
	kc, err := tb.admin.GetKubeconfig(adminCtx(), &bridgev1.GetKubeconfigRequest{Name: "cut"})
	if err != nil {
		t.Fatal(err)
	}
	type answer struct {
		code    int
		body    []byte
		readErr error
	}
	answers := make(chan answer, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, kc.GetServer()+"/api/v1/namespaces/default/pods", nil) // not cached: forwarded
		req.Header.Set("Authorization", "Bearer "+kc.GetToken())
		resp, err := (&http.Client{Transport: &http.Transport{TLSClientConfig: tlsTo(tb)}}).Do(req)
		if err != nil {
			answers <- answer{readErr: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		answers <- answer{code: resp.StatusCode, body: b, readErr: err}
	}()
	var op *bridgev1.Operation
	select {
	case op = <-ra.ops:
	case <-time.After(10 * time.Second):
		t.Fatal("the request did not reach the agent")
	}
	first := &bridgev1.OperationResult{Id: op.GetId(), StatusCode: 200, Body: []byte(`{"kind":"PodList","apiVersion":"v1","metadata":{},"items":[{"metadata":{"name":"a"}}`),
		Headers: []*bridgev1.Header{{Name: "Content-Type", Values: []string{"application/json"}}}}
	if err := ra.send(&bridgev1.AgentMessage{Msg: &bridgev1.AgentMessage_Result{Result: first}}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // the first bytes reach the client
	ra.cancel()                        // the agent goes away before the rest
	select {
	case a := <-answers:
		if a.readErr == nil {
			t.Fatalf("a cut answer ended cleanly: HTTP %d, body %q", a.code, a.body)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no answer")
	}
}
