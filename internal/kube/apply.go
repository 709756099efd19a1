package kube

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
)

// FieldManager owns every field spinops sets through server-side apply.
const FieldManager = "spinops"

// Client talks to one cluster: typed access through Clientset, any kind
// through Dynamic with Mapper resolving kinds to resources.
type Client struct {
	Config    *rest.Config
	Clientset kubernetes.Interface
	Dynamic   dynamic.Interface
	// Mapper resolves kinds to resources and scopes. When it can be reset
	// (meta.ResettableRESTMapper) it is reset once on an unknown kind, so
	// kinds of freshly created CRDs are found.
	Mapper meta.RESTMapper
}

// NewClient builds a Client whose clients share one HTTP client (and so one
// connection pool), with a lazily filled, in-memory discovery cache.
func NewClient(cfg *rest.Config) (*Client, error) {
	httpClient, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, fmt.Errorf("building HTTP client for %s: %w", cfg.Host, err)
	}
	clientset, err := kubernetes.NewForConfigAndClient(cfg, httpClient)
	if err != nil {
		return nil, fmt.Errorf("building clientset for %s: %w", cfg.Host, err)
	}
	dyn, err := dynamic.NewForConfigAndClient(cfg, httpClient)
	if err != nil {
		return nil, fmt.Errorf("building dynamic client for %s: %w", cfg.Host, err)
	}
	disco, err := discovery.NewDiscoveryClientForConfigAndClient(cfg, httpClient)
	if err != nil {
		return nil, fmt.Errorf("building discovery client for %s: %w", cfg.Host, err)
	}
	return &Client{
		Config:    cfg,
		Clientset: clientset,
		Dynamic:   dyn,
		Mapper:    restmapper.NewDeferredDiscoveryRESTMapperWithContext(memory.NewMemCacheClientWithContext(disco)),
	}, nil
}

// TargetGroupBindingGVK is the AWS Load Balancer Controller's
// TargetGroupBinding (elbv2.k8s.aws/v1beta1; spec.serviceRef{name, port},
// spec.targetGroupARN, spec.targetType: the controller's published API
// reference, kubernetes-sigs.github.io/aws-load-balancer-controller,
// guide/targetgroupbinding/spec): the bridge's and a zone's load balancer
// targets.
var TargetGroupBindingGVK = schema.GroupVersionKind{Group: "elbv2.k8s.aws", Version: "v1beta1", Kind: "TargetGroupBinding"}

// Apply creates or updates obj by server-side apply as FieldManager, taking
// over fields other managers own (Force), and returns the object as stored.
// obj must carry apiVersion, kind, name and, for namespaced kinds, namespace.
func (c *Client) Apply(ctx context.Context, obj *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	ri, obj, err := c.resourceFor(ctx, obj)
	if err != nil {
		return nil, fmt.Errorf("applying %s: %w", Describe(obj), err)
	}
	out, err := ri.Apply(ctx, obj.GetName(), obj, metav1.ApplyOptions{FieldManager: FieldManager, Force: true})
	if err != nil {
		return nil, fmt.Errorf("applying %s: %w", Describe(obj), err)
	}
	return out, nil
}

// Get reads an object. A missing object is returned as an error for which
// apierrors.IsNotFound is true.
func (c *Client) Get(ctx context.Context, gvk schema.GroupVersionKind, namespace, name string) (*unstructured.Unstructured, error) {
	ref := objectRef(gvk, namespace, name)
	ri, _, err := c.resourceFor(ctx, ref)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", Describe(ref), err)
	}
	out, err := ri.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", Describe(ref), err)
	}
	return out, nil
}

// Delete deletes obj (only its apiVersion, kind, namespace and name count)
// with background propagation. An object that is already gone, or whose
// kind the cluster no longer serves, counts as deleted.
func (c *Client) Delete(ctx context.Context, obj *unstructured.Unstructured) error {
	ri, obj, err := c.resourceFor(ctx, obj)
	if meta.IsNoMatchError(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("deleting %s: %w", Describe(obj), err)
	}
	propagation := metav1.DeletePropagationBackground
	err = ri.Delete(ctx, obj.GetName(), metav1.DeleteOptions{PropagationPolicy: &propagation})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting %s: %w", Describe(obj), err)
	}
	return nil
}

