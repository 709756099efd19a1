package spinnaker_test

import (
	"fmt"
	"maps"
	"slices"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"

	"github.com/spinops/terraform-provider-spinops/internal/spinnaker"
	"github.com/spinops/terraform-provider-spinops/internal/spinnaker/operatortest"
)

// halyardDeployment is the Deployment Halyard generates for a service, as
// far as labels go (spinnaker/halyard halyard-deploy/src/main/resources/
// kubernetes/manifests/deployment.yml): selector app + cluster, the pod
// template carrying those and the app.kubernetes.io labels.
func halyardDeployment(s spinnaker.Service, namespace, version string) *appsv1.Deployment {
	podLabels := map[string]string{"app": "spin", "cluster": s.ObjectName(), "app.kubernetes.io/name": s.Name,
		"app.kubernetes.io/managed-by": "halyard", "app.kubernetes.io/part-of": "spinnaker", "app.kubernetes.io/version": version}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: s.ObjectName(), Namespace: namespace, Labels: maps.Clone(podLabels)},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(int32(s.Replicas)),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "spin", "cluster": s.ObjectName()}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: podLabels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: s.Name, Image: "spin/" + s.Name + ":" + version}}},
			},
		},
	}
}

// zoneSpreadProblems says why dep's pods could all land in one availability
// zone: no zone constraint with maxSkew 1 and whenUnsatisfiable want whose
// selector matches dep's pods (and no other service's), or fewer than two
// replicas. others are the pod labels of the zone's other services.
func zoneSpreadProblems(dep *appsv1.Deployment, want corev1.UnsatisfiableConstraintAction, others []map[string]string) []string {
	var problems []string
	if dep.Spec.Replicas == nil || *dep.Spec.Replicas < 2 {
		problems = append(problems, fmt.Sprintf("%s runs %v replicas", dep.Name, dep.Spec.Replicas))
	}
	pods := labels.Set(dep.Spec.Template.Labels)
	found := false
	for _, c := range dep.Spec.Template.Spec.TopologySpreadConstraints {
		if c.TopologyKey != spinnaker.TopologyZone {
			continue
		}
		sel, err := metav1.LabelSelectorAsSelector(c.LabelSelector)
		switch {
		case err != nil || c.LabelSelector == nil:
			problems = append(problems, fmt.Sprintf("%s: zone constraint without a valid selector (%v)", dep.Name, err))
		case !sel.Matches(pods):
			problems = append(problems, fmt.Sprintf("%s: the zone constraint's selector %s does not match its pods %v", dep.Name, sel, pods))
		case c.MaxSkew != 1 || c.WhenUnsatisfiable != want:
			problems = append(problems, fmt.Sprintf("%s: zone constraint maxSkew %d whenUnsatisfiable %s, want 1 and %s", dep.Name, c.MaxSkew, c.WhenUnsatisfiable, want))
		default:
			found = true
			for _, o := range others {
				if sel.Matches(labels.Set(o)) {
					problems = append(problems, fmt.Sprintf("%s: the zone constraint's selector %s also matches the pods of %s", dep.Name, sel, o["cluster"]))
				}
			}
		}
		// What the operator's k8s.io/api v0.23.5 would drop.
		if c.MinDomains != nil || c.NodeAffinityPolicy != nil || c.NodeTaintsPolicy != nil || len(c.MatchLabelKeys) > 0 {
			problems = append(problems, fmt.Sprintf("%s: constraint %s uses fields the operator (k8s.io/api v0.23.5) drops", dep.Name, c.TopologyKey))
		}
	}
	if !found {
		problems = append(problems, fmt.Sprintf("%s: no zone spread constraint (%s) with maxSkew 1 that keeps its replicas out of a single zone", dep.Name, spinnaker.TopologyZone))
	}
	return problems
}

func haTestInstallation(canary bool) *spinnaker.Installation {
	inst := &spinnaker.Installation{ID: "op", Namespace: "op", SpinnakerVersion: "1.35.3",
		Auth: &spinnaker.Auth{OAuth2: &spinnaker.OAuth2{Provider: "github", ClientID: "id"}}}
	if canary {
		inst.Features = map[string]bool{spinnaker.FeatureCanary: true}
	}
	return inst
}

