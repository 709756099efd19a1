package testenv

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// KubernetesVersion is the version of the API server tools/k8s-testenv
// builds.
const KubernetesVersion = "v1.37.2"

const (
	clusterStartTimeout = 5 * time.Minute // two tries of k8s-testenv (etcd 30 s, kube-apiserver 90 s each) on a loaded machine
	clusterStopGrace    = 15 * time.Second
)

// Cluster is a running Kubernetes control plane: etcd and kube-apiserver, and
// kube-controller-manager when started WithControllerManager. There is no
// scheduler and no kubelet: Pods stay Pending unless a test sets their status.
type Cluster struct {
	// Name is a unique, human-readable label for this cluster.
	Name string
	// Host is the API server URL, https://127.0.0.1:<Port>.
	Host string
	Port int
	// Kubeconfig is the path of a kubeconfig using AdminToken (context
	// "testenv").
	Kubeconfig string
	// AdminToken is a static token of user "admin" in group system:masters.
	AdminToken string
	// NobodyToken authenticates user "nobody", who has no RBAC rights.
	NobodyToken string
	// CAFile/CAPEM: the CA that signed the serving and client certificates.
	CAFile string
	CAPEM  string
	// ClientCert*/ClientKey*: an admin client certificate (O=system:masters).
	ClientCertFile string
	ClientKeyFile  string
	ClientCertPEM  string
	ClientKeyPEM   string
	// ControllerManager reports whether kube-controller-manager runs.
	ControllerManager bool
	// Dir is the state directory (etcd data, pki, logs).
	Dir string

	proc      *process
	clientset kubernetes.Interface
	stopOnce  sync.Once
}

// ClusterOption configures StartCluster.
type ClusterOption func(*clusterConfig)

type clusterConfig struct {
	controllerManager bool
}

// WithControllerManager also runs kube-controller-manager, so Deployments get
// ReplicaSets and Pods, namespaces finish deleting and get a default
// ServiceAccount. It costs about a second at start and some CPU.
func WithControllerManager() ClusterOption {
	return func(c *clusterConfig) { c.controllerManager = true }
}

// StartCluster starts a private cluster for t, stopped on t.Cleanup. Several
// clusters can run at once.
func StartCluster(t testing.TB, opts ...ClusterOption) *Cluster {
	t.Helper()
	bin := requireBinaries(t, binK8s)[0]
	var cfg clusterConfig
	for _, o := range opts {
		o(&cfg)
	}
	return startOwn(t, "Kubernetes cluster", clusterStartTimeout, func(ctx context.Context) (*Cluster, error) {
		return startCluster(ctx, bin, cfg)
	})
}

var sharedCluster sharedSlot[*Cluster]

// SharedCluster returns the cluster shared by all tests of this test binary
// (without controller-manager), starting it on first use. The package must
// call Main from TestMain. Isolate tests with Namespace.
func SharedCluster(t testing.TB) *Cluster {
	t.Helper()
	bin := requireBinaries(t, binK8s)[0]
	return sharedCluster.get(t, "Kubernetes cluster", clusterStartTimeout, func(ctx context.Context) (*Cluster, error) {
		return startCluster(ctx, bin, clusterConfig{})
	})
}

// clusterInfo is what tools/k8s-testenv writes to DIR/cluster.json.
type clusterInfo struct {
	Host        string `json:"host"`
	Port        int    `json:"port"`
	Kubeconfig  string `json:"kubeconfig"`
	AdminToken  string `json:"admin_token"`
	NobodyToken string `json:"nobody_token"`
	CACert      string `json:"ca_cert"`
	ClientCert  string `json:"client_cert"`
	ClientKey   string `json:"client_key"`
	PID         int    `json:"pid"`
}

func startCluster(ctx context.Context, bin string, cfg clusterConfig) (*Cluster, error) {
	return retryStart(func() (*Cluster, error) {
		dir, err := newStateDir("k8s")
		if err != nil {
			return nil, err
		}
		c, err := launchCluster(ctx, bin, dir, cfg)
		if err != nil {
			removeStateDir(dir)
			return nil, err
		}
		return c, nil
	})
}

