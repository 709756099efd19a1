package scope

import (
	"errors"
	"net/http"
	"strings"
	"testing"
)

var (
	deployments = Kind{Group: "apps", Version: "v1", Resource: "deployments", Kind: "Deployment", Namespaced: true}
	configmaps  = Kind{Version: "v1", Resource: "configmaps", Kind: "ConfigMap", Namespaced: true}
	nodes       = Kind{Version: "v1", Resource: "nodes", Kind: "Node"}
	events      = Kind{Version: "v1", Resource: "events", Kind: "Event", Namespaced: true}
	leases      = Kind{Group: "coordination.k8s.io", Version: "v1", Resource: "leases", Kind: "Lease", Namespaced: true}
)

func TestMatchKind(t *testing.T) {
	for _, n := range []string{"Deployment", "deployments", "deployments.apps", "Deployment.apps", "DEPLOYMENT"} {
		if !MatchKind([]string{n}, deployments) {
			t.Errorf("%q does not match deployments.apps", n)
		}
	}
	if MatchKind([]string{"deployments.extensions"}, deployments) || MatchKind([]string{"Pod"}, deployments) || MatchKind([]string{"."}, deployments) {
		t.Error("matched the wrong kind")
	}
	// A request names only the resource: the Kind name is matched by the
	// resource discovery would give it.
	if !MatchKind([]string{"NetworkPolicy.networking.k8s.io"}, Kind{Group: "networking.k8s.io", Resource: "networkpolicies"}) {
		t.Error("NetworkPolicy does not match networkpolicies")
	}
	if !MatchKind([]string{"configmaps."}, configmaps) {
		t.Error(`"configmaps." (core group spelled out) does not match`)
	}
}

// The churning kinds are not watched unless named, but reachable: the one
// rule the agent, the bridge and attach used to disagree on.
func TestWatchesAndAllowsChurningKinds(t *testing.T) {
	all := Rules{}
	for _, k := range []Kind{events, leases, {Group: "events.k8s.io", Resource: "events", Kind: "Event", Namespaced: true}} {
		if all.Watches(k) || !all.AllowsKind(k) {
			t.Errorf("%s: watched %v allowed %v; want not watched, allowed", k.GroupResource(), all.Watches(k), all.AllowsKind(k))
		}
	}
	named := Rules{Kinds: []string{"Event"}}
	if !named.Watches(events) {
		t.Error("events named in kinds are not watched")
	}
	omit := Rules{OmitKinds: []string{"ConfigMap"}}
	if omit.Watches(configmaps) || omit.AllowsKind(configmaps) || !omit.Watches(deployments) {
		t.Error("omit_kinds not applied")
	}
	only := Rules{OnlyNamespacedResources: true}
	if only.AllowsKind(nodes) || !only.AllowsKind(configmaps) {
		t.Error("only_namespaced_resources not applied")
	}
}

