package provider

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	tfresource "github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/spinops/terraform-provider-spinops/internal/kube"
	"github.com/spinops/terraform-provider-spinops/internal/spinnaker"
	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

// faultyAPIServer is a proxy in front of a real API server that answers a
// cluster-wide list of SpinnakerServices with the status in fail (0: pass
// it on), as an API server does for a missing RBAC grant (403) or a broken
// etcd (500). Everything else reaches the API server with the cluster's
// credentials. It returns the path of a kubeconfig pointing at the proxy.
func faultyAPIServer(t *testing.T, cfg *rest.Config, fail *atomic.Int32) string {
	t.Helper()
	target, err := url.Parse(cfg.Host)
	if err != nil {
		t.Fatal(err)
	}
	rt, err := rest.TransportFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.Transport = rt
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if code := int(fail.Load()); code != 0 && r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/apis/spinnaker.io/v1alpha2/spinnakerservices") {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(code)
			_, _ = io.Copy(w, bytes.NewBufferString(`{"kind":"Status","apiVersion":"v1","status":"Failure","message":"injected","reason":"`+
				http.StatusText(code)+`","code":`+strconv.Itoa(code)+`}`))
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	kc := clientcmdapi.NewConfig()
	kc.Clusters["c"] = &clientcmdapi.Cluster{Server: srv.URL}
	kc.AuthInfos["u"] = &clientcmdapi.AuthInfo{}
	kc.Contexts["c"] = &clientcmdapi.Context{Cluster: "c", AuthInfo: "u"}
	kc.CurrentContext = "c"
	p := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*kc, p); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestAccManagedSpinnaker_destroyNeedsTheZoneList: with operator.install =
// false (a cluster that already runs the operator), destroying the
// installation while its zones cannot be listed (403, 500) fails and keeps
// the installation, instead of taking the failed list for "no zones" and
// leaving a zone without its installation. The zone here is one the ledger
// does not know (made out of band), so only the list can find it.
func TestAccManagedSpinnaker_destroyNeedsTheZoneList(t *testing.T) {
	if testing.Short() {
		t.Skip("acceptance test")
	}
	c := testenv.StartCluster(t)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	client, err := kube.NewClient(c.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	// The operator's CRDs, as a cluster that already runs it has them.
	if err := spinnaker.InstallCRDs(ctx, client, 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	var fail atomic.Int32
	kubeconfig := faultyAPIServer(t, c.RESTConfig(), &fail)
	const opNS, zoneNS = "tf-acc-destroy-op", "tf-acc-destroy-zone"
	config := fmt.Sprintf(`
provider "spinops" {
  kubernetes {
    config_path = %q
  }
}

resource "spinops_managed_spinnaker" "this" {
  spinnaker_version = "1.35.3"
  operator {
    namespace = %q
    install   = false
  }
}
`, kubeconfig, opNS)

	zone := &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{"spinnakerConfig": map[string]any{"config": map[string]any{"version": "1.35.3"}}}}}
	zone.SetGroupVersionKind(spinnaker.SpinnakerServiceGVK)
	zone.SetNamespace(zoneNS)
	zone.SetName("spinnaker")
	zone.SetLabels(map[string]string{spinnaker.LabelInstallation: opNS})
	installationKept := func() {
		if _, err := spinnaker.LoadInstallation(ctx, c.Clientset(), opNS); err != nil {
			t.Fatalf("the installation is gone after a destroy that could not list its zones: %v", err)
		}
	}
	destroyRefused := func(code int) tfresource.TestStep {
		return tfresource.TestStep{
			Config:      config,
			Destroy:     true,
			PreConfig:   func() { fail.Store(int32(code)) },
			ExpectError: wrappedRe(`(?s)cannot tell whether the installation still has zones:.*listing SpinnakerServices.*Nothing was deleted\.`),
		}
	}
	// Nothing planned after a refused destroy: the installation is intact.
	unchanged := tfresource.TestStep{Config: config, PlanOnly: true, PreConfig: func() { fail.Store(0); installationKept() }}
	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []tfresource.TestStep{
			{
				Config: config,
				Check: func(*terraform.State) error {
					if err := spinnaker.EnsureNamespace(ctx, client, zoneNS); err != nil {
						return err
					}
					_, err := client.Apply(ctx, zone)
					return err
				},
			},
			destroyRefused(http.StatusForbidden),
			unchanged,
			destroyRefused(http.StatusInternalServerError),
			unchanged,
			{
				// The list works again: the zone it finds blocks the destroy.
				Config:      config,
				Destroy:     true,
				PreConfig:   func() { fail.Store(0) },
				ExpectError: wrappedRe(`the installation still has zones: spinnaker \(namespace tf-acc-destroy-zone\)`),
			},
			{
				// Without the zone, the final destroy goes through.
				Config: config,
				PreConfig: func() {
					if err := client.Delete(ctx, zone); err != nil {
						t.Fatal(err)
					}
				},
				Check: func(*terraform.State) error {
					_, err := spinnaker.LoadInstallation(ctx, c.Clientset(), opNS)
					return err
				},
			},
		},
	})
}

// TestAccManagedSpinnaker_secondOperatorRefusedAtPlan is issue 12 point 10
// at plan time: next to a cluster-wide operator (installed by someone else),
// installing another operator, cluster-wide or not, is refused by the plan
// with what to do, since the two would reconcile each other's
// SpinnakerServices and share the one webhook configuration. Using that
// operator (operator.install = false) plans.
func TestAccManagedSpinnaker_secondOperatorRefusedAtPlan(t *testing.T) {
	if testing.Short() {
		t.Skip("acceptance test")
	}
	c := testenv.StartCluster(t)
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	client, err := kube.NewClient(c.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	halyard, _ := spinnaker.HalyardImageFor(spinnaker.DefaultOperatorVersion)
	theirs := spinnaker.OperatorSettings{Namespace: "their-operator", Image: "armory/spinnaker-operator:" + spinnaker.DefaultOperatorVersion, HalyardImage: halyard, ClusterWide: true}
	if err := spinnaker.EnsureOperator(ctx, client, theirs, false, time.Minute); err != nil {
		t.Fatal(err)
	}
	config := func(operator string) string {
		return fmt.Sprintf(`
provider "spinops" {
  kubernetes {
    config_path = %q
  }
}

resource "spinops_managed_spinnaker" "this" {
  spinnaker_version = "1.35.3"
  operator {
%s
  }
}
`, c.Kubeconfig, operator)
	}
	refused := wrappedRe(`(?s)Another Spinnaker Operator on the cluster.*Deployment their-operator/spinnaker-operator \(watches all namespaces\).*operator\.install = false`)
	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []tfresource.TestStep{
			{Config: config(`namespace = "tf-acc-second"`), PlanOnly: true, ExpectError: refused},
			{Config: config("namespace = \"tf-acc-second\"\n    cluster_wide = false"), PlanOnly: true, ExpectError: refused},
			{Config: config("namespace = \"their-operator\"\n    install = false"), PlanOnly: true, ExpectNonEmptyPlan: true},
		},
	})
	if _, err := client.Clientset.CoreV1().Namespaces().Get(ctx, "tf-acc-second", metav1.GetOptions{}); err == nil {
		t.Error("a refused plan created the operator namespace")
	}
}
