package spinnaker

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/spinops/terraform-provider-spinops/internal/kube"
)

// Adopting a SpinnakerService spinops did not make (docs/migration.md,
// "Adopting an operator install in place"): the zone's arguments are read
// from the object itself by the one mapping both `spinops migrate plan
// --adopt` (which writes them as Terraform) and the zone's import (which
// reads them into state) use, so that the plan after the import is empty.

// DefaultHAReplicas is the zone's ha.replicas when the configuration leaves
// it out (the schema's default), the value an adopted zone's HA carries.
const DefaultHAReplicas = 2

// HAFromConfig reads Halyard's deploymentEnvironment.haServices (the
// deployment configuration's clouddriver and echo entries) as the zone's
// ha: on when either runs split, Clouddriver split as it was. nil when
// neither is on.
func HAFromConfig(config map[string]any) *HA {
	env, _ := config["deploymentEnvironment"].(map[string]any)
	ha, _ := env["haServices"].(map[string]any)
	cd, _ := ha["clouddriver"].(map[string]any)
	echo, _ := ha["echo"].(map[string]any)
	on := func(m map[string]any) bool { b, _ := m["enabled"].(bool); return b }
	if !on(cd) && !on(echo) {
		return nil
	}
	return &HA{Enabled: true, ClouddriverSplit: on(cd), Replicas: DefaultHAReplicas}
}

// ExposeFromSpec reads the operator's spec.expose (type service: the
// Services' annotations) and the hosts of security.uiSecurity and
// apiSecurity's overrideBaseUrl as the zone's expose. nil, with why, when
// spinops' expose cannot say it (another type, or none).
func ExposeFromSpec(expose, config map[string]any) (*Expose, string) {
	if len(expose) == 0 {
		return nil, ""
	}
	typ, _ := expose["type"].(string)
	if typ != ExposeService {
		return nil, fmt.Sprintf("spec.expose.type %q: spinops exposes with type service or ingress", typ)
	}
	e := &Expose{Type: ExposeService}
	sec, _ := config["security"].(map[string]any)
	for _, h := range []struct {
		key  string
		host *string
	}{{"uiSecurity", &e.DeckHost}, {"apiSecurity", &e.GateHost}} {
		m, _ := sec[h.key].(map[string]any)
		if s, _ := m["overrideBaseUrl"].(string); s != "" {
			if u, err := url.Parse(s); err == nil && u.Hostname() != "" {
				*h.host = u.Hostname()
			}
		}
	}
	svc, _ := expose["service"].(map[string]any)
	if ann, _ := svc["annotations"].(map[string]any); len(ann) > 0 {
		e.Annotations = map[string]string{}
		for k, v := range ann {
			e.Annotations[k] = fmt.Sprint(v)
		}
	}
	return e, ""
}

// AdoptedZone reads a SpinnakerService that spinops did not make as a
// production zone: name and namespace, the version, ha and expose as
// HAFromConfig and ExposeFromSpec read them, and the production zone's
// policy defaults. Everything else of the spec belongs to the installation
// (`spinops migrate plan` writes it there) and is left as it runs until the
// zone is next changed.
func AdoptedZone(obj *unstructured.Unstructured) (*Zone, error) {
	if obj.GetAnnotations()[AnnotationZone] != "" {
		return nil, fmt.Errorf("%s/%s was made by spinops: import it by <namespace>/<name>", obj.GetNamespace(), obj.GetName())
	}
	config, _, _ := unstructured.NestedMap(obj.Object, "spec", "spinnakerConfig", "config")
	if config == nil {
		return nil, fmt.Errorf("SpinnakerService %s/%s has no spec.spinnakerConfig.config: there is no deployment to adopt", obj.GetNamespace(), obj.GetName())
	}
	version, _ := config["version"].(string)
	if version == "" {
		return nil, fmt.Errorf("SpinnakerService %s/%s has no spec.spinnakerConfig.config.version: set the version it runs before adopting it", obj.GetNamespace(), obj.GetName())
	}
	z := &Zone{Name: obj.GetName(), Namespace: obj.GetNamespace(), Tier: TierProduction, Version: version,
		HA:     HAFromConfig(config),
		Policy: &ZonePolicy{Wait: true, RollbackOnFailure: true, DeletionProtection: true}}
	expose, _, _ := unstructured.NestedMap(obj.Object, "spec", "expose")
	z.Expose, _ = ExposeFromSpec(expose, config)
	if err := z.Validate(); err != nil {
		return nil, fmt.Errorf("adopting SpinnakerService %s/%s: %w", obj.GetNamespace(), obj.GetName(), err)
	}
	return z, nil
}

// ErrNoOperator: no Spinnaker Operator reconciles the namespace.
var ErrNoOperator = errors.New("no Spinnaker Operator reconciles the namespace")

// OperatorOf finds the one Spinnaker Operator that reconciles namespace's
// SpinnakerServices (FindOperators: one watching that namespace or every
// namespace). Adoption keeps that operator as it runs.
func OperatorOf(ctx context.Context, c *kube.Client, namespace string) (OperatorInstance, error) {
	found, err := FindOperators(ctx, c)
	if err != nil {
		return OperatorInstance{}, err
	}
	var match []OperatorInstance
	for _, o := range found {
		if o.WatchNamespace == "" || o.WatchNamespace == namespace {
			match = append(match, o)
		}
	}
	switch len(match) {
	case 0:
		return OperatorInstance{}, fmt.Errorf("%w %q (no Deployment running a spinnaker-operator container watches it): "+
			"a SpinnakerService nobody reconciles cannot be adopted", ErrNoOperator, namespace)
	case 1:
		return match[0], nil
	}
	names := make([]string, len(match))
	for i, o := range match {
		names[i] = o.String()
	}
	return OperatorInstance{}, fmt.Errorf("more than one Spinnaker Operator reconciles namespace %q (%s): they fight over its SpinnakerServices; "+
		"remove all but one before adopting", namespace, strings.Join(names, ", "))
}
