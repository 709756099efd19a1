package operatortest_test

import (
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/spinops/terraform-provider-spinops/internal/spinnaker"
	"github.com/spinops/terraform-provider-spinops/internal/spinnaker/operatortest"
)

func gateDeployment() *appsv1.Deployment {
	l := map[string]string{"app": "spin", "cluster": "spin-gate"}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "spin-gate", Labels: l},
		Spec: appsv1.DeploymentSpec{Replicas: ptr.To(int32(2)), Selector: &metav1.LabelSelector{MatchLabels: l},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: l}, Spec: corev1.PodSpec{
				Containers: []corev1.Container{{Name: "gate", Image: "gate:1", VolumeMounts: []corev1.VolumeMount{{Name: "a", MountPath: "/a"}, {Name: "b", MountPath: "/b"}}}},
			}}},
	}
}

func kustomizeSpec(service string, deployment map[string]any) map[string]any {
	return map[string]any{"kustomize": map[string]any{service: map[string]any{"deployment": deployment}}}
}

// TestApplyKustomize copies the real operator's patch transformer
// (armory/spinnaker-operator v1.3.1 pkg/deploy/spindeploy/transformer/
// patches.go): patches keyed by the service's name, JSON merge patches,
// then the RFC 6902 patch, then strategic merge patches (YAML or JSON),
// errors naming the service and index, other services untouched.
func TestApplyKustomize(t *testing.T) {
	t.Run("strategic merge adds spread constraints, keeping the containers", func(t *testing.T) {
		d := gateDeployment()
		err := operatortest.ApplyKustomize(kustomizeSpec("gate", map[string]any{"patchesStrategicMerge": []any{
			"spec:\n  template:\n    spec:\n      topologySpreadConstraints:\n      - maxSkew: 1\n        topologyKey: topology.kubernetes.io/zone\n        whenUnsatisfiable: DoNotSchedule\n",
			`{"spec":{"template":{"spec":{"containers":[{"name":"gate","image":"gate:2"}]}}}}`,
		}}), "gate", d, nil)
		if err != nil {
			t.Fatal(err)
		}
		c := d.Spec.Template.Spec
		if len(c.TopologySpreadConstraints) != 1 || c.TopologySpreadConstraints[0].TopologyKey != "topology.kubernetes.io/zone" {
			t.Errorf("constraints %+v", c.TopologySpreadConstraints)
		}
		// Strategic merge: containers merge by name.
		if len(c.Containers) != 1 || c.Containers[0].Image != "gate:2" || len(c.Containers[0].VolumeMounts) != 2 {
			t.Errorf("containers %+v", c.Containers)
		}
		if d.Name != "spin-gate" || *d.Spec.Replicas != 2 {
			t.Errorf("the rest of the Deployment changed: %s %d", d.Name, *d.Spec.Replicas)
		}
	})
	t.Run("JSON merge patch replaces lists, then json6902, then strategic merge", func(t *testing.T) {
		d := gateDeployment()
		err := operatortest.ApplyKustomize(kustomizeSpec("gate", map[string]any{
			"patches":               []any{"spec:\n  template:\n    spec:\n      containers:\n      - name: other\n        image: other:1\n"},
			"patchesJson6902":       "- op: replace\n  path: /spec/template/spec/containers/0/image\n  value: other:2\n",
			"patchesStrategicMerge": []any{"spec:\n  template:\n    spec:\n      containers:\n      - name: other\n        image: other:3\n"},
		}), "gate", d, nil)
		if err != nil {
			t.Fatal(err)
		}
		if c := d.Spec.Template.Spec.Containers; len(c) != 1 || c[0].Name != "other" || c[0].Image != "other:3" || len(c[0].VolumeMounts) != 0 {
			t.Errorf("containers %+v", c)
		}
	})
	t.Run("json6902 remove", func(t *testing.T) {
		d := gateDeployment()
		if err := operatortest.ApplyKustomize(kustomizeSpec("gate", map[string]any{"patchesJson6902": "- op: remove\n  path: /spec/template/spec/containers/0/volumeMounts/1\n"}), "gate", d, nil); err != nil {
			t.Fatal(err)
		}
		if m := d.Spec.Template.Spec.Containers[0].VolumeMounts; len(m) != 1 || m[0].Name != "a" {
			t.Errorf("volume mounts %+v", m)
		}
	})
	t.Run("another service's patches do not apply", func(t *testing.T) {
		d := gateDeployment()
		spec := kustomizeSpec("gate-extra", map[string]any{"patchesStrategicMerge": []any{"spec:\n  replicas: 5\n"}})
		if err := operatortest.ApplyKustomize(spec, "gate", d, nil); err != nil || *d.Spec.Replicas != 2 {
			t.Errorf("err %v, replicas %d", err, *d.Spec.Replicas)
		}
	})
	t.Run("errors name the service and patch", func(t *testing.T) {
		for what, tc := range map[string]struct {
			deployment map[string]any
			want       string
		}{
			"strategic": {map[string]any{"patchesStrategicMerge": []any{"spec: {}\n", "spec: [\n"}}, "unable to apply strategic merge patch for gate at index 1"},
			"json6902":  {map[string]any{"patchesJson6902": "- op: replace\n  path: /spec/nothing/here\n  value: 1\n"}, "unable to apply json6902 patch for gate"},
			"merge":     {map[string]any{"patches": []any{"spec: [\n"}}, "unable to apply json patch for gate at index 0"},
		} {
			err := operatortest.ApplyKustomize(kustomizeSpec("gate", tc.deployment), "gate", gateDeployment(), nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s: err = %v, want %q", what, err, tc.want)
			}
		}
	})
}

