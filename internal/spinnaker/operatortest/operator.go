// Package operatortest holds TEST STAND-INS for what cannot run on a test
// machine: the Spinnaker Operator (which would run Halyard and Spinnaker's
// containers) and the kubelet (which would run pods). Tests only; nothing in
// the provider imports it.
//
// The operator stand-in turns each SpinnakerService into one Deployment and
// one Service per Spinnaker service, reading the Halyard configuration the
// way the real operator does (haServices for the Clouddriver and Echo
// splits, customSizing for replicas, security.authz for Fiat, canary for
// Kayenta), and reports status as the real operator does: Updating until
// every Deployment has rolled out, then OK, with serviceCount, services[],
// version, uiUrl, apiUrl and lastDeployed. The kubelet stand-in marks every
// pod Running and Ready with a pod IP, so kube-controller-manager completes
// rollouts and fills Endpoints, and the API server's service proxy reaches
// the HTTP servers a test runs on that IP.
package operatortest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"

	"github.com/spinops/terraform-provider-spinops/internal/kube"
	"github.com/spinops/terraform-provider-spinops/internal/spinnaker"
)

// standInManager is the field manager and managed-by label of what the
// stand-in creates.
const standInManager = "spinnaker-operator-standin"

// OperatorOptions configure the operator stand-in.
type OperatorOptions struct {
	// Backend returns the port on the kubelet stand-in's pod IP where the
	// HTTP endpoints of service at version are served; the stand-in points
	// the service's targetPort there. Nil: the service's own port.
	Backend func(service, version string) int
	// Interval between reconciliations; 0 means 200ms.
	Interval time.Duration
}

// Operator is the running operator stand-in.
type Operator struct {
	cs   kubernetes.Interface
	dyn  dynamic.Interface
	opts OperatorOptions

	mu        sync.Mutex
	lastError error
}

var spinsvcResource = spinnaker.SpinnakerServiceGVK.GroupVersion().WithResource("spinnakerservices")

// StartOperator runs the operator stand-in against the cluster until the
// test ends.
func StartOperator(t testing.TB, cfg *rest.Config, opts OperatorOptions) *Operator {
	t.Helper()
	if opts.Interval == 0 {
		opts.Interval = 200 * time.Millisecond
	}
	o := &Operator{cs: kubernetes.NewForConfigOrDie(cfg), dyn: dynamic.NewForConfigOrDie(cfg), opts: opts}
	run(t, opts.Interval, o.reconcileAll)
	return o
}

// LastError is the last reconciliation error (nil when the last pass
// succeeded), for test diagnostics.
func (o *Operator) LastError() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.lastError
}

// run calls fn every interval in a goroutine stopped (and waited for) on
// t.Cleanup.
func run(t testing.TB, interval time.Duration, fn func(context.Context) error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			_ = fn(ctx)
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
}