func launchCluster(ctx context.Context, bin, dir string, cfg clusterConfig) (*Cluster, error) {
	args := []string{"cluster", "--dir", dir}
	if cfg.controllerManager {
		args = append(args, "--controller-manager")
	}
	proc, err := startProcess(binK8s, filepath.Join(dir, "k8s-testenv.log"), nil, bin, args...)
	if err != nil {
		return nil, err
	}
	infoPath := filepath.Join(dir, "cluster.json")
	var info clusterInfo
	err = proc.waitReady(ctx, 100*time.Millisecond, func(context.Context) error {
		b, err := os.ReadFile(infoPath) // written atomically once /readyz is OK
		if err != nil {
			return err
		}
		if err := json.Unmarshal(b, &info); err != nil {
			return fmt.Errorf("parsing %s: %w", infoPath, err)
		}
		return nil
	})
	if err != nil {
		proc.stop(clusterStopGrace)
		return nil, err
	}
	if info.PID != proc.pid() {
		proc.stop(clusterStopGrace)
		return nil, fmt.Errorf("%s names pid %d, but we started %d", infoPath, info.PID, proc.pid())
	}
	c := &Cluster{
		Name:              UniqueName("testenv-", 6),
		Host:              info.Host,
		Port:              info.Port,
		Kubeconfig:        info.Kubeconfig,
		AdminToken:        info.AdminToken,
		NobodyToken:       info.NobodyToken,
		CAFile:            info.CACert,
		ClientCertFile:    info.ClientCert,
		ClientKeyFile:     info.ClientKey,
		ControllerManager: cfg.controllerManager,
		Dir:               dir,
		proc:              proc,
	}
	if err := c.loadPEMs(); err != nil {
		proc.stop(clusterStopGrace)
		return nil, err
	}
	if c.clientset, err = kubernetes.NewForConfig(c.RESTConfig()); err != nil {
		proc.stop(clusterStopGrace)
		return nil, fmt.Errorf("creating clientset: %w", err)
	}
	track(c)
	return c, nil
}

func (c *Cluster) loadPEMs() error {
	for _, f := range []struct {
		path string
		dst  *string
	}{{c.CAFile, &c.CAPEM}, {c.ClientCertFile, &c.ClientCertPEM}, {c.ClientKeyFile, &c.ClientKeyPEM}} {
		b, err := os.ReadFile(f.path)
		if err != nil {
			return fmt.Errorf("reading cluster credentials: %w", err)
		}
		*f.dst = string(b)
	}
	return nil
}

// RESTConfig returns a client configuration authenticated with AdminToken.
func (c *Cluster) RESTConfig() *rest.Config {
	return c.RESTConfigWithToken(c.AdminToken)
}

// RESTConfigWithToken returns a client configuration for this API server
// that authenticates with a bearer token (e.g. NobodyToken or a
// ServiceAccount token).
func (c *Cluster) RESTConfigWithToken(token string) *rest.Config {
	return &rest.Config{
		Host:            c.Host,
		BearerToken:     token,
		TLSClientConfig: rest.TLSClientConfig{CAData: []byte(c.CAPEM)},
		QPS:             100,
		Burst:           200,
	}
}

// Clientset returns an admin clientset.
func (c *Cluster) Clientset() kubernetes.Interface { return c.clientset }

// Namespace creates a namespace named tf-acc-test-<random> and deletes it on
// t.Cleanup. Deletion is not waited for: without a controller-manager a
// namespace stays Terminating forever.
func (c *Cluster) Namespace(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		Name:   UniqueName("tf-acc-test-", 8),
		Labels: map[string]string{"spinops.io/testenv": "true"},
	}}
	created, err := c.clientset.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("testenv: creating namespace on %s: %v", c.Host, err)
	}
	t.Cleanup(func() {
		if c.stopped() {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		err := c.clientset.CoreV1().Namespaces().Delete(ctx, created.Name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			t.Logf("testenv: deleting namespace %s: %v", created.Name, err)
		}
	})
	return created.Name
}

// LogTail returns the last n lines of the k8s-testenv log (API server and
// etcd); kube-controller-manager logs to Dir/controller-manager.log.
func (c *Cluster) LogTail(n int) string { return c.proc.tail(n) }

func (c *Cluster) stopped() bool { return c.proc.exited() }

// Stop stops the control plane and removes Dir. It is idempotent; t.Cleanup
// or Main call it.
func (c *Cluster) Stop() {
	c.stopOnce.Do(func() {
		untrack(c)
		c.proc.stop(clusterStopGrace)
		removeStateDir(c.Dir)
	})
}
