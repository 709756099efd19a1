package bench

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	bridgev1 "github.com/spinops/terraform-provider-spinops/proto/spinops/bridge/v1"

	"github.com/spinops/terraform-provider-spinops/internal/bridge"
	"github.com/spinops/terraform-provider-spinops/internal/bridge/bridgetest"
	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

// BenchmarkStalledReader: one agent serves two accounts of a real
// kube-apiserver over one gRPC stream. Three callers of the first account
// follow a Lease watch through its endpoint (Leases are not cached, so the
// agent forwards the watch as it forwards `logs -f`) while the Lease is
// flooded with 120 updates of 200 KiB; meanwhile the second account's
// ConfigMaps are created, one every 10 ms, and a watch on its endpoint
// receives them. Each iteration runs two rounds of exactly that, side by
// side: one whose three callers read everything (draining) and one whose
// callers never read (stalled; the round checks that their operations
// were ended as slow readers). Reported: the latency of the second
// account's changes, from its create being sent to the watcher receiving
// it, in both rounds, and their ratio: what the stalled callers
// themselves cost the other account (issue 13's goal: p99 under 1 s with
// the callers stalled).
func BenchmarkStalledReader(b *testing.B) {
	c := testenv.StartCluster(b)
	nsLogs, nsOther := c.Namespace(b), c.Namespace(b)
	cfg := c.RESTConfig()
	cfg.QPS, cfg.Burst = 5000, 5000
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		b.Fatal(err)
	}
	ctx := b.Context()
	flood, err := cs.CoordinationV1().Leases(nsLogs).Create(ctx, &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "flood"}}, metav1.CreateOptions{})
	if err != nil {
		b.Fatal(err)
	}
	ib := &inProcBridge{bridgetest.Start(b, func(c *bridge.Config) { c.OpsAddr = "127.0.0.1:0" })} // for its /metrics
	// No kinds for "logs": everything is cached except the churning kinds
	// (events, leases), which are forwarded.
	ib.attachShared(b, "bench-stalled", c,
		benchAccount{Name: "logs", Namespaces: []string{nsLogs}},
		benchAccount{Name: "other", Kinds: []string{"ConfigMap"}, Namespaces: []string{nsOther}})
	env := &stalledEnv{cs: cs, metrics: "http://" + ib.OpsAddr() + "/metrics", nsLogs: nsLogs, nsOther: nsOther, flood: flood,
		client: &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ib.CA.Pool(), MinVersion: tls.VersionTLS12}}}} // HTTP/1.1: one connection per caller
	for i, name := range []string{"logs", "other"} {
		kc, err := ib.Admin.GetKubeconfig(adminCtx(), &bridgev1.GetKubeconfigRequest{Name: name})
		if err != nil {
			b.Fatal(err)
		}
		env.kc[i] = kc
	}

	var draining, stalled []time.Duration
	b.ResetTimer()
	for i := range b.N {
		draining = append(draining, env.round(b, fmt.Sprintf("r%d-draining", i), false)...)
		stalled = append(stalled, env.round(b, fmt.Sprintf("r%d-stalled", i), true)...)
	}
	b.StopTimer()
	dp99, sp99 := percentile(draining, 0.99), percentile(stalled, 0.99)
	b.ReportMetric(ms(dp99), "draining-p99-ms")
	b.ReportMetric(ms(sp99), "stalled-p99-ms")
	b.ReportMetric(float64(sp99)/float64(max(dp99, time.Millisecond)), "stalled/draining-p99")
	logf(b, "%d changes each: draining callers p50 %.0f ms, p99 %.0f ms, max %.0f ms; stalled callers p50 %.0f ms, p99 %.0f ms, max %.0f ms; p99 stalled ÷ draining %.2f",
		len(stalled)/b.N, ms(percentile(draining, 0.5)), ms(dp99), ms(percentile(draining, 1)),
		ms(percentile(stalled, 0.5)), ms(sp99), ms(percentile(stalled, 1)), float64(sp99)/float64(max(dp99, time.Millisecond)))
}

type stalledEnv struct {
	cs              kubernetes.Interface
	nsLogs, nsOther string
	flood           *coordinationv1.Lease
	metrics         string // the bridge's /metrics
	client          *http.Client
	kc              [2]*bridgev1.GetKubeconfigResponse // logs, other
}

