package spinnaker_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"

	"github.com/spinops/terraform-provider-spinops/internal/kube"
	"github.com/spinops/terraform-provider-spinops/internal/spinnaker"
	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

// failListing answers a cluster-wide list of SpinnakerServices with status,
// as an API server would for a missing RBAC grant (403) or a broken
// aggregation layer / etcd (500). Everything else reaches the API server.
type failListing struct {
	next   http.RoundTripper
	status int
}

func (f failListing) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/apis/spinnaker.io/v1alpha2/spinnakerservices") {
		body := `{"kind":"Status","apiVersion":"v1","status":"Failure","message":"injected","reason":"` + http.StatusText(f.status) + `","code":` + itoa(f.status) + `}`
		return &http.Response{StatusCode: f.status, Status: http.StatusText(f.status), Header: http.Header{"Content-Type": []string{"application/json"}},
			Body: io.NopCloser(bytes.NewBufferString(body)), Request: r}, nil
	}
	return f.next.RoundTrip(r)
}

func itoa(n int) string {
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

// TestRemoveOperator_neverTakesAnotherInstallation is issue 12 point 11:
// destroying one installation must never delete the CRDs (and with them
// every SpinnakerService of the cluster) unless a successful cluster-wide
// list shows none is left. A failed list (403, 500, or 404 while the CRD
// exists) fails the destroy.
func TestRemoveOperator_neverTakesAnotherInstallation(t *testing.T) {
	t.Parallel() // (a cluster of its own; the tests wait on it, so they run at once)
	c := testenv.StartCluster(t)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
	defer cancel()
	client, err := kube.NewClient(c.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	settings := spinnaker.OperatorSettings{Namespace: "op-mine", Image: "armory/spinnaker-operator:1.3.1", HalyardImage: "armory/halyard:operator-a6ac1d4", ClusterWide: true}
	if err := spinnaker.EnsureOperator(ctx, client, settings, false, time.Minute); err != nil {
		t.Fatal(err)
	}
	// Another installation's zone, in its own namespace.
	if err := spinnaker.EnsureNamespace(ctx, client, "theirs"); err != nil {
		t.Fatal(err)
	}
	theirs := &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{"spinnakerConfig": map[string]any{"config": map[string]any{"version": "1.35.3"}}}}}
	theirs.SetGroupVersionKind(spinnaker.SpinnakerServiceGVK)
	theirs.SetNamespace("theirs")
	theirs.SetName("spinnaker")
	if _, err := client.Apply(ctx, theirs); err != nil {
		t.Fatal(err)
	}

	crdStillThere := func() {
		t.Helper()
		if _, err := client.Clientset.Discovery().ServerResourcesForGroupVersion("spinnaker.io/v1alpha2"); err != nil {
			t.Fatalf("the CRDs are gone: %v", err)
		}
		if _, err := client.Get(ctx, spinnaker.SpinnakerServiceGVK, "theirs", "spinnaker"); err != nil {
			t.Fatalf("the other installation's SpinnakerService is gone: %v", err)
		}
	}
	// 404 while the CRD exists: the CRD does not serve the version spinops
	// lists (another operator release's CRD), which is not "none left".
	for _, status := range []int{http.StatusForbidden, http.StatusInternalServerError, http.StatusNotFound} {
		cfg := rest.CopyConfig(c.RESTConfig())
		cfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper { return failListing{next: rt, status: status} }
		broken, err := kube.NewClient(cfg)
		if err != nil {
			t.Fatal(err)
		}
		removed, err := spinnaker.RemoveOperator(ctx, broken, settings)
		if err == nil || removed {
			t.Fatalf("list answered %d: RemoveOperator = %v, %v; want an error and the CRDs kept", status, removed, err)
		}
		if !strings.Contains(err.Error(), "listing SpinnakerServices in all namespaces") || !strings.Contains(err.Error(), "CRDs were left in place") {
			t.Errorf("list answered %d: error does not say what failed and what was kept: %v", status, err)
		}
		crdStillThere()
	}

	// The webhook configuration the real operator left (it never deletes
	// it), pointing at this installation's Service: it must go with the
	// operator, or it refuses every later write (failurePolicy Fail).
	vwc := &admissionregistrationv1.ValidatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: "spinnakervalidatingwebhook"},
		Webhooks: []admissionregistrationv1.ValidatingWebhook{{Name: "webhook-spinnakerservices-v1alpha2.spinnaker.io",
			ClientConfig: admissionregistrationv1.WebhookClientConfig{Service: &admissionregistrationv1.ServiceReference{Namespace: "op-mine", Name: "spinnaker-operator"}},
			Rules: []admissionregistrationv1.RuleWithOperations{{Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
				Rule: admissionregistrationv1.Rule{APIGroups: []string{"spinnaker.io"}, APIVersions: []string{"v1alpha2"}, Resources: []string{"spinnakerservices"}}}},
			SideEffects: ptr.To(admissionregistrationv1.SideEffectClassNone), AdmissionReviewVersions: []string{"v1"}}}}
	if _, err := client.Clientset.AdmissionregistrationV1().ValidatingWebhookConfigurations().Create(ctx, vwc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	// A successful list that finds the other installation: the operator goes,
	// the CRDs stay.
	removed, err := spinnaker.RemoveOperator(ctx, client, settings)
	if err != nil || removed {
		t.Fatalf("with another installation present: RemoveOperator = %v, %v; want the CRDs kept", removed, err)
	}
	crdStillThere()
	if _, err := client.Clientset.AppsV1().Deployments("op-mine").Get(ctx, "spinnaker-operator", metav1.GetOptions{}); err == nil {
		t.Error("the operator's Deployment survived RemoveOperator")
	}
	if _, err := client.Clientset.AdmissionregistrationV1().ValidatingWebhookConfigurations().Get(ctx, "spinnakervalidatingwebhook", metav1.GetOptions{}); err == nil {
		t.Error("the operator's webhook configuration survived RemoveOperator")
	}

	// Nothing left anywhere: the CRDs go too.
	if err := client.Delete(ctx, theirs); err != nil {
		t.Fatal(err)
	}
	if err := client.WaitForDeleted(ctx, spinnaker.SpinnakerServiceGVK, "theirs", "spinnaker", time.Minute); err != nil {
		t.Fatal(err)
	}
	if removed, err := spinnaker.RemoveOperator(ctx, client, settings); err != nil || !removed {
		t.Fatalf("with no SpinnakerService left: RemoveOperator = %v, %v; want the CRDs removed", removed, err)
	}

	// Installing the CRDs while the old ones are still being deleted waits
	// for them to go; when a SpinnakerService's own finalizer holds that
	// deletion, the error says so with kube-apiserver's Terminating
	// condition, not only that time ran out.
	// (The budgets are generous: under a loaded CI run kube-apiserver's
	// CRD finalizer, which backs off exponentially after errors, once took
	// over two minutes to start on a deletion.)
	if err := spinnaker.InstallCRDs(ctx, client, 4*time.Minute); err != nil {
		t.Fatalf("installing the CRDs again after they were removed: %v", err)
	}
	held := theirs.DeepCopy()
	held.SetFinalizers([]string{"test.spinops.io/hold"})
	if _, err := client.Apply(ctx, held); err != nil {
		t.Fatal(err)
	}
	if err := spinnaker.UninstallOperator(ctx, client, settings, true); err != nil {
		t.Fatal(err)
	}
	// Once the finalizer has started on it (the condition is set), a wait
	// that runs out must report it.
	crds, err := spinnaker.CRDs()
	if err != nil {
		t.Fatal(err)
	}
	if err := kube.WaitFor(ctx, 200*time.Millisecond, 3*time.Minute, func(ctx context.Context) (bool, string, error) {
		crd, err := client.Get(ctx, crds[0].GroupVersionKind(), "", "spinnakerservices.spinnaker.io")
		if err != nil || kube.TrueCondition(crd, "Terminating") == nil {
			return false, "no Terminating condition yet", err
		}
		return true, "", nil
	}); err != nil {
		t.Fatalf("kube-apiserver's CRD finalizer did not start on the deleted CRD: %v", err)
	}
	err = spinnaker.InstallCRDs(ctx, client, 5*time.Second)
	for _, want := range []string{"CustomResourceDefinition spinnakerservices.spinnaker.io being deleted", "customresourcecleanup.apiextensions.k8s.io", "Terminating (InstanceDeletion"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("installing the CRDs while a SpinnakerService's finalizer holds the old one: err = %v, want it to say %q", err, want)
		}
	}
	release := &unstructured.Unstructured{Object: map[string]any{"metadata": map[string]any{"finalizers": nil}}}
	patch, _ := release.MarshalJSON()
	if _, err := client.Dynamic.Resource(spinnaker.SpinnakerServiceGVK.GroupVersion().WithResource("spinnakerservices")).Namespace("theirs").
		Patch(ctx, "spinnaker", types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatalf("removing the finalizer: %v", err)
	}
	if err := spinnaker.InstallCRDs(ctx, client, 4*time.Minute); err != nil {
		t.Fatalf("installing the CRDs once the finalizer was removed: %v", err)
	}
}

