package operatortest

import (
	"reflect"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestInspectMerge copies inspect.Merge (armory/spinnaker-operator
// d92e6804, pkg/inspect/parse.go) case by case: each row is one branch of
// its code.
func TestInspectMerge(t *testing.T) {
	for _, c := range []struct {
		name    string
		a, b    map[string]any
		want    map[string]any
		because string
	}{
		{"keys of one side kept", map[string]any{"x": 1.0}, map[string]any{"y": 2.0}, map[string]any{"x": 1.0, "y": 2.0}, "the last loop adds b's keys a lacks"},
		{"b's scalar wins", map[string]any{"x": 1.0}, map[string]any{"x": 2.0}, map[string]any{"x": 2.0}, "the scalar branch takes bv"},
		{"maps merged", map[string]any{"k": map[string]any{"a": 1.0, "s": 1.0}}, map[string]any{"k": map[string]any{"b": 2.0, "s": 2.0}},
			map[string]any{"k": map[string]any{"a": 1.0, "b": 2.0, "s": 2.0}}, "Merge(avm, bvm)"},
		{"b's scalar over a's map", map[string]any{"k": map[string]any{"a": 1.0}}, map[string]any{"k": "flat"}, map[string]any{"k": "flat"}, "result[k] = bv"},
		{"lists concatenated, a's first", map[string]any{"l": []any{"g1", "g2"}}, map[string]any{"l": []any{"own"}}, map[string]any{"l": []any{"g1", "g2", "own"}}, "combined: a's items, then b's"},
		{"a's list dropped when b lacks it", map[string]any{"l": []any{"g"}, "x": 1.0}, map[string]any{"y": 2.0}, map[string]any{"x": 1.0, "y": 2.0}, "no branch writes a list b lacks"},
		{"a's list dropped under b's map", map[string]any{"kubernetes": map[string]any{"imagePullSecrets": []any{"g"}, "nodeSelector": map[string]any{"pool": "spin"}}},
			map[string]any{"kubernetes": map[string]any{"serviceType": "LoadBalancer"}},
			map[string]any{"kubernetes": map[string]any{"nodeSelector": map[string]any{"pool": "spin"}, "serviceType": "LoadBalancer"}}, "the map above the list is merged, the list dropped"},
		{"a's list kept when b has no map above it", map[string]any{"kubernetes": map[string]any{"imagePullSecrets": []any{"g"}}}, map[string]any{},
			map[string]any{"kubernetes": map[string]any{"imagePullSecrets": []any{"g"}}}, "a's whole map when b lacks its key"},
		{"b's scalar over a's list", map[string]any{"l": []any{"g"}}, map[string]any{"l": "x"}, map[string]any{"l": "x"}, "result[k] = bv"},
		{"b's null over a's list", map[string]any{"l": []any{"g"}}, map[string]any{"l": nil}, map[string]any{"l": nil}, "bv is no slice: result[k] = bv"},
		{"b's null over a's map", map[string]any{"k": map[string]any{"a": 1.0}}, map[string]any{"k": nil}, map[string]any{"k": nil}, "bv is no map: result[k] = bv"},
	} {
		if got := inspectMerge(c.a, c.b); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: %v, want %v (%s)", c.name, got, c.want, c.because)
		}
	}
}

// TestWithPodSettings copies Halyard's pod spec for the settings: an id
// given twice is one volume, its first entry's (combineVolumes keeps the
// first of a key), mounted for each entry (buildContainer), and a type
// Halyard's ConfigSource.Type enum does not have fails, on any entry.
func TestWithPodSettings(t *testing.T) {
	dep := func() *appsv1.Deployment {
		return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "spin-gate", Labels: map[string]string{"app.kubernetes.io/name": "gate"}},
			Spec: appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "gate"}}}}}}
	}
	vol := func(id, typ, path string) any { return map[string]any{"id": id, "type": typ, "mountPath": path} }
	d := dep()
	if err := withPodSettings(d, map[string]any{"imagePullSecrets": []any{"mirror"},
		"volumes": []any{vol("ca", "configMap", "/etc/ca"), vol("ca", "secret", "/etc/ca-again")}}); err != nil {
		t.Fatal(err)
	}
	if got, want := PodSettings(d), "pull [mirror] volumes [ca=configMap:ca] mounts [ca@/etc/ca ca@/etc/ca-again]"; got != want {
		t.Errorf("%s, want %s", got, want)
	}
	err := withPodSettings(dep(), map[string]any{"volumes": []any{vol("ca", "configMap", "/etc/ca"), vol("ca", "hostPath", "/etc/ca")}})
	if err == nil || !strings.Contains(err.Error(), "has type hostPath") {
		t.Errorf("an unknown type on a second entry of an id: err = %v", err)
	}
}

