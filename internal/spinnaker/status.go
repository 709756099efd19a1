package spinnaker

import (
	"fmt"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Overall statuses the Spinnaker Operator reports in status.status.
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
}

// ServiceStatus is one entry of status.services.
type ServiceStatus struct {
	Name          string
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
	items, _ := m["services"].([]any)
	for _, it := range items {
		sm, ok := it.(map[string]any)
		if !ok {
			continue
		}
		s := ServiceStatus{Replicas: toInt(sm["replicas"]), ReadyReplicas: toInt(sm["readyReplicas"])}
		s.Name, _ = sm["name"].(string)
		s.Image, _ = sm["image"].(string)
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
// wanted service has all its wanted replicas ready. progress says what is
// missing; err is set when the operator reports Failure.
func Ready(st Status, version string, want []Service) (done bool, progress string, err error) {
	if st.Status == StatusFailure {
		return false, "", fmt.Errorf("the Spinnaker Operator reports status Failure for version %s; check the operator's logs (kubectl -n <operator namespace> logs deploy/spinnaker-operator)", version)
	}
	if st.Version != version {
		return false, fmt.Sprintf("status reports version %q, waiting for %s (status %s)", st.Version, version, st.Status), nil
	}
	have := map[string]ServiceStatus{}
	for _, s := range st.Services {
		have[s.Name] = s
	}
	var missing []string
	for _, w := range want {
		s, ok := have[w.Name]
		switch {
		case !ok:
			missing = append(missing, w.Name+" (not reported)")
		case s.Replicas != w.Replicas:
			missing = append(missing, fmt.Sprintf("%s (%d replicas, want %d)", w.Name, s.Replicas, w.Replicas))
		case s.ReadyReplicas < w.Replicas:
			missing = append(missing, fmt.Sprintf("%s (%d/%d ready)", w.Name, s.ReadyReplicas, w.Replicas))
		}
	}
	if len(missing) > 0 {
		return false, fmt.Sprintf("status %s; services not ready: %s", st.Status, strings.Join(missing, ", ")), nil
	}
	if st.Status != StatusOK {
		return false, fmt.Sprintf("status %s", st.Status), nil
	}
	return true, "", nil
}
