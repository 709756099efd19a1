package spinnaker

import (
	"context"
	"fmt"
	"reflect"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/util/retry"

	"github.com/spinops/terraform-provider-spinops/internal/kube"
)

// The real operator finds a change of spec.expose with its expose detector
// (armory/spinnaker-operator pkg/deploy/spindeploy/expose_service/
// detector.go), which compares the live spin-deck and spin-gate Services
// with spec.expose (type, the <service>-tcp port, annotations) and records
// no hash; it applies only while spec.expose.type is "service". So:
//
//   - after an apply that changed spec.expose, status.status still says OK
//     for the Services before until the operator has redeployed them, and
//     readiness has to look at the Services themselves (exposePending);
//   - removing a type-service expose is seen by no detector: unless a
//     hashed part changed too (an overrideBaseUrl that went with a host),
//     the operator never redeploys and Deck and Gate stay on their load
//     balancers. spinops then removes status.lastDeployed.config, so the
//     config detector finds no prior hash (interfaces/validation.go,
//     UpdateHashIfNotExist) and the operator deploys the spec as it is:
//     Halyard's Services again (forceRedeploy).

// exposeChanged says whether spec.expose differs between two
// SpinnakerServices (nil before: created).
func exposeChanged(before, after *unstructured.Unstructured) bool {
	if before == nil || after == nil {
		return false
	}
	return !reflect.DeepEqual(nested(before, "spec", "expose"), nested(after, "spec", "expose"))
}

func nested(obj *unstructured.Unstructured, path ...string) any {
	return nestedValue(obj.Object, path...)
}

// exposesService says whether the operator's expose transformer and
// detector apply to obj (spec.expose.type exactly "service").
func exposesService(obj *unstructured.Unstructured) bool {
	t, _, _ := unstructured.NestedString(obj.Object, "spec", "expose", "type")
	return t == ExposeService
}

// exposedServiceShape is what spin-<name>'s Service must show once the
// operator has deployed obj's spec.expose: with a type-service expose the
// expose transformer's type (the service's override's, else
// expose.service.type), public port (the override's publicPort, else
// expose.service.publicPort; 0 when the spec gives none, which is then not
// checked) on the port named <name>-tcp, and expose's annotations (the
// override's on top); without one Halyard's type (halyardServiceType).
type exposedServiceShape struct {
	typ         string
	port        int64
	annotations map[string]string
}

func wantedShape(obj *unstructured.Unstructured, name string) exposedServiceShape {
	if !exposesService(obj) {
		return exposedServiceShape{typ: halyardServiceType(obj, name)}
	}
	w := exposedServiceShape{annotations: map[string]string{}}
	w.typ, _, _ = unstructured.NestedString(obj.Object, "spec", "expose", "service", "type")
	override, hasOverride, _ := unstructured.NestedMap(obj.Object, "spec", "expose", "service", "overrides", name)
	if t, _ := override["type"].(string); t != "" {
		w.typ = t
	}
	if p := toInt(override["publicPort"]); p != 0 {
		w.port = p
	} else if !hasOverride {
		w.port = toInt(nested(obj, "spec", "expose", "service", "publicPort"))
	}
	for _, path := range [][]string{{"spec", "expose", "service", "annotations"}, {"spec", "expose", "service", "overrides", name, "annotations"}} {
		m, _, _ := unstructured.NestedMap(obj.Object, path...)
		for k, v := range m {
			w.annotations[k] = fmt.Sprint(v)
		}
	}
	return w
}

// halyardServiceType is the type Halyard gives spin-<name>'s Service:
// service-settings' <name>.kubernetes.serviceType, the global "spinnaker"
// service-settings' included (settingValue), else ClusterIP (Halyard's
// KubernetesSettings default).
func halyardServiceType(obj *unstructured.Unstructured, name string) string {
	if t, _ := settingValue(specPart(obj, "service-settings"), name, "kubernetes", "serviceType").(string); t != "" {
		return t
	}
	return "ClusterIP"
}

