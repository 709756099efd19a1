package spinnaker

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"

	"github.com/spinops/terraform-provider-spinops/internal/kube"
)

// EnsureNamespace creates namespace when missing (a namespace that exists is
// left as it is).
func EnsureNamespace(ctx context.Context, c *kube.Client, namespace string) error {
	_, err := c.Clientset.CoreV1().Namespaces().Get(ctx, namespace, metav1.GetOptions{})
	if err == nil {
		return nil
	}
	if !apierrors.IsNotFound(err) {
		return fmt.Errorf("reading namespace %s: %w", namespace, err)
	}
	ns := &unstructured.Unstructured{}
	ns.SetAPIVersion("v1")
	ns.SetKind("Namespace")
	ns.SetName(namespace)
	ns.SetLabels(map[string]string{LabelManagedBy: managedBy})
	_, err = c.Apply(ctx, ns)
	return err
}

// InstallCRDs applies the CRDs and waits until the API server serves them.
func InstallCRDs(ctx context.Context, c *kube.Client, timeout time.Duration) error {
	crds, err := CRDs()
	if err != nil {
		return err
	}
	for _, crd := range crds {
		// A CRD still being deleted (an installation destroyed a moment
		// ago) would take the applied copy with it: let it go first.
		cur, err := c.Get(ctx, kube.CRDGVK, "", crd.GetName())
		if err == nil && cur.GetDeletionTimestamp() != nil {
			if err := c.WaitForDeleted(ctx, kube.CRDGVK, "", crd.GetName(), timeout); err != nil {
				return fmt.Errorf("waiting for the CustomResourceDefinition %s being deleted to go before installing it again: %w. "+
					"kube-apiserver deletes every custom resource of the kind first: one that keeps a finalizer no controller removes holds it "+
					"(kubectl get %s -A -o custom-columns=NAMESPACE:.metadata.namespace,NAME:.metadata.name,FINALIZERS:.metadata.finalizers); retry once it is gone",
					crd.GetName(), err, crd.GetName())
			}
		}
		if _, err := c.Apply(ctx, crd); err != nil {
			return err
		}
	}
	for _, crd := range crds {
		name := crd.GetName()
		err := kube.WaitFor(ctx, 200*time.Millisecond, timeout, func(ctx context.Context) (bool, string, error) {
			obj, err := c.Get(ctx, kube.CRDGVK, "", name)
			if err != nil {
				return false, "", err
			}
			if kube.CRDEstablished(obj) {
				return true, "", nil
			}
			return false, "not yet Established", nil
		})
		if err != nil {
			return fmt.Errorf("waiting for CustomResourceDefinition %s: %w", name, err)
		}
	}
	return nil
}

// keepSelector sets s.Selector to the selector of the operator Deployment
// already in s.Namespace: a Deployment's selector is immutable, so an
// apply keeps the one there (an earlier spinops release, or an operator
// installed by hand that spinops adopts; the pod template carries both
// label sets). cur is that Deployment, nil when there is none.
func keepSelector(ctx context.Context, c *kube.Client, s *OperatorSettings) (cur *appsv1.Deployment, err error) {
	cur, err = c.Clientset.AppsV1().Deployments(s.Namespace).Get(ctx, "spinnaker-operator", metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("reading Deployment %s/spinnaker-operator: %w", s.Namespace, err)
	}
	if cur.Spec.Selector != nil && len(cur.Spec.Selector.MatchLabels) > 0 {
		s.Selector = cur.Spec.Selector.MatchLabels
	}
	return cur, nil
}

// OperatorObjectsOn is OperatorObjects as InstallOperator applies them on
// c: with the selector of the Deployment already there. Drift checks
// compare these.
func OperatorObjectsOn(ctx context.Context, c *kube.Client, s OperatorSettings) ([]*unstructured.Unstructured, error) {
	if _, err := keepSelector(ctx, c, &s); err != nil {
		return nil, err
	}
	return OperatorObjects(s)
}

