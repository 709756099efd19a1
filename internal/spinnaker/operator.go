package spinnaker

import (
	"context"
	"errors"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/spinops/terraform-provider-spinops/internal/kube"
)

var crdGVK = schema.GroupVersionKind{Group: "apiextensions.k8s.io", Version: "v1", Kind: "CustomResourceDefinition"}

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
		if _, err := c.Apply(ctx, crd); err != nil {
			return err
		}
	}
	for _, crd := range crds {
		name := crd.GetName()
		err := kube.WaitFor(ctx, 200*time.Millisecond, timeout, func(ctx context.Context) (bool, string, error) {
			obj, err := c.Get(ctx, crdGVK, "", name)
			if err != nil {
				return false, "", err
			}
			conds, _, _ := unstructured.NestedSlice(obj.Object, "status", "conditions")
			for _, cond := range conds {
				m, _ := cond.(map[string]any)
				if m["type"] == "Established" && m["status"] == "True" {
					return true, "", nil
				}
			}
			return false, "not yet Established", nil
		})
		if err != nil {
			return fmt.Errorf("waiting for CustomResourceDefinition %s: %w", name, err)
		}
	}
	return nil
}

// InstallOperator applies the operator's ServiceAccount, RBAC and Deployment.
func InstallOperator(ctx context.Context, c *kube.Client, s OperatorSettings) error {
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
// removeCRDs, the CRDs (which deletes every SpinnakerService: the caller
// must have checked that none is left).
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

// EnsureOperator installs the operator on c: its namespace, CRDs (waiting
// until they are served), RBAC and Deployment, then, with wait, waits for
// the Deployment to be available (ErrNoKubelet when it cannot be).
func EnsureOperator(ctx context.Context, c *kube.Client, s OperatorSettings, wait bool, timeout time.Duration) error {
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
