package kube

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// TestToUnstructured: the conversion the bridge install, attach, backup,
// the monitor resource and the zone's budgets share drops what a typed
// object always carries but an applied manifest must not (status, every
// zero creationTimestamp: object, pod template, job template and its pod
// template), keeps everything else, and takes an Unstructured as it is.
func TestToUnstructured(t *testing.T) {
	dep := &appsv1.Deployment{TypeMeta: metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: metav1.ObjectMeta{Name: "d", Namespace: "n", Labels: map[string]string{"a": "b"}},
		Spec:       appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "i"}}}}},
		Status:     appsv1.DeploymentStatus{Replicas: 3}}
	cron := &batchv1.CronJob{TypeMeta: metav1.TypeMeta{APIVersion: "batch/v1", Kind: "CronJob"}, ObjectMeta: metav1.ObjectMeta{Name: "j"}}
	raw := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "cm"}, "data": map[string]any{"k": "v"}}}
	out, err := ToUnstructured(dep, cron, raw)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 3 {
		t.Fatalf("%d objects, want 3", len(out))
	}
	for _, o := range out {
		if _, ok := o.Object["status"]; ok {
			t.Errorf("%s %s kept its status", o.GetKind(), o.GetName())
		}
		for _, p := range [][]string{{"metadata"}, {"spec", "template", "metadata"}, {"spec", "jobTemplate", "metadata"}, {"spec", "jobTemplate", "spec", "template", "metadata"}} {
			if _, ok, _ := unstructured.NestedFieldNoCopy(o.Object, append(p, "creationTimestamp")...); ok {
				t.Errorf("%s %s kept %v.creationTimestamp", o.GetKind(), o.GetName(), p)
			}
		}
	}
	if out[0].GetLabels()["a"] != "b" || out[0].GetNamespace() != "n" {
		t.Errorf("the Deployment lost its metadata: %v", out[0].Object["metadata"])
	}
	if img, _, _ := unstructured.NestedSlice(out[0].Object, "spec", "template", "spec", "containers"); len(img) != 1 {
		t.Errorf("the Deployment lost its containers: %v", out[0].Object["spec"])
	}
	if v, _, _ := unstructured.NestedString(out[2].Object, "data", "k"); v != "v" || out[2].GetKind() != "ConfigMap" {
		t.Errorf("the Unstructured was not taken as it is: %v", out[2].Object)
	}
}