// TestCheckOperatorConflicts is issue 12 point 10: a second operator that
// would reconcile the same SpinnakerServices is refused (the real operators
// would reconcile each other's SpinnakerServices and share the one webhook
// configuration), whoever installed the first.
func TestCheckOperatorConflicts(t *testing.T) {
	t.Parallel() // (a cluster of its own; the tests wait on it, so they run at once)
	c := testenv.StartCluster(t)
	ctx, cancel := context.WithTimeout(t.Context(), 7*time.Minute)
	defer cancel()
	client, err := kube.NewClient(c.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	if err := spinnaker.EnsureOperator(ctx, client, testOperator("first", true), false, time.Minute); err != nil {
		t.Fatal(err)
	}
	// Re-applying the same installation is no conflict.
	if err := spinnaker.EnsureOperator(ctx, client, testOperator("first", true), false, time.Minute); err != nil {
		t.Fatalf("re-applying the first operator: %v", err)
	}
	var conflict *spinnaker.OperatorConflictError
	for _, wide := range []bool{true, false} {
		err := spinnaker.EnsureOperator(ctx, client, testOperator("second", wide), false, time.Minute)
		if !errors.As(err, &conflict) || !strings.Contains(err.Error(), "Deployment first/spinnaker-operator (watches all namespaces)") {
			t.Errorf("second operator (cluster_wide=%v) next to a cluster-wide one: err = %v, want a conflict naming it", wide, err)
		}
	}
	if _, err := client.Clientset.AppsV1().Deployments("second").Get(ctx, "spinnaker-operator", metav1.GetOptions{}); err == nil {
		t.Error("the refused operator was installed anyway")
	}
	// Two basic-mode operators, each in its own namespace, do not meet.
	if _, err := spinnaker.RemoveOperator(ctx, client, testOperator("first", true)); err != nil {
		t.Fatal(err)
	}
	// What follows is about conflicts, not about how fast kube-apiserver
	// deletes a CRD: under a loaded CI run its CRD finalizer, which backs
	// off exponentially after errors, once took over two minutes (past the
	// 2 minutes InstallCRDs waits). Let the old CRDs go first.
	crds, err := spinnaker.CRDs()
	if err != nil {
		t.Fatal(err)
	}
	for _, crd := range crds {
		if err := client.WaitForDeleted(ctx, crd.GroupVersionKind(), "", crd.GetName(), 5*time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	if err := spinnaker.EnsureOperator(ctx, client, testOperator("first", false), false, time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := spinnaker.EnsureOperator(ctx, client, testOperator("second", false), false, time.Minute); err != nil {
		t.Errorf("two basic-mode operators in their own namespaces: %v", err)
	}
	// But a cluster-wide one next to them would reconcile their namespaces.
	if err := spinnaker.EnsureOperator(ctx, client, testOperator("third", true), false, time.Minute); !errors.As(err, &conflict) {
		t.Errorf("cluster-wide operator next to basic ones: err = %v, want a conflict", err)
	}
	// An operator installed by hand under another Deployment name in the
	// very namespace spinops would install into (an adopted installation
	// turned to install = true, say) is a conflict too: spinops adopts only
	// a Deployment named spinnaker-operator, so it would run a second
	// operator beside that one.
	sel := map[string]string{"name": "spinnaker-operator"}
	legacy := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "legacy-operator", Namespace: "fourth"},
		Spec: appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: sel}, Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: sel},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "spinnaker-operator", Image: "armory/spinnaker-operator:1.3.1",
				Env: []corev1.EnvVar{{Name: "WATCH_NAMESPACE", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}}}}}}}}}
	if _, err := client.Clientset.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "fourth"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.Clientset.AppsV1().Deployments("fourth").Create(ctx, legacy, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	err = spinnaker.EnsureOperator(ctx, client, testOperator("fourth", false), false, time.Minute)
	if !errors.As(err, &conflict) || !strings.Contains(err.Error(), "Deployment fourth/legacy-operator") {
		t.Errorf("an operator beside a hand-installed one in the same namespace: err = %v, want a conflict naming it", err)
	}
	if _, err := client.Clientset.AppsV1().Deployments("fourth").Get(ctx, "spinnaker-operator", metav1.GetOptions{}); err == nil {
		t.Error("the refused operator was installed anyway beside the hand-installed one")
	}
}

// TestCheckZoneWatched is issue 12 point 3: basic mode reconciles only the
// operator's namespace, so a zone elsewhere is refused with what to do.
func TestCheckZoneWatched(t *testing.T) {
	basic := &spinnaker.OperatorRecord{ClusterWide: false}
	if err := spinnaker.CheckZoneWatched(basic, "ops", "spin-red"); err == nil || !strings.Contains(err.Error(), "cluster_wide") || !strings.Contains(err.Error(), `"ops"`) {
		t.Errorf("zone outside a basic-mode operator's namespace: %v", err)
	}
	if err := spinnaker.CheckZoneWatched(basic, "ops", "ops"); err != nil {
		t.Errorf("zone in the operator's namespace: %v", err)
	}
	if err := spinnaker.CheckZoneWatched(&spinnaker.OperatorRecord{ClusterWide: true}, "ops", "spin-red"); err != nil {
		t.Errorf("cluster-wide operator: %v", err)
	}
}