// TestRender_haServicesCannotLandInOneZone renders HA zones of several
// shapes and, for every service the renderer produces (not a list of
// names), builds the Deployment Halyard would generate, applies the
// SpinnakerService's kustomize patches as the operator does (the stand-in's
// copy of its patch transformer) and requires: every service that can run
// more than one replica does, and every such Deployment has a zone spread
// constraint selecting exactly its own pods.
func TestRender_haServicesCannotLandInOneZone(t *testing.T) {
	cases := map[string]struct {
		inst *spinnaker.Installation
		ha   spinnaker.HA
		want corev1.UnsatisfiableConstraintAction
	}{
		"split clouddriver, fiat":        {haTestInstallation(false), spinnaker.HA{Enabled: true, ClouddriverSplit: true, Replicas: 2}, corev1.DoNotSchedule},
		"unsplit clouddriver, kayenta":   {haTestInstallation(true), spinnaker.HA{Enabled: true, Replicas: 3}, corev1.DoNotSchedule},
		"split, required explicitly":     {haTestInstallation(true), spinnaker.HA{Enabled: true, ClouddriverSplit: true, Replicas: 3, ZoneSpread: spinnaker.ZoneSpreadRequired}, corev1.DoNotSchedule},
		"split, zone_spread = preferred": {haTestInstallation(false), spinnaker.HA{Enabled: true, ClouddriverSplit: true, Replicas: 2, ZoneSpread: spinnaker.ZoneSpreadPreferred}, corev1.ScheduleAnyway},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			ha := tc.ha
			z := &spinnaker.Zone{Name: "green", Namespace: "spin-green", Tier: spinnaker.TierProduction, HA: &ha}
			r, err := spinnaker.Render(tc.inst, z, nil)
			if err != nil {
				t.Fatal(err)
			}
			spec := spinnaker.SpecOf(r.Service)
			var podLabels []map[string]string
			names := map[string]bool{}
			for _, s := range r.Services {
				podLabels = append(podLabels, halyardDeployment(s, z.Namespace, "1.35.3").Spec.Template.Labels)
				names[s.Name] = true
			}
			// A kustomize key that names no generated service is ignored
			// by the operator: it would be a constraint that never applies.
			kust, _ := spec["kustomize"].(map[string]any)
			for k := range kust {
				if !names[k] {
					t.Errorf("spec.kustomize.%s names no service of the zone (%v)", k, slices.Sorted(maps.Keys(names)))
				}
			}
			ha2 := 0
			for i, s := range r.Services {
				if spinnaker.IsSingleton(s.Name) {
					if s.Replicas != 1 {
						t.Errorf("singleton %s runs %d replicas", s.Name, s.Replicas)
					}
					continue
				}
				ha2++
				dep := halyardDeployment(s, z.Namespace, "1.35.3")
				if err := operatortest.ApplyKustomize(spec, s.Name, dep, nil); err != nil {
					t.Fatalf("%s: applying the kustomize patches as the operator does: %v", s.Name, err)
				}
				others := slices.Delete(slices.Clone(podLabels), i, i+1)
				for _, p := range zoneSpreadProblems(dep, tc.want, others) {
					t.Error(p)
				}
			}
			if ha2 < 7 {
				t.Errorf("only %d HA services checked; the renderer produced %v", ha2, r.Services)
			}
		})
	}
}

// TestRender_noSpreadOrBudgetWithoutHA: no HA, HA off, or one replica
// render neither kustomize patches nor PodDisruptionBudgets (a budget on a
// single replica would block every node drain).
func TestRender_noSpreadOrBudgetWithoutHA(t *testing.T) {
	for name, ha := range map[string]*spinnaker.HA{
		"no ha block": nil,
		"ha off":      {Enabled: false, ClouddriverSplit: true, Replicas: 3},
		"one replica": {Enabled: true, ClouddriverSplit: true, Replicas: 1},
	} {
		t.Run(name, func(t *testing.T) {
			z := &spinnaker.Zone{Name: "red", Namespace: "spin-red", Tier: spinnaker.TierSandbox, HA: ha}
			r, err := spinnaker.Render(haTestInstallation(false), z, nil)
			if err != nil {
				t.Fatal(err)
			}
			if k, ok := spinnaker.SpecOf(r.Service)["kustomize"]; ok {
				t.Errorf("spec.kustomize = %v", k)
			}
			if len(r.PDBs) != 0 {
				t.Errorf("%d PodDisruptionBudgets rendered", len(r.PDBs))
			}
		})
	}
}

// TestRender_disruptionBudgetPerHAService: one budget per service with at
// least two replicas, maxUnavailable 1, selecting its pods (as Halyard
// labels them) and no other service's; none for the singletons.
func TestRender_disruptionBudgetPerHAService(t *testing.T) {
	z := &spinnaker.Zone{Name: "green", Namespace: "spin-green", Tier: spinnaker.TierProduction,
		HA: &spinnaker.HA{Enabled: true, ClouddriverSplit: true, Replicas: 3}}
	r, err := spinnaker.Render(haTestInstallation(true), z, nil)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]*policyv1.PodDisruptionBudget{}
	for _, u := range r.PDBs {
		var p policyv1.PodDisruptionBudget
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &p); err != nil {
			t.Fatal(err)
		}
		if p.Namespace != z.Namespace || p.Labels[spinnaker.LabelZone] != z.Name || p.Labels[spinnaker.LabelManagedBy] != "spinops" {
			t.Errorf("%s: namespace %s labels %v", p.Name, p.Namespace, p.Labels)
		}
		byName[p.Name] = &p
	}
	for _, s := range r.Services {
		p := byName[s.ObjectName()]
		if s.Replicas < 2 {
			if p != nil {
				t.Errorf("%s runs %d replica(s) and has a PodDisruptionBudget", s.Name, s.Replicas)
			}
			continue
		}
		if p == nil {
			t.Errorf("%s runs %d replicas and has no PodDisruptionBudget", s.Name, s.Replicas)
			continue
		}
		delete(byName, s.ObjectName())
		if p.Spec.MaxUnavailable == nil || p.Spec.MaxUnavailable.IntValue() != 1 || p.Spec.MinAvailable != nil {
			t.Errorf("%s: maxUnavailable %v minAvailable %v, want maxUnavailable 1", p.Name, p.Spec.MaxUnavailable, p.Spec.MinAvailable)
		}
		sel, err := metav1.LabelSelectorAsSelector(p.Spec.Selector)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range r.Services {
			pods := labels.Set(halyardDeployment(o, z.Namespace, "1.35.3").Spec.Template.Labels)
			if sel.Matches(pods) != (o.Name == s.Name) {
				t.Errorf("budget %s (selector %s) matches the pods of %s: %v", p.Name, sel, o.Name, sel.Matches(pods))
			}
		}
	}
	if len(byName) > 0 {
		t.Errorf("budgets for no HA service: %v", slices.Sorted(maps.Keys(byName)))
	}
}