// InstallOperator applies the operator's ServiceAccount, RBAC and Deployment.
func InstallOperator(ctx context.Context, c *kube.Client, s OperatorSettings) error {
	cur, err := keepSelector(ctx, c, &s)
	if err != nil {
		return err
	}
	// The operator's own manifests (deploy/operator/*/deployment.yaml) leave
	// the default RollingUpdate strategy, whose rollingUpdate settings the
	// API server refuses next to our type Recreate, and which server-side
	// apply would not remove (another manager owns them): switch it first.
	if cur != nil && cur.Spec.Strategy.RollingUpdate != nil {
		patch := []byte(`{"spec":{"strategy":{"type":"Recreate","rollingUpdate":null}}}`)
		if _, err := c.Clientset.AppsV1().Deployments(s.Namespace).Patch(ctx, "spinnaker-operator", types.MergePatchType, patch,
			metav1.PatchOptions{FieldManager: kube.FieldManager}); err != nil {
			return fmt.Errorf("switching Deployment %s/spinnaker-operator to the Recreate strategy before adopting it: %w", s.Namespace, err)
		}
	}
	objs, err := OperatorObjects(s)
	if err != nil {
		return err
	}
	for _, o := range objs {
		if _, err := c.Apply(ctx, o); err != nil {
			return err
		}
	}
	return nil
}

// HasKubelet reports whether any Node is registered, i.e. whether pods can
// run at all and waiting for a Deployment makes sense.
func HasKubelet(ctx context.Context, c *kube.Client) (bool, error) {
	nodes, err := c.Clientset.CoreV1().Nodes().List(ctx, metav1.ListOptions{Limit: 1})
	if err != nil {
		return false, fmt.Errorf("listing nodes: %w", err)
	}
	return len(nodes.Items) > 0, nil
}

// WaitForOperator waits for the operator's Deployment to be available.
func WaitForOperator(ctx context.Context, c *kube.Client, namespace string, timeout time.Duration) error {
	return c.WaitForDeploymentAvailable(ctx, namespace, "spinnaker-operator", timeout)
}

// UninstallOperator removes the operator's Deployment and RBAC and, when
// removeCRDs, the CRDs (which deletes every SpinnakerService: callers go
// through RemoveOperator, which checks that none is left anywhere).
func UninstallOperator(ctx context.Context, c *kube.Client, s OperatorSettings, removeCRDs bool) error {
	objs, err := OperatorObjects(s)
	if err != nil {
		return err
	}
	for i := len(objs) - 1; i >= 0; i-- {
		if err := c.Delete(ctx, objs[i]); err != nil {
			return err
		}
	}
	if !removeCRDs {
		return nil
	}
	crds, err := CRDs()
	if err != nil {
		return err
	}
	for _, crd := range crds {
		if err := c.Delete(ctx, crd); err != nil {
			return err
		}
	}
	return nil
}

// CountSpinnakerServices counts the SpinnakerServices in every namespace of
// the cluster. A cluster that does not serve the kind has none; any other
// failure to list is an error, never "none": deleting the CRDs on a wrong
// "none" would delete every other installation's SpinnakerServices.
func CountSpinnakerServices(ctx context.Context, c *kube.Client) (int, error) {
	list, err := c.Dynamic.Resource(SpinnakerServiceGVK.GroupVersion().WithResource("spinnakerservices")).List(ctx, metav1.ListOptions{})
	if apierrors.IsNotFound(err) {
		// "Not served" is "none" only when the CRD itself is absent: a CRD
		// that exists but does not serve v1alpha2 (another operator
		// release, a CRD not yet established) still holds SpinnakerServices.
		_, gerr := c.Dynamic.Resource(kube.CRDGVR).Get(ctx, "spinnakerservices.spinnaker.io", metav1.GetOptions{})
		if apierrors.IsNotFound(gerr) {
			return 0, nil
		}
		if gerr == nil {
			gerr = errors.New("the CRD spinnakerservices.spinnaker.io exists but does not serve spinnaker.io/v1alpha2")
		}
		err = fmt.Errorf("%w (and %w)", err, gerr)
	}
	if err != nil {
		return 0, fmt.Errorf("listing SpinnakerServices in all namespaces (to know whether the CRDs are still in use): %w. "+
			"The CRDs were left in place; grant list on spinnakerservices.spinnaker.io cluster-wide, or retry", err)
	}
	return len(list.Items), nil
}

// RemoveOperator uninstalls the operator spinops installed with settings s.
// The CRDs go only when a successful cluster-wide list shows no
// SpinnakerService left anywhere; a failed list fails the removal before
// anything is deleted.
func RemoveOperator(ctx context.Context, c *kube.Client, s OperatorSettings) (crdsRemoved bool, err error) {
	n, err := CountSpinnakerServices(ctx, c)
	if err != nil {
		return false, err
	}
	if err := UninstallOperator(ctx, c, s, n == 0); err != nil {
		return false, err
	}
	if err := removeWebhookConfiguration(ctx, c, s.Namespace); err != nil {
		return false, err
	}
	return n == 0, nil
}