// TestWithPodSettings_labels copies Halyard's pod template for podLabels,
// podAnnotations and nodeSelector: the labels after Halyard's own, the
// later value of a key winning as under SnakeYAML's defaults, every value
// written as a string.
func TestWithPodSettings_labels(t *testing.T) {
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "spin-orca"}, Spec: appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "spin", "cluster": "spin-orca"}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "orca"}}}}}}
	if err := withPodSettings(d, map[string]any{"podLabels": map[string]any{"team": "pipelines", "app": "web", "tier": 2.0},
		"podAnnotations": map[string]any{"prometheus.io/scrape": true}, "nodeSelector": map[string]any{"pool": "spinnaker"}}); err != nil {
		t.Fatal(err)
	}
	tmpl := d.Spec.Template
	if want := map[string]string{"app": "web", "cluster": "spin-orca", "team": "pipelines", "tier": "2"}; !reflect.DeepEqual(tmpl.Labels, want) {
		t.Errorf("labels %v, want %v (podLabels written after Halyard's, the later value winning)", tmpl.Labels, want)
	}
	if want := map[string]string{"prometheus.io/scrape": "true"}; !reflect.DeepEqual(tmpl.Annotations, want) {
		t.Errorf("annotations %v, want %v", tmpl.Annotations, want)
	}
	if want := map[string]string{"pool": "spinnaker"}; !reflect.DeepEqual(tmpl.Spec.NodeSelector, want) {
		t.Errorf("nodeSelector %v, want %v", tmpl.Spec.NodeSelector, want)
	}
}

// TestTransformServerPort copies the operator's server-port transformer
// (transformer/serverport.go) and Halyard's choice of readiness probe
// (KubernetesV2Service.getProbe) it depends on.
func TestTransformServerPort(t *testing.T) {
	for name, c := range map[string]struct {
		profile  map[string]any
		settings map[string]any
		port     int32
		err      string
	}{
		"none":                 {map[string]any{"logging": map[string]any{"level": "INFO"}}, nil, 8084, ""},
		"nested":               {map[string]any{"server": map[string]any{"port": 8085.0}}, nil, 8085, ""},
		"spelled server.port":  {map[string]any{"server.port": "8086"}, nil, 8086, ""},
		"not a number":         {map[string]any{"server": map[string]any{"port": "http"}}, nil, 8084, `server-port transformer: strconv.ParseInt: parsing "http"`},
		"a TCP probe":          {map[string]any{"server": map[string]any{"port": 8084.0}}, map[string]any{"kubernetes": map[string]any{"useTcpProbe": true}}, 8084, "nil pointer dereference"},
		"an HTTP probe":        {map[string]any{"server": map[string]any{"port": 8084.0}}, map[string]any{"kubernetes": map[string]any{"useExecHealthCheck": false}}, 8084, "nil pointer dereference"},
		"no health endpoint":   {map[string]any{"server": map[string]any{"port": 8084.0}}, map[string]any{"healthEndpoint": ""}, 8084, "nil pointer dereference"},
		"exec asked for":       {map[string]any{"server": map[string]any{"port": 8087.0}}, map[string]any{"kubernetes": map[string]any{"useExecHealthCheck": true, "useTcpProbe": false}}, 8087, ""},
		"a TCP probe, no port": {nil, map[string]any{"kubernetes": map[string]any{"useTcpProbe": true}}, 8084, ""},
	} {
		spec := map[string]any{"spinnakerConfig": map[string]any{"profiles": map[string]any{"gate": c.profile}}}
		s := service{name: "gate", execProbe: halyardExecProbe(map[string]any{"gate": c.settings}, "gate")}
		d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "spin-gate"}, Spec: appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "gate", Ports: []corev1.ContainerPort{{ContainerPort: 8084}}}}}}}}
		err := transformServerPort(spec, s, d)
		if c.err == "" && err != nil || c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)) {
			t.Errorf("%s: err = %v, want %q", name, err, c.err)
		}
		if got := d.Spec.Template.Spec.Containers[0].Ports[0].ContainerPort; got != c.port {
			t.Errorf("%s: container port %d, want %d", name, got, c.port)
		}
	}
}

// TestHalyardExecProbe: Deck, whose default settings have no
// healthEndpoint, gets a TCP probe unless its settings give one; every
// other service an exec probe by default.
func TestHalyardExecProbe(t *testing.T) {
	for _, c := range []struct {
		name     string
		settings map[string]any
		want     bool
	}{
		{"deck", nil, false},
		{"deck", map[string]any{"deck": map[string]any{"healthEndpoint": "/"}}, true},
		{"gate", nil, true},
		{"gate", map[string]any{"gate": map[string]any{"healthEndpoint": ""}}, false},
	} {
		if got := halyardExecProbe(c.settings, c.name); got != c.want {
			t.Errorf("%s with %v: exec probe %v, want %v", c.name, c.settings, got, c.want)
		}
	}
}
