package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"golang.org/x/time/rate"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/spinops/terraform-provider-spinops/internal/bridge/cache"
	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

// BenchmarkPropagation: a change in a real kube-apiserver until it is in the
// bridge cache, at 100 and 1,000 changes per second. The clock starts
// before the write is sent and stops when the cache applies the event.
func BenchmarkPropagation(b *testing.B) {
	c := testenv.StartCluster(b)
	ns := c.Namespace(b)
	ib := startInProcBridge(b)
	ib.attach(b, "latency", c, []string{"ConfigMap"})
	cfg := c.RESTConfig()
	cfg.QPS, cfg.Burst = 5000, 5000
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		b.Fatal(err)
	}
	const objects = 200
	ctx := context.Background()
	for i := 0; i < objects; i++ {
		if _, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("cm-%d", i), Namespace: ns}, Data: map[string]string{"seq": "0"}}, metav1.CreateOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	kind := ib.Cache().Account("latency", false).Kind(schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}, nil)
	for _, perSecond := range []int{100, 1000} {
		b.Run(fmt.Sprintf("rate=%d", perSecond), func(b *testing.B) {
			runPropagation(b, cs, ns, kind, perSecond, 10*time.Second, objects)
		})
	}
}

func runPropagation(b *testing.B, cs kubernetes.Interface, ns string, kind *cache.Kind, perSecond int, d time.Duration, objects int) {
	var mu sync.Mutex
	start := map[string]time.Time{} // seq -> when its write was sent
	acked := map[string]time.Time{} // seq -> when the API server answered it
	seen := map[string]time.Time{}  // seq -> when the bridge cache applied it
	var lat []time.Duration
	w, _ := kind.Watch(cache.Filter{Namespace: ns}, kind.ResourceVersion())
	defer w.Stop()
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		for ev := range w.Events() {
			now := time.Now()
			var cm struct {
				Data map[string]string `json:"data"`
			}
			_ = json.Unmarshal(ev.Object.Raw, &cm)
			mu.Lock()
			if t0, ok := start[cm.Data["seq"]]; ok {
				lat = append(lat, now.Sub(t0))
				seen[cm.Data["seq"]] = now
				delete(start, cm.Data["seq"])
			}
			mu.Unlock()
		}
	}()
	// A watch of our own on the API server, beside the agent's: when the API
	// server delivers each change to a watcher. Cache time minus this is
	// the agent → bridge segment, which is spinops's own part of the path.
	delivered := map[string]time.Time{}
	// From the current resourceVersion: no synthetic ADDED events carrying
	// the previous run's seq values.
	cur, err := cs.CoreV1().ConfigMaps(ns).List(context.Background(), metav1.ListOptions{Limit: 1})
	if err != nil {
		b.Fatal(err)
	}
	kw, err := cs.CoreV1().ConfigMaps(ns).Watch(context.Background(), metav1.ListOptions{ResourceVersion: cur.ResourceVersion})
	if err != nil {
		b.Fatal(err)
	}
	defer kw.Stop()
	go func() {
		for ev := range kw.ResultChan() {
			now := time.Now()
			if cm, ok := ev.Object.(*corev1.ConfigMap); ok {
				mu.Lock()
				if _, ok := delivered[cm.Data["seq"]]; !ok {
					delivered[cm.Data["seq"]] = now
				}
				mu.Unlock()
			}
		}
	}()
	lim := rate.NewLimiter(rate.Limit(perSecond), 1)
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var wg sync.WaitGroup
	var sent, failed int64
	var seqMu sync.Mutex
	seq := 0
	workers := perSecond / 10
	if workers < 4 {
		workers = 4
	}
	if workers > 64 {
		workers = 64
	}
	began := time.Now()
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for lim.Wait(ctx) == nil {
				seqMu.Lock()
				seq++
				s := strconv.Itoa(seq)
				name := fmt.Sprintf("cm-%d", seq%objects)
				sent++
				seqMu.Unlock()
				patch := []byte(`{"data":{"seq":"` + s + `"}}`)
				mu.Lock()
				start[s] = time.Now()
				mu.Unlock()
				if _, err := cs.CoreV1().ConfigMaps(ns).Patch(context.Background(), name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
					seqMu.Lock()
					failed++
					seqMu.Unlock()
					continue
				}
				mu.Lock()
				acked[s] = time.Now()
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(began)
	time.Sleep(2 * time.Second) // let the last changes arrive
	mu.Lock()
	n, missing := len(lat), len(start)
	p50, p99, max := percentile(lat, 0.50), percentile(lat, 0.99), percentile(lat, 1)
	// From the API server's answer (the change is committed) to the cache;
	// 0 when the cache had it before the writer got its answer.
	var fromAck []time.Duration
	for s, t := range seen {
		if a, ok := acked[s]; ok {
			fromAck = append(fromAck, max0(t.Sub(a)))
		}
	}
	a50, a99 := percentile(fromAck, 0.50), percentile(fromAck, 0.99)
	var fromWatch []time.Duration
	for s, t := range seen {
		if d, ok := delivered[s]; ok {
			fromWatch = append(fromWatch, max0(t.Sub(d)))
		}
	}
	w50, w99 := percentile(fromWatch, 0.50), percentile(fromWatch, 0.99)
	mu.Unlock()
	b.ReportMetric(ms(p50), "p50-ms")
	b.ReportMetric(ms(p99), "p99-ms")
	b.ReportMetric(ms(a99), "p99-from-commit-ms")
	b.ReportMetric(ms(w99), "p99-from-watch-ms")
	b.ReportMetric(float64(sent)/elapsed.Seconds(), "changes/s")
	logf(b, "target %d/s: achieved %.0f changes/s over %s, %d observed (%d superseded, %d write errors). From the write sent: p50 %.1f ms, p99 %.1f ms, max %.1f ms. From the API server's answer: p50 %.1f ms, p99 %.1f ms. From the API server's watch delivery (agent → bridge): p50 %.1f ms, p99 %.1f ms",
		perSecond, float64(sent)/elapsed.Seconds(), elapsed.Round(time.Millisecond), n, missing, failed, ms(p50), ms(p99), ms(max), ms(a50), ms(a99), ms(w50), ms(w99))
}

func max0(d time.Duration) time.Duration {
	if d < 0 {
		return 0
	}
	return d
}
