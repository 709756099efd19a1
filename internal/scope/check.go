package scope

import (
	"strings"
)

// nonResourceReads are the paths outside /api and /apis a caller may read:
// discovery, the version and the OpenAPI documents kubectl needs. Anything
// else (/logs, /metrics, /debug/...) is refused.
func nonResourceRead(p string) bool {
	switch p {
	case "/api", "/apis", "/version", "/openapi/v2", "/openapi/v3", "/healthz", "/livez", "/readyz":
		return true
	}
	if strings.HasPrefix(p, "/openapi/v3/") {
		return true
	}
	// /api/v1, /apis/<group>, /apis/<group>/<version>
	parts := strings.Split(strings.Trim(p, "/"), "/")
	switch {
	case parts[0] == "api" && len(parts) == 2:
		return true
	case parts[0] == "apis" && (len(parts) == 2 || len(parts) == 3):
		return true
	}
	return false
}

// refusedSubresources reach past the API server into the cluster (a shell,
// a port, any HTTP service, a minted token; an ephemeral container, which
// runs in a pod and reads its Secret volumes as exec would): Spinnaker uses
// none of them.
var refusedSubresources = map[string]bool{"exec": true, "attach": true, "portforward": true, "proxy": true, "ephemeralcontainers": true}

// Check decides whether an account may run a request: every forwarded
// request passes it at the bridge and again at the agent. kinds are the
// kinds the account's agent discovered (the bridge knows them from its
// hello); a kind outside them is judged by its resource name alone.
func (r Rules) Check(req Request, kinds Catalog) error {
	if !req.IsResource {
		if req.Verb != "get" && req.Verb != "head" {
			return denied("%s %s: only discovery and the OpenAPI documents may be read outside /api and /apis", strings.ToUpper(req.Verb), req.Path)
		}
		if !nonResourceRead(req.Path) {
			return denied("%s is not served through the bridge (discovery, /version and /openapi are)", req.Path)
		}
		return nil
	}
	if req.Verb == "" {
		return denied("%s is not a Kubernetes API method", req.Path)
	}
	if req.Verb == "proxy" || refusedSubresources[req.Subresource] {
		what := req.Subresource
		if req.Verb == "proxy" {
			what = "proxy"
		}
		return denied("%s: the %s subresource is not served through the bridge", req.Path, what)
	}
	if req.Group == "" && req.Resource == "serviceaccounts" && req.Subresource == "token" {
		return denied("%s: service account tokens are not minted through the bridge", req.Path)
	}
	k, known := kinds.lookup(req.Group, req.Resource)
	if !known && req.Namespace != "" {
		k.Namespaced = true
	}
	if !r.AllowsKind(k) {
		return denied("%s is outside the account's kinds (kinds / omit_kinds%s)", k.GroupResource(), onlyNS(r))
	}
	switch {
	case req.Namespace != "":
		if !r.AllowsNamespace(req.Namespace) {
			return denied("namespace %q is outside the account's namespaces (namespaces / omit_namespaces)", req.Namespace)
		}
	case known && !k.Namespaced:
		// a cluster-scoped kind
	case r.restrictsNamespaces():
		// A namespaced kind across every namespace would reach those the
		// account leaves out; so would a kind whose scope is not known.
		return denied("%s across all namespaces reaches namespaces outside the account's: ask for one namespace", k.GroupResource())
	case r.OnlyNamespacedResources:
		return denied("%s: the account serves only namespaced kinds (only_namespaced_resources), ask for one namespace", k.GroupResource())
	}
	if req.Writes() && !r.Writable() {
		return denied("%s %s: the account is read-only (permissions.write names no role)", req.Verb, k.GroupResource())
	}
	return nil
}

func onlyNS(r Rules) string {
	if r.OnlyNamespacedResources {
		return " / only_namespaced_resources"
	}
	return ""
}
