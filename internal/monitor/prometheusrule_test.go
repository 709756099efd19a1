package monitor

import (
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"
)

// No PrometheusRule CRD is in shared/reference, so the object is checked
// field by field against prometheus-operator's documented shape
// (spec.groups[].name, .rules[].record|alert, expr, labels, annotations).
func TestRenderPrometheusRule(t *testing.T) {
	u, err := RenderPrometheusRule(PrometheusRuleOptions{Name: "spinops-monitor", Namespace: "monitoring", Labels: map[string]string{"release": "kps"}})
	if err != nil {
		t.Fatal(err)
	}
	if u.GetAPIVersion() != "monitoring.coreos.com/v1" || u.GetKind() != "PrometheusRule" || u.GetLabels()["release"] != "kps" {
		t.Fatalf("object: %v", u.Object)
	}
	b, err := yaml.Marshal(u.Object)
	if err != nil {
		t.Fatal(err)
	}
	var back struct {
		APIVersion string
		Kind       string
		Metadata   map[string]any
		Spec       struct {
			Groups []struct {
				Name  string
				Rules []struct {
					Record, Alert, Expr string
					For                 string
					Labels              map[string]string
					Annotations         map[string]string
				}
			}
		}
	}
	if err := yaml.UnmarshalStrict(b, &back); err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	if len(back.Spec.Groups) != 2 {
		t.Fatalf("groups: %s", b)
	}
	records := map[string]string{}
	for _, r := range back.Spec.Groups[0].Rules {
		records[r.Record] = r.Expr
	}
	// One recording rule per distinct window: 5m 30m 1h 6h 3d.
	for _, w := range []string{"5m", "30m", "1h", "6h", "3d"} {
		e, ok := records["spinops:check_round_error_ratio:rate"+w]
		if !ok || !strings.Contains(e, `rate(spinops_check_rounds_total{outcome="bad"}[`+w+`])`) {
			t.Errorf("record for %s: %q", w, e)
		}
	}
	if len(records) != 5 {
		t.Errorf("%d recording rules", len(records))
	}
	alerts := back.Spec.Groups[1].Rules
	if len(alerts) != 6 {
		t.Fatalf("%d alerts, want 3 rules × 2 tiers", len(alerts))
	}
	want := map[string]string{ // rule/tier → severity
		"burn-rate-1h/production": "page", "burn-rate-6h/production": "page", "burn-rate-3d/production": "ticket",
		"burn-rate-1h/sandbox": "ticket", "burn-rate-6h/sandbox": "ticket", "burn-rate-3d/sandbox": "ticket",
	}
	for _, a := range alerts {
		tier := "production"
		if strings.Contains(a.Expr, `tier="sandbox"`) {
			tier = "sandbox"
		}
		key := a.Labels["rule"] + "/" + tier
		if a.Labels["severity"] != want[key] || a.For != "" || a.Annotations["summary"] == "" {
			t.Errorf("%s: %+v", key, a)
		}
		delete(want, key)
	}
	if len(want) != 0 {
		t.Errorf("missing alerts %v", want)
	}
	fast := alerts[0].Expr
	if wantExpr := `spinops:check_round_error_ratio:rate1h{tier="production"} > (14.4 * 0.001) and spinops:check_round_error_ratio:rate5m{tier="production"} > (14.4 * 0.001)`; fast != wantExpr {
		t.Errorf("fast burn expr\n got  %s\n want %s", fast, wantExpr)
	}
	if _, err := RenderPrometheusRule(PrometheusRuleOptions{Name: "x", Namespace: "y", SLO: 99.9}); err == nil {
		t.Error("slo 99.9 accepted")
	}
}

func TestPromDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{time.Hour: "1h", 5 * time.Minute: "5m", 72 * time.Hour: "3d", 90 * time.Second: "90s", 36 * time.Hour: "36h", 1500 * time.Millisecond: "1500ms"} {
		if got := PromDuration(d); got != want {
			t.Errorf("%s: %s, want %s", d, got, want)
		}
	}
	if got := budgetRatio(0.999); got != "0.001" {
		t.Errorf("budget of 99.9%%: %s", got)
	}
	if got := budgetRatio(0.9995); got != "0.0005" {
		t.Errorf("budget of 99.95%%: %s", got)
	}
}
