package provider

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"testing"

	tfresource "github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	"github.com/hashicorp/terraform-plugin-testing/tfversion"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
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
// refresh and installed again; the rules, the configuration edited and a
// Role deleted outside Terraform are found on refresh (drifted_objects) and
// put back; prometheus_rule = false removes it, and so does destroy. A private cluster: the kind being served changes what
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
  namespace          = %q
  installation       = "x"
  wait               = false
  slo                = 0.995
  secrets_wo_version = 1
  zone {
    name      = "green"
    namespace = %q
    tier      = "production"
    # Write-only values and nested blocks (a zone's gate_auth, the canary):
    # the drift check renders the configuration from state and the
    # Secret's keys, and must find nothing after an apply.
    gate_auth {
      username    = "monitor"
      password_wo = "not-in-state"
    }
  }
  gate_auth {
    token_wo = "not-in-state-either"
  }
  notify {
    webhook_url_wo = "https://hooks.example.com/not-in-state"
  }
  canary_pipeline {
    application = "spinops-canary"
    pipeline    = "noop"
  }
  %s
}
`, c.Kubeconfig, ns, ns, extra)
	}
	withLabels := cfg(`prometheus_rule_labels = { release = "kube-prometheus-stack" }`)
	// readOnly: the same configuration with the provider connecting as
	// user "nobody" (grantNobodyReads gives it its reads).
	readOnly := func(config string) string {
		return strings.Replace(config, fmt.Sprintf("config_path = %q", c.Kubeconfig),
			fmt.Sprintf("host = %q\n    cluster_ca_certificate = file(%q)\n    token = %q", c.Host, c.CAFile, c.NobodyToken), 1)
	}
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
		Steps: append([]tfresource.TestStep{
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
			// Edited and deleted outside Terraform: the rules (kubectl
			// edit), the configuration, a Role. Refresh finds each (the
			// plan's prior state lists them), the plan shows the list
			// going to [], and the apply puts them back.
			{
				PreConfig: func() {
					ctx := t.Context()
					rule, err := rules.Get(ctx, "spinops-monitor", metav1.GetOptions{})
					if err != nil {
						t.Fatal(err)
					}
					// A rule of spinops's own group silenced by hand.
					groups, _, _ := unstructured.NestedSlice(rule.Object, "spec", "groups")
					if len(groups) == 0 {
						t.Fatalf("the PrometheusRule has no groups: %v", rule.Object)
					}
					first := groups[0].(map[string]any)
					rs := first["rules"].([]any)
					rs[0].(map[string]any)["expr"] = "vector(0)"
					if err := unstructured.SetNestedSlice(rule.Object, groups, "spec", "groups"); err != nil {
						t.Fatal(err)
					}
					if _, err := rules.Update(ctx, rule, metav1.UpdateOptions{FieldManager: "kubectl-edit"}); err != nil {
						t.Fatalf("editing the PrometheusRule outside Terraform: %v", err)
					}
					cm, err := c.Clientset().CoreV1().ConfigMaps(ns).Get(ctx, "spinops-monitor", metav1.GetOptions{})
					if err != nil {
						t.Fatal(err)
					}
					var cfg map[string]any
					if err := json.Unmarshal([]byte(cm.Data["config.json"]), &cfg); err != nil || cfg["slo"] != 0.995 {
						t.Fatalf("the monitor's configuration (%v) has no slo 0.995 to edit: %s", err, cm.Data["config.json"])
					}
					cfg["slo"] = 0.9
					b, err := json.Marshal(cfg)
					if err != nil {
						t.Fatal(err)
					}
					cm.Data["config.json"] = string(b)
					if _, err := c.Clientset().CoreV1().ConfigMaps(ns).Update(ctx, cm, metav1.UpdateOptions{FieldManager: "kubectl-edit"}); err != nil {
						t.Fatal(err)
					}
					if err := c.Clientset().RbacV1().Roles(ns).Delete(ctx, "spinops-monitor", metav1.DeleteOptions{}); err != nil {
						t.Fatal(err)
					}
				},
				Config: withLabels,
				ConfigPlanChecks: driftPlanChecks("spinops_monitor.this",
					"ConfigMap "+ns+"/spinops-monitor: changed: data",
					"PrometheusRule "+ns+"/spinops-monitor: changed: spec.groups",
					"Role "+ns+"/spinops-monitor: deleted",
				),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("spinops_monitor.this", tfjsonpath.New("drifted_objects"), knownvalue.ListExact(nil)),
				},
				Check: tfresource.ComposeTestCheckFunc(ruleAsRendered, func(*terraform.State) error {
					cm, err := c.Clientset().CoreV1().ConfigMaps(ns).Get(t.Context(), "spinops-monitor", metav1.GetOptions{})
					if err != nil {
						return err
					}
					var cfg map[string]any
					if err := json.Unmarshal([]byte(cm.Data["config.json"]), &cfg); err != nil || cfg["slo"] != 0.995 {
						return fmt.Errorf("the configuration was not put back (%v): %s", err, cm.Data["config.json"])
					}
					_, err = c.Clientset().RbacV1().Roles(ns).Get(t.Context(), "spinops-monitor", metav1.GetOptions{})
					return err
				}),
			},
			// A plan with read-only credentials (a plan-only pipeline): no
			// Secrets first, as Kubernetes' "view" role, then with them
			// but still without the right to patch, which the dry run
			// needs. Both plans work (the check is skipped with a
			// warning) and are empty: drifted_objects keeps its value.
			{
				PreConfig: func() { grantNobodyReads(t, c, ns, false) },
				Config:    readOnly(withLabels),
				PlanOnly:  true,
			},
			{
				PreConfig: func() { grantNobodyReads(t, c, ns, true) },
				Config:    readOnly(withLabels),
				PlanOnly:  true,
			},
			// Not wanted any more: removed.
			{Config: cfg(`prometheus_rule = false`), ConfigStateChecks: installed(false), Check: ruleGone},
			// Wanted again, then imported (the labels read back: the
			// plan changes only wait), then destroyed (CheckDestroy:
			// removed).
			{Config: withLabels, ConfigStateChecks: installed(true), Check: ruleAsRendered},
		}, importSteps("spinops_monitor.this", ns+"/spinops-monitor", []string{"wait"},
			regexp.MustCompile(`(?s)Incomplete Gate credentials.*a username needs password_wo`))...),
	})
}

// grantNobodyReads lets user "nobody" read what spinops_monitor reads in
// ns, Secrets only with secrets: get, list and watch, never a write.
func grantNobodyReads(t *testing.T, c *testenv.Cluster, ns string, secrets bool) {
	t.Helper()
	resources := []string{"deployments", "configmaps", "serviceaccounts", "roles", "rolebindings", "prometheusrules"}
	if secrets {
		resources = append(resources, "secrets")
	}
	bindNobody(t, c, ns, "reader", []rbacv1.PolicyRule{{APIGroups: []string{"", "apps", "rbac.authorization.k8s.io", "monitoring.coreos.com"},
		Resources: resources, Verbs: []string{"get", "list", "watch"}}})
}