// webhookConfigurationName is the one ValidatingWebhookConfiguration a
// cluster-mode operator writes (pkg/controller/webhook/webhook.go).
const webhookConfigurationName = "spinnakervalidatingwebhook"

// removeWebhookConfiguration deletes the operator's webhook configuration
// when it points at the operator of namespace (the real operator never
// deletes it): left behind with failurePolicy Fail and no Service behind
// it, it would refuse every SpinnakerService write on the cluster.
func removeWebhookConfiguration(ctx context.Context, c *kube.Client, namespace string) error {
	vwcs := c.Clientset.AdmissionregistrationV1().ValidatingWebhookConfigurations()
	cur, err := vwcs.Get(ctx, webhookConfigurationName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading ValidatingWebhookConfiguration %s: %w", webhookConfigurationName, err)
	}
	for _, w := range cur.Webhooks {
		if svc := w.ClientConfig.Service; svc == nil || svc.Namespace != namespace {
			return nil // another operator's
		}
	}
	if err := vwcs.Delete(ctx, webhookConfigurationName, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting ValidatingWebhookConfiguration %s: %w", webhookConfigurationName, err)
	}
	return nil
}

// ListZones lists the SpinnakerServices of an installation on a cluster. A
// cluster that does not serve the kind has none.
func ListZones(ctx context.Context, c *kube.Client, installation string) ([]unstructured.Unstructured, error) {
	list, err := c.Dynamic.Resource(SpinnakerServiceGVK.GroupVersion().WithResource("spinnakerservices")).List(ctx,
		metav1.ListOptions{LabelSelector: LabelInstallation + "=" + installation})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("listing SpinnakerServices: %w", err)
	}
	return list.Items, nil
}

// Settings are the operator settings of this record in namespace.
func (r OperatorRecord) Settings(namespace string) OperatorSettings {
	return OperatorSettings{Namespace: namespace, Image: r.Image + ":" + r.Version, HalyardImage: r.HalyardImage, ClusterWide: r.ClusterWide}
}

// ErrNoKubelet is returned by EnsureOperator when it was asked to wait but
// the cluster has no Node, so the operator's pod cannot run: everything was
// applied, nothing was waited for.
var ErrNoKubelet = errors.New("the cluster has no Node, so no pod can run: the operator's Deployment was applied but not waited for")

// EnsureOperator installs the operator on c: after checking that no other
// operator would reconcile the same SpinnakerServices
// (CheckOperatorConflicts), its namespace, CRDs (waiting until they are
// served), RBAC and Deployment, then, with wait, waits for the Deployment
// to be available (ErrNoKubelet when it cannot be).
func EnsureOperator(ctx context.Context, c *kube.Client, s OperatorSettings, wait bool, timeout time.Duration) error {
	if err := CheckOperatorConflicts(ctx, c, s); err != nil {
		return err
	}
	if err := EnsureNamespace(ctx, c, s.Namespace); err != nil {
		return err
	}
	if err := InstallCRDs(ctx, c, 2*time.Minute); err != nil {
		return fmt.Errorf("installing the Spinnaker Operator's CRDs: %w", err)
	}
	if err := InstallOperator(ctx, c, s); err != nil {
		return fmt.Errorf("installing the Spinnaker Operator: %w", err)
	}
	if !wait {
		return nil
	}
	hasKubelet, err := HasKubelet(ctx, c)
	if err != nil {
		return err
	}
	if !hasKubelet {
		return ErrNoKubelet
	}
	return WaitForOperator(ctx, c, s.Namespace, timeout)
}

// OperatorInstance is a Spinnaker Operator Deployment found on a cluster.
type OperatorInstance struct {
	Namespace, Name string
	// WatchNamespace is "" for an operator that reconciles every namespace.
	WatchNamespace string
	// Image is the spinnaker-operator container's image.
	Image string
}

func (o OperatorInstance) String() string {
	scope := "all namespaces"
	if o.WatchNamespace != "" {
		scope = "namespace " + o.WatchNamespace
	}
	return fmt.Sprintf("Deployment %s/%s (watches %s)", o.Namespace, o.Name, scope)
}

