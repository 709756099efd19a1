package provider

import (
	"os"
	"testing"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/spinops/terraform-provider-spinops/internal/spinnaker/operatortest"
	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

// Environment of a run against a real cluster with the real Spinnaker
// Operator (docs/operator.md, "Running the acceptance suite against a real
// cluster and operator").
const (
	envRealOperator   = "SPINOPS_REAL_OPERATOR"
	envRealKubeconfig = "SPINOPS_REAL_KUBECONFIG"
)

func realOperator() bool { return os.Getenv(envRealOperator) != "" }

// accZoneTimeout is a zone's create/update timeout in the acceptance tests:
// minutes for the stand-in, half an hour for real pods.
func accZoneTimeout() string {
	if realOperator() {
		return "30m"
	}
	return "3m"
}

// zoneAccCluster is where a zone acceptance test runs: a local API server
// with the operator, kubelet and backend stand-ins, or, with
// SPINOPS_REAL_OPERATOR set, the cluster of SPINOPS_REAL_KUBECONFIG, where
// spinops installs the real operator and nothing is stood in.
type zoneAccCluster struct {
	kubeconfig string
	cs         kubernetes.Interface
	real       bool
}

func startZoneAccCluster(t *testing.T, operatorNamespace string) *zoneAccCluster {
	t.Helper()
	if realOperator() {
		path := os.Getenv(envRealKubeconfig)
		if path == "" {
			t.Fatalf("%s is set: %s must name the kubeconfig of a disposable cluster (see docs/operator.md)", envRealOperator, envRealKubeconfig)
		}
		cfg, err := clientcmd.BuildConfigFromFlags("", path)
		if err != nil {
			t.Fatalf("%s: %v", envRealKubeconfig, err)
		}
		return &zoneAccCluster{kubeconfig: path, cs: kubernetes.NewForConfigOrDie(cfg), real: true}
	}
	c := testenv.StartCluster(t, testenv.WithControllerManager())
	backends := operatortest.StartBackends(t)
	op := operatortest.StartOperator(t, c.RESTConfig(), operatortest.OperatorOptions{Backend: backends.Backend, Namespace: operatorNamespace, Host: backends.Host})
	operatortest.StartKubelet(t, c.RESTConfig(), backends.IP)
	t.Cleanup(func() {
		if err := op.LastError(); err != nil {
			t.Logf("operator stand-in, last error: %v", err)
		}
	})
	return &zoneAccCluster{kubeconfig: c.Kubeconfig, cs: c.Clientset()}
}

// skipWithRealOperator skips a step that only the stand-in can play.
func (z *zoneAccCluster) skipWithRealOperator(t *testing.T, why string) func() (bool, error) {
	return func() (bool, error) {
		if z.real {
			t.Logf("skipped against the real operator: %s", why)
		}
		return z.real, nil
	}
}
