package spinnaker

import (
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// TestURLsOf: the zone's URLs are the base URLs rendered from the expose
// hosts, else for expose type service the operator's status URLs, which
// only its expose transformer writes (and keeps when expose goes): a
// stale one is not reported for another type or none.
func TestURLsOf(t *testing.T) {
	obj := func(expose map[string]any, security map[string]any, status map[string]any) *unstructured.Unstructured {
		spec := map[string]any{"spinnakerConfig": map[string]any{"config": map[string]any{"version": "1.35.3"}}}
		if security != nil {
			spec["spinnakerConfig"].(map[string]any)["config"].(map[string]any)["security"] = security
		}
		if expose != nil {
			spec["expose"] = expose
		}
		return &unstructured.Unstructured{Object: map[string]any{"spec": spec, "status": status}}
	}
	service := map[string]any{"type": "service", "service": map[string]any{"type": "LoadBalancer"}}
	hosts := map[string]any{"uiSecurity": map[string]any{"overrideBaseUrl": "https://deck.example"},
		"apiSecurity": map[string]any{"overrideBaseUrl": "https://gate.example"}}
	reported := map[string]any{"uiUrl": "http://deck-lb.example", "apiUrl": "http://gate-lb.example:8084"}
	for name, tc := range map[string]struct {
		obj        *unstructured.Unstructured
		deck, gate string
	}{
		"hosts, type service":               {obj(service, hosts, reported), "https://deck.example", "https://gate.example"},
		"hosts, no spec.expose (ingress)":   {obj(nil, hosts, nil), "https://deck.example", "https://gate.example"},
		"no hosts, type service":            {obj(service, nil, reported), "http://deck-lb.example", "http://gate-lb.example:8084"},
		"no hosts, type service, no LB yet": {obj(service, nil, map[string]any{"uiUrl": "", "apiUrl": ""}), "", ""},
		"expose removed, stale status":      {obj(nil, nil, reported), "", ""},
		"another operator expose type":      {obj(map[string]any{"type": "ingress"}, nil, reported), "", ""},
	} {
		if deck, gate := URLsOf(tc.obj); deck != tc.deck || gate != tc.gate {
			t.Errorf("%s: URLs %q, %q; want %q, %q", name, deck, gate, tc.deck, tc.gate)
		}
	}
}

// TestHalyardServiceType: without expose a Service's type is the
// service's own service-settings kubernetes.serviceType, else the global
// "spinnaker" settings' for every service but Deck (the operator merges
// those under the others), else ClusterIP.
func TestHalyardServiceType(t *testing.T) {
	obj := func(settings map[string]any) *unstructured.Unstructured {
		return &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{"spinnakerConfig": map[string]any{"service-settings": settings}}}}
	}
	typ := func(v string) map[string]any { return map[string]any{"kubernetes": map[string]any{"serviceType": v}} }
	for name, tc := range map[string]struct {
		settings   map[string]any
		deck, gate string
	}{
		"none":            {nil, "ClusterIP", "ClusterIP"},
		"global":          {map[string]any{"spinnaker": typ("NodePort")}, "ClusterIP", "NodePort"},
		"own over global": {map[string]any{"spinnaker": typ("NodePort"), "gate": typ("LoadBalancer"), "deck": typ("NodePort")}, "NodePort", "LoadBalancer"},
	} {
		if deck, gate := halyardServiceType(obj(tc.settings), "deck"), halyardServiceType(obj(tc.settings), "gate"); deck != tc.deck || gate != tc.gate {
			t.Errorf("%s: deck %s, gate %s; want %s, %s", name, deck, gate, tc.deck, tc.gate)
		}
	}
}
