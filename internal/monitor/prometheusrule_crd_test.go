package monitor

import (
	"reflect"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

var prometheusRules = schema.GroupVersionResource{Group: "monitoring.coreos.com", Version: "v1", Resource: "prometheusrules"}

// prometheusRuleCluster is a private API server serving prometheus-operator's
// own PrometheusRule CRD, as its release v0.94.0 ships it (read from the Go
// module proxy at test time, not copied here): its structural schema is
// what the API server validates a PrometheusRule against before
// prometheus-operator ever sees it. Private, because the kind being served
// changes what spinops_monitor does in every other test.
func prometheusRuleCluster(t *testing.T) (dynamic.NamespaceableResourceInterface, string) {
	t.Helper()
	c := testenv.StartCluster(t)
	crd := testenv.ModuleFile(t, testenv.PrometheusOperatorModule, testenv.PrometheusOperatorVersion, testenv.PrometheusRuleCRDPath)
	c.InstallCRD(t, crd)
	dc, err := dynamic.NewForConfig(c.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	return dc.Resource(prometheusRules), c.Namespace(t)
}

// TestPrometheusRule_realCRD creates what RenderPrometheusRule renders, for
// the workbook rules and for rules with other windows and SLOs, against the
// real CRD with strict field validation (an unknown field is an error, not
// silently pruned) and reads it back unchanged; and shows that the same
// check refuses what a rendering bug would make.
func TestPrometheusRule_realCRD(t *testing.T) {
	rules, ns := prometheusRuleCluster(t)
	t.Run("accepts", func(t *testing.T) { testRealCRDAccepts(t, rules, ns) })
	t.Run("refuses", func(t *testing.T) { testRealCRDRefuses(t, rules, ns) })
}

func testRealCRDAccepts(t *testing.T, rules dynamic.NamespaceableResourceInterface, ns string) {
	ctx := t.Context()
	for _, o := range ruleOptionCases() {
		t.Run(o.Name, func(t *testing.T) {
			o.Namespace = ns
			u, err := RenderPrometheusRule(o)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := rules.Namespace(ns).Create(ctx, u, metav1.CreateOptions{FieldValidation: "Strict"}); err != nil {
				t.Fatalf("the API server refused the rendered PrometheusRule: %v", err)
			}
			got, err := rules.Namespace(ns).Get(ctx, o.Name, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got.Object["spec"], u.Object["spec"]) {
				t.Errorf("spec changed on its way through the API server (pruned or defaulted):\n got %v\nwant %v", got.Object["spec"], u.Object["spec"])
			}
		})
	}
}

// testRealCRDRefuses shows the check above can fail: the same API server
// and CRD refuse objects that are wrong in the ways a rendering bug would
// make them wrong (each is the rendered rule with one change).
func testRealCRDRefuses(t *testing.T, rules dynamic.NamespaceableResourceInterface, ns string) {
	firstRule := func(u *unstructured.Unstructured, group int) map[string]any {
		groups := u.Object["spec"].(map[string]any)["groups"].([]any)
		return groups[group].(map[string]any)["rules"].([]any)[0].(map[string]any)
	}
	cases := []struct {
		name   string
		break_ func(u *unstructured.Unstructured)
		want   string
	}{
		{"unknown field in a rule", func(u *unstructured.Unstructured) { firstRule(u, 1)["severity"] = "page" }, `unknown field "spec.groups[1].rules[0].severity"`},
		{"for that is not a Prometheus duration", func(u *unstructured.Unstructured) { firstRule(u, 1)["for"] = "1 hour" }, "spec.groups[1].rules[0].for"},
		{"rule without expr", func(u *unstructured.Unstructured) { delete(firstRule(u, 0), "expr") }, "spec.groups[0].rules[0].expr: Required value"},
		{"two groups of one name", func(u *unstructured.Unstructured) {
			groups := u.Object["spec"].(map[string]any)["groups"].([]any)
			groups[1].(map[string]any)["name"] = groups[0].(map[string]any)["name"]
		}, "Duplicate value"},
		{"group without a name", func(u *unstructured.Unstructured) {
			u.Object["spec"].(map[string]any)["groups"].([]any)[0].(map[string]any)["name"] = ""
		}, "spec.groups[0].name"},
		{"label value that is not a string", func(u *unstructured.Unstructured) { firstRule(u, 1)["labels"].(map[string]any)["slo"] = 0.999 }, "spec.groups[1].rules[0].labels.slo"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			u, err := RenderPrometheusRule(PrometheusRuleOptions{Name: "broken-" + string(rune('a'+i)), Namespace: ns})
			if err != nil {
				t.Fatal(err)
			}
			tc.break_(u)
			_, err = rules.Namespace(ns).Create(t.Context(), u, metav1.CreateOptions{FieldValidation: "Strict"})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("create = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}
