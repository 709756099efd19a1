package migratetest

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

// OldInstallation is an old Spinnaker on a real API server: Deployments
// spin-gate (2 replicas) and spin-orca, two running Orca pods whose IPs are
// two test hosts serving the Orca stand-in's instances on 8083, and the
// Services spin-orca and spin-front50 with their Endpoints.
type OldInstallation struct {
	Cluster   *testenv.Cluster
	Namespace string
	Queue     *OrcaQueue
}

// StartOldInstallation makes the old installation in a new namespace of c
// (a controller-manager need not run: it makes what one would).
func StartOldInstallation(t testing.TB, c *testenv.Cluster) *OldInstallation {
	t.Helper()
	cs := c.Clientset()
	old := &OldInstallation{Cluster: c, Namespace: c.Namespace(t), Queue: NewOrcaQueue(t, 2)}
	ctx := t.Context()
	serve := func(h *testenv.TestHost, port int, handler http.Handler) {
		l, err := h.Listen(port)
		if err != nil {
			t.Fatalf("listening on %s:%d: %v", h.IP, port, err)
		}
		s := &http.Server{Handler: handler}
		go func() { _ = s.Serve(l) }()
		t.Cleanup(func() { _ = s.Close() })
	}
	var ips []string
	for i, inst := range old.Queue.Instances {
		h := testenv.StartTestHost(t)
		serve(h, 8083, inst)
		if i == 0 {
			serve(h, 8080, old.Queue.Front50())
		}
		ips = append(ips, h.IP)
	}
	deployment := func(name string, replicas int32) {
		labels := map[string]string{"app": "spin", "cluster": name}
		d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(replicas), Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: strings.TrimPrefix(name, "spin-"), Image: "us-docker.pkg.dev/spinnaker-community/docker/" + strings.TrimPrefix(name, "spin-")}}}}}}
		if _, err := cs.AppsV1().Deployments(old.Namespace).Create(ctx, d, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	deployment("spin-gate", 2)
	deployment("spin-orca", 2)
	// No controller-manager makes the namespace's default ServiceAccount,
	// which the API server's admission wants for a pod.
	if _, err := cs.CoreV1().ServiceAccounts(old.Namespace).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var orcas []string
	for i, ip := range ips {
		name := fmt.Sprintf("spin-orca-5d8f-%d", i)
		old.Pod(t, name, "spin-orca", ip)
		orcas = append(orcas, name)
	}
	old.Pod(t, "spin-front50-7c9b-0", "spin-front50", ips[0])
	// The API server's service proxy picks an EndpointSlice endpoint whose
	// target pod has its address (pkg/registry/core/service/storage
	// ResourceLocation); the controller that would write them is not
	// running.
	service := func(name string, port int32, pods ...string) {
		if _, err := cs.CoreV1().Services(old.Namespace).Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: port}}}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		es := &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Name: name + "-1", Labels: map[string]string{discoveryv1.LabelServiceName: name}},
			AddressType: discoveryv1.AddressTypeIPv4, Ports: []discoveryv1.EndpointPort{{Name: ptr.To(""), Port: ptr.To(port)}}}
		for _, p := range pods {
			pod, err := cs.CoreV1().Pods(old.Namespace).Get(ctx, p, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			es.Endpoints = append(es.Endpoints, discoveryv1.Endpoint{Addresses: []string{pod.Status.PodIP},
				TargetRef: &corev1.ObjectReference{Kind: "Pod", Namespace: old.Namespace, Name: p, UID: pod.UID}})
		}
		if _, err := cs.DiscoveryV1().EndpointSlices(old.Namespace).Create(ctx, es, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	service("spin-orca", 8083, orcas...)
	service("spin-front50", 8080, "spin-front50-7c9b-0")
	return old
}

// Pod creates a running pod of a Deployment with ip, as a kubelet would
// report it.
func (o *OldInstallation) Pod(t testing.TB, name, deployment, ip string) {
	t.Helper()
	pods := o.Cluster.Clientset().CoreV1().Pods(o.Namespace)
	p, err := pods.Create(t.Context(), &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": "spin", "cluster": deployment}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "orca", Image: "orca"}}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p.Status.Phase, p.Status.PodIP, p.Status.PodIPs = corev1.PodRunning, ip, []corev1.PodIP{{IP: ip}}
	if _, err := pods.UpdateStatus(t.Context(), p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// GateReplicas is spin-gate's replicas.
func (o *OldInstallation) GateReplicas(t testing.TB) int32 {
	t.Helper()
	s, err := o.Cluster.Clientset().AppsV1().Deployments(o.Namespace).GetScale(t.Context(), "spin-gate", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return s.Spec.Replicas
}

// InService says which Orca instances are in service.
func (o *OldInstallation) InService() []bool {
	var out []bool
	for _, i := range o.Queue.Instances {
		out = append(out, i.Enabled.Load())
	}
	return out
}

// Eventually waits up to 5 s for cond, polling every 5 ms.
func Eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting: %s", what)
		}
	}
}

// Stays checks that cond holds for 100 ms.
func Stays(t testing.TB, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(100 * time.Millisecond); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		if !cond() {
			t.Fatalf("did not stay so: %s", what)
		}
	}
}
