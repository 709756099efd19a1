package spinnaker

import (
	"fmt"
	"reflect"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Overall statuses the Spinnaker Operator reports in status.status
// (armory/spinnaker-operator pkg/controller/spinnakerservice/status.go).
const (
	StatusOK          = "OK"
	StatusUpdating    = "Updating"
	StatusUnavailable = "Unavailable"
	StatusNA          = "N/A"
	StatusFailure     = "Failure"
)

// Status is a SpinnakerService's status as the operator reports it.
type Status struct {
	Status       string
	ServiceCount int64
	Services     []ServiceStatus
	Version      string
	UIURL        string
	APIURL       string
	// AccountCount is how many SpinnakerAccounts the operator handed to
	// Spinnaker (only with spec.accounts.enabled).
	AccountCount int64
}

// ServiceStatus is one entry of status.services.
type ServiceStatus struct {
	// Name is what the operator reports: the Deployment's name,
	// spin-<service> (status.go, SpinnakerDeploymentStatus.Name =
	// deployment.ObjectMeta.Name).
	Name string
	// Service is Name without the "spin-" prefix, e.g. "clouddriver-ro".
	Service       string
	Image         string
	Replicas      int64
	ReadyReplicas int64
}

// ParseStatus reads obj's status; a missing status reads as N/A.
func ParseStatus(obj *unstructured.Unstructured) Status {
	st := Status{Status: StatusNA}
	m, _, _ := unstructured.NestedMap(obj.Object, "status")
	if m == nil {
		return st
	}
	if s, _ := m["status"].(string); s != "" {
		st.Status = s
	}
	st.ServiceCount = toInt(m["serviceCount"])
	st.Version, _ = m["version"].(string)
	st.UIURL, _ = m["uiUrl"].(string)
	st.APIURL, _ = m["apiUrl"].(string)
	st.AccountCount = toInt(m["accountCount"])
	items, _ := m["services"].([]any)
	for _, it := range items {
		sm, ok := it.(map[string]any)
		if !ok {
			continue
		}
		s := ServiceStatus{Replicas: toInt(sm["replicas"]), ReadyReplicas: toInt(sm["readyReplicas"])}
		s.Name, _ = sm["name"].(string)
		s.Image, _ = sm["image"].(string)
		s.Service = strings.TrimPrefix(s.Name, "spin-")
		st.Services = append(st.Services, s)
	}
	sort.Slice(st.Services, func(i, j int) bool { return st.Services[i].Name < st.Services[j].Name })
	return st
}

func toInt(v any) int64 {
	switch n := v.(type) {
	case int64:
		return n
	case int:
		return int64(n)
	case float64:
		return int64(n)
	}
	return 0
}

// Ready tests one observation of a SpinnakerService against what the zone
// asked for: the operator reports OK for the wanted version and every
// wanted service (by its Deployment's name, spin-<service>) has all its
// wanted replicas ready. progress says what is missing.
//
// Failure is not final: the real operator reports Failure while any pod is
// Pending for a reason other than ContainerCreating (an image still being
// pulled after a back-off, a node not yet scaled up), and OK again once it
// runs. The caller's timeout decides; FailureReasons says why when it
// persists.
func Ready(st Status, version string, want []Service) (done bool, progress string) {
	if st.Version != version {
		return false, fmt.Sprintf("status reports version %q, waiting for %s (status %s)", st.Version, version, st.Status)
	}
	have := map[string]ServiceStatus{}
	for _, s := range st.Services {
		have[s.Name] = s
	}
	var missing []string
	for _, w := range want {
		s, ok := have[w.ObjectName()]
		switch {
		case !ok:
			missing = append(missing, w.ObjectName()+" (not reported)")
		case s.Replicas != w.Replicas:
			missing = append(missing, fmt.Sprintf("%s (%d replicas, want %d)", w.ObjectName(), s.Replicas, w.Replicas))
		case s.ReadyReplicas < w.Replicas:
			missing = append(missing, fmt.Sprintf("%s (%d/%d ready)", w.ObjectName(), s.ReadyReplicas, w.Replicas))
		}
	}
	if len(missing) > 0 {
		return false, fmt.Sprintf("status %s; services not ready: %s", st.Status, strings.Join(missing, ", "))
	}
	if st.Status != StatusOK {
		return false, fmt.Sprintf("status %s", st.Status)
	}
	return true, ""
}

// The real operator deploys when the hash of spec.spinnakerConfig or of
// spec.kustomize differs from the one status.lastDeployed.<key>.hash holds,
// and records the new hash there once it has deployed
// (pkg/deploy/spindeploy/config/detector.go: keys "config" and
// "kustomize", an md5 of the typed field's JSON). Other spec changes
// (expose, accounts) are detected otherwise and leave the hashes alone.
const (
	LastDeployedConfig    = "config"
	LastDeployedKustomize = "kustomize"
)

// LastDeployedHash is status.lastDeployed.<key>.hash of obj ("" when there
// is none).
func LastDeployedHash(obj *unstructured.Unstructured, key string) string {
	if obj == nil {
		return ""
	}
	h, _, _ := unstructured.NestedString(obj.Object, "status", "lastDeployed", key, "hash")
	return h
}

// awaitedDeploy is what a wait after an apply must see the operator do
// before it counts the apply as deployed. hashes: for each hashed part the
// apply changed, the hash status.lastDeployed held for it before; until the
// operator records another, status.status may still say OK, at the same
// version, for the pods of the spec before: a change of profiles or
// settings alone would otherwise read as ready (and be verified) before the
// operator has even seen it. expose: spec.expose changed, which changes no
// hash, so the wait looks at spin-deck's and spin-gate's Services
// (expose_wait.go).
type awaitedDeploy struct {
	hashes map[string]string
	expose bool
}

// awaitDeploy compares a SpinnakerService before and after an apply (nil
// before: created, which status.version already tells).
func awaitDeploy(before, after *unstructured.Unstructured) awaitedDeploy {
	if before == nil || after == nil {
		return awaitedDeploy{}
	}
	out := awaitedDeploy{hashes: map[string]string{}, expose: exposeChanged(before, after)}
	for _, p := range hashedParts {
		if !reflect.DeepEqual(typedPart(before, p.key), typedPart(after, p.key)) {
			out.hashes[p.key] = LastDeployedHash(before, p.key)
		}
	}
	return out
}

// pending says which changed hashed part the operator has not deployed yet
// ("" when none is left).
func (a awaitedDeploy) pending(obj *unstructured.Unstructured) string {
	for _, p := range hashedParts {
		if before, ok := a.hashes[p.key]; ok {
			if h := LastDeployedHash(obj, p.key); h == "" || h == before {
				return fmt.Sprintf("the operator has not deployed the changed spec.%s yet (status.lastDeployed.%s.hash unchanged)", p.field, p.key)
			}
		}
	}
	return ""
}

// unlessNeverRecorded is what a rollback waits for (a, from its own apply)
// given what the failed apply waited for (failed): a part whose hash the
// operator never changed since the failed apply was made still holds the
// hash of the spec before it, which is the one the rollback puts back, so
// the operator, finding its hash up to date, records no new one; waiting
// for one would never end. The Services are waited for either way: the
// operator compares them with the spec whatever it deployed last.
func (a awaitedDeploy) unlessNeverRecorded(failed awaitedDeploy) awaitedDeploy {
	out := awaitedDeploy{hashes: map[string]string{}, expose: a.expose}
	for key, h := range a.hashes {
		if before, ok := failed.hashes[key]; !ok || before != h {
			out.hashes[key] = h
		}
	}
	return out
}

// hashedParts are the spec's hashed fields and the keys their hashes are
// recorded under, in the order a wait reports them.
var hashedParts = []struct{ key, field string }{{LastDeployedConfig, "spinnakerConfig"}, {LastDeployedKustomize, "kustomize"}}

// typedPart is what of the hashed part the operator's typed field holds:
// spinnakerConfig's files, service-settings, profiles and config, each
// service's kustomize service and deployment patches, with empty values
// left out. Two specs whose typed parts are equal hash alike; a difference
// here is one the operator's hash sees too (the converse need not hold: a
// wait is only ever awaited for a change the operator will record).
func typedPart(obj *unstructured.Unstructured, key string) any {
	switch key {
	case LastDeployedConfig:
		sc, _, _ := unstructured.NestedMap(obj.Object, "spec", "spinnakerConfig")
		return pruneEmpty(pick(sc, "files", "service-settings", "profiles", "config"))
	default:
		k, _, _ := unstructured.NestedMap(obj.Object, "spec", "kustomize")
		out := map[string]any{}
		for svc, v := range k {
			m, _ := v.(map[string]any)
			sk := map[string]any{}
			for _, part := range []string{"service", "deployment"} {
				if p, ok := m[part].(map[string]any); ok {
					sk[part] = pick(p, "patchesStrategicMerge", "patchesJson6902", "patches")
				}
			}
			out[svc] = sk
		}
		return pruneEmpty(out)
	}
}

func pick(m map[string]any, keys ...string) map[string]any {
	out := map[string]any{}
	for _, k := range keys {
		if v, ok := m[k]; ok {
			out[k] = v
		}
	}
	return out
}

// pruneEmpty drops nulls and empty maps and lists at every depth; nil when
// nothing is left.
func pruneEmpty(v any) any {
	switch t := v.(type) {
	case nil:
		return nil
	case map[string]any:
		out := map[string]any{}
		for k, e := range t {
			if p := pruneEmpty(e); p != nil {
				out[k] = p
			}
		}
		if len(out) == 0 {
			return nil
		}
		return out
	case []any:
		out := make([]any, 0, len(t))
		for _, e := range t {
			out = append(out, pruneEmpty(e))
		}
		if len(out) == 0 {
			return nil
		}
		return out
	}
	return v
}
