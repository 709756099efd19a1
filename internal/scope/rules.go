package scope

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Rules are what an account reaches: the registration's namespaces,
// omit_namespaces, kinds, omit_kinds, only_namespaced_resources and
// permissions (the agent config's namespaces, omitNamespaces, kinds,
// omitKinds, onlyNamespacedResources and permissions).
type Rules struct {
	Namespaces, OmitNamespaces []string
	Kinds, OmitKinds           []string
	OnlyNamespacedResources    bool
	// Read and Write are Spinnaker (Fiat) roles. Without Write roles the
	// account is read-only: the bridge and the agent refuse writes and the
	// installed agent gets no write verbs.
	Read, Write []string
}

// Kind is one API resource as discovery describes it.
type Kind struct {
	Group, Version, Resource, Kind string
	Namespaced                     bool
}

// GroupResource is "deployments.apps" ("secrets" for the core group).
func (k Kind) GroupResource() string {
	return schema.GroupResource{Group: k.Group, Resource: k.Resource}.String()
}

// defaultOmitted are not watched unless named in kinds: they churn and
// Spinnaker does not cache them. They stay reachable through the endpoint
// (forwarded) when the account's kinds allow them.
var defaultOmitted = map[string]bool{"events": true, "events.events.k8s.io": true, "leases.coordination.k8s.io": true}

// Validate reports settings that contradict each other, named as in
// Terraform and the bridge's registrations (omit_kinds, omit_namespaces).
func (r Rules) Validate() error { return r.ValidateNamed(SnakeCaseKeys) }

// Keys names the settings in the messages of ValidateNamed.
type Keys struct{ Kinds, OmitKinds, Namespaces, OmitNamespaces string }

var (
	// SnakeCaseKeys are Terraform's and the bridge's names.
	SnakeCaseKeys = Keys{"kinds", "omit_kinds", "namespaces", "omit_namespaces"}
	// ArmoryKeys are the agent config file's (Armory's) names.
	ArmoryKeys = Keys{"kinds", "omitKinds", "namespaces", "omitNamespaces"}
)

// ValidateNamed is Validate with the messages naming the settings as the
// user wrote them.
func (r Rules) ValidateNamed(k Keys) error {
	var errs []error
	if len(r.Kinds) > 0 && len(r.OmitKinds) > 0 {
		errs = append(errs, fmt.Errorf("%s and %s are exclusive: set one of them", k.Kinds, k.OmitKinds))
	}
	if len(r.Namespaces) > 0 && len(r.OmitNamespaces) > 0 {
		errs = append(errs, fmt.Errorf("%s and %s are exclusive: set one of them", k.Namespaces, k.OmitNamespaces))
	}
	return errors.Join(errs...)
}

// Writable reports whether the account may be written (create, update,
// patch, delete): it has Write roles.
func (r Rules) Writable() bool { return len(r.Write) > 0 }

// AllowsKind applies kinds / omit_kinds / only_namespaced_resources to a
// kind: whether requests for it may reach the cluster.
func (r Rules) AllowsKind(k Kind) bool {
	if r.OnlyNamespacedResources && !k.Namespaced {
		return false
	}
	if len(r.Kinds) > 0 {
		return MatchKind(r.Kinds, k)
	}
	return !MatchKind(r.OmitKinds, k)
}

// Watches reports whether the account watches (caches) a kind: AllowsKind,
// and the churning kinds (events, leases) only when kinds names them.
func (r Rules) Watches(k Kind) bool {
	if !r.AllowsKind(k) {
		return false
	}
	return len(r.Kinds) > 0 || !defaultOmitted[k.GroupResource()]
}

// AllowsNamespace applies namespaces / omit_namespaces ("" is cluster
// scope, always allowed here: Check decides about cluster-wide requests).
func (r Rules) AllowsNamespace(ns string) bool {
	if ns == "" {
		return true
	}
	if len(r.Namespaces) > 0 {
		return slices.Contains(r.Namespaces, ns)
	}
	return !slices.Contains(r.OmitNamespaces, ns)
}

// restrictsNamespaces reports whether some namespaces are out of reach.
func (r Rules) restrictsNamespaces() bool {
	return len(r.Namespaces) > 0 || len(r.OmitNamespaces) > 0
}

// MatchKind matches names such as "Deployment", "deployments",
// "deployments.apps" or "Deployment.apps" (case-insensitive) against a
// kind. When the kind's Kind is not known (a request names only the
// resource), a name is also matched by the resource discovery would give
// it (meta.UnsafeGuessKindToResource: "NetworkPolicy" → networkpolicies).
func MatchKind(names []string, k Kind) bool {
	for _, n := range names {
		name, group, hasGroup := strings.Cut(n, ".")
		if hasGroup && !strings.EqualFold(group, k.Group) {
			continue
		}
		if name == "" {
			continue
		}
		if strings.EqualFold(name, k.Resource) || k.Kind != "" && strings.EqualFold(name, k.Kind) {
			return true
		}
		if k.Kind == "" {
			plural, _ := meta.UnsafeGuessKindToResource(schema.GroupVersionKind{Kind: name})
			if strings.EqualFold(plural.Resource, k.Resource) {
				return true
			}
		}
	}
	return false
}

// Catalog finds a kind by group and resource (the kinds an account's agent
// discovered).
type Catalog map[schema.GroupResource]Kind

// NewCatalog indexes kinds.
func NewCatalog(kinds []Kind) Catalog {
	c := make(Catalog, len(kinds))
	for _, k := range kinds {
		c[schema.GroupResource{Group: k.Group, Resource: k.Resource}] = k
	}
	return c
}

// lookup returns the kind, or what the request alone says about it.
func (c Catalog) lookup(group, resource string) (Kind, bool) {
	if k, ok := c[schema.GroupResource{Group: group, Resource: resource}]; ok {
		return k, true
	}
	if group == "" && resource == "namespaces" {
		return Kind{Version: "v1", Resource: "namespaces", Kind: "Namespace"}, true
	}
	return Kind{Group: group, Resource: resource}, false
}

// Denied is a request outside an account's rules.
type Denied struct{ Reason string }

func (d *Denied) Error() string { return d.Reason }

func denied(format string, args ...any) error { return &Denied{Reason: fmt.Sprintf(format, args...)} }
