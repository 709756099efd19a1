package bridge_test

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	bridgev1 "github.com/spinops/terraform-provider-spinops/proto/spinops/bridge/v1"

	"github.com/spinops/terraform-provider-spinops/internal/bridge"
)

var configMapKind = &bridgev1.Kind{Version: "v1", Resource: "configmaps", Kind: "ConfigMap", Namespaced: true}

func configMapEvent(name string, rv int) *bridgev1.WatchEvent {
	return &bridgev1.WatchEvent{Type: bridgev1.EventType_EVENT_TYPE_ADDED, Kind: 0, Namespace: "default", Name: name, ResourceVersion: fmt.Sprint(rv),
		Object: []byte(fmt.Sprintf(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":%q,"namespace":"default","resourceVersion":"%d"}}`, name, rv))}
}

// syncedRawAgent is a raw agent serving one account whose configmaps it
// lists (n objects).
func syncedRawAgent(t *testing.T, tb *testBridge, agentID, account, cred string, n int) *rawAgent {
	t.Helper()
	ra, err := dialRawAgent(t, tb, agentID, map[string]string{account: cred}, []*bridgev1.Kind{configMapKind})
	if err != nil {
		t.Fatal(err)
	}
	evs := []*bridgev1.WatchEvent{{Type: bridgev1.EventType_EVENT_TYPE_SYNC_BEGIN}}
	for i := range n {
		evs = append(evs, configMapEvent(fmt.Sprintf("cm-%d", i), i+1))
	}
	evs = append(evs, &bridgev1.WatchEvent{Type: bridgev1.EventType_EVENT_TYPE_SYNC_END, ResourceVersion: fmt.Sprint(n)})
	if err := ra.send(&bridgev1.AgentMessage{Msg: &bridgev1.AgentMessage_Events{Events: &bridgev1.EventBatch{Account: account, Seq: 1, Events: evs}}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, account+" to be synced", func() bool {
		return tb.account(t, account).GetStatus().GetSyncState() == bridgev1.SyncState_SYNC_STATE_SYNCED
	})
	return ra
}

// openWatch starts a watch of the account's configmaps and returns its
// status code and a function that closes it.
func openWatch(t *testing.T, tb *testBridge, kc *bridgev1.GetKubeconfigResponse) (int, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, kc.GetServer()+"/api/v1/namespaces/default/configmaps?watch=1", nil)
	req.Header.Set("Authorization", "Bearer "+kc.GetToken())
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: tlsTo(tb)}}
	resp, err := client.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	return resp.StatusCode, func() { resp.Body.Close(); cancel() }
}

// TestPerAccountLimits: one tenant cannot starve the others. Watch N+1 of
// an account gets 429 (and one more fits once a watch ends); an agent
// whose account grows past the object limit is refused for it, with the
// reason on the account, while another account keeps serving; a hello
// offering more kinds than the limit is refused for that account.
func TestPerAccountLimits(t *testing.T) {
	p := newPKI(t)
	tb := startBridge(t, p, filepath.Join(t.TempDir(), "bridge.db"), func(c *bridge.Config) {
		c.Limits = bridge.Limits{MaxWatches: 2, MaxObjects: 5, MaxKinds: 1}
	})
	quietCred := tb.register(t, &bridgev1.AccountSpec{Name: "quiet"})
	noisyCred := tb.register(t, &bridgev1.AccountSpec{Name: "noisy"})
	syncedRawAgent(t, tb, "quiet-agent", "quiet", quietCred, 2)
	noisy := syncedRawAgent(t, tb, "noisy-agent", "noisy", noisyCred, 3)
	kc, err := tb.admin.GetKubeconfig(adminCtx(), &bridgev1.GetKubeconfigRequest{Name: "quiet"})
	if err != nil {
		t.Fatal(err)
	}

	// Watches.
	var closers []func()
	for i := range 2 {
		code, closeFn := openWatch(t, tb, kc)
		closers = append(closers, closeFn)
		if code != http.StatusOK {
			t.Fatalf("watch %d: HTTP %d", i+1, code)
		}
	}
	code, closeFn := openWatch(t, tb, kc)
	closeFn()
	if code != http.StatusTooManyRequests {
		t.Fatalf("watch 3 with a limit of 2: HTTP %d, want 429", code)
	}
	closers[0]()
	waitFor(t, 5*time.Second, "a watch slot to free up", func() bool {
		code, closeFn := openWatch(t, tb, kc)
		closeFn()
		return code == http.StatusOK
	})
	closers[1]()

	// Objects: the noisy account grows past 5.
	evs := []*bridgev1.WatchEvent{}
	for i := range 4 {
		evs = append(evs, configMapEvent(fmt.Sprintf("more-%d", i), 100+i))
	}
	if err := noisy.send(&bridgev1.AgentMessage{Msg: &bridgev1.AgentMessage_Events{Events: &bridgev1.EventBatch{Account: "noisy", Seq: 2, Events: evs}}}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-noisy.ended:
		if status.Code(noisy.endErr) != codes.ResourceExhausted {
			t.Fatalf("the over-quota agent's stream ended with %v, want ResourceExhausted", noisy.endErr)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the over-quota agent is still served")
	}
	if st := tb.account(t, "noisy").GetStatus(); st.GetConnected() || !strings.Contains(st.GetLastRefusal(), "ResourceExhausted") || !strings.Contains(st.GetLastRefusal(), "--max-objects-per-account") {
		t.Fatalf("the over-quota account's status: %+v", st)
	}
	if st := tb.account(t, "quiet").GetStatus(); !st.GetConnected() || st.GetSyncState() != bridgev1.SyncState_SYNC_STATE_SYNCED {
		t.Fatalf("the other account stopped serving: %+v", st)
	}
	if code := endpointDo(t, tb, kc, http.MethodGet, "/api/v1/namespaces/default/configmaps", ""); code != http.StatusOK {
		t.Fatalf("the other account's endpoint: HTTP %d", code)
	}

	// Kinds: two kinds with a limit of one.
	kindsCred := tb.register(t, &bridgev1.AccountSpec{Name: "kindful"})
	_, err = dialRawAgent(t, tb, "kinds-agent", map[string]string{"kindful": kindsCred},
		[]*bridgev1.Kind{configMapKind, {Version: "v1", Resource: "services", Kind: "Service", Namespaced: true}})
	if err == nil || !strings.Contains(err.Error(), "--max-kinds-per-account") {
		t.Fatalf("a hello with more kinds than the limit: %v", err)
	}
}

// TestStalledReaderDoesNotBlockTheAgent: one agent serves two accounts. A
// caller of the first opens a stream (a forwarded watch, like logs -f) and
// stops reading while the agent floods it; the second account's events
// still reach the cache within 1 s, the stalled operation is ended and the
// agent is told to cancel it. A caller that hangs up also gets its
// operation cancelled at the agent.
func TestStalledReaderDoesNotBlockTheAgent(t *testing.T) {
	p := newPKI(t)
	tb := startBridge(t, p, filepath.Join(t.TempDir(), "bridge.db"))
	logsCred := tb.register(t, &bridgev1.AccountSpec{Name: "logs"})
	otherCred := tb.register(t, &bridgev1.AccountSpec{Name: "other"})
	ra, err := dialRawAgent(t, tb, "shared-agent", map[string]string{"logs": logsCred, "other": otherCred}, []*bridgev1.Kind{configMapKind})
	if err != nil {
		t.Fatal(err)
	}
	for _, acct := range []string{"logs", "other"} {
		if err := ra.send(&bridgev1.AgentMessage{Msg: &bridgev1.AgentMessage_Events{Events: &bridgev1.EventBatch{Account: acct, Seq: 1, Events: []*bridgev1.WatchEvent{
			{Type: bridgev1.EventType_EVENT_TYPE_SYNC_BEGIN}, {Type: bridgev1.EventType_EVENT_TYPE_SYNC_END, ResourceVersion: "1"}}}}}); err != nil {
			t.Fatal(err)
		}
	}
	kc, err := tb.admin.GetKubeconfig(adminCtx(), &bridgev1.GetKubeconfigRequest{Name: "logs"})
	if err != nil {
		t.Fatal(err)
	}
	// A stream the cache cannot answer (pods are not cached): forwarded.
	stream := func() (*http.Response, func(), *bridgev1.Operation) {
		ctx, cancel := context.WithCancel(context.Background())
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, kc.GetServer()+"/api/v1/namespaces/default/pods/p/log?follow=true", nil)
		req.Header.Set("Authorization", "Bearer "+kc.GetToken())
		respc := make(chan *http.Response, 1)
		go func() {
			resp, err := (&http.Client{Transport: &http.Transport{TLSClientConfig: tlsTo(tb)}}).Do(req)
			if err == nil {
				respc <- resp
			}
		}()
		var op *bridgev1.Operation
		select {
		case op = <-ra.ops:
		case <-time.After(5 * time.Second):
			t.Fatal("the stream did not reach the agent")
		}
		chunk := &bridgev1.OperationResult{Id: op.GetId(), StatusCode: 200, Body: []byte("line 0\n"),
			Headers: []*bridgev1.Header{{Name: "Content-Type", Values: []string{"text/plain"}}}}
		if err := ra.send(&bridgev1.AgentMessage{Msg: &bridgev1.AgentMessage_Result{Result: chunk}}); err != nil {
			t.Fatal(err)
		}
		var resp *http.Response
		select {
		case resp = <-respc:
		case <-time.After(5 * time.Second):
			t.Fatal("no response headers")
		}
		return resp, func() { resp.Body.Close(); cancel() }, op
	}

	// Hanging up cancels the operation at the agent.
	_, hangUp, op := stream()
	hangUp()
	select {
	case id := <-ra.cancels:
		if id != op.GetId() {
			t.Fatalf("cancelled %s, want %s", id, op.GetId())
		}
	case <-time.After(3 * time.Second):
		t.Fatal("the agent was not told to cancel the operation of a caller that hung up")
	}

	// A stalled reader: never reads while the agent floods it.
	_, closeStalled, op := stream()
	defer closeStalled()
	line := []byte(strings.Repeat("x", 32<<10) + "\n")
	for i := range 2000 {
		if err := ra.send(&bridgev1.AgentMessage{Msg: &bridgev1.AgentMessage_Result{Result: &bridgev1.OperationResult{Id: op.GetId(), Body: line}}}); err != nil {
			t.Fatalf("chunk %d: %v", i, err)
		}
	}
	// The other account's change reaches the cache within 1 s.
	sent := time.Now()
	if err := ra.send(&bridgev1.AgentMessage{Msg: &bridgev1.AgentMessage_Events{Events: &bridgev1.EventBatch{Account: "other", Seq: 2,
		Events: []*bridgev1.WatchEvent{configMapEvent("after-flood", 2)}}}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "the other account's event", func() bool {
		return tb.cached("other", configMaps, "default", "after-flood") != nil
	})
	if d := time.Since(sent); d > time.Second {
		t.Fatalf("the other account's event took %s behind a stalled reader, want under 1s", d)
	}
	select {
	case id := <-ra.cancels:
		if id != op.GetId() {
			t.Fatalf("cancelled %s, want the stalled %s", id, op.GetId())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the stalled operation was not cancelled at the agent")
	}
}