// exposePending says what of obj's spec.expose spin-deck's and spin-gate's
// Services do not show yet ("" when both do). Annotations are checked as
// present with their values, not as the only ones: another controller's
// annotation is the operator's to remove, not a reason to wait.
func (d *Deployer) exposePending(ctx context.Context, obj *unstructured.Unstructured) (string, error) {
	var pending []string
	for _, name := range ExposedServices {
		objName := "spin-" + name
		want := wantedShape(obj, name)
		svc, err := d.Target.Clientset.CoreV1().Services(obj.GetNamespace()).Get(ctx, objName, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			pending = append(pending, "Service "+objName+" not found")
			continue
		}
		if err != nil {
			return "", fmt.Errorf("reading Service %s/%s: %w", obj.GetNamespace(), objName, err)
		}
		if string(svc.Spec.Type) != want.typ {
			pending = append(pending, fmt.Sprintf("%s is of type %s, want %s", objName, svc.Spec.Type, want.typ))
			continue
		}
		if want.port != 0 {
			var port int64
			for _, p := range svc.Spec.Ports {
				if p.Name == name+"-tcp" {
					port = int64(p.Port)
				}
			}
			if port != want.port {
				pending = append(pending, fmt.Sprintf("%s has no port %s-tcp on %d", objName, name, want.port))
				continue
			}
		}
		for k, v := range want.annotations {
			if got, ok := svc.Annotations[k]; !ok || got != v {
				pending = append(pending, fmt.Sprintf("%s lacks annotation %s=%q", objName, k, v))
				break
			}
		}
	}
	if len(pending) == 0 {
		return "", nil
	}
	return "the operator has not deployed the changed spec.expose to the Services yet: " + strings.Join(pending, "; "), nil
}

// forceRedeploy removes status.lastDeployed.config from the
// SpinnakerService, so the operator's config detector finds no prior hash
// and deploys the spec as it is, recording the hash again.
func (d *Deployer) forceRedeploy(ctx context.Context, namespace, name string) error {
	ri := d.Target.Dynamic.Resource(SpinnakerServiceGVK.GroupVersion().WithResource("spinnakerservices")).Namespace(namespace)
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		obj, err := ri.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if LastDeployedHash(obj, LastDeployedConfig) == "" {
			return nil
		}
		unstructured.RemoveNestedField(obj.Object, "status", "lastDeployed", LastDeployedConfig)
		_, err = ri.UpdateStatus(ctx, obj, metav1.UpdateOptions{FieldManager: kube.FieldManager})
		return err
	})
	if err != nil {
		return fmt.Errorf("asking the operator to deploy SpinnakerService %s/%s again (spec.expose was removed, which its change detection does not see; removing status.lastDeployed.config): %w", namespace, name, err)
	}
	return nil
}

// URLsOf are Deck's and Gate's URLs as the SpinnakerService tells them: the
// base URLs spinops renders from the expose hosts
// (security.uiSecurity / apiSecurity overrideBaseUrl, for every expose
// type), else, with spec.expose.type "service", what the operator reports
// in status.uiUrl / status.apiUrl (its load balancer's address once it has
// one); "" otherwise. Only the operator's expose transformer writes those
// status fields, and only for type service; it leaves them as they were
// when expose goes or is of another type, so they are not read then.
func URLsOf(obj *unstructured.Unstructured) (deck, gate string) {
	st := ParseStatus(obj)
	pick := func(prop, reported string) string {
		if u, _, _ := unstructured.NestedString(obj.Object, "spec", "spinnakerConfig", "config", "security", prop, "overrideBaseUrl"); u != "" {
			return u
		}
		if exposesService(obj) {
			return reported
		}
		return ""
	}
	return pick("uiSecurity", st.UIURL), pick("apiSecurity", st.APIURL)
}
