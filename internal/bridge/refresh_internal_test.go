package bridge

import "testing"

// KubernetesKind.toString: the name alone in the native API groups
// (KubernetesApiGroup.NATIVE_GROUPS, the core group included), name.group
// elsewhere.
func TestClouddriverKind(t *testing.T) {
	for _, c := range []struct{ kind, group, want string }{
		{"Deployment", "apps", "Deployment"},
		{"ConfigMap", "", "ConfigMap"},
		{"HorizontalPodAutoscaler", "autoscaling", "HorizontalPodAutoscaler"},
		{"Ingress", "networking.k8s.io", "Ingress"},
		{"Rollout", "argoproj.io", "Rollout.argoproj.io"},
		{"SpinnakerService", "spinnaker.io", "SpinnakerService.spinnaker.io"},
	} {
		if got := clouddriverKind(c.kind, c.group); got != c.want {
			t.Errorf("%s/%s: %q, want %q", c.group, c.kind, got, c.want)
		}
	}
}

func TestSpinnakerManaged(t *testing.T) {
	for raw, want := range map[string]bool{
		`{"metadata":{"annotations":{"moniker.spinnaker.io/application":"web"}}}`: true,
		`{"metadata":{"annotations":{"artifact.spinnaker.io/name":"web"}}}`:       true,
		`{"metadata":{"annotations":{"caching.spinnaker.io/ignore":"true"}}}`:     false,
		`{"metadata":{"labels":{"moniker.spinnaker.io/application":"web"}}}`:      false,
		`{"data":{"x":"moniker.spinnaker.io/application"}}`:                       false,
		`{"metadata":{"annotations":{"example.com/moniker.spinnaker.io-x":"1"}}}`: false,
		`not json .spinnaker.io/`: false,
	} {
		if got := spinnakerManaged([]byte(raw)); got != want {
			t.Errorf("%s: %v, want %v", raw, got, want)
		}
	}
}
