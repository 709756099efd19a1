package spinnaker

import (
	"reflect"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

const (
	deckTG = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/spin-deck/0123456789abcdef"
	gateTG = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/spin-gate/1123456789abcdef"
	x509TG = "arn:aws-us-gov:elasticloadbalancing:us-gov-west-1:123456789012:targetgroup/spin-gate-x509/2123456789abcdef"
)

func awsTargetGroupsZone() *Zone {
	return &Zone{Name: "green", Namespace: "spinnaker-green", Tier: TierProduction,
		Expose: &Expose{Type: ExposeAWSTargetGroups, DeckHost: "spinnaker.example.com", GateHost: "api.spinnaker.example.com",
			TargetGroups: &TargetGroups{Deck: deckTG, Gate: gateTG, GateX509: x509TG}},
		Profiles: map[string]string{"gate": "default:\n  apiPort: 8085\n"},
	}
}

// TestRender_awsTargetGroups: with expose type aws-target-groups the
// SpinnakerService asks the operator for no load balancer (no spec.expose:
// Halyard's ClusterIP Services stay), Deck's and Gate's base URLs are the
// https URLs behind the load balancers, and one TargetGroupBinding per
// target group names the Service and Service port the AWS Load Balancer
// Controller resolves (pkg/k8s/service_utils.go, LookupServicePort: a
// port the Service lacks is an error): spin-deck 9000, spin-gate 8084,
// and Gate's x509 API port through the zone's own Service, since
// Halyard's spin-gate has one port.
func TestRender_awsTargetGroups(t *testing.T) {
	r, err := Render(testInstallation(), awsTargetGroupsZone(), testCredentials)
	if err != nil {
		t.Fatal(err)
	}
	spec := r.Service.Object["spec"].(map[string]any)
	if _, ok := spec["expose"]; ok {
		t.Errorf("spec.expose rendered for aws-target-groups: %v", spec["expose"])
	}
	for path, want := range map[string]string{"uiSecurity": "https://spinnaker.example.com", "apiSecurity": "https://api.spinnaker.example.com"} {
		got, _, _ := unstructured.NestedString(spec, "spinnakerConfig", "config", "security", path, "overrideBaseUrl")
		if got != want {
			t.Errorf("security.%s.overrideBaseUrl = %q, want %q", path, got, want)
		}
	}
	if r.Ingress != nil {
		t.Error("an Ingress rendered for aws-target-groups")
	}
	type binding struct {
		arn, service string
		port         int64
	}
	got := map[string]binding{}
	for _, b := range r.TargetGroupBindings {
		if b.GetAPIVersion() != "elbv2.k8s.aws/v1beta1" || b.GetKind() != "TargetGroupBinding" || b.GetNamespace() != "spinnaker-green" {
			t.Errorf("binding %s: %s %s in %s", b.GetName(), b.GetAPIVersion(), b.GetKind(), b.GetNamespace())
		}
		if b.GetLabels()[LabelZone] != "green" || b.GetLabels()[LabelManagedBy] != managedBy {
			t.Errorf("binding %s labels %v", b.GetName(), b.GetLabels())
		}
		tt, _, _ := unstructured.NestedString(b.Object, "spec", "targetType")
		if tt != "ip" {
			t.Errorf("binding %s targetType %q, want ip (modules/aws/edge's target groups take pod IPs)", b.GetName(), tt)
		}
		arn, _, _ := unstructured.NestedString(b.Object, "spec", "targetGroupARN")
		svc, _, _ := unstructured.NestedString(b.Object, "spec", "serviceRef", "name")
		port, _, _ := unstructured.NestedInt64(b.Object, "spec", "serviceRef", "port")
		got[b.GetName()] = binding{arn, svc, port}
	}
	want := map[string]binding{
		"green-deck":      {deckTG, "spin-deck", 9000},
		"green-gate":      {gateTG, "spin-gate", 8084},
		"green-gate-x509": {x509TG, "green-gate-x509", 8085},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("bindings %v, want %v", got, want)
	}
	x := r.X509Service
	if x == nil {
		t.Fatal("no x509 Service")
	}
	sel, _, _ := unstructured.NestedStringMap(x.Object, "spec", "selector")
	// Halyard's spin-gate selector (the operator's testdata service.yml),
	// which the operator's own spin-gate-x509 copies.
	if !reflect.DeepEqual(sel, map[string]string{"app": "spin", "cluster": "spin-gate"}) {
		t.Errorf("x509 Service selector %v, want Halyard's spin-gate selector", sel)
	}
	ports, _, _ := unstructured.NestedSlice(x.Object, "spec", "ports")
	if len(ports) != 1 {
		t.Fatalf("x509 Service ports %v", ports)
	}
	p := ports[0].(map[string]any)
	if p["port"] != int64(8085) || p["targetPort"] != int64(8085) || p["name"] != GateX509Port {
		t.Errorf("x509 Service port %v, want 8085 → 8085 named %s", p, GateX509Port)
	}

	// Only what is asked for; the API port as one dotted key too.
	z := awsTargetGroupsZone()
	z.Expose.TargetGroups = &TargetGroups{Gate: gateTG}
	if r, err = Render(testInstallation(), z, nil); err != nil || len(r.TargetGroupBindings) != 1 || r.X509Service != nil {
		t.Errorf("gate only: %v, %v", r, err)
	}
	z = awsTargetGroupsZone()
	z.Profiles = map[string]string{"gate": "default.apiPort: 9443\n"}
	if r, err = Render(testInstallation(), z, nil); err != nil || r.X509Service == nil {
		t.Fatalf("dotted default.apiPort: %v", err)
	}
	if ports, _, _ := unstructured.NestedSlice(r.X509Service.Object, "spec", "ports"); ports[0].(map[string]any)["port"] != int64(9443) {
		t.Errorf("dotted default.apiPort: ports %v", ports)
	}
}

// TestRender_awsTargetGroupsRefusals: what cannot work is refused with
// what to do.
func TestRender_awsTargetGroupsRefusals(t *testing.T) {
	for name, c := range map[string]struct {
		edit func(z *Zone)
		want string
	}{
		"x509 without Gate's API port": {func(z *Zone) { z.Profiles = nil }, "set default.apiPort in the gate profile"},
		"an API port that is not one":  {func(z *Zone) { z.Profiles = map[string]string{"gate": "default:\n  apiPort: 70000\n"} }, "default.apiPort 70000 is not a port"},
		"no target groups":             {func(z *Zone) { z.Expose.TargetGroups = nil }, "needs target_groups"},
		"empty target groups":          {func(z *Zone) { z.Expose.TargetGroups = &TargetGroups{} }, "needs target_groups"},
		"a load balancer's ARN": {func(z *Zone) {
			z.Expose.TargetGroups.Deck = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/spin/0123456789abcdef"
		}, "target_groups.deck"},
		"an ARN with a newline":             {func(z *Zone) { z.Expose.TargetGroups.Gate = gateTG + "\nx" }, "target_groups.gate"},
		"a TLS Secret":                      {func(z *Zone) { z.Expose.TLSSecret = "tls" }, "remove tls_secret"},
		"source ranges":                     {func(z *Zone) { z.Expose.SourceRanges = []string{"10.0.0.0/8"} }, "remove tls_secret, annotations and source_ranges"},
		"target groups of a service expose": {func(z *Zone) { z.Expose.Type = ExposeService }, "with type \"service\" the Spinnaker Operator makes the load balancer"},
		"target groups of an ingress":       {func(z *Zone) { z.Expose.Type = ExposeIngress }, "ingress controller makes the load balancer"},
		"an unknown type":                   {func(z *Zone) { z.Expose.Type = "nlb" }, `"aws-target-groups"`},
	} {
		z := awsTargetGroupsZone()
		c.edit(z)
		_, err := Render(testInstallation(), z, nil)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error with %q", name, err, c.want)
		}
	}
}
