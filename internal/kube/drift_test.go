package kube_test

import (
	"context"
	"errors"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"github.com/spinops/terraform-provider-spinops/internal/kube"
	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

// TestMain stops the shared kube-apiserver TestDrift_againstARealAPIServer
// starts (the package's other tests use an in-process fake).
func TestMain(m *testing.M) { testenv.Main(m) }

// TestDrift_againstARealAPIServer: Drift reports what an apply would put
// back, as a real kube-apiserver's server-side apply sees it, and nothing
// else: the server's defaults, a field another manager added (`kubectl
// rollout restart`'s annotation), a scale by another manager of a field
// spinops does not set, and status are not drift; an edit of a field
// spinops set (with `kubectl edit`'s update, another manager), a removed
// label, and a deleted object are.
func TestDrift_againstARealAPIServer(t *testing.T) {
	cl := testenv.SharedCluster(t)
	ns := cl.Namespace(t)
	c, err := kube.NewClient(cl.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cs := cl.Clientset()

	cm := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": "cfg", "namespace": ns, "labels": map[string]any{"app": "spinops"}},
		"data":     map[string]any{"config.yaml": "slo: 0.999\n"},
	}}
	dep := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": "dep", "namespace": ns},
		"spec": map[string]any{
			"selector": map[string]any{"matchLabels": map[string]any{"app": "dep"}},
			"template": map[string]any{
				"metadata": map[string]any{"labels": map[string]any{"app": "dep"}},
				"spec":     map[string]any{"containers": []any{map[string]any{"name": "c", "image": "example.com/c:1", "args": []any{"--slo", "0.999"}}}},
			},
		},
	}}
	for _, o := range []*unstructured.Unstructured{cm, dep} {
		if _, err := c.Apply(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	drift := func(o *unstructured.Unstructured) string {
		t.Helper()
		d, err := c.Drift(ctx, o)
		if err != nil {
			t.Fatalf("Drift(%s): %v", kube.Describe(o), err)
		}
		return d
	}
	expect := func(what string, o *unstructured.Unstructured, want string) {
		t.Helper()
		if got := drift(o); got != want {
			t.Errorf("%s: Drift(%s) = %q, want %q", what, kube.Describe(o), got, want)
		}
	}

	// Just applied: the server defaulted the Deployment (strategy,
	// revisionHistoryLimit, the container's terminationMessagePath...).
	expect("just applied", cm, "")
	expect("just applied", dep, "")

	// Other managers' fields: a restart annotation on the pod template
	// (kubectl rollout restart's patch), replicas (which dep does not
	// set) scaled, status written.
	restart := `{"spec":{"template":{"metadata":{"annotations":{"kubectl.kubernetes.io/restartedAt":"2026-12-05T23:00:00Z"}}}}}`
	if _, err := cs.AppsV1().Deployments(ns).Patch(ctx, "dep", types.StrategicMergePatchType, []byte(restart), metav1.PatchOptions{FieldManager: "kubectl-rollout"}); err != nil {
		t.Fatal(err)
	}
	sc := &autoscalingv1.Scale{ObjectMeta: metav1.ObjectMeta{Name: "dep", Namespace: ns}, Spec: autoscalingv1.ScaleSpec{Replicas: 3}}
	if _, err := cs.AppsV1().Deployments(ns).UpdateScale(ctx, "dep", sc, metav1.UpdateOptions{FieldManager: "kubectl-scale"}); err != nil {
		t.Fatal(err)
	}
	d, err := cs.AppsV1().Deployments(ns).Get(ctx, "dep", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	d.Status.ObservedGeneration, d.Status.Replicas = d.Generation, 1
	if _, err := cs.AppsV1().Deployments(ns).UpdateStatus(ctx, d, metav1.UpdateOptions{FieldManager: "controller"}); err != nil {
		t.Fatal(err)
	}
	expect("others' fields", dep, "")

	// An edit of what spinops set, by another manager (kubectl edit).
	d, err = cs.AppsV1().Deployments(ns).Get(ctx, "dep", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	d.Spec.Template.Spec.Containers[0].Args = []string{"--slo", "0.9"}
	if d, err = cs.AppsV1().Deployments(ns).Update(ctx, d, metav1.UpdateOptions{FieldManager: "kubectl-edit"}); err != nil {
		t.Fatal(err)
	}
	expect("container args edited", dep, "changed: spec.template")
	// The check is a dry run: the edit is still there, nothing was written.
	if after, err := cs.AppsV1().Deployments(ns).Get(ctx, "dep", metav1.GetOptions{}); err != nil {
		t.Fatal(err)
	} else if after.ResourceVersion != d.ResourceVersion || after.Spec.Template.Spec.Containers[0].Args[1] != "0.9" {
		t.Fatalf("checking for drift wrote the Deployment: resourceVersion %s → %s, args %v", d.ResourceVersion, after.ResourceVersion, after.Spec.Template.Spec.Containers[0].Args)
	}
	if _, err := c.Apply(ctx, dep); err != nil {
		t.Fatal(err)
	}
	expect("applied again", dep, "")

	got, err := cs.CoreV1().ConfigMaps(ns).Get(ctx, "cfg", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got.Data["config.yaml"] = "slo: 0.5\n"
	delete(got.Labels, "app")
	if _, err := cs.CoreV1().ConfigMaps(ns).Update(ctx, got, metav1.UpdateOptions{FieldManager: "kubectl-edit"}); err != nil {
		t.Fatal(err)
	}
	expect("data edited, label removed", cm, "changed: data, metadata.labels")

	// A key another manager adds to data is its own: not drift.
	if _, err := c.Apply(ctx, cm); err != nil {
		t.Fatal(err)
	}
	extra := `{"data":{"added-by-hand":"x"}}`
	if _, err := cs.CoreV1().ConfigMaps(ns).Patch(ctx, "cfg", types.MergePatchType, []byte(extra), metav1.PatchOptions{FieldManager: "kubectl-patch"}); err != nil {
		t.Fatal(err)
	}
	expect("a key of another manager", cm, "")

	// An admission webhook that fails the dry run (it runs admission as a
	// real request does; here a webhook nobody serves, failurePolicy
	// Fail): a DryRunError, not a verdict, and not a Forbidden.
	fail, none := admissionregistrationv1.Fail, admissionregistrationv1.SideEffectClassNone
	unserved := "https://127.0.0.1:1/validate"
	hook := &admissionregistrationv1.ValidatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: "drift-test-" + ns},
		Webhooks: []admissionregistrationv1.ValidatingWebhook{{
			Name: "unserved.spinops.test", ClientConfig: admissionregistrationv1.WebhookClientConfig{URL: &unserved},
			Rules: []admissionregistrationv1.RuleWithOperations{{Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Update},
				Rule: admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"configmaps"}}}},
			NamespaceSelector:       &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": ns}},
			FailurePolicy:           &fail,
			SideEffects:             &none,
			AdmissionReviewVersions: []string{"v1"},
		}}}
	hooks := cs.AdmissionregistrationV1().ValidatingWebhookConfigurations()
	if _, err := hooks.Create(ctx, hook, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = hooks.Delete(context.Background(), hook.Name, metav1.DeleteOptions{}) })
	var dryRun *kube.DryRunError
	// (The API server takes up a new webhook configuration a moment
	// after its create.)
	err = kube.WaitFor(ctx, 100*time.Millisecond, 30*time.Second, func(ctx context.Context) (bool, string, error) {
		_, err := c.Drift(ctx, cm)
		return false, "the webhook is not in force yet", err
	})
	if !errors.As(err, &dryRun) || apierrors.IsForbidden(err) {
		t.Errorf("behind a failing admission webhook: Drift error %v (%T), want a *kube.DryRunError that is not a Forbidden", err, err)
	}
	if err := hooks.Delete(ctx, hook.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}

	if err := cs.CoreV1().ConfigMaps(ns).Delete(ctx, "cfg", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	expect("deleted", cm, "deleted")

	// A kind the cluster does not serve (a CRD removed) is gone too.
	gone := &unstructured.Unstructured{}
	gone.SetGroupVersionKind(schema.GroupVersionKind{Group: "monitoring.coreos.com", Version: "v1", Kind: "PrometheusRule"})
	gone.SetNamespace(ns)
	gone.SetName("rules")
	expect("kind not served", gone, "deleted")

}
