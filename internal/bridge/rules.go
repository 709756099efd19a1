package bridge

import (
	bridgev1 "github.com/spinops/terraform-provider-spinops/proto/spinops/bridge/v1"

	"github.com/spinops/terraform-provider-spinops/internal/scope"
)

// rulesOf is a registration's rules (internal/scope holds them for the
// agent, the bridge and attach).
func rulesOf(spec *bridgev1.AccountSpec) scope.Rules {
	return scope.Rules{
		Namespaces: spec.GetNamespaces(), OmitNamespaces: spec.GetOmitNamespaces(),
		Kinds: spec.GetKinds(), OmitKinds: spec.GetOmitKinds(),
		OnlyNamespacedResources: spec.GetOnlyNamespacedResources(),
		Read:                    spec.GetPermissions().GetRead(), Write: spec.GetPermissions().GetWrite(),
	}
}

// scopeKind is a kind of an agent's hello as the rules see it.
func scopeKind(k *bridgev1.Kind) scope.Kind {
	return scope.Kind{Group: k.GetGroup(), Version: k.GetVersion(), Resource: k.GetResource(), Kind: k.GetKind(), Namespaced: k.GetNamespaced()}
}

// catalogOf indexes the kinds an agent discovered.
func catalogOf(kinds []*bridgev1.Kind) scope.Catalog {
	out := make([]scope.Kind, 0, len(kinds))
	for _, k := range kinds {
		out = append(out, scopeKind(k))
	}
	return scope.NewCatalog(out)
}

// kindAllowed reports whether the bridge caches a kind an agent offers: the
// registration watches it (kinds / omit_kinds / only_namespaced_resources,
// and the churning kinds only when named).
func kindAllowed(spec *bridgev1.AccountSpec, k *bridgev1.Kind) bool {
	return rulesOf(spec).Watches(scopeKind(k))
}

// namespaceAllowed applies the registration's namespaces / omit_namespaces
// to a cached object.
func namespaceAllowed(spec *bridgev1.AccountSpec, ns string) bool {
	return rulesOf(spec).AllowsNamespace(ns)
}