// resourceFor resolves obj's kind and returns the client for its resource,
// scoped to its namespace when the kind is namespaced. For a cluster-scoped
// kind the returned object is a copy without a namespace.
func (c *Client) resourceFor(ctx context.Context, obj *unstructured.Unstructured) (dynamic.ResourceInterface, *unstructured.Unstructured, error) {
	if obj.GetName() == "" {
		return nil, obj, fmt.Errorf("%s has no metadata.name", obj.GetKind())
	}
	mapping, err := c.mapping(ctx, obj.GroupVersionKind())
	if err != nil {
		return nil, obj, err
	}
	if mapping.Scope.Name() != meta.RESTScopeNameNamespace {
		if obj.GetNamespace() != "" {
			obj = obj.DeepCopy()
			obj.SetNamespace("")
		}
		return c.Dynamic.Resource(mapping.Resource), obj, nil
	}
	if obj.GetNamespace() == "" {
		return nil, obj, fmt.Errorf("%s is namespaced but has no metadata.namespace", mapping.GroupVersionKind.Kind)
	}
	return c.Dynamic.Resource(mapping.Resource).Namespace(obj.GetNamespace()), obj, nil
}

// Serves returns nil when the cluster serves gvk, and otherwise an error
// for which meta.IsNoMatchError is true when the kind is unknown (or
// another error when discovery failed). Discovery cached before the kind's
// CRD was created does not know it, so an unknown kind is looked up again
// once after Mapper is reset, as for every call of Client.
func (c *Client) Serves(ctx context.Context, gvk schema.GroupVersionKind) error {
	_, err := c.mapping(ctx, gvk)
	return err
}

// mapping finds the REST mapping of gvk, rediscovering once when the kind is
// unknown (a CRD created since discovery was cached).
func (c *Client) mapping(ctx context.Context, gvk schema.GroupVersionKind) (*meta.RESTMapping, error) {
	m, err := c.restMapping(ctx, gvk)
	if meta.IsNoMatchError(err) {
		if r, ok := c.Mapper.(meta.ResettableRESTMapper); ok {
			meta.ToResettableRESTMapperWithContext(r).ResetWithContext(ctx)
			m, err = c.restMapping(ctx, gvk)
		}
	}
	if err != nil {
		if meta.IsNoMatchError(err) {
			return nil, fmt.Errorf("the cluster does not serve %s (is its CustomResourceDefinition installed?): %w", gvk, err)
		}
		return nil, fmt.Errorf("resolving %s: %w", gvk, err)
	}
	return m, nil
}

func (c *Client) restMapping(ctx context.Context, gvk schema.GroupVersionKind) (*meta.RESTMapping, error) {
	if mc, ok := c.Mapper.(meta.RESTMapperWithContext); ok {
		return mc.RESTMappingWithContext(ctx, gvk.GroupKind(), gvk.Version)
	}
	return c.Mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
}

// Describe names an object the way errors and logs mention it:
// "Deployment spinnaker/spin-gate" or "ClusterRole spinnaker-operator".
func Describe(obj *unstructured.Unstructured) string {
	if obj.GetNamespace() == "" {
		return obj.GetKind() + " " + obj.GetName()
	}
	return obj.GetKind() + " " + obj.GetNamespace() + "/" + obj.GetName()
}

func objectRef(gvk schema.GroupVersionKind, namespace, name string) *unstructured.Unstructured {
	ref := &unstructured.Unstructured{}
	ref.SetGroupVersionKind(gvk)
	ref.SetNamespace(namespace)
	ref.SetName(name)
	return ref
}

// Missing lists (as Describe names them) the objects of refs that do not
// exist: what drift detection reports as deleted outside Terraform.
func (c *Client) Missing(ctx context.Context, refs []*unstructured.Unstructured) ([]string, error) {
	var missing []string
	for _, r := range refs {
		_, err := c.Get(ctx, r.GroupVersionKind(), r.GetNamespace(), r.GetName())
		switch {
		case apierrors.IsNotFound(err):
			missing = append(missing, Describe(r))
		case err != nil:
			return nil, fmt.Errorf("reading %s: %w", Describe(r), err)
		}
	}
	return missing, nil
}
