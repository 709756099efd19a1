package spinnaker

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/spinops/terraform-provider-spinops/internal/kube"
)

// The real operator never removes a service the configuration stops
// asking for. It saves what Halyard generates and deletes only what a
// transformer lists in ToDelete, which only the x509 transformer fills
// (armory/spinnaker-operator pkg/deploy/spindeploy/save.go, deployConfig;
// pkg/deploy/spindeploy/x509/transform.go), and it has no counterpart of
// Halyard's `hal deploy apply --delete-orphaned-services`
// (armory/spinnaker-operator issue #218, open). So after HA is turned on,
// the unsplit spin-clouddriver and spin-echo keep running beside the split
// services, and after it is turned off spin-echo-scheduler keeps running
// beside the new spin-echo: two schedulers, every cron trigger fired twice.
// Canary or authentication turned off leaves spin-kayenta or spin-fiat.
//
// spinops therefore does what that Halyard option does
// (spinnaker/halyard KubectlDeployer.java, deleteDisabledServices: after
// the deploy succeeds, the disabled services' Deployment, Service and
// Secrets): once the zone is ready, it deletes the Deployments and Services
// of the Spinnaker services the zone no longer runs. The config Secrets go
// with their Deployment: the operator makes the Deployment their owner
// (save.go, SetControllerReference).

// orphanCandidates are the Deployment names that a zone's services can
// have (zoneServiceNames): only these are ever removed, so
// Deployments Halyard makes for what spinops does not list (spin-redis when
// no Redis endpoint is given, the monitoring daemon) or anything else in
// the namespace are never touched.
var orphanCandidates = func() map[string]bool {
	m := map[string]bool{}
	for _, n := range zoneServiceNames {
		m[Service{Name: n}.ObjectName()] = true
	}
	return m
}()

// operatorManagedBy is the managed-by label the operator's owner
// transformer puts on every Deployment it saves
// (pkg/deploy/spindeploy/transformer/owner.go), and the one its status
// checker lists Deployments by (pkg/util/k8s_lookup.go).
const operatorManagedBy = "spinnaker-operator"

// controlledBy reports whether owner (by UID) is m's controller.
func controlledBy(owner *unstructured.Unstructured, m metav1.Object) bool {
	ref := metav1.GetControllerOf(m)
	return ref != nil && ref.Kind == SpinnakerServiceGVK.Kind && ref.UID == owner.GetUID()
}

// orphans lists, in the zone's namespace, the Deployments of the Spinnaker
// services that the SpinnakerService owner controls but the zone no longer
// runs (services).
func (d *Deployer) orphans(ctx context.Context, owner *unstructured.Unstructured, services []Service) ([]appsv1.Deployment, error) {
	ns := owner.GetNamespace()
	want := map[string]bool{}
	for _, s := range services {
		want[s.ObjectName()] = true
	}
	deps, err := d.Target.Clientset.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{LabelSelector: LabelManagedBy + "=" + operatorManagedBy})
	if err != nil {
		return nil, fmt.Errorf("listing the operator's Deployments in %s to find the services the zone no longer runs: %w", ns, err)
	}
	// Like Halyard's deleteDisabledServices, a service whose life cycle
	// service-settings leave to the user (skipLifeCycleManagement) stays.
	settings := specPart(owner, "service-settings")
	var out []appsv1.Deployment
	for _, dep := range deps.Items {
		if !want[dep.Name] && orphanCandidates[dep.Name] && controlledBy(owner, &dep) && !skipLifeCycle(settings, strings.TrimPrefix(dep.Name, "spin-")) {
			out = append(out, dep)
		}
	}
	return out, nil
}

// leftRunning names the services the zone no longer runs that an apply
// without waiting leaves (orphans): they are removed only once the zone is
// ready, which such an apply does not wait for.
func (d *Deployer) leftRunning(ctx context.Context, owner *unstructured.Unstructured, services []Service) ([]string, error) {
	deps, err := d.orphans(ctx, owner, services)
	var names []string
	for _, dep := range deps {
		names = append(names, dep.Name)
	}
	sort.Strings(names)
	return names, err
}

// removeOrphans deletes, in the zone's namespace, the Deployment and the
// Service of each Spinnaker service that the SpinnakerService owner
// controls but the zone no longer runs (services), and returns their
// names. Only objects whose controller is owner (by UID) are removed.
func (d *Deployer) removeOrphans(ctx context.Context, owner *unstructured.Unstructured, services []Service) ([]string, error) {
	ns := owner.GetNamespace()
	deps, err := d.orphans(ctx, owner, services)
	if err != nil {
		return nil, err
	}
	var removed []string
	for i := range deps {
		dep := &deps[i]
		d.log("removing a Spinnaker service the zone no longer runs (the operator leaves it)", map[string]any{"namespace": ns, "deployment": dep.Name})
		// The config Secrets the operator made the Deployment own go with it.
		bg := metav1.DeletePropagationBackground
		err := d.Target.Clientset.AppsV1().Deployments(ns).Delete(ctx, dep.Name, metav1.DeleteOptions{
			Preconditions: &metav1.Preconditions{UID: &dep.UID}, PropagationPolicy: &bg})
		if err != nil && !apierrors.IsNotFound(err) {
			return removed, orphanError(ns, "Deployment", dep.Name, err)
		}
		svc, err := d.Target.Clientset.CoreV1().Services(ns).Get(ctx, dep.Name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
		case err != nil:
			return removed, orphanError(ns, "Service", dep.Name, err)
		case controlledBy(owner, svc):
			err = d.Target.Clientset.CoreV1().Services(ns).Delete(ctx, dep.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &svc.UID}})
			if err != nil && !apierrors.IsNotFound(err) {
				return removed, orphanError(ns, "Service", dep.Name, err)
			}
		}
		removed = append(removed, dep.Name)
	}
	sort.Strings(removed)
	return removed, nil
}

// withoutRemoved returns owner as the operator reports it once its status
// no longer lists the removed Deployments: the operator watches the
// Deployments it owns and writes its status again when one goes
// (pkg/controller/spinnakerservice/spinnakerservice_controller.go, Watch
// with EnqueueRequestForOwner), so the zone's services are read without
// them. After 30 s it returns the last one read (they still show until the
// next refresh).
func (d *Deployer) withoutRemoved(ctx context.Context, owner *unstructured.Unstructured, removed []string) *unstructured.Unstructured {
	if len(removed) == 0 {
		return owner
	}
	gone := map[string]bool{}
	for _, n := range removed {
		gone[n] = true
	}
	last := owner
	_ = kube.WaitFor(ctx, d.pollInterval(), 30*time.Second, func(ctx context.Context) (bool, string, error) {
		obj, err := d.Target.Get(ctx, SpinnakerServiceGVK, owner.GetNamespace(), owner.GetName())
		if err != nil {
			return false, "", nil
		}
		last = obj
		for _, s := range ParseStatus(obj).Services {
			if gone[s.Name] {
				return false, "the operator still reports " + s.Name, nil
			}
		}
		return true, "", nil
	})
	return last
}

func orphanError(ns, kind, name string, err error) error {
	hint := ""
	if apierrors.IsForbidden(err) {
		hint = fmt.Sprintf("; give the provider's Kubernetes identity delete on %ss in %s, or delete it yourself (kubectl -n %s delete %s %s)",
			strings.ToLower(kind), ns, ns, strings.ToLower(kind), name)
	}
	return fmt.Errorf("the zone is deployed, but removing %s %s/%s, a Spinnaker service it no longer runs and the operator leaves running, failed: %w%s", kind, ns, name, err, hint)
}
