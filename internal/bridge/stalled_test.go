package bridge_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	bridgev1 "github.com/spinops/terraform-provider-spinops/proto/spinops/bridge/v1"

	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

// TestStalledReaderKeepsOtherAccountsFlowing: one real agent serves two
// accounts of a real kube-apiserver. Three callers of the first account
// follow a stream through its endpoint (a watch of Leases, which the
// account does not cache, so the agent forwards it as it forwards `logs
// -f`) and never read, while the stream is flooded (a Lease updated with
// 200 KiB annotations, over 20 MiB per caller). All the while the second
// account's ConfigMaps are created, one every 10 ms, and a watch on its
// endpoint receives them. Once every stalled caller has fallen so far
// behind that its operation is ended (counted in
// spinops_bridge_slow_reader_operations_total), more of the second
// account's changes are made: every change arrives, those made before and
// those made after, while the stalled callers still hold their answers
// unread. Their answers then end once read.
//
// Without the protection (deliver blocking on a full operation buffer
// instead of ending the operation) the receive loop, which carries every
// account of the agent, stops once a stalled caller is 256 chunks behind:
// no operation is ended and the second account's changes stop arriving.
//
// How long the second account's changes take behind the stalled callers,
// against callers that read, is measured by BenchmarkStalledReader in
// bench/ (a latency bound here would measure the machine's load: under the
// race detector and two other test lanes it once read 1.04 s at a p50 of
// 25 ms); this test logs the figures it saw.
func TestStalledReaderKeepsOtherAccountsFlowing(t *testing.T) {
	c := testenv.SharedCluster(t)
	nsLogs, nsOther := c.Namespace(t), c.Namespace(t)
	cs := c.Clientset()
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	flood, err := cs.CoordinationV1().Leases(nsLogs).Create(ctx, &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "flood"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}

	p := newPKI(t)
	tb := startBridge(t, p, filepath.Join(t.TempDir(), "bridge.db"))
	// No kinds: every kind is allowed and cached except the churning ones
	// (events, leases), which are forwarded.
	logsCred := tb.register(t, &bridgev1.AccountSpec{Name: "logs", Namespaces: []string{nsLogs}})
	otherCred := tb.register(t, &bridgev1.AccountSpec{Name: "other", Namespaces: []string{nsOther}, Kinds: []string{"ConfigMap"}})
	cfgPath := filepath.Join(t.TempDir(), "agent.yaml")
	tb.agentConfig("shared-agent",
		agentAccount{Name: "logs", KubeconfigFile: c.Kubeconfig, Credential: logsCred, Namespaces: []string{nsLogs}},
		agentAccount{Name: "other", KubeconfigFile: c.Kubeconfig, Credential: otherCred, Kinds: []string{"ConfigMap"}, Namespaces: []string{nsOther}}).write(t, cfgPath)
	startAgent(t, cfgPath)
	tb.waitSynced(t, "logs")
	tb.waitSynced(t, "other")
	kcLogs, err := tb.admin.GetKubeconfig(adminCtx(), &bridgev1.GetKubeconfigRequest{Name: "logs"})
	if err != nil {
		t.Fatal(err)
	}
	kcOther, err := tb.admin.GetKubeconfig(adminCtx(), &bridgev1.GetKubeconfigRequest{Name: "other"})
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: tlsTo(tb)}} // HTTP/1.1: one connection per caller
	get := func(kc *bridgev1.GetKubeconfigResponse, path string) *http.Response {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, kc.GetServer()+path, nil)
		req.Header.Set("Authorization", "Bearer "+kc.GetToken())
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		if resp.StatusCode != http.StatusOK {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			t.Fatalf("GET %s: HTTP %d %s", path, resp.StatusCode, b)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}

	// The stalled callers: their answers start, then nobody reads.
	var stalled []*http.Response
	for range 3 {
		stalled = append(stalled, get(kcLogs, "/apis/coordination.k8s.io/v1/namespaces/"+nsLogs+"/leases?watch=1&resourceVersion="+flood.ResourceVersion))
	}
	slowBefore := int(tb.metric(t, "spinops_bridge_slow_reader_operations_total"))

	// The other account's watcher records when each change arrives.
	watch := get(kcOther, "/api/v1/namespaces/"+nsOther+"/configmaps?watch=1")
	const changes = 300
	var mu sync.Mutex
	arrived := map[string]time.Time{}
	go func() {
		sc := bufio.NewScanner(watch.Body)
		sc.Buffer(nil, 4<<20)
		for sc.Scan() {
			var ev struct {
				Object struct {
					Metadata struct{ Name string } `json:"metadata"`
				} `json:"object"`
			}
			if json.Unmarshal(sc.Bytes(), &ev) == nil && strings.HasPrefix(ev.Object.Metadata.Name, "change-") {
				mu.Lock()
				arrived[ev.Object.Metadata.Name] = time.Now()
				mu.Unlock()
			}
		}
	}()

	// The flood: 120 updates of 200 KiB each, seen by every stalled caller.
	floodDone := make(chan error, 1)
	go func() {
		l := flood
		for i := range 120 {
			l.Annotations = map[string]string{"example.com/fill": strings.Repeat(string(rune('a'+i%26)), 200<<10)}
			var err error
			if l, err = cs.CoordinationV1().Leases(nsLogs).Update(ctx, l, metav1.UpdateOptions{}); err != nil {
				floodDone <- fmt.Errorf("flood update %d: %w", i, err)
				return
			}
		}
		floodDone <- nil
	}()

	// The other account's changes, one every 10 ms, meanwhile; a change
	// counts from when the API server has it (its create returned).
	sent := make(map[string]time.Time, changes)
	for i := range changes {
		name := fmt.Sprintf("change-%03d", i)
		if _, err := cs.CoreV1().ConfigMaps(nsOther).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
			t.Fatalf("creating %s: %v", name, err)
		}
		mu.Lock()
		sent[name] = time.Now()
		mu.Unlock()
		time.Sleep(10 * time.Millisecond)
	}
	if err := <-floodDone; err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "every stalled caller's operation to be ended as a slow reader", func() bool {
		return int(tb.metric(t, "spinops_bridge_slow_reader_operations_total"))-slowBefore >= len(stalled)
	})
	// The receive loop still carries the other account after the stalled
	// operations were ended.
	const after = 20
	for i := range after {
		name := fmt.Sprintf("change-after-%03d", i)
		if _, err := cs.CoreV1().ConfigMaps(nsOther).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
			t.Fatalf("creating %s: %v", name, err)
		}
		mu.Lock()
		sent[name] = time.Now()
		mu.Unlock()
	}
	waitFor(t, 30*time.Second, "the other account's changes to arrive", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(arrived) >= changes+after
	})
	mu.Lock()
	var lat []time.Duration
	for name, at := range sent {
		lat = append(lat, max(arrived[name].Sub(at), 0))
	}
	mu.Unlock()
	slices.Sort(lat)
	t.Logf("the other account's %d changes behind 3 stalled readers (flooded with 120 × 200 KiB): p50 %s, p99 %s, max %s",
		len(lat), lat[len(lat)/2], lat[(len(lat)*99+99)/100-1], lat[len(lat)-1])

	// The stalled operations' answers end once read (after what was
	// already buffered for them).
	for i, resp := range stalled {
		done := make(chan error, 1)
		go func() {
			_, err := io.Copy(io.Discard, resp.Body)
			done <- err
		}()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("stalled caller %d: %v", i, err)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("the answer of stalled caller %d did not end", i)
		}
	}
}
