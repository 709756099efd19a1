package testenv_test

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

func TestSharedCluster(t *testing.T) {
	c := testenv.SharedCluster(t)
	if again := testenv.SharedCluster(t); again != c {
		t.Fatal("SharedCluster returned a second cluster")
	}
	ctx := t.Context()

	v, err := c.Clientset().Discovery().ServerVersion()
	if err != nil {
		t.Fatal(err)
	}
	if v.GitVersion != testenv.KubernetesVersion {
		t.Errorf("/version gitVersion = %q, want %q", v.GitVersion, testenv.KubernetesVersion)
	}

	ns := c.Namespace(t)
	nss, err := c.Clientset().CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	for _, n := range nss.Items {
		found[n.Name] = true
	}
	for _, want := range []string{"kube-system", ns} {
		if !found[want] {
			t.Errorf("namespace %s not listed", want)
		}
	}

	t.Run("nobody is forbidden", func(t *testing.T) {
		cs := kubernetes.NewForConfigOrDie(c.RESTConfigWithToken(c.NobodyToken))
		_, err := cs.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
		if !apierrors.IsForbidden(err) {
			t.Errorf("listing namespaces as nobody: got %v, want Forbidden", err)
		}
	})

	t.Run("client certificate", func(t *testing.T) {
		cfg := &rest.Config{Host: c.Host, TLSClientConfig: rest.TLSClientConfig{
			CAData: []byte(c.CAPEM), CertData: []byte(c.ClientCertPEM), KeyData: []byte(c.ClientKeyPEM)}}
		cs := kubernetes.NewForConfigOrDie(cfg)
		if _, err := cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); err != nil {
			t.Error(err)
		}
		for _, f := range []string{c.CAFile, c.ClientCertFile, c.ClientKeyFile} {
			if _, err := os.Stat(f); err != nil {
				t.Error(err)
			}
		}
	})

	t.Run("kubeconfig", func(t *testing.T) {
		cfg, err := clientcmd.BuildConfigFromFlags("", c.Kubeconfig)
		if err != nil {
			t.Fatal(err)
		}
		cs := kubernetes.NewForConfigOrDie(cfg)
		if _, err := cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); err != nil {
			t.Error(err)
		}
	})
}

func TestTwoClusters(t *testing.T) {
	a := testenv.StartCluster(t)
	b := testenv.StartCluster(t)
	if a.Port == b.Port || a.Dir == b.Dir || a.Name == b.Name {
		t.Fatalf("clusters share port/dir/name: %+v %+v", a, b)
	}
	ns := a.Namespace(t)
	_, err := b.Clientset().CoreV1().Namespaces().Get(t.Context(), ns, metav1.GetOptions{})
	if !apierrors.IsNotFound(err) {
		t.Errorf("namespace %s of cluster A on cluster B: got %v, want NotFound", ns, err)
	}

	began := time.Now()
	a.Stop()
	t.Logf("cluster A stopped in %s", time.Since(began).Round(10*time.Millisecond))
	if _, err := os.Stat(a.Dir); !os.IsNotExist(err) {
		t.Errorf("state dir %s still there after Stop: %v", a.Dir, err)
	}
	if _, err := b.Clientset().Discovery().ServerVersion(); err != nil {
		t.Errorf("cluster B after stopping A: %v", err)
	}
}

func TestClusterWithControllerManager(t *testing.T) {
	c := testenv.StartCluster(t, testenv.WithControllerManager())
	cs := c.Clientset()
	ns := c.Namespace(t)
	ctx := t.Context()

	labels := map[string]string{"app": "pause"}
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "pause", Namespace: ns},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{
					{Name: "pause", Image: "registry.k8s.io/pause:3.10"},
				}},
			},
		},
	}
	dep, err := cs.AppsV1().Deployments(ns).Create(ctx, dep, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	eventually(t, 60*time.Second, "a ReplicaSet owned by the Deployment", func(ctx context.Context) (bool, error) {
		rss, err := cs.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		for _, rs := range rss.Items {
			if ref := metav1.GetControllerOf(&rs); ref != nil && ref.UID == dep.UID {
				return true, nil
			}
		}
		return false, nil
	})
	eventually(t, 60*time.Second, "a Pod of the Deployment", func(ctx context.Context) (bool, error) {
		pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=pause"})
		return err == nil && len(pods.Items) > 0, err
	})
	t.Logf("ReplicaSet and Pod appeared after %s", time.Since(began).Round(10*time.Millisecond))

	// With a controller-manager namespaces finish deleting.
	other := c.Namespace(t)
	if err := cs.CoreV1().Namespaces().Delete(ctx, other, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 60*time.Second, "namespace "+other+" deleted", func(ctx context.Context) (bool, error) {
		_, err := cs.CoreV1().Namespaces().Get(ctx, other, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		return false, err
	})
}

// eventually polls cond every 200ms until it is true or timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func(context.Context) (bool, error)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	var lastErr error
	for {
		ok, err := cond(ctx)
		if ok {
			return
		}
		if err != nil {
			lastErr = err
		}
		select {
		case <-ctx.Done():
			t.Fatalf("waiting for %s: %v (last error: %v)", what, ctx.Err(), lastErr)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func TestSharedClusterParallel(t *testing.T) {
	for i := range 4 {
		t.Run(strconv.Itoa(i), func(t *testing.T) {
			t.Parallel()
			c := testenv.SharedCluster(t)
			ns := c.Namespace(t)
			cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "x"}, Data: map[string]string{"i": strconv.Itoa(i)}}
			if _, err := c.Clientset().CoreV1().ConfigMaps(ns).Create(t.Context(), cm, metav1.CreateOptions{}); err != nil {
				t.Error(err)
			}
		})
	}
}