// FindOperators lists the Spinnaker Operator Deployments of a cluster,
// whoever installed them: a Deployment with a container named
// spinnaker-operator or running a spinnaker-operator image. The namespaces
// each watches come from its WATCH_NAMESPACE (absent or empty: all).
func FindOperators(ctx context.Context, c *kube.Client) ([]OperatorInstance, error) {
	deps, err := c.Clientset.AppsV1().Deployments("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing Deployments in all namespaces to find other Spinnaker Operators: %w", err)
	}
	var out []OperatorInstance
	for _, d := range deps.Items {
		for _, ctr := range d.Spec.Template.Spec.Containers {
			image := ctr.Image
			if i := strings.LastIndex(image, ":"); i > strings.LastIndex(image, "/") {
				image = image[:i]
			}
			if ctr.Name != "spinnaker-operator" && !strings.HasSuffix(image, "/spinnaker-operator") {
				continue
			}
			inst := OperatorInstance{Namespace: d.Namespace, Name: d.Name, Image: ctr.Image}
			for _, e := range ctr.Env {
				if e.Name != "WATCH_NAMESPACE" {
					continue
				}
				if e.ValueFrom != nil && e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.namespace" {
					inst.WatchNamespace = d.Namespace
				} else {
					inst.WatchNamespace = e.Value
				}
			}
			out = append(out, inst)
			break
		}
	}
	return out, nil
}

// CheckOperatorConflicts refuses installing an operator with settings s on
// a cluster where another operator would reconcile the same
// SpinnakerServices: two operators that both watch a namespace fight over
// its SpinnakerServices, and every cluster-mode operator writes the one
// ValidatingWebhookConfiguration spinnakervalidatingwebhook
// (OPERATOR-CONTRACT.md, "Namespaces watched"). The operator of s's own
// namespace (the Deployment spinnaker-operator, which InstallOperator
// updates or adopts) is not a conflict; another operator Deployment in that
// namespace is, since both would watch it.
func CheckOperatorConflicts(ctx context.Context, c *kube.Client, s OperatorSettings) error {
	found, err := FindOperators(ctx, c)
	if err != nil {
		return err
	}
	var clash []string
	for _, o := range found {
		if o.Namespace == s.Namespace {
			if o.Name != "spinnaker-operator" {
				clash = append(clash, o.String())
			}
			continue
		}
		// Ours watches every namespace (cluster_wide), or theirs does, or
		// theirs watches our namespace.
		if s.ClusterWide || o.WatchNamespace == "" || o.WatchNamespace == s.Namespace {
			clash = append(clash, o.String())
		}
	}
	if len(clash) > 0 {
		mode := "a cluster-wide operator (operator.cluster_wide = true)"
		if !s.ClusterWide {
			mode = "an operator for namespace " + s.Namespace
		}
		return &OperatorConflictError{msg: fmt.Sprintf("the cluster already runs a Spinnaker Operator that would reconcile the same SpinnakerServices: %s. "+
			"Installing %s next to it makes the two reconcile each other's SpinnakerServices and fight over the one webhook configuration %q. "+
			"Use that operator (operator.install = false and operator.namespace = its namespace), or give each installation its own operator "+
			"with operator.cluster_wide = false and its zones in the operator's namespace",
			strings.Join(clash, ", "), mode, "spinnakervalidatingwebhook")}
	}
	return nil
}

// OperatorConflictError is CheckOperatorConflicts' refusal (as opposed to a
// failure to look).
type OperatorConflictError struct{ msg string }

func (e *OperatorConflictError) Error() string { return e.msg }

// CheckZoneWatched refuses a zone the installation's operator would never
// reconcile: an operator that is not cluster-wide (basic mode) watches only
// its own namespace (WATCH_NAMESPACE, deploy/operator/basic).
func CheckZoneWatched(op *OperatorRecord, operatorNamespace, zoneNamespace string) error {
	if op == nil || op.ClusterWide || zoneNamespace == operatorNamespace {
		return nil
	}
	return fmt.Errorf("the installation's operator is not cluster-wide (operator.cluster_wide = false), so it reconciles only SpinnakerServices in its own namespace %q, "+
		"and a zone in namespace %q would never be deployed: set the zone's namespace to %q, or set operator.cluster_wide = true",
		operatorNamespace, zoneNamespace, operatorNamespace)
}