// TestStandIn_kustomizePatchesDeployments: the stand-in applies
// spec.kustomize to the Deployments it creates, redeploys when only
// spec.kustomize changed (the real operator hashes it, pkg/deploy/
// spindeploy/config/detector.go), and fails the deploy on a patch that does
// not apply.
func TestStandIn_kustomizePatchesDeployments(t *testing.T) {
	const opNS = "spin-kustomize"
	e := startEnv(t, opNS)
	if err := spinnaker.EnsureOperator(e.ctx, e.client, settings(opNS, false), true, time.Minute); err != nil {
		t.Fatal(err)
	}
	spread := func(when string) map[string]any {
		return map[string]any{"kustomize": map[string]any{"gate": map[string]any{"deployment": map[string]any{"patchesStrategicMerge": []any{
			"spec:\n  template:\n    spec:\n      topologySpreadConstraints:\n      - maxSkew: 1\n        topologyKey: topology.kubernetes.io/zone\n        whenUnsatisfiable: " + when +
				"\n        labelSelector:\n          matchLabels: {app: spin, cluster: spin-gate}\n",
		}}}}}
	}
	gateSpread := func() string {
		d, err := e.client.Clientset.AppsV1().Deployments(opNS).Get(e.ctx, "spin-gate", metav1.GetOptions{})
		if err != nil {
			return err.Error()
		}
		c := d.Spec.Template.Spec.TopologySpreadConstraints
		if len(c) != 1 {
			return "no constraint"
		}
		return string(c[0].WhenUnsatisfiable)
	}
	if _, err := e.client.Apply(e.ctx, spinsvc(opNS, "spinnaker", "1.35.3", nil, spread("DoNotSchedule"))); err != nil {
		t.Fatal(err)
	}
	e.waitFor("spin-gate patched", func() (bool, string) { s := gateSpread(); return s == "DoNotSchedule", s })
	if d, err := e.client.Clientset.AppsV1().Deployments(opNS).Get(e.ctx, "spin-deck", metav1.GetOptions{}); err != nil || len(d.Spec.Template.Spec.TopologySpreadConstraints) != 0 {
		t.Errorf("spin-deck: %v, constraints %v", err, d.Spec.Template.Spec.TopologySpreadConstraints)
	}
	if _, err := e.client.Apply(e.ctx, spinsvc(opNS, "spinnaker", "1.35.3", nil, spread("ScheduleAnyway"))); err != nil {
		t.Fatal(err)
	}
	e.waitFor("spin-gate re-patched after a kustomize-only change", func() (bool, string) { s := gateSpread(); return s == "ScheduleAnyway", s })

	bad := map[string]any{"kustomize": map[string]any{"gate": map[string]any{"deployment": map[string]any{"patchesJson6902": "- op: remove\n  path: /spec/nothing\n"}}}}
	if _, err := e.client.Apply(e.ctx, spinsvc(opNS, "spinnaker", "1.35.3", nil, bad)); err != nil {
		t.Fatal(err)
	}
	e.waitFor("the deploy failing on the patch", func() (bool, string) {
		err := e.op.LastError()
		return err != nil && strings.Contains(err.Error(), "unable to apply json6902 patch for gate"), errString(err)
	})
}
