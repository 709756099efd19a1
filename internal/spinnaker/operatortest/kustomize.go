package operatortest

import (
	"encoding/json"
	"fmt"
	"strings"

	jsonpatch "gopkg.in/evanphx/json-patch.v4"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"sigs.k8s.io/yaml"
)

// kustomization is one object's entry of spec.kustomize.<service>
// (armory/spinnaker-operator pkg/apis/spinnaker/interfaces/interfaces.go,
// Kustomization; the CRD's spec.kustomize).
type kustomization struct {
	Patches               []string `json:"patches,omitempty"`
	PatchesJSON6902       string   `json:"patchesJson6902,omitempty"`
	PatchesStrategicMerge []string `json:"patchesStrategicMerge,omitempty"`
}

// serviceKustomization is spec.kustomize.<service> (ServiceKustomization).
type serviceKustomization struct {
	Service    *kustomization `json:"service,omitempty"`
	Deployment *kustomization `json:"deployment,omitempty"`
}

// ApplyKustomize does what the real operator's patch transformer does
// (armory/spinnaker-operator v1.3.1 pkg/deploy/spindeploy/transformer/
// patches.go, TransformManifests and applyPatches) to the Deployment and
// Service generated for one service: spec.kustomize is keyed by the
// service's canonical name (gate, clouddriver-ro, echo-worker; the key of
// Halyard's generated config); a key that names no generated service is
// ignored; for each object, first the `patches` (JSON merge patches, in
// order), then `patchesJson6902` (one RFC 6902 patch), then the
// `patchesStrategicMerge` (in order), each given as YAML or JSON; an error
// names the service and the patch's index as the operator's does and fails
// the deploy. svc may be nil when only the Deployment is wanted.
//
// The operator then decodes the result into its typed Deployment
// (k8s.io/api v0.23.5), dropping newer fields; the stand-in decodes into
// this module's newer types and cannot show that loss (docs/operator.md).
func ApplyKustomize(spec map[string]any, service string, dep *appsv1.Deployment, svc *corev1.Service) error {
	raw, ok, _ := unstructured.NestedFieldNoCopy(spec, "kustomize", service)
	if !ok {
		return nil
	}
	b, err := json.Marshal(raw)
	if err != nil {
		return err
	}
	var k serviceKustomization
	if err := json.Unmarshal(b, &k); err != nil {
		return fmt.Errorf("reading spec.kustomize.%s: %w", service, err)
	}
	if k.Deployment != nil {
		dep.APIVersion, dep.Kind = "apps/v1", "Deployment"
		if err := applyPatches(service, k.Deployment, dep, &appsv1.Deployment{}); err != nil {
			return err
		}
	}
	if k.Service != nil && svc != nil {
		svc.APIVersion, svc.Kind = "v1", "Service"
		if err := applyPatches(service, k.Service, svc, &corev1.Service{}); err != nil {
			return err
		}
	}
	return nil
}

// applyPatches patches obj in place; schema is an empty object of obj's
// type, for the strategic merge patch's merge keys.
func applyPatches(service string, k *kustomization, obj, schema any) error {
	doc, err := json.Marshal(obj)
	if err != nil {
		return err
	}
	for i, p := range k.Patches {
		pj, err := yaml.YAMLToJSON([]byte(p))
		if err == nil {
			doc, err = jsonpatch.MergePatch(doc, pj)
		}
		if err != nil {
			return fmt.Errorf("unable to apply json patch for %s at index %d: %v", service, i, err)
		}
	}
	if k.PatchesJSON6902 != "" {
		pj, err := yaml.YAMLToJSON([]byte(k.PatchesJSON6902))
		var patch jsonpatch.Patch
		if err == nil {
			patch, err = jsonpatch.DecodePatch(pj)
		}
		if err == nil {
			doc, err = patch.Apply(doc)
		}
		if err != nil {
			if strings.Contains(err.Error(), "doc is missing key") {
				err = fmt.Errorf("object to be patched is missing field (%s)", err)
			}
			return fmt.Errorf("unable to apply json6902 patch for %s: %v", service, err)
		}
	}
	for i, p := range k.PatchesStrategicMerge {
		pj, err := yaml.YAMLToJSON([]byte(p))
		if err == nil {
			doc, err = strategicpatch.StrategicMergePatch(doc, pj, schema)
		}
		if err != nil {
			return fmt.Errorf("unable to apply strategic merge patch for %s at index %d: %v", service, i, err)
		}
	}
	// Decode into a fresh object: the patches may have removed fields.
	switch o := obj.(type) {
	case *appsv1.Deployment:
		*o = appsv1.Deployment{}
	case *corev1.Service:
		*o = corev1.Service{}
	}
	if err := json.Unmarshal(doc, obj); err != nil {
		return fmt.Errorf("decoding the patched object of %s: %w", service, err)
	}
	return nil
}
