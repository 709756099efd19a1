package attach

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/spinops/terraform-provider-spinops/internal/kube"
)

// SpinnakerAccountGVK is the Spinnaker Operator's account kind: the
// operator hands it to Clouddriver without a restart.
var SpinnakerAccountGVK = schema.GroupVersionKind{Group: "spinnaker.io", Version: "v1alpha2", Kind: "SpinnakerAccount"}

// SpinnakerAccount is the account as Spinnaker sees it: a SpinnakerAccount
// of type Kubernetes whose kubeconfig (in a Secret beside it) points at the
// account's endpoint on the bridge.
type SpinnakerAccount struct {
	Account   string
	Namespace string
	Filter    AccountFilter
}

// SecretName is the Secret holding the endpoint kubeconfig.
func (s *SpinnakerAccount) SecretName() string { return "spinops-account-" + s.Account }

func (s *SpinnakerAccount) labels() map[string]string {
	return map[string]string{"app.kubernetes.io/managed-by": "spinops", "app.kubernetes.io/instance": s.Account}
}

// Objects renders the kubeconfig Secret and the SpinnakerAccount.
func (s *SpinnakerAccount) Objects(kubeconfig string) []*unstructured.Unstructured {
	secret := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
		"metadata":   map[string]any{"name": s.SecretName(), "namespace": s.Namespace},
		"stringData": map[string]any{"kubeconfig": kubeconfig},
	}}
	secret.SetLabels(s.labels())
	perms := map[string]any{}
	if len(s.Filter.Read) > 0 {
		perms["READ"] = toAny(s.Filter.Read)
	}
	if len(s.Filter.Write) > 0 {
		perms["WRITE"] = toAny(s.Filter.Write)
	}
	// Halyard's Kubernetes account settings: Clouddriver then caches only
	// what the bridge serves (kinds are best given as Kind names, e.g.
	// Deployment, which both understand). The bridge enforces the same
	// filter either way.
	settings := map[string]any{}
	for k, v := range map[string][]string{"kinds": s.Filter.Kinds, "omitKinds": s.Filter.OmitKinds, "namespaces": s.Filter.Namespaces, "omitNamespaces": s.Filter.OmitNamespaces} {
		if len(v) > 0 {
			settings[k] = toAny(v)
		}
	}
	acct := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": SpinnakerAccountGVK.GroupVersion().String(), "kind": SpinnakerAccountGVK.Kind,
		"metadata": map[string]any{"name": s.Account, "namespace": s.Namespace},
		"spec": map[string]any{
			"enabled":     true,
			"type":        "Kubernetes",
			"kubernetes":  map[string]any{"kubeconfigSecret": map[string]any{"name": s.SecretName(), "key": "kubeconfig"}},
			"permissions": perms,
			"settings":    settings,
		},
	}}
	acct.SetLabels(s.labels())
	return []*unstructured.Unstructured{secret, acct}
}

func toAny(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// Apply writes the Secret and the SpinnakerAccount. The SpinnakerAccount
// kind must exist (the Spinnaker Operator's CRDs: spinops_managed_spinnaker
// installs them).
func (s *SpinnakerAccount) Apply(ctx context.Context, c *kube.Client, kubeconfig string) error {
	for _, o := range s.Objects(kubeconfig) {
		if _, err := c.Apply(ctx, o); err != nil {
			if o.GetKind() == SpinnakerAccountGVK.Kind {
				return fmt.Errorf("%w (is the Spinnaker Operator installed in that cluster? spinops_managed_spinnaker installs its CRDs)", err)
			}
			return err
		}
	}
	return nil
}

// Missing lists which of the two objects are gone.
func (s *SpinnakerAccount) Missing(ctx context.Context, c *kube.Client) ([]string, error) {
	var missing []string
	for _, o := range s.Objects("") {
		_, err := c.Get(ctx, o.GroupVersionKind(), o.GetNamespace(), o.GetName())
		switch {
		case apierrors.IsNotFound(err):
			missing = append(missing, kube.Describe(o))
		case err != nil:
			return nil, err
		}
	}
	return missing, nil
}

// Remove deletes both, tolerating what is gone.
func (s *SpinnakerAccount) Remove(ctx context.Context, c *kube.Client) error {
	objs := s.Objects("")
	for i := len(objs) - 1; i >= 0; i-- {
		if err := c.Delete(ctx, objs[i]); err != nil {
			return err
		}
	}
	return nil
}

// CredentialSecret is a Secret holding an account's agent credential, the
// bridge address and CA, for an agent deployed another way (infrastructure
// or spinnaker-service mode: its config names the file as credentialFile).
type CredentialSecret struct {
	Account   string
	Namespace string
	Name      string
	Bridge    BridgeEndpoint
}

func (s *CredentialSecret) object(credential string) *unstructured.Unstructured {
	data := map[string]any{SecretCredentialKey: credential, SecretAddressKey: s.Bridge.Address}
	if s.Bridge.CAPEM != "" {
		data[SecretCAKey] = s.Bridge.CAPEM
	}
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
		"metadata":   map[string]any{"name": s.Name, "namespace": s.Namespace},
		"stringData": data,
	}}
	u.SetLabels(map[string]string{"app.kubernetes.io/managed-by": "spinops", "app.kubernetes.io/instance": s.Account})
	u.SetAnnotations(map[string]string{AnnotationAccount: s.Account})
	return u
}

// Apply writes the Secret (the namespace must exist).
func (s *CredentialSecret) Apply(ctx context.Context, c *kube.Client, credential string) error {
	_, err := c.Apply(ctx, s.object(credential))
	return err
}

// Remove deletes the Secret, tolerating that it is gone.
func (s *CredentialSecret) Remove(ctx context.Context, c *kube.Client) error {
	return c.Delete(ctx, s.object(""))
}
