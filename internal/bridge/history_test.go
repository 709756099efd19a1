package bridge_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/rest"

	bridgev1 "github.com/spinops/terraform-provider-spinops/proto/spinops/bridge/v1"

	"github.com/spinops/terraform-provider-spinops/internal/bridge"
	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

// watchLine is one line of a watch stream.
type watchLine struct {
	Type   string `json:"type"`
	Object struct {
		Kind     string `json:"kind"`
		Code     int    `json:"code"`
		Reason   string `json:"reason"`
		Metadata struct {
			Name            string            `json:"name"`
			ResourceVersion string            `json:"resourceVersion"`
			Annotations     map[string]string `json:"annotations"`
		} `json:"metadata"`
	} `json:"object"`
}

// watchFrom watches url from resourceVersion rv for a few seconds and
// returns the HTTP status and every event line it got.
func watchFrom(t *testing.T, hc *http.Client, url, token, rv string) (int, []watchLine) {
	t.Helper()
	code, _, lines := watchQuery(t, hc, url, token, "watch=1&timeoutSeconds=2&resourceVersion="+rv)
	return code, lines
}

// watchQuery runs GET url?query for a few seconds and returns the status,
// the body when it is not a stream, and the event lines.
func watchQuery(t *testing.T, hc *http.Client, url, token, query string) (int, string, []watchLine) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url+"?"+query, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), nil
	}
	var out []watchLine
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var l watchLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("a watch line is not JSON: %v: %.200s", err, sc.Text())
		}
		out = append(out, l)
	}
	return resp.StatusCode, "", out
}

func paddedConfigMapEvent(name string, rv, size int) *bridgev1.WatchEvent {
	return &bridgev1.WatchEvent{Type: bridgev1.EventType_EVENT_TYPE_MODIFIED, Namespace: "default", Name: name, ResourceVersion: fmt.Sprint(rv),
		Object: []byte(fmt.Sprintf(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":%q,"namespace":"default","resourceVersion":"%d"},"data":{"v":%q}}`,
			name, rv, strings.Repeat("x", size)))}
}