func (o *Operator) reconcileAll(ctx context.Context) error {
	list, err := o.dyn.Resource(spinsvcResource).List(ctx, metav1.ListOptions{})
	if err != nil {
		if apierrors.IsNotFound(err) {
			return nil // CRDs not installed yet
		}
		o.setErr(err)
		return err
	}
	var errs []string
	for i := range list.Items {
		if err := o.reconcile(ctx, &list.Items[i]); err != nil {
			errs = append(errs, err.Error())
		}
	}
	if len(errs) > 0 {
		err = fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	o.setErr(err)
	return err
}

func (o *Operator) setErr(err error) {
	o.mu.Lock()
	o.lastError = err
	o.mu.Unlock()
}

type service struct {
	name     string
	port     int
	replicas int32
}

// servicesOf reads the Halyard configuration as the operator does.
func servicesOf(config map[string]any) []service {
	names := []string{"deck", "gate", "orca", "front50", "rosco", "igor"}
	if b, _, _ := unstructured.NestedBool(config, "deploymentEnvironment", "haServices", "clouddriver", "enabled"); b {
		names = append(names, "clouddriver-caching", "clouddriver-rw", "clouddriver-ro")
		if off, _, _ := unstructured.NestedBool(config, "deploymentEnvironment", "haServices", "clouddriver", "disableClouddriverRoDeck"); !off {
			names = append(names, "clouddriver-ro-deck")
		}
	} else {
		names = append(names, "clouddriver")
	}
	if b, _, _ := unstructured.NestedBool(config, "deploymentEnvironment", "haServices", "echo", "enabled"); b {
		names = append(names, "echo-scheduler", "echo-worker")
	} else {
		names = append(names, "echo")
	}
	if b, _, _ := unstructured.NestedBool(config, "security", "authz", "enabled"); b {
		names = append(names, "fiat")
	}
	if b, _, _ := unstructured.NestedBool(config, "canary", "enabled"); b {
		names = append(names, "kayenta")
	}
	sort.Strings(names)
	out := make([]service, 0, len(names))
	for _, n := range names {
		s := service{name: n, port: spinnaker.PortOf(n), replicas: 1}
		for _, key := range []string{"spin-" + n, n} {
			if r, ok, _ := unstructured.NestedFieldNoCopy(config, "deploymentEnvironment", "customSizing", key, "replicas"); ok {
				switch v := r.(type) {
				case int64:
					s.replicas = int32(v)
				case float64:
					s.replicas = int32(v)
				}
				break
			}
		}
		out = append(out, s)
	}
	return out
}

func baseName(svc string) string {
	if i := strings.Index(svc, "-"); i > 0 {
		return svc[:i]
	}
	return svc
}

func (o *Operator) reconcile(ctx context.Context, ss *unstructured.Unstructured) error {
	if ss.GetDeletionTimestamp() != nil {
		return nil
	}
	ns, name := ss.GetNamespace(), ss.GetName()
	config, _, _ := unstructured.NestedMap(ss.Object, "spec", "spinnakerConfig", "config")
	version, _, _ := unstructured.NestedString(config, "version")
	services := servicesOf(config)
	owner := metav1.OwnerReference{APIVersion: ss.GetAPIVersion(), Kind: ss.GetKind(), Name: name, UID: ss.GetUID(), Controller: ptr.To(true)}
	labels := func(svc string) map[string]string {
		return map[string]string{"app": "spin", "cluster": "spin-" + svc, "app.kubernetes.io/managed-by": standInManager, "spinnaker.io/service": name}
	}

	want := map[string]bool{}
	for _, s := range services {
		objName := "spin-" + s.name
		want[objName] = true
		target := s.port
		if o.opts.Backend != nil {
			target = o.opts.Backend(s.name, version)
		}
		image := fmt.Sprintf("us-docker.pkg.dev/spinnaker-community/docker/%s:%s", baseName(s.name), version)
		dep := &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Name: objName, Namespace: ns, Labels: labels(s.name), OwnerReferences: []metav1.OwnerReference{owner}},
			Spec: appsv1.DeploymentSpec{
				Replicas: ptr.To(s.replicas),
				Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"cluster": objName}},
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: labels(s.name)},
					Spec: corev1.PodSpec{Containers: []corev1.Container{{
						Name: baseName(s.name), Image: image,
						Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: int32(target)}},
					}}},
				},
			},
		}
		if err := o.upsertDeployment(ctx, dep); err != nil {
			return err
		}
		svc := &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: objName, Namespace: ns, Labels: labels(s.name), OwnerReferences: []metav1.OwnerReference{owner}},
			Spec: corev1.ServiceSpec{
				Selector: map[string]string{"cluster": objName},
				Ports:    []corev1.ServicePort{{Name: "http", Port: int32(s.port), TargetPort: intstr.FromInt32(int32(target))}},
			},
		}
		if err := o.upsertService(ctx, svc); err != nil {
			return err
		}
	}
	// Remove what the configuration no longer asks for (e.g. the
	// unsplit Clouddriver after HA was turned on).
	sel := metav1.ListOptions{LabelSelector: "app.kubernetes.io/managed-by=" + standInManager + ",spinnaker.io/service=" + name}
	deps, err := o.cs.AppsV1().Deployments(ns).List(ctx, sel)
	if err != nil {
		return err
	}
	for _, d := range deps.Items {
		if !want[d.Name] {
			_ = o.cs.AppsV1().Deployments(ns).Delete(ctx, d.Name, metav1.DeleteOptions{})
			_ = o.cs.CoreV1().Services(ns).Delete(ctx, d.Name, metav1.DeleteOptions{})
		}
	}
	return o.updateStatus(ctx, ss, config, version, services)
}

