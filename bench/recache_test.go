package bench

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/time/rate"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	bridgev1 "github.com/spinops/terraform-provider-spinops/proto/spinops/bridge/v1"

	"github.com/spinops/terraform-provider-spinops/internal/attach"
	"github.com/spinops/terraform-provider-spinops/internal/bridge"
	"github.com/spinops/terraform-provider-spinops/internal/bridge/bridgetest"
	"github.com/spinops/terraform-provider-spinops/internal/clouddriver/clouddrivertest"
	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

const seqAnnotation = "bench.spinops.io/seq"

// recacheChange is one write: its sequence number, when it was sent and
// when the API server answered; seen is when each Clouddriver stand-in had
// read a state at least this new.
type recacheChange struct {
	seq         int
	sent, acked time.Time
	seen        [3]time.Time
}

// recacheObserver follows one stand-in's reads of the benchmark's
// Deployments.
type recacheObserver struct {
	mu      *sync.Mutex
	changes map[string][]*recacheChange // deployment → changes in order
	next    map[string]int              // deployment → first change not yet seen
	idx     int                         // which seen slot
}

func (o *recacheObserver) onRead(r clouddrivertest.Read) {
	if r.Object == nil {
		return
	}
	s, err := strconv.Atoi(r.Object.GetAnnotations()[seqAnnotation])
	if err != nil {
		return
	}
	name := r.Object.GetName()
	o.mu.Lock()
	defer o.mu.Unlock()
	cs := o.changes[name]
	i := o.next[name]
	for ; i < len(cs) && cs[i].seq <= s; i++ {
		cs[i].seen[o.idx] = r.At
	}
	o.next[name] = i
}