// TestWatchHistoryBytesPerAccount: a noisy account's churn cannot grow the
// bridge's watch history past --max-history-bytes-per-account. Its oldest
// events are forgotten (counted in a metric); a watch from before them is
// answered exactly as the real kube-apiserver answers a too-old
// resourceVersion (checked against it here: 200 and one ERROR event with
// a 410 Expired Status), so clients list again; a watch from a kept
// resourceVersion replays what followed; a calm account's history is
// untouched.
func TestWatchHistoryBytesPerAccount(t *testing.T) {
	// What the real API server answers.
	c := testenv.SharedCluster(t)
	hc, err := rest.HTTPClientFor(c.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	// The API server answers 410 Expired only for a resourceVersion etcd
	// has compacted away; v1.37 serves a watch from an older but uncompacted
	// one from etcd (v1.33 answered from its watch cache), and the test
	// cluster compacts every 5 minutes. So the reference is taken when the
	// cluster gives it, and otherwise is the answer
	// k8s.io/apiserver pkg/storage/cacher documents (200, one ERROR event
	// carrying a 410 Expired Status).
	code, real := watchFrom(t, hc, c.Host+"/api/v1/namespaces/default/configmaps", "", "1")
	expired := len(real) == 1 && real[0].Type == "ERROR" && real[0].Object.Code == http.StatusGone && real[0].Object.Reason == "Expired"
	if code != http.StatusOK || (len(real) > 0 && !expired) {
		t.Fatalf("the real API server answered a too-old watch with HTTP %d %+v; this test's reference is wrong", code, real)
	}
	if !expired {
		t.Log("the real API server has not compacted resourceVersion 1 yet: comparing with the documented 410 Expired answer")
		real = []watchLine{{Type: "ERROR"}}
		real[0].Object.Kind, real[0].Object.Code, real[0].Object.Reason = "Status", http.StatusGone, "Expired"
	}

	const limit = 32 << 10
	p := newPKI(t)
	tb := startBridge(t, p, filepath.Join(t.TempDir(), "bridge.db"), func(c *bridge.Config) {
		c.Limits = bridge.Limits{MaxHistoryBytes: limit}
	})
	noisyCred := tb.register(t, &bridgev1.AccountSpec{Name: "noisy"})
	calmCred := tb.register(t, &bridgev1.AccountSpec{Name: "calm"})
	noisy := syncedRawAgent(t, tb, "noisy-agent", "noisy", noisyCred, 2)
	calm := syncedRawAgent(t, tb, "calm-agent", "calm", calmCred, 2)
	send := func(ra *rawAgent, account string, seq uint64, evs ...*bridgev1.WatchEvent) {
		t.Helper()
		if err := ra.send(&bridgev1.AgentMessage{Msg: &bridgev1.AgentMessage_Events{Events: &bridgev1.EventBatch{Account: account, Seq: seq, Events: evs}}}); err != nil {
			t.Fatal(err)
		}
	}
	send(calm, "calm", 2, paddedConfigMapEvent("cm-0", 3, 1000), paddedConfigMapEvent("cm-1", 4, 1000))
	// The noisy account: 200 changes of about 1 KiB, 6 times its bound.
	for b := range 10 {
		var evs []*bridgev1.WatchEvent
		for i := range 20 {
			evs = append(evs, paddedConfigMapEvent(fmt.Sprintf("cm-%d", i%2), 10+20*b+i, 1000))
		}
		send(noisy, "noisy", uint64(2+b), evs...)
	}
	waitFor(t, 10*time.Second, "the noisy account's last change in the cache", func() bool {
		return strings.Contains(string(tb.cached("noisy", configMaps, "default", "cm-1")), `"resourceVersion":"209"`)
	})
	waitFor(t, 10*time.Second, "the calm account's changes in the cache", func() bool {
		return strings.Contains(string(tb.cached("calm", configMaps, "default", "cm-1")), `"resourceVersion":"4"`)
	})

	if got := tb.metric(t, "spinops_bridge_watch_history_bytes"); got > limit+4<<10 || got < 2000 {
		t.Fatalf("spinops_bridge_watch_history_bytes = %v: want the noisy account within %d bytes plus the calm account's 2 KiB", got, limit)
	}
	if got := tb.metric(t, "spinops_bridge_watch_history_evicted_events_total"); got < 150 {
		t.Fatalf("spinops_bridge_watch_history_evicted_events_total = %v, want the noisy account's forgotten events", got)
	}

	kc, err := tb.admin.GetKubeconfig(adminCtx(), &bridgev1.GetKubeconfigRequest{Name: "noisy"})
	if err != nil {
		t.Fatal(err)
	}
	ep := &http.Client{Transport: &http.Transport{TLSClientConfig: tlsTo(tb)}}
	url := kc.GetServer() + "/api/v1/namespaces/default/configmaps"
	// From before the forgotten events: what the real API server answers.
	code, got := watchFrom(t, ep, url, kc.GetToken(), "2")
	if code != http.StatusOK || len(got) != 1 || got[0].Type != real[0].Type || got[0].Object.Kind != "Status" ||
		got[0].Object.Code != real[0].Object.Code || got[0].Object.Reason != real[0].Object.Reason {
		t.Fatalf("a watch from a forgotten resourceVersion: HTTP %d %+v, want what the API server answers: HTTP 200 %+v", code, got, real)
	}
	// From a kept resourceVersion: exactly what followed.
	code, got = watchFrom(t, ep, url, kc.GetToken(), "205")
	var rvs []string
	for _, l := range got {
		rvs = append(rvs, l.Object.Metadata.ResourceVersion)
	}
	if code != http.StatusOK || fmt.Sprint(rvs) != "[206 207 208 209]" {
		t.Fatalf("a watch from a kept resourceVersion: HTTP %d, events %v, want 206-209", code, rvs)
	}
	// The calm account's history is whole.
	kc, err = tb.admin.GetKubeconfig(adminCtx(), &bridgev1.GetKubeconfigRequest{Name: "calm"})
	if err != nil {
		t.Fatal(err)
	}
	code, got = watchFrom(t, ep, kc.GetServer()+"/api/v1/namespaces/default/configmaps", kc.GetToken(), "2")
	rvs = nil
	for _, l := range got {
		rvs = append(rvs, l.Type+" "+l.Object.Metadata.ResourceVersion)
	}
	if code != http.StatusOK || fmt.Sprint(rvs) != "[MODIFIED 3 MODIFIED 4]" {
		t.Fatalf("the calm account's watch from its list: HTTP %d, events %v: its history was forgotten by another account's churn", code, rvs)
	}
}

// TestCachedWatchWithoutTimeoutEnds: a watch the cache answers without
// timeoutSeconds, or with 0, ends after between the minimum request
// timeout and twice it, as kube-apiserver's does (k8s.io/apiserver v0.37.2
// pkg/endpoints/handlers/get.go handleWatch: minRequestTimeout ×
// (1 + rand)); it used to last for ever, holding its replica and its
// history position. The minimum is 3 s here (30 minutes by default, as the
// API server's).
func TestCachedWatchWithoutTimeoutEnds(t *testing.T) {
	const minimum = 3 * time.Second
	tb := startBridge(t, newPKI(t), filepath.Join(t.TempDir(), "bridge.db"), func(c *bridge.Config) { c.MinRequestTimeout = minimum })
	cred := tb.register(t, &bridgev1.AccountSpec{Name: "east"})
	syncedRawAgent(t, tb, "east-agent", "east", cred, 1)
	kc, err := tb.admin.GetKubeconfig(adminCtx(), &bridgev1.GetKubeconfigRequest{Name: "east"})
	if err != nil {
		t.Fatal(err)
	}
	ep := &http.Client{Transport: &http.Transport{TLSClientConfig: tlsTo(tb)}}
	url := kc.GetServer() + "/api/v1/namespaces/default/configmaps"
	for _, query := range []string{"watch=1&resourceVersion=1", "watch=1&timeoutSeconds=0&resourceVersion=1"} {
		start := time.Now()
		code, body, lines := watchQuery(t, ep, url, kc.GetToken(), query)
		took := time.Since(start)
		if code != http.StatusOK {
			t.Fatalf("watch %s: HTTP %d %s", query, code, body)
		}
		if took < minimum || took > 2*minimum+time.Second {
			t.Errorf("watch %s ended after %v, want between %v and %v", query, took.Round(10*time.Millisecond), minimum, 2*minimum)
		}
		if len(lines) != 0 {
			t.Errorf("watch %s of a quiet kind sent %+v, want nothing", query, lines)
		}
	}
}