func TestRulesValidate(t *testing.T) {
	if err := (Rules{Kinds: []string{"a"}, OmitKinds: []string{"b"}, Namespaces: []string{"x"}, OmitNamespaces: []string{"y"}}).Validate(); err == nil ||
		!strings.Contains(err.Error(), "kinds and omit_kinds") || !strings.Contains(err.Error(), "namespaces and omit_namespaces") {
		t.Fatalf("Validate: %v", err)
	}
	if err := (Rules{Kinds: []string{"a"}, Namespaces: []string{"x"}}).Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestParseRequest(t *testing.T) {
	for _, c := range []struct {
		method, path, query string
		want                Request
	}{
		{"GET", "/api/v1/namespaces/a/secrets", "", Request{Verb: "list", IsResource: true, Version: "v1", Resource: "secrets", Namespace: "a"}},
		{"GET", "/api/v1/namespaces/a/secrets", "watch=1", Request{Verb: "watch", IsResource: true, Version: "v1", Resource: "secrets", Namespace: "a"}},
		{"GET", "/api/v1/namespaces/a/secrets", "watch=yes", Request{Verb: "watch", IsResource: true, Version: "v1", Resource: "secrets", Namespace: "a"}},
		{"GET", "/api/v1/namespaces/a/secrets", "watch=", Request{Verb: "watch", IsResource: true, Version: "v1", Resource: "secrets", Namespace: "a"}},
		{"GET", "/api/v1/namespaces/a/secrets", "watch=FALSE", Request{Verb: "list", IsResource: true, Version: "v1", Resource: "secrets", Namespace: "a"}},
		{"GET", "/api/v1/namespaces/a/secrets", "fieldSelector=metadata.name%3Ddb", Request{Verb: "list", IsResource: true, Version: "v1", Resource: "secrets", Namespace: "a", Name: "db"}},
		{"GET", "/api/v1/watch/namespaces/a/secrets", "", Request{Verb: "watch", PathVerb: true, IsResource: true, Version: "v1", Resource: "secrets", Namespace: "a"}},
		{"GET", "/api/v1/watch/secrets", "", Request{Verb: "watch", PathVerb: true, IsResource: true, Version: "v1", Resource: "secrets"}},
		{"GET", "/api/v1/namespaces/secrets", "", Request{Verb: "get", IsResource: true, Version: "v1", Resource: "namespaces", Namespace: "secrets", Name: "secrets"}},
		{"PUT", "/api/v1/namespaces/x/finalize", "", Request{Verb: "update", IsResource: true, Version: "v1", Resource: "namespaces", Namespace: "x", Name: "x", Subresource: "finalize"}},
		{"GET", "/api/v1/namespaces/x/pods/p/log", "follow=true", Request{Verb: "get", IsResource: true, Version: "v1", Resource: "pods", Namespace: "x", Name: "p", Subresource: "log"}},
		{"DELETE", "/apis/apps/v1/namespaces/x/deployments", "", Request{Verb: "deletecollection", IsResource: true, Group: "apps", Version: "v1", Resource: "deployments", Namespace: "x"}},
		{"POST", "/apis/apps/v1/namespaces/x/deployments", "", Request{Verb: "create", IsResource: true, Group: "apps", Version: "v1", Resource: "deployments", Namespace: "x"}},
		{"GET", "/api/v1/proxy/namespaces/x/services/s/a/b", "", Request{Verb: "proxy", PathVerb: true, IsResource: true, Version: "v1", Resource: "services", Namespace: "x", Name: "s"}},
		{"GET", "/apis/apps/v1", "", Request{Verb: "get"}},
		{"GET", "/api", "", Request{Verb: "get"}},
	} {
		got, _, err := ParseRequest(c.method, c.path, c.query)
		c.want.Path = c.path
		if err != nil || got != c.want {
			t.Errorf("%s %s?%s:\n got %+v %v\nwant %+v", c.method, c.path, c.query, got, err, c.want)
		}
	}
	for _, p := range []string{"", "api/v1/secrets", "/api/v1//secrets", "/api/v1/./secrets", "/api/v1/x/../secrets", "/api/v1/secrets/", "/api/v1/%73ecrets", "/api/v1/se crets"} {
		if _, _, err := ParseRequest("GET", p, ""); err == nil {
			t.Errorf("%q: accepted a path that is not canonical", p)
		}
	}
	if _, _, err := ParseRequest("GET", "/api/v1/secrets", "watch=false;watch=true"); err == nil {
		t.Error("accepted a query that does not parse")
	}
}

func TestCheck(t *testing.T) {
	kinds := NewCatalog([]Kind{deployments, configmaps, nodes})
	ro := Rules{Namespaces: []string{"apps"}, OmitKinds: []string{"Secret"}, Read: []string{"dev"}}
	rw := Rules{OmitNamespaces: []string{"kube-system"}, Write: []string{"ops"}}
	for _, c := range []struct {
		rules               Rules
		method, path, query string
		deny                string // "" = allowed
	}{
		{ro, "GET", "/api", "", ""},
		{ro, "GET", "/apis/apps/v1", "", ""},
		{ro, "GET", "/openapi/v3/apis/apps/v1", "", ""},
		{ro, "GET", "/version", "", ""},
		{ro, "POST", "/api", "", "only discovery"},
		{ro, "GET", "/logs/kube-apiserver.log", "", "not served"},
		{ro, "GET", "/metrics", "", "not served"},
		{ro, "GET", "/apis/apps/v1/namespaces/apps/deployments", "", ""},
		{ro, "GET", "/apis/apps/v1/namespaces/other/deployments", "", `namespace "other" is outside`},
		{ro, "GET", "/api/v1/watch/namespaces/other/configmaps", "", `namespace "other" is outside`},
		{ro, "GET", "/apis/apps/v1/deployments", "", "across all namespaces"},
		{ro, "GET", "/api/v1/events", "", "across all namespaces"},
		{ro, "GET", "/api/v1/nodes", "", ""},
		{ro, "GET", "/api/v1/namespaces/apps/secrets", "", "secrets is outside the account's kinds"},
		{ro, "GET", "/api/v1/watch/namespaces/apps/secrets", "", "secrets is outside the account's kinds"},
		{ro, "PATCH", "/apis/apps/v1/namespaces/apps/deployments/web", "", "read-only"},
		{ro, "DELETE", "/apis/apps/v1/namespaces/apps/deployments", "", "read-only"},
		{ro, "POST", "/apis/apps/v1/namespaces/apps/deployments", "dryRun=All", "read-only"},
		{ro, "GET", "/api/v1/namespaces/apps", "", ""},
		{ro, "GET", "/api/v1/namespaces/kube-system", "", `namespace "kube-system" is outside`},
		{rw, "PATCH", "/apis/apps/v1/namespaces/apps/deployments/web/scale", "", ""},
		{rw, "POST", "/api/v1/namespaces/kube-system/configmaps", "", `namespace "kube-system" is outside`},
		{rw, "GET", "/api/v1/namespaces/apps/pods/p/log", "follow=true", ""},
		{rw, "POST", "/api/v1/namespaces/apps/pods/p/exec", "", "exec subresource"},
		{rw, "GET", "/api/v1/namespaces/apps/services/s/proxy/admin", "", "proxy subresource"},
		{rw, "GET", "/api/v1/proxy/namespaces/apps/services/s", "", "proxy"},
		{rw, "GET", "/api/v1/nodes/n/proxy/configz", "", "proxy subresource"},
		{rw, "POST", "/api/v1/namespaces/apps/serviceaccounts/default/token", "", "tokens are not minted"},
		{rw, "PATCH", "/api/v1/namespaces/apps/pods/p/ephemeralcontainers", "", "ephemeralcontainers subresource"},
		{rw, "PUT", "/api/v1/namespaces/apps/pods/p/ephemeralcontainers", "", "ephemeralcontainers subresource"},
		{rw, "GET", "/api/v1/namespaces/apps/pods/p/ephemeralcontainers", "", "ephemeralcontainers subresource"},
		{rw, "GET", "/api/v1/secrets", "", "across all namespaces"},
		{Rules{Write: []string{"ops"}}, "GET", "/api/v1/secrets", "", ""},
		{Rules{OnlyNamespacedResources: true}, "GET", "/api/v1/nodes", "", "outside the account's kinds"},
		{Rules{Kinds: []string{"Deployment"}}, "GET", "/api/v1/namespaces/x/pods", "", "pods is outside"},
		{Rules{Kinds: []string{"Pod"}}, "GET", "/api/v1/namespaces/x/pods/p/log", "", ""},
		{rw, "OPTIONS", "/api/v1/namespaces/x/pods", "", "not a Kubernetes API method"},
	} {
		req, _, err := ParseRequest(c.method, c.path, c.query)
		if err != nil {
			t.Fatalf("%s %s: %v", c.method, c.path, err)
		}
		err = c.rules.Check(req, kinds)
		var d *Denied
		switch {
		case c.deny == "" && err != nil:
			t.Errorf("%s %s?%s: refused: %v", c.method, c.path, c.query, err)
		case c.deny != "" && (!errors.As(err, &d) || !strings.Contains(err.Error(), c.deny)):
			t.Errorf("%s %s?%s: got %v, want a refusal containing %q", c.method, c.path, c.query, err, c.deny)
		}
	}
}

func TestStreams(t *testing.T) {
	req, q, _ := ParseRequest(http.MethodGet, "/api/v1/namespaces/x/pods/p/log", "follow=1")
	if !req.Streams(q) {
		t.Error("a followed log does not stream")
	}
	req, q, _ = ParseRequest(http.MethodGet, "/api/v1/watch/namespaces/x/secrets", "")
	if !req.Streams(q) {
		t.Error("a legacy watch does not stream")
	}
}
