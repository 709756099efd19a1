package spinnaker

import (
	"fmt"
	"sort"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"github.com/spinops/terraform-provider-spinops/internal/kube"
)

// Zone spread of an HA zone's services (ha.zone_spread).
const (
	// ZoneSpreadRequired: a replica is only scheduled where it keeps the
	// service's replicas spread over the availability zones with a skew of
	// at most 1 (whenUnsatisfiable DoNotSchedule).
	ZoneSpreadRequired = "required"
	// ZoneSpreadPreferred: the scheduler prefers such nodes but schedules
	// anyway (ScheduleAnyway), e.g. on a cluster without zone labels.
	ZoneSpreadPreferred = "preferred"
)

// ZoneSpreads are the values of HA.ZoneSpread.
var ZoneSpreads = []string{ZoneSpreadRequired, ZoneSpreadPreferred}

// Topology keys the well-known node labels carry (set by the cloud
// providers' node controllers and the kubelet).
const (
	TopologyZone     = "topology.kubernetes.io/zone"
	TopologyHostname = "kubernetes.io/hostname"
)

// EffectiveZoneSpread is the zone spread of an HA block: "required" unless
// set (zones stored before the setting existed read back as required).
func (h *HA) EffectiveZoneSpread() string {
	if h == nil || h.ZoneSpread == "" {
		return ZoneSpreadRequired
	}
	return h.ZoneSpread
}

// PodLabels are the labels Halyard gives the pods of a service (and uses
// as its Deployment's selector): app: spin and cluster: spin-<service>
// (spinnaker/halyard halyard-deploy/src/main/resources/kubernetes/
// manifests/deployment.yml, template.metadata.labels and
// spec.selector.matchLabels, name being the service's canonical name). The
// zone spread constraints and the PodDisruptionBudgets select with them.
func (s Service) PodLabels() map[string]string {
	return map[string]string{"app": "spin", "cluster": s.ObjectName()}
}

// HAServices are the services of a zone that run highly available: HA on
// and at least two replicas. The polling singletons (echo-scheduler, igor)
// and every service of an HA zone with replicas = 1 are not: one replica
// cannot be spread, and a disruption budget on it would block every drain.
func HAServices(z *Zone, services []Service) []Service {
	if z.HA == nil || !z.HA.Enabled {
		return nil
	}
	var out []Service
	for _, s := range services {
		if s.Replicas >= 2 {
			out = append(out, s)
		}
	}
	return out
}

// SpreadConstraints are the topology spread constraints of an HA service's
// pods: over the availability zones with maxSkew 1, hard unless
// zone_spread = "preferred", and over the nodes with maxSkew 1, soft (a
// hard node spread would need as many nodes as replicas in every zone).
//
// Only fields of k8s.io/api v0.23.5 are set: the operator decodes the
// patched Deployment into its own typed struct (armory/spinnaker-operator
// pkg/deploy/spindeploy/transformer/patches.go, asDeployment; go.mod of
// v1.3.1), which silently drops newer fields such as nodeTaintsPolicy,
// minDomains and matchLabelKeys.
func SpreadConstraints(z *Zone, s Service) []corev1.TopologySpreadConstraint {
	when := corev1.DoNotSchedule
	if z.HA.EffectiveZoneSpread() == ZoneSpreadPreferred {
		when = corev1.ScheduleAnyway
	}
	sel := &metav1.LabelSelector{MatchLabels: s.PodLabels()}
	return []corev1.TopologySpreadConstraint{
		{MaxSkew: 1, TopologyKey: TopologyZone, WhenUnsatisfiable: when, LabelSelector: sel},
		{MaxSkew: 1, TopologyKey: TopologyHostname, WhenUnsatisfiable: corev1.ScheduleAnyway, LabelSelector: sel},
	}
}

// renderKustomize is spec.kustomize of an HA zone: for every HA service, a
// strategic merge patch of its Deployment that adds SpreadConstraints.
// Halyard's service settings cannot express them (KubernetesSettings has
// no such key, and podSpec.yml renders only nodeSelector, affinity and
// tolerations), so the operator's kustomize patches carry them: the
// operator applies spec.kustomize.<service>.deployment patches to the
// Deployment Halyard generated for that service, keyed by its canonical
// name (clouddriver-ro, echo-worker), after its other transformers
// (pkg/deploy/spindeploy/transformer/patches.go, spindeploy.go), and
// redeploys when spec.kustomize changes (pkg/deploy/spindeploy/config/
// detector.go hashes it).
func renderKustomize(z *Zone, services []Service) (map[string]any, error) {
	out := map[string]any{}
	for _, s := range HAServices(z, services) {
		patch := map[string]any{"spec": map[string]any{"template": map[string]any{"spec": map[string]any{
			"topologySpreadConstraints": SpreadConstraints(z, s),
		}}}}
		b, err := yaml.Marshal(patch)
		if err != nil {
			return nil, fmt.Errorf("rendering the zone spread patch of %s: %w", s.Name, err)
		}
		out[s.Name] = map[string]any{"deployment": map[string]any{"patchesStrategicMerge": []any{string(b)}}}
	}
	return out, nil
}

// PDBGVK is the kind of the disruption budgets spinops creates.
var PDBGVK = policyv1.SchemeGroupVersion.WithKind("PodDisruptionBudget")

// renderPDBs are the PodDisruptionBudgets of a zone: one per HA service,
// named like its Deployment, selecting its pods by Halyard's labels, with
// maxUnavailable 1 (it follows a changed replica count without a
// re-render, where minAvailable would have to be kept at replicas-1) and
// unhealthyPodEvictionPolicy AlwaysAllow (a pod that is not ready anyway
// may be evicted, so a crash-looping replica does not block a drain).
// Neither the operator nor Halyard creates disruption budgets (no
// PodDisruptionBudget in armory/spinnaker-operator v1.3.1 outside vendor/,
// nor in spinnaker/halyard).
func renderPDBs(inst *Installation, z *Zone, services []Service) ([]*unstructured.Unstructured, error) {
	var out []*unstructured.Unstructured
	for _, s := range HAServices(z, services) {
		pdb := &policyv1.PodDisruptionBudget{
			TypeMeta:   metav1.TypeMeta{APIVersion: PDBGVK.GroupVersion().String(), Kind: PDBGVK.Kind},
			ObjectMeta: metav1.ObjectMeta{Name: s.ObjectName(), Namespace: z.Namespace, Labels: zoneLabels(inst, z)},
			Spec: policyv1.PodDisruptionBudgetSpec{
				MaxUnavailable:             ptr.To(intstr.FromInt32(1)),
				Selector:                   &metav1.LabelSelector{MatchLabels: s.PodLabels()},
				UnhealthyPodEvictionPolicy: ptr.To(policyv1.AlwaysAllow),
			},
		}
		u, err := kube.ToUnstructured(pdb)
		if err != nil {
			return nil, fmt.Errorf("rendering the PodDisruptionBudget of %s: %w", s.Name, err)
		}
		out = append(out, u...)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].GetName() < out[j].GetName() })
	return out, nil
}
