package spinnaker

import (
	"errors"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/spinops/terraform-provider-spinops/internal/kube"
	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

func foreignService(t *testing.T, doc string) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(doc), &u.Object); err != nil {
		t.Fatal(err)
	}
	return u
}

// TestAdoptedZone: a SpinnakerService spinops did not make reads as a
// production zone with its own name, namespace and version, HA from
// haServices, expose from spec.expose and the overrideBaseUrls' hosts;
// one spinops made, or one without a version, is refused.
func TestAdoptedZone(t *testing.T) {
	obj := foreignService(t, `
metadata: {name: spinnaker, namespace: prod}
spec:
  spinnakerConfig:
    config:
      version: 1.34.2
      deploymentEnvironment:
        haServices:
          clouddriver: {enabled: false}
          echo: {enabled: true}
      security:
        uiSecurity: {overrideBaseUrl: "https://spinnaker.example.com"}
        apiSecurity: {overrideBaseUrl: "https://api.spinnaker.example.com:8084/"}
  expose:
    type: service
    service:
      type: LoadBalancer
      annotations: {"a.example/x": "1", "b.example/y": true}
`)
	z, err := AdoptedZone(obj)
	if err != nil {
		t.Fatal(err)
	}
	if z.Name != "spinnaker" || z.Namespace != "prod" || z.Tier != TierProduction || z.Version != "1.34.2" {
		t.Errorf("zone %+v", z)
	}
	if z.HA == nil || !z.HA.Enabled || z.HA.ClouddriverSplit || z.HA.Replicas != DefaultHAReplicas {
		t.Errorf("ha %+v: want on, Clouddriver not split, %d replicas", z.HA, DefaultHAReplicas)
	}
	if e := z.Expose; e == nil || e.Type != ExposeService || e.DeckHost != "spinnaker.example.com" || e.GateHost != "api.spinnaker.example.com" ||
		e.Annotations["a.example/x"] != "1" || e.Annotations["b.example/y"] != "true" {
		t.Errorf("expose %+v", z.Expose)
	}
	if p := z.Policy; p == nil || !p.Wait || !p.RollbackOnFailure || !p.DeletionProtection {
		t.Errorf("policy %+v: want a production zone's defaults", z.Policy)
	}

	noHA := foreignService(t, `
metadata: {name: spin, namespace: prod}
spec: {spinnakerConfig: {config: {version: 1.35.0}}, expose: {type: ingress}}`)
	if z, err := AdoptedZone(noHA); err != nil || z.HA != nil || z.Expose != nil {
		t.Errorf("no haServices, an expose type spinops has none for: %+v, %v", z, err)
	}

	for doc, want := range map[string]string{
		`{metadata: {name: s, namespace: n, annotations: {"spinops.io/zone-settings": "{}"}}, spec: {spinnakerConfig: {config: {version: 1.35.0}}}}`: "was made by spinops",
		`{metadata: {name: s, namespace: n}, spec: {}}`:                                                       "no spec.spinnakerConfig.config",
		`{metadata: {name: s, namespace: n}, spec: {spinnakerConfig: {config: {providers: {}}}}}`:             "no spec.spinnakerConfig.config.version",
		`{metadata: {name: Not_A_Label, namespace: n}, spec: {spinnakerConfig: {config: {version: 1.35.0}}}}`: "DNS label",
	} {
		if _, err := AdoptedZone(foreignService(t, doc)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", doc, err, want)
		}
	}
}

// TestOperatorOf finds the operator that reconciles a namespace among the
// Deployments of a real API server: none, a basic-mode one of another
// namespace (not it), its own basic-mode one, and two (refused).
func TestOperatorOf(t *testing.T) {
	t.Parallel() // (a cluster of its own; the tests wait on it, so they run at once)
	c := testenv.StartCluster(t)
	kc, err := kube.NewClient(c.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	operator := func(ns string, env []corev1.EnvVar) {
		t.Helper()
		if _, err := c.Clientset().CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		sel := map[string]string{"name": "spinnaker-operator"}
		d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "spinnaker-operator", Namespace: ns},
			Spec: appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: sel}, Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: sel},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "spinnaker-operator", Image: "armory/spinnaker-operator:1.3.1", Env: env}}}}}}
		if _, err := c.Clientset().AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	basic := []corev1.EnvVar{{Name: "WATCH_NAMESPACE", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}}}

	if _, err := OperatorOf(ctx, kc, "spin"); !errors.Is(err, ErrNoOperator) {
		t.Errorf("no operator: %v", err)
	}
	operator("other", basic)
	if _, err := OperatorOf(ctx, kc, "spin"); !errors.Is(err, ErrNoOperator) {
		t.Errorf("another namespace's basic operator taken for spin's: %v", err)
	}
	operator("spin", basic)
	if o, err := OperatorOf(ctx, kc, "spin"); err != nil || o.Namespace != "spin" || o.WatchNamespace != "spin" || o.Image != "armory/spinnaker-operator:1.3.1" {
		t.Errorf("spin's own operator: %+v, %v", o, err)
	}
	operator("spinnaker-operator", nil) // cluster mode: watches spin too
	if _, err := OperatorOf(ctx, kc, "spin"); err == nil || !strings.Contains(err.Error(), "more than one Spinnaker Operator") {
		t.Errorf("two operators: %v", err)
	}
	if o, err := OperatorOf(ctx, kc, "elsewhere"); err != nil || o.Namespace != "spinnaker-operator" || o.WatchNamespace != "" {
		t.Errorf("the cluster-mode operator for another namespace: %+v, %v", o, err)
	}
}