// get starts a watch through an account's endpoint and returns its answer.
func (e *stalledEnv) get(ctx context.Context, b *testing.B, kc *bridgev1.GetKubeconfigResponse, path string) *http.Response {
	b.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, kc.GetServer()+path, nil)
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+kc.GetToken())
	resp, err := e.client.Do(req)
	if err != nil {
		b.Fatalf("GET %s: %v", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		b.Fatalf("GET %s: HTTP %d %s", path, resp.StatusCode, body)
	}
	return resp
}

const stalledChanges = 300

// round runs one flood with three callers that read (stall false) or never
// read (stall true), and returns the other account's change latencies.
// slowReaderOps reads spinops_bridge_slow_reader_operations_total.
func (e *stalledEnv) slowReaderOps(b *testing.B) int {
	b.Helper()
	resp, err := http.Get(e.metrics)
	if err != nil {
		b.Fatalf("reading the bridge's metrics: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	m := regexp.MustCompile(`(?m)^spinops_bridge_slow_reader_operations_total (\S+)$`).FindSubmatch(body)
	if m == nil {
		return 0
	}
	f, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		b.Fatal(err)
	}
	return int(f)
}

func (e *stalledEnv) round(b *testing.B, prefix string, stall bool) []time.Duration {
	b.Helper()
	ctx, cancel := context.WithTimeout(b.Context(), 3*time.Minute)
	defer cancel()
	var bodies []io.Closer
	defer func() {
		for _, c := range bodies {
			c.Close()
		}
	}()
	for range 3 {
		resp := e.get(ctx, b, e.kc[0], "/apis/coordination.k8s.io/v1/namespaces/"+e.nsLogs+"/leases?watch=1&resourceVersion="+e.flood.ResourceVersion)
		bodies = append(bodies, resp.Body)
		if !stall {
			go func() { _, _ = io.Copy(io.Discard, resp.Body) }()
		}
	}

	watch := e.get(ctx, b, e.kc[1], "/api/v1/namespaces/"+e.nsOther+"/configmaps?watch=1")
	bodies = append(bodies, watch.Body)
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
			if json.Unmarshal(sc.Bytes(), &ev) == nil && strings.HasPrefix(ev.Object.Metadata.Name, prefix+"-") {
				mu.Lock()
				arrived[ev.Object.Metadata.Name] = time.Now()
				mu.Unlock()
			}
		}
	}()

	endedBefore := e.slowReaderOps(b)
	floodDone := make(chan error, 1)
	go func() {
		l := e.flood
		for i := range 120 {
			l.Annotations = map[string]string{"example.com/fill": strings.Repeat(string(rune('a'+i%26)), 200<<10)}
			var err error
			if l, err = e.cs.CoordinationV1().Leases(e.nsLogs).Update(ctx, l, metav1.UpdateOptions{}); err != nil {
				floodDone <- fmt.Errorf("flood update %d: %w", i, err)
				return
			}
		}
		e.flood = l
		floodDone <- nil
	}()

	sent := make(map[string]time.Time, stalledChanges)
	for i := range stalledChanges {
		name := fmt.Sprintf("%s-%03d", prefix, i)
		start := time.Now()
		if _, err := e.cs.CoreV1().ConfigMaps(e.nsOther).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
			b.Fatalf("creating %s: %v", name, err)
		}
		sent[name] = start
		time.Sleep(10 * time.Millisecond)
	}
	if err := <-floodDone; err != nil {
		b.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		mu.Lock()
		n := len(arrived)
		mu.Unlock()
		if n >= stalledChanges {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("%s: %d of the other account's %d changes arrived in 30 s", prefix, n, stalledChanges)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// A stalled round measures something only if the callers did fall
	// behind: their operations are ended as slow readers (and in a
	// draining round none is).
	want := 0
	if stall {
		want = 3
	}
	for ended := e.slowReaderOps(b) - endedBefore; ended != want; ended = e.slowReaderOps(b) - endedBefore {
		if ended > want || time.Now().After(deadline) {
			b.Fatalf("%s: %d operations ended as slow readers, want %d", prefix, ended, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	lat := make([]time.Duration, 0, len(sent))
	for name, at := range sent {
		lat = append(lat, max(arrived[name].Sub(at), 0))
	}
	return lat
}
