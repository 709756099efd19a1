package bench

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	bridgev1 "github.com/spinops/terraform-provider-spinops/proto/spinops/bridge/v1"

	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

// BenchmarkReadPath: list every Deployment of an account holding 10,000
// objects through the bridge endpoint (answered from the cache) and
// straight from kube-apiserver, alternating, in the same run.
func BenchmarkReadPath(b *testing.B) {
	const total = 10000
	c := testenv.StartCluster(b)
	ns := c.Namespace(b)
	cfg := c.RESTConfig()
	cfg.QPS, cfg.Burst = 5000, 5000
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		b.Fatal(err)
	}
	created := time.Now()
	var wg sync.WaitGroup
	work := make(chan int)
	for w := 0; w < 32; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				labels := map[string]string{"app": fmt.Sprintf("app-%d", i)}
				d := &appsv1.Deployment{
					ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("d-%05d", i), Namespace: ns, Labels: labels},
					Spec: appsv1.DeploymentSpec{
						Replicas: ptr.To[int32](1),
						Selector: &metav1.LabelSelector{MatchLabels: labels},
						Template: corev1.PodTemplateSpec{
							ObjectMeta: metav1.ObjectMeta{Labels: labels},
							Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "nginx:1.27"}}},
						},
					},
				}
				if _, err := cs.AppsV1().Deployments(ns).Create(context.Background(), d, metav1.CreateOptions{}); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	for i := 0; i < total; i++ {
		work <- i
	}
	close(work)
	wg.Wait()
	b.Logf("created %d deployments in %s", total, time.Since(created).Round(time.Second))

	ib := startInProcBridge(b)
	ib.attach(b, "reads", c, []string{"Deployment"})
	kc, err := ib.Admin.GetKubeconfig(adminCtx(), &bridgev1.GetKubeconfigRequest{Name: "reads"})
	if err != nil {
		b.Fatal(err)
	}
	bridgeClient := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ib.CA.Pool(), MinVersion: tls.VersionTLS12}}}
	direct, err := restHTTPClient(c)
	if err != nil {
		b.Fatal(err)
	}
	path := "/apis/apps/v1/deployments"
	list := func(client *http.Client, base, token string) (time.Duration, int) {
		req, _ := http.NewRequest(http.MethodGet, base+path, nil)
		req.Header.Set("Accept", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		t0 := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("%s: %s", base, resp.Status)
		}
		return time.Since(t0), int(n)
	}
	// Warm both (connections, the API server's watch cache).
	list(bridgeClient, kc.GetServer(), kc.GetToken())
	list(direct, c.Host, "")
	const rounds = 15
	var viaBridge, viaAPI []time.Duration
	var bridgeBytes, apiBytes int
	for i := 0; i < rounds; i++ {
		d, n := list(bridgeClient, kc.GetServer(), kc.GetToken())
		viaBridge, bridgeBytes = append(viaBridge, d), n
		d, n = list(direct, c.Host, "")
		viaAPI, apiBytes = append(viaAPI, d), n
	}
	mb, ma := percentile(viaBridge, 0.5), percentile(viaAPI, 0.5)
	b.ReportMetric(ms(mb), "bridge-ms")
	b.ReportMetric(ms(ma), "apiserver-ms")
	b.ReportMetric(float64(ma)/float64(mb), "speedup")
	logf(b, "list %d deployments, median of %d: bridge cache %.1f ms (%d bytes), kube-apiserver %.1f ms (%d bytes): %.1fx faster",
		total, rounds, ms(mb), bridgeBytes, ms(ma), apiBytes, float64(ma)/float64(mb))
}

func restHTTPClient(c *testenv.Cluster) (*http.Client, error) {
	cfg := c.RESTConfig()
	return restHTTPClientFor(cfg)
}
