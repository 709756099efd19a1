package monitor

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// admissionCheck is what prometheus-operator's admission webhook
// (/admission-prometheusrules/validate) does with a PrometheusRule once the
// API server has accepted it against the CRD's schema: it marshals the
// object's spec to YAML and hands it to Prometheus's own rule-file parser,
// rulefmt.Parse, with unknown fields refused, the name validation scheme of
// its --name-validation-scheme flag (default "legacy") and the PromQL parser
// options of its --promql-options flag (default none). Source:
// prometheus-operator pkg/admission/admission.go (validatePrometheusRules),
// pkg/operator/rules.go (ValidateRule), cmd/admission-webhook/main.go; its
// release v0.94.0, whose CRD prometheusRuleCluster serves, builds with
// github.com/prometheus/prometheus v0.314.0, the version go.mod pins here.
// The parser is Prometheus's, not a copy: rulefmt parses every expr with the
// PromQL parser and every alert's labels and annotations as Go templates
// with Prometheus's template functions, as Prometheus does when it loads the
// rule file the operator writes.
func admissionCheck(t *testing.T, u *unstructured.Unstructured) []error {
	t.Helper()
	content, err := yaml.Marshal(u.Object["spec"])
	if err != nil {
		t.Fatalf("marshalling the spec as the webhook does: %v", err)
	}
	_, errs := rulefmt.Parse(content, false, model.LegacyValidation, parser.NewParser(parser.Options{}), slog.New(slog.DiscardHandler))
	return errs
}

// ruleOptionCases are the PrometheusRules the tests render: the workbook
// rules, the SLOs at both ends of spinops_monitor's range (0.5 and 0.99999:
// budgets 0.5 and 1e-05, a number PromQL must read in exponent form) and
// between, and odd windows (1500ms, 14d).
func ruleOptionCases() []PrometheusRuleOptions {
	return []PrometheusRuleOptions{
		{Name: "workbook", Labels: map[string]string{"release": "kube-prometheus-stack"}},
		{Name: "slo-50", SLO: 0.5},
		{Name: "slo-99-5", SLO: 0.995},
		{Name: "slo-99-95", SLO: 0.9995},
		{Name: "slo-99-99", SLO: 0.9999},
		{Name: "slo-99-999", SLO: 0.99999},
		{Name: "odd-windows", SLO: 0.999, Rules: []Rule{
			{Name: "fast", Severity: SeverityPage, BurnRate: 36, Long: 90 * time.Minute, Short: 1500 * time.Millisecond},
			{Name: "slow burn, 2 weeks", Severity: SeverityTicket, BurnRate: 0.5, Long: 14 * 24 * time.Hour, Short: 90 * time.Second},
		}},
	}
}

// TestPrometheusRule_prometheusParser hands what RenderPrometheusRule
// renders to Prometheus's rule parser as prometheus-operator's webhook does,
// for ruleOptionCases; then shows that the same check refuses what a
// rendering bug would make.
func TestPrometheusRule_prometheusParser(t *testing.T) {
	for _, o := range ruleOptionCases() {
		t.Run(o.Name, func(t *testing.T) {
			o.Namespace = "monitoring"
			u, err := RenderPrometheusRule(o)
			if err != nil {
				t.Fatal(err)
			}
			if errs := admissionCheck(t, u); len(errs) > 0 {
				t.Fatalf("Prometheus's rule parser refuses the rendered rules: %v", errs)
			}
			// Every expr is an expression the engine can evaluate (a vector,
			// not a string or a scalar): a recording rule's result is stored
			// as series, an alert fires per element.
			p := parser.NewParser(parser.Options{})
			for _, g := range u.Object["spec"].(map[string]any)["groups"].([]any) {
				for _, r := range g.(map[string]any)["rules"].([]any) {
					expr := r.(map[string]any)["expr"].(string)
					e, err := p.ParseExpr(expr)
					if err != nil {
						t.Fatalf("%s: %v", expr, err)
					}
					if e.Type() != parser.ValueTypeVector {
						t.Errorf("%s is a %s, want a vector", expr, e.Type())
					}
				}
			}
		})
	}

	t.Run("refuses", func(t *testing.T) {
		rule := func(u *unstructured.Unstructured, group, i int) map[string]any {
			groups := u.Object["spec"].(map[string]any)["groups"].([]any)
			return groups[group].(map[string]any)["rules"].([]any)[i].(map[string]any)
		}
		broken := []struct {
			name   string
			break_ func(u *unstructured.Unstructured)
			want   string
		}{
			{"unbalanced parenthesis", func(u *unstructured.Unstructured) {
				r := rule(u, 0, 0)
				r["expr"] = strings.TrimSuffix(r["expr"].(string), ")")
			}, "could not parse expression"},
			{"a range that is not a duration", func(u *unstructured.Unstructured) {
				r := rule(u, 0, 0)
				r["expr"] = strings.Replace(r["expr"].(string), "[5m]", "[5 minutes]", 1)
			}, "could not parse expression"},
			{"a Go-quoted label value PromQL cannot read", func(u *unstructured.Unstructured) {
				r := rule(u, 1, 0)
				r["expr"] = strings.Replace(r["expr"].(string), `"production"`, `"prod\x"`, 1)
			}, "could not parse expression"},
			{"an unclosed template in an annotation", func(u *unstructured.Unstructured) {
				rule(u, 1, 0)["annotations"].(map[string]any)["summary"] = "zone {{ $labels.zone "
			}, "summary"},
			{"a label name Prometheus refuses", func(u *unstructured.Unstructured) {
				rule(u, 1, 0)["labels"].(map[string]any)["burn-rate"] = "1h"
			}, "invalid label name"},
			{"a recording rule with an annotation", func(u *unstructured.Unstructured) {
				rule(u, 0, 0)["annotations"] = map[string]any{"summary": "x"}
			}, "invalid field 'annotations' in recording rule"},
			{"a recording rule name with braces", func(u *unstructured.Unstructured) {
				rule(u, 0, 0)["record"] = `spinops:ratio{window="5m"}`
			}, "invalid recording rule name"},
			{"a field Prometheus does not know", func(u *unstructured.Unstructured) {
				rule(u, 1, 0)["severity"] = "page"
			}, "field severity not found"},
		}
		for _, tc := range broken {
			t.Run(tc.name, func(t *testing.T) {
				u, err := RenderPrometheusRule(PrometheusRuleOptions{Name: "broken", Namespace: "monitoring"})
				if err != nil {
					t.Fatal(err)
				}
				tc.break_(u)
				errs := admissionCheck(t, u)
				var msgs []string
				for _, err := range errs {
					msgs = append(msgs, err.Error())
				}
				if !strings.Contains(strings.Join(msgs, "\n"), tc.want) {
					t.Fatalf("errors = %q, want one containing %q", msgs, tc.want)
				}
			})
		}
	})
}