func (o *Operator) upsertDeployment(ctx context.Context, d *appsv1.Deployment) error {
	c := o.cs.AppsV1().Deployments(d.Namespace)
	cur, err := c.Get(ctx, d.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		_, err = c.Create(ctx, d, metav1.CreateOptions{FieldManager: standInManager})
		return err
	}
	if err != nil {
		return err
	}
	if *cur.Spec.Replicas == *d.Spec.Replicas && cur.Spec.Template.Spec.Containers[0].Image == d.Spec.Template.Spec.Containers[0].Image &&
		cur.Spec.Template.Spec.Containers[0].Ports[0].ContainerPort == d.Spec.Template.Spec.Containers[0].Ports[0].ContainerPort {
		return nil
	}
	cur.Spec.Replicas = d.Spec.Replicas
	cur.Spec.Template = d.Spec.Template
	_, err = c.Update(ctx, cur, metav1.UpdateOptions{FieldManager: standInManager})
	return err
}

func (o *Operator) upsertService(ctx context.Context, s *corev1.Service) error {
	c := o.cs.CoreV1().Services(s.Namespace)
	cur, err := c.Get(ctx, s.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		_, err = c.Create(ctx, s, metav1.CreateOptions{FieldManager: standInManager})
		return err
	}
	if err != nil {
		return err
	}
	if cur.Spec.Ports[0].TargetPort == s.Spec.Ports[0].TargetPort && cur.Spec.Ports[0].Port == s.Spec.Ports[0].Port {
		return nil
	}
	cur.Spec.Ports = s.Spec.Ports
	_, err = c.Update(ctx, cur, metav1.UpdateOptions{FieldManager: standInManager})
	return err
}

func (o *Operator) updateStatus(ctx context.Context, ss *unstructured.Unstructured, config map[string]any, version string, services []service) error {
	ns := ss.GetNamespace()
	overall := spinnaker.StatusOK
	var items []any
	for _, s := range services {
		d, err := o.cs.AppsV1().Deployments(ns).Get(ctx, "spin-"+s.name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		done, _, err := kube.DeploymentRolledOut(d)
		if err != nil {
			overall = spinnaker.StatusFailure
		} else if !done && overall == spinnaker.StatusOK {
			overall = spinnaker.StatusUpdating
		}
		items = append(items, map[string]any{
			"name":          s.name,
			"image":         d.Spec.Template.Spec.Containers[0].Image,
			"replicas":      int64(*d.Spec.Replicas),
			"readyReplicas": int64(d.Status.ReadyReplicas),
		})
	}
	spec, _ := json.Marshal(ss.Object["spec"])
	sum := sha256.Sum256(spec)
	hash := hex.EncodeToString(sum[:])
	uiURL := fmt.Sprintf("http://spin-deck.%s:9000", ns)
	apiURL := fmt.Sprintf("http://spin-gate.%s:8084", ns)
	if u, ok, _ := unstructured.NestedString(config, "security", "uiSecurity", "overrideBaseUrl"); ok {
		uiURL = u
	}
	if u, ok, _ := unstructured.NestedString(config, "security", "apiSecurity", "overrideBaseUrl"); ok {
		apiURL = u
	}
	prev, _, _ := unstructured.NestedMap(ss.Object, "status")
	lastDeployed, _, _ := unstructured.NestedMap(ss.Object, "status", "lastDeployed")
	if h, _, _ := unstructured.NestedString(lastDeployed, "config", "hash"); h != hash {
		lastDeployed = map[string]any{"config": map[string]any{"hash": hash, "lastUpdatedAt": time.Now().UTC().Format(time.RFC3339)}}
	}
	status := map[string]any{
		"status":       overall,
		"serviceCount": int64(len(services)),
		"services":     items,
		"version":      version,
		"uiUrl":        uiURL,
		"apiUrl":       apiURL,
		"lastDeployed": lastDeployed,
	}
	a, _ := json.Marshal(prev)
	b, _ := json.Marshal(status)
	if string(a) == string(b) {
		return nil
	}
	ss = ss.DeepCopy()
	ss.Object["status"] = status
	_, err := o.dyn.Resource(spinsvcResource).Namespace(ns).UpdateStatus(ctx, ss, metav1.UpdateOptions{FieldManager: standInManager})
	if apierrors.IsConflict(err) {
		return nil // the next pass sees the new generation
	}
	return err
}
