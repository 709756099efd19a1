package scope

import (
	"net/url"
	"strings"
	"testing"
)

// FuzzEndpointRequest: the bridge endpoint's reading of /accounts/<name>/<path>?<query>
// never panics, and what the rules let through stays inside them: the
// namespace it reaches is the account's, a Secret request is known as one,
// and a read-only account is never written.
func FuzzEndpointRequest(f *testing.F) {
	for _, s := range []struct{ method, path, query string }{
		{"GET", "/accounts/a/api/v1/namespaces/apps/secrets", "fieldSelector=type%3DOpaque"},
		{"GET", "/accounts/a/api/v1/watch/namespaces/apps/secrets", ""},
		{"GET", "/accounts/a/api/v1/namespaces/apps/secrets", "watch=yes&resourceVersion=0"},
		{"GET", "/accounts/a/api/v1/secrets", "continue=abc&limit=1"},
		{"PATCH", "/accounts/a/apis/apps/v1/namespaces/apps/deployments/web/scale", ""},
		{"GET", "/accounts/a/api/v1/namespaces/apps/pods/p/log", "follow=true"},
		{"GET", "/accounts/a/api/v1/namespaces/other%2Fsecrets", ""},
		{"DELETE", "/accounts/a/api/v1/namespaces/apps", ""},
		{"GET", "/accounts/a/api/v1/proxy/namespaces/apps/services/s", ""},
		{"GET", "/accounts/a/openapi/v3/apis/apps/v1", ""},
	} {
		f.Add(s.method, s.path, s.query)
	}
	rules := Rules{Namespaces: []string{"apps"}, Read: []string{"dev"}}
	kinds := NewCatalog([]Kind{
		{Version: "v1", Resource: "secrets", Kind: "Secret", Namespaced: true},
		{Version: "v1", Resource: "nodes", Kind: "Node"},
		{Group: "apps", Version: "v1", Resource: "deployments", Kind: "Deployment", Namespaced: true},
	})
	f.Fuzz(func(t *testing.T, method, rawPath, rawQuery string) {
		u, err := url.Parse("https://bridge" + rawPath)
		if err != nil || !strings.HasPrefix(u.Path, "/accounts/") {
			return
		}
		name, apiPath, perr := SplitAccountPath(u)
		if strings.Contains(name, "/") || !strings.HasPrefix(apiPath, "/") {
			t.Fatalf("split %q into %q and %q", u.Path, name, apiPath)
		}
		req, q, err := ParseRequest(method, apiPath, rawQuery)
		if err != nil || perr != nil {
			return
		}
		again, _, _ := ParseRequest(method, apiPath, rawQuery)
		if again != req {
			t.Fatalf("parsing is not deterministic: %+v vs %+v", req, again)
		}
		if strings.Contains(req.Path, "//") || strings.Contains(req.Path, "/../") || strings.HasSuffix(req.Path, "/..") {
			t.Fatalf("accepted a path that is not canonical: %q", req.Path)
		}
		_ = req.Streams(q)
		if err := rules.Check(req, kinds); err != nil {
			return
		}
		// Allowed: it reads (the account is read-only) ...
		if req.Writes() {
			t.Fatalf("a write on a read-only account passed: %s %s", method, apiPath)
		}
		if !req.IsResource {
			if req.Verb != "get" && req.Verb != "head" {
				t.Fatalf("a non-resource %s passed: %s", method, apiPath)
			}
			return
		}
		// ... in the account's namespace, or a kind known to be cluster-scoped.
		clusterScoped := req.Namespace == "" && req.Group == "" && (req.Resource == "nodes" || req.Resource == "namespaces")
		if req.Namespace != "apps" && !clusterScoped {
			t.Fatalf("%s %s?%s reached namespace %q (resource %q)", method, apiPath, rawQuery, req.Namespace, req.Resource)
		}
		// A path that addresses core Secrets is known as one.
		segs := strings.Split(strings.Trim(req.Path, "/"), "/")
		if segs[0] == "api" && req.Resource == "secrets" != req.IsSecret() {
			t.Fatalf("IsSecret wrong for %s", req.Path)
		}
		if req.Verb == "proxy" || req.Subresource == "exec" || req.Subresource == "proxy" || req.Subresource == "attach" || req.Subresource == "portforward" {
			t.Fatalf("%s passed", req.Path)
		}
	})
}