// BenchmarkRecache: a Deployment changed in a real kube-apiserver until
// Clouddriver has read the new state, at 10 and 500 changes/s, side by side
// in one run: a Clouddriver stand-in that re-caches on demand when the
// bridge pushes (KubernetesOnDemandCachingAgent, Clouddriver <= 1.22) and
// one that only lists on the default 30 s caching cycle (Clouddriver 1.23+,
// or no push), and the same with the 10 s cycle spinops_agent_account sets
// by default. The 20 Deployments carry the annotations Spinnaker deploys
// with; the bridge runs with its default push bounds (50 requests/s per
// account, 200/s overall).
//
// SPINOPS_BENCH_RECACHE_OBJECTS sets the number of Deployments (one writer
// each; default 20), and SPINOPS_BENCH_RECACHE_ACCOUNT_RATE the per-account
// push rate (--refresh-account-rate; its burst is twice it, and the overall
// rate and burst are raised to match when below; default: the bridge's
// defaults).
func BenchmarkRecache(b *testing.B) {
	objects := envInt(b, "SPINOPS_BENCH_RECACHE_OBJECTS", 20)
	accountRate := envInt(b, "SPINOPS_BENCH_RECACHE_ACCOUNT_RATE", 0)
	c := testenv.StartCluster(b)
	ns := c.Namespace(b)
	ib := &inProcBridge{bridgetest.Start(b, func(cfg *bridge.Config) {
		cfg.OpsAddr = "127.0.0.1:0"
		if accountRate > 0 {
			cfg.Refresh.AccountRate, cfg.Refresh.AccountBurst = float64(accountRate), 2*accountRate
			cfg.Refresh.GlobalRate, cfg.Refresh.GlobalBurst = max(200, float64(accountRate)), max(400, 2*accountRate)
		}
	})}
	logf(b, "%d Deployments, one writer each; push bounds: %s", objects, map[bool]string{true: fmt.Sprintf("%d/s per account, burst %d", accountRate, 2*accountRate),
		false: "the bridge's defaults (50/s per account, burst 100; 200/s overall)"}[accountRate > 0])
	ib.attach(b, "spin", c, []string{"Deployment"})
	cfg := c.RESTConfig()
	cfg.QPS, cfg.Burst = 5000, 5000
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	var mu sync.Mutex
	changes := map[string][]*recacheChange{}
	for i := range objects {
		name := fmt.Sprintf("d-%d", i)
		one := int32(1)
		d := &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Annotations: map[string]string{
				"moniker.spinnaker.io/application": "bench", "moniker.spinnaker.io/cluster": "deployment " + name,
				"artifact.spinnaker.io/name": name, "artifact.spinnaker.io/type": "kubernetes/deployment", seqAnnotation: "0"}},
			Spec: appsv1.DeploymentSpec{Replicas: &one, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
				Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": name}},
					Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "nginx:1.27"}}}}},
		}
		if _, err := cs.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
			b.Fatal(err)
		}
		changes[name] = nil
	}
	kc, err := ib.Admin.GetKubeconfig(adminCtx(), &bridgev1.GetKubeconfigRequest{Name: "spin"})
	if err != nil {
		b.Fatal(err)
	}
	push := &recacheObserver{mu: &mu, changes: changes, next: map[string]int{}, idx: 0}
	cycle := &recacheObserver{mu: &mu, changes: changes, next: map[string]int{}, idx: 1}
	short := &recacheObserver{mu: &mu, changes: changes, next: map[string]int{}, idx: 2}
	account := clouddrivertest.Account{Name: "spin", Kubeconfig: []byte(kc.GetKubeconfig()), Namespaces: []string{ns},
		Kinds: []clouddrivertest.Kind{{Name: "deployment", GVR: schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}, Namespaced: true}}}
	pushCD, err := clouddrivertest.Start(ctx, clouddrivertest.Config{Version: clouddrivertest.OnDemand122, Accounts: []clouddrivertest.Account{account}, OnRead: push.onRead})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(pushCD.Close)
	cycleCD, err := clouddrivertest.Start(ctx, clouddrivertest.Config{Version: clouddrivertest.Current, Accounts: []clouddrivertest.Account{account}, OnRead: cycle.onRead})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(cycleCD.Close)
	// The same current Clouddriver with the cycle spinops_agent_account
	// sets unless told otherwise.
	shortAccount := account
	shortAccount.CacheInterval = time.Duration(attach.DefaultCacheIntervalSeconds) * time.Second
	shortCD, err := clouddrivertest.Start(ctx, clouddrivertest.Config{Version: clouddrivertest.Current, Accounts: []clouddrivertest.Account{shortAccount}, OnRead: short.onRead})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(shortCD.Close)
	if _, err := ib.Admin.UpdateAccount(adminCtx(), &bridgev1.UpdateAccountRequest{Spec: &bridgev1.AccountSpec{Name: "spin", ClouddriverUrl: pushCD.URL()}}); err != nil {
		b.Fatal(err)
	}
	var seq atomic.Int64
	for _, perSecond := range []int{10, 500} {
		b.Run(fmt.Sprintf("rate=%d", perSecond), func(b *testing.B) {
			mu.Lock()
			for name := range changes { // only this run's changes count
				changes[name] = nil
				push.next[name], cycle.next[name], short.next[name] = 0, 0, 0
			}
			mu.Unlock()
			reqsBefore := len(pushCD.Requests())
			coalescedBefore := metric(b, ib.OpsAddr(), "spinops_bridge_clouddriver_refresh_coalesced_total")
			droppedBefore := metric(b, ib.OpsAddr(), `spinops_bridge_clouddriver_refresh_dropped_total{reason="queue_full"}`)
			lim := rate.NewLimiter(rate.Limit(perSecond), 1)
			runCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			var wg sync.WaitGroup
			var failed atomic.Int64
			began := time.Now()
			// One writer per Deployment keeps each Deployment's changes in
			// order (a later read shows every earlier change).
			for i := range objects {
				name := fmt.Sprintf("d-%d", i)
				wg.Add(1)
				go func() {
					defer wg.Done()
					for lim.Wait(runCtx) == nil {
						ch := &recacheChange{seq: int(seq.Add(1))}
						patch := []byte(`{"metadata":{"annotations":{"` + seqAnnotation + `":"` + strconv.Itoa(ch.seq) + `"}}}`)
						mu.Lock()
						ch.sent = time.Now()
						changes[name] = append(changes[name], ch)
						mu.Unlock()
						if _, err := cs.AppsV1().Deployments(ns).Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
							failed.Add(1)
							continue
						}
						mu.Lock()
						ch.acked = time.Now()
						mu.Unlock()
					}
				}()
			}
			wg.Wait()
			elapsed := time.Since(began)
			// The pushed stand-in within seconds; the cycle one needs up to
			// a whole cycle.
			waitAll := func(slot int, limit time.Duration) {
				deadline := time.Now().Add(limit)
				for time.Now().Before(deadline) {
					mu.Lock()
					done := true
					for _, cs := range changes {
						if len(cs) > 0 && cs[len(cs)-1].seen[slot].IsZero() && !cs[len(cs)-1].acked.IsZero() {
							done = false
						}
					}
					mu.Unlock()
					if done {
						return
					}
					time.Sleep(100 * time.Millisecond)
				}
			}
			waitAll(0, 10*time.Second)
			waitAll(1, clouddrivertest.DefaultCacheInterval+10*time.Second)
			waitAll(2, shortAccount.CacheInterval+10*time.Second)
			reqs := pushCD.Requests()[reqsBefore:]
			sort.Slice(reqs, func(i, j int) bool { return reqs[i].At.Before(reqs[j].At) }) // recorded in the order they finished
			maxPerSec := 0
			for i := range reqs {
				n := 0
				for j := i; j < len(reqs) && reqs[j].At.Sub(reqs[i].At) < time.Second; j++ {
					n++
				}
				maxPerSec = max(maxPerSec, n)
			}
			mu.Lock()
			var lat [3][]time.Duration
			var fromAck [3][]time.Duration
			total, unseen := 0, [3]int{}
			for _, cs := range changes {
				for _, ch := range cs {
					if ch.acked.IsZero() {
						continue
					}
					total++
					for s := range 3 {
						if ch.seen[s].IsZero() {
							unseen[s]++
							continue
						}
						lat[s] = append(lat[s], max0(ch.seen[s].Sub(ch.sent)))
						fromAck[s] = append(fromAck[s], max0(ch.seen[s].Sub(ch.acked)))
					}
				}
			}
			mu.Unlock()
			p := func(s int, q float64) float64 { return ms(percentile(lat[s], q)) }
			pushP99, cycleP50 := p(0, 0.99), p(1, 0.50)
			b.ReportMetric(p(0, 0.50), "push-p50-ms")
			b.ReportMetric(pushP99, "push-p99-ms")
			b.ReportMetric(cycleP50, "cycle-p50-ms")
			b.ReportMetric(p(1, 0.99), "cycle-p99-ms")
			b.ReportMetric(p(2, 0.50), "cycle10-p50-ms")
			b.ReportMetric(p(2, 0.99), "cycle10-p99-ms")
			logf(b, "target %d/s: achieved %.0f changes/s over %s (%d changes, %d write errors). Change sent → Clouddriver has read it: "+
				"push p50 %.0f ms, p99 %.0f ms, max %.0f ms (%d unseen); 30 s cycle p50 %.0f ms, p99 %.0f ms (%d unseen); cycle p50 / push p99 = %.0f×; "+
				"%d s cycle (spinops' default) p50 %.0f ms, p99 %.0f ms (%d unseen). "+
				"From the API server's answer: push p99 %.0f ms, cycle p99 %.0f ms. Re-cache requests %d (max %d in any 1 s), coalesced %.0f, dropped %.0f",
				perSecond, float64(total)/elapsed.Seconds(), elapsed.Round(time.Millisecond), total, failed.Load(),
				p(0, 0.50), pushP99, p(0, 1), unseen[0], cycleP50, p(1, 0.99), unseen[1], cycleP50/max(pushP99, 1),
				attach.DefaultCacheIntervalSeconds, p(2, 0.50), p(2, 0.99), unseen[2],
				ms(percentile(fromAck[0], 0.99)), ms(percentile(fromAck[1], 0.99)),
				len(reqs), maxPerSec, metric(b, ib.OpsAddr(), "spinops_bridge_clouddriver_refresh_coalesced_total")-coalescedBefore,
				metric(b, ib.OpsAddr(), `spinops_bridge_clouddriver_refresh_dropped_total{reason="queue_full"}`)-droppedBefore)
		})
	}
}

// envInt reads a positive integer setting of a benchmark (def when unset).
func envInt(b *testing.B, name string, def int) int {
	b.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		b.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}
