package provider

import (
	"errors"
	"fmt"
	"reflect"
	"testing"

	tfresource "github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	"github.com/hashicorp/terraform-plugin-testing/tfversion"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/spinops/terraform-provider-spinops/internal/monitor"
	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

// TestAccMonitor_prometheusRule: spinops_monitor and prometheus-operator's
// real PrometheusRule CRD (release v0.94.0, read from the module proxy at
// test time). Without the CRD nothing is installed; once the CRD is there
// the next plan shows an update that installs the rules (accepted by the
// CRD's schema, as rendered); a rule deleted outside Terraform is seen on
// refresh and installed again; prometheus_rule = false removes it, and so
// does destroy. A private cluster: the kind being served changes what
// spinops_monitor does in every other test.
func TestAccMonitor_prometheusRule(t *testing.T) {
	c := testenv.StartCluster(t)
	crd := testenv.ModuleFile(t, testenv.PrometheusOperatorModule, testenv.PrometheusOperatorVersion, testenv.PrometheusRuleCRDPath)
	ns := c.Namespace(t)
	dc, err := dynamic.NewForConfig(c.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	rules := dc.Resource(schema.GroupVersionResource{Group: "monitoring.coreos.com", Version: "v1", Resource: "prometheusrules"}).Namespace(ns)
	cfg := func(extra string) string {
		return fmt.Sprintf(`
provider "spinops" {
  kubernetes {
    config_path = %q
  }
}
resource "spinops_monitor" "this" {
  namespace    = %q
  installation = "x"
  wait         = false
  slo          = 0.995
  zone {
    name      = "green"
    namespace = %q
    tier      = "production"
  }
  %s
}
`, c.Kubeconfig, ns, ns, extra)
	}
	withLabels := cfg(`prometheus_rule_labels = { release = "kube-prometheus-stack" }`)
	installed := func(b bool) []statecheck.StateCheck {
		return []statecheck.StateCheck{statecheck.ExpectKnownValue("spinops_monitor.this", tfjsonpath.New("prometheus_rule_installed"), knownvalue.Bool(b))}
	}
	// The object in the cluster is the rendering, unchanged by the API
	// server, with the configured labels.
	ruleAsRendered := func(*terraform.State) error {
		got, err := rules.Get(t.Context(), "spinops-monitor", metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("the PrometheusRule: %w", err)
		}
		want, err := monitor.RenderPrometheusRule(monitor.PrometheusRuleOptions{Name: "spinops-monitor", Namespace: ns, SLO: 0.995})
		if err != nil {
			return err
		}
		if !reflect.DeepEqual(got.Object["spec"], want.Object["spec"]) {
			return fmt.Errorf("spec in the cluster:\n%v\nrendered:\n%v", got.Object["spec"], want.Object["spec"])
		}
		if got.GetLabels()["release"] != "kube-prometheus-stack" {
			return fmt.Errorf("labels %v: the prometheus_rule_labels are missing", got.GetLabels())
		}
		return nil
	}
	ruleGone := func(*terraform.State) error {
		_, err := rules.Get(t.Context(), "spinops-monitor", metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			return nil
		case err == nil:
			return errors.New("the PrometheusRule is still in the cluster")
		default:
			return err
		}
	}
	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		TerraformVersionChecks:   []tfversion.TerraformVersionCheck{tfversion.SkipBelow(tfversion.Version1_11_0)},
		CheckDestroy:             ruleGone,
		Steps: []tfresource.TestStep{
			// No CRD: the rules run in the monitor only.
			{Config: withLabels, ConfigStateChecks: installed(false)},
			// prometheus-operator installed afterwards: the next plan
			// installs the rules.
			{
				PreConfig: func() { c.InstallCRD(t, crd) },
				Config:    withLabels,
				ConfigPlanChecks: tfresource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("spinops_monitor.this", plancheck.ResourceActionUpdate),
					plancheck.ExpectUnknownValue("spinops_monitor.this", tfjsonpath.New("prometheus_rule_installed")),
				}},
				ConfigStateChecks: installed(true),
				Check:             ruleAsRendered,
			},
			// Deleted outside Terraform: seen on refresh, installed again.
			{
				PreConfig: func() {
					if err := rules.Delete(t.Context(), "spinops-monitor", metav1.DeleteOptions{}); err != nil {
						t.Fatalf("deleting the PrometheusRule outside Terraform: %v", err)
					}
				},
				Config: withLabels,
				ConfigPlanChecks: tfresource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("spinops_monitor.this", plancheck.ResourceActionUpdate),
				}},
				ConfigStateChecks: installed(true),
				Check:             ruleAsRendered,
			},
			// Not wanted any more: removed.
			{Config: cfg(`prometheus_rule = false`), ConfigStateChecks: installed(false), Check: ruleGone},
			// Wanted again, then destroyed (CheckDestroy: removed).
			{Config: withLabels, ConfigStateChecks: installed(true), Check: ruleAsRendered},
		},
	})
}
