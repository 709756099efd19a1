package spinnaker

import (
	"fmt"
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
