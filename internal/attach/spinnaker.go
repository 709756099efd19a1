package attach

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/spinops/terraform-provider-spinops/internal/kube"
	"github.com/spinops/terraform-provider-spinops/internal/spinnaker"
)

// SpinnakerAccountGVK is the Spinnaker Operator's account kind: the
// operator hands it to Clouddriver without a restart.
var SpinnakerAccountGVK = schema.GroupVersionKind{Group: "spinnaker.io", Version: "v1alpha2", Kind: "SpinnakerAccount"}

// SpinnakerAccount is the account as Spinnaker sees it: a SpinnakerAccount
// of type Kubernetes whose kubeconfig points at the account's endpoint on
// the bridge.
//
// The shape follows what works with the Spinnaker Operator 1.3.1
// (shared/design/OPERATOR-CONTRACT.md, "Accounts"): kubeconfigSecret makes
// the operator's account controller fail ("secret context not
// initialized"), an encryptedFile kubeconfigFile crashes its account
// webhook, and only an inline kubeconfig works. An inline kubeconfig must
// not carry the bearer token in clear, so its user reads the token from a
// file (tokenFile): the token lives in the Secret AccountTokensSecret beside
// the SpinnakerAccount, one key per account, which every zone mounts into
// its Clouddrivers at AccountTokensDir (spinnaker.Render). The Secret
// SecretName keeps the whole endpoint kubeconfig for people and tools.
type SpinnakerAccount struct {
	Account   string
	Namespace string
	Filter    AccountFilter
	// CacheIntervalSeconds is Clouddriver's per-account caching cycle
	// (its KubernetesAccountProperties.ManagedAccount cacheIntervalSeconds);
	// 0 leaves Clouddriver's default (the scheduler's 30 s).
	// spinops_agent_account sets DefaultCacheIntervalSeconds unless told
	// otherwise. Current Clouddriver (1.23+) re-caches nothing on demand for
	// Kubernetes, so this cycle is how soon Spinnaker sees a change; the
	// bridge answers its lists from its cache.
	CacheIntervalSeconds int64
	// RegistrationID is the id of the bridge registration the account is
	// attached for, written as spinnaker.AccountRegistrationAnnotation: the
	// bridge switches spec.enabled only on SpinnakerAccounts that carry
	// the id of one of its registrations.
	RegistrationID string
}

// DefaultCacheIntervalSeconds is the caching cycle spinops_agent_account
// gives a bridge-served account: a third of Clouddriver's 30 s default.
// Clouddriver 1.23 and later has no on-demand caching for Kubernetes, so
// the cycle is the only way its cache follows the cluster sooner; the
// bridge serves the cycle's lists from its cache (docs/architecture.md,
// "The caching interval").
const DefaultCacheIntervalSeconds = 10

// AccountTokensSecret and AccountTokensDir: see SpinnakerAccount.
const (
	AccountTokensSecret = spinnaker.AccountTokensSecret
	AccountTokensDir    = spinnaker.AccountTokensDir
)

// SecretName is the Secret holding the endpoint kubeconfig.
func (s *SpinnakerAccount) SecretName() string { return "spinops-account-" + s.Account }

// TokenFile is where Clouddriver reads the account's endpoint token.
func (s *SpinnakerAccount) TokenFile() string { return AccountTokensDir + "/" + s.Account }

func (s *SpinnakerAccount) labels() map[string]string {
	return map[string]string{"app.kubernetes.io/managed-by": "spinops", "app.kubernetes.io/instance": s.Account}
}

// endpoint is what Clouddriver needs of the endpoint kubeconfig.
type endpoint struct {
	server, caData, token string
}

func parseEndpoint(kubeconfig string) (endpoint, error) {
	if kubeconfig == "" {
		return endpoint{}, nil
	}
	cfg, err := clientcmd.Load([]byte(kubeconfig))
	if err != nil {
		return endpoint{}, fmt.Errorf("reading the account's endpoint kubeconfig: %w", err)
	}
	ctx := cfg.Contexts[cfg.CurrentContext]
	if ctx == nil || cfg.Clusters[ctx.Cluster] == nil || cfg.AuthInfos[ctx.AuthInfo] == nil {
		return endpoint{}, fmt.Errorf("the account's endpoint kubeconfig has no complete current context")
	}
	cl, user := cfg.Clusters[ctx.Cluster], cfg.AuthInfos[ctx.AuthInfo]
	return endpoint{server: cl.Server, caData: base64.StdEncoding.EncodeToString(cl.CertificateAuthorityData), token: user.Token}, nil
}

// Objects renders the kubeconfig Secret and the SpinnakerAccount. The
// SpinnakerAccount's inline kubeconfig holds no secret: its user has a
// tokenFile (TokenFile).
func (s *SpinnakerAccount) Objects(kubeconfig string) []*unstructured.Unstructured {
	ep, _ := parseEndpoint(kubeconfig)
	return s.objects(kubeconfig, ep)
}

func (s *SpinnakerAccount) objects(kubeconfig string, ep endpoint) []*unstructured.Unstructured {
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
	if s.CacheIntervalSeconds > 0 {
		settings["cacheIntervalSeconds"] = s.CacheIntervalSeconds
	}
	cluster := map[string]any{"server": ep.server}
	if ep.caData != "" {
		cluster["certificate-authority-data"] = ep.caData
	}
	inline := map[string]any{
		"apiVersion":      "v1",
		"kind":            "Config",
		"clusters":        []any{map[string]any{"name": "bridge", "cluster": cluster}},
		"users":           []any{map[string]any{"name": "clouddriver", "user": map[string]any{"tokenFile": s.TokenFile()}}},
		"contexts":        []any{map[string]any{"name": s.Account, "context": map[string]any{"cluster": "bridge", "user": "clouddriver"}}},
		"current-context": s.Account,
		// Required by the real CRD's schema (client-go's clientcmd Config,
		// where Preferences has no omitempty).
		"preferences": map[string]any{},
	}
	acct := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": SpinnakerAccountGVK.GroupVersion().String(), "kind": SpinnakerAccountGVK.Kind,
		"metadata": map[string]any{"name": s.Account, "namespace": s.Namespace},
		"spec": map[string]any{
			"enabled":     true,
			"type":        "Kubernetes",
			"kubernetes":  map[string]any{"kubeconfig": inline},
			"permissions": perms,
			"settings":    settings,
		},
	}}
	acct.SetLabels(s.labels())
	if s.RegistrationID != "" {
		acct.SetAnnotations(map[string]string{spinnaker.AccountRegistrationAnnotation: s.RegistrationID})
	}
	return []*unstructured.Unstructured{secret, acct}
}

func toAny(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// Apply writes the kubeconfig Secret, the account's key of
// AccountTokensSecret and the SpinnakerAccount. The SpinnakerAccount kind
// must exist (the Spinnaker Operator's CRDs: spinops_managed_spinnaker
// installs them).
func (s *SpinnakerAccount) Apply(ctx context.Context, c *kube.Client, kubeconfig string) error {
	ep, err := parseEndpoint(kubeconfig)
	if err != nil {
		return err
	}
	if ep.token == "" {
		return fmt.Errorf("the account's endpoint kubeconfig has no bearer token")
	}
	objs := s.objects(kubeconfig, ep)
	enabled, err := s.keptEnabled(ctx, c)
	if err != nil {
		return err
	}
	if err := unstructured.SetNestedField(objs[1].Object, enabled, "spec", "enabled"); err != nil {
		return err
	}
	if _, err := c.Apply(ctx, objs[0]); err != nil {
		return err
	}
	if err := s.setToken(ctx, c, &ep.token); err != nil {
		return err
	}
	out, err := c.Apply(ctx, objs[1])
	if err != nil {
		return fmt.Errorf("%w (is the Spinnaker Operator installed in that cluster? spinops_managed_spinnaker installs its CRDs)", err)
	}
	return s.replaceEdited(ctx, c, objs[1], out)
}

// replaceEdited sets the spec fields Missing compares to exactly what was
// rendered where the applied object still differs. Server-side apply merges
// a schemaless map such as spec.settings key by key, so a key added by
// someone else (kubectl edit) would survive it and the account would show
// as changed on every plan.
func (s *SpinnakerAccount) replaceEdited(ctx context.Context, c *kube.Client, want, got *unstructured.Unstructured) error {
	var ops []map[string]any
	for _, f := range accountSpecFields {
		w := want.Object["spec"].(map[string]any)[f]
		if !sameJSON(w, nestedOrNil(got.Object, "spec", f)) {
			ops = append(ops, map[string]any{"op": "add", "path": "/spec/" + f, "value": w})
		}
	}
	if len(ops) == 0 {
		return nil
	}
	patch, err := json.Marshal(ops)
	if err != nil {
		return err
	}
	gvr := SpinnakerAccountGVK.GroupVersion().WithResource("spinnakeraccounts")
	if _, err := c.Dynamic.Resource(gvr).Namespace(s.Namespace).Patch(ctx, s.Account, types.JSONPatchType, patch, metav1.PatchOptions{FieldManager: kube.FieldManager}); err != nil {
		return fmt.Errorf("setting the spec of SpinnakerAccount %s/%s as rendered (it was changed out of band): %w", s.Namespace, s.Account, err)
	}
	return nil
}

// keptEnabled is the spec.enabled to apply: the bridge owns it once the
// account exists (it disables an account whose agent has been gone longer
// than the grace period, and enables it again), so an apply keeps the
// value it finds on the SpinnakerAccount of the same registration. A new
// SpinnakerAccount, or one of another registration, starts enabled.
func (s *SpinnakerAccount) keptEnabled(ctx context.Context, c *kube.Client) (bool, error) {
	cur, err := c.Get(ctx, SpinnakerAccountGVK, s.Namespace, s.Account)
	switch {
	case apierrors.IsNotFound(err):
		return true, nil
	case err != nil:
		return false, fmt.Errorf("reading SpinnakerAccount %s/%s: %w", s.Namespace, s.Account, err)
	}
	if s.RegistrationID == "" || cur.GetAnnotations()[spinnaker.AccountRegistrationAnnotation] != s.RegistrationID {
		return true, nil
	}
	if on, found, _ := unstructured.NestedBool(cur.Object, "spec", "enabled"); found {
		return on, nil
	}
	return true, nil
}

// setToken sets (or, with nil, removes) the account's key of the shared
// AccountTokensSecret with a merge patch, so that other accounts' keys stay.
func (s *SpinnakerAccount) setToken(ctx context.Context, c *kube.Client, token *string) error {
	secrets := c.Clientset.CoreV1().Secrets(s.Namespace)
	if _, err := secrets.Get(ctx, AccountTokensSecret, metav1.GetOptions{}); apierrors.IsNotFound(err) {
		if token == nil {
			return nil
		}
		sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: AccountTokensSecret, Namespace: s.Namespace,
			Labels: map[string]string{"app.kubernetes.io/managed-by": "spinops"}}, Type: corev1.SecretTypeOpaque}
		if _, err := secrets.Create(ctx, sec, metav1.CreateOptions{FieldManager: kube.FieldManager}); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("creating Secret %s/%s: %w", s.Namespace, AccountTokensSecret, err)
		}
	} else if err != nil {
		return fmt.Errorf("reading Secret %s/%s: %w", s.Namespace, AccountTokensSecret, err)
	}
	var value any
	if token != nil {
		value = base64.StdEncoding.EncodeToString([]byte(*token))
	}
	patch, _ := json.Marshal(map[string]any{"data": map[string]any{s.Account: value}})
	if _, err := secrets.Patch(ctx, AccountTokensSecret, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: kube.FieldManager}); err != nil && (token != nil || !apierrors.IsNotFound(err)) {
		return fmt.Errorf("writing the endpoint token of account %s to Secret %s/%s: %w", s.Account, s.Namespace, AccountTokensSecret, err)
	}
	return nil
}

// Missing lists which of the objects are gone.
func (s *SpinnakerAccount) Missing(ctx context.Context, c *kube.Client) ([]string, error) {
	var missing []string
	for _, o := range s.Objects("") {
		cur, err := c.Get(ctx, o.GroupVersionKind(), o.GetNamespace(), o.GetName())
		switch {
		case apierrors.IsNotFound(err):
			missing = append(missing, kube.Describe(o))
		case err != nil:
			return nil, err
		case o.GetKind() == SpinnakerAccountGVK.Kind && s.RegistrationID != "" &&
			cur.GetAnnotations()[spinnaker.AccountRegistrationAnnotation] != s.RegistrationID:
			// Written before the annotation existed, or for another
			// registration: the bridge would not switch it.
			missing = append(missing, fmt.Sprintf("annotation %s=%s of %s", spinnaker.AccountRegistrationAnnotation, s.RegistrationID, kube.Describe(o)))
		case o.GetKind() == SpinnakerAccountGVK.Kind:
			for _, f := range accountSpecFields {
				if !sameJSON(o.Object["spec"].(map[string]any)[f], nestedOrNil(cur.Object, "spec", f)) {
					// Edited out of band: Clouddriver would use other
					// settings (caching cycle, kinds, namespaces) or
					// permissions than the plan's.
					missing = append(missing, fmt.Sprintf("spec.%s of %s as rendered (changed out of band)", f, kube.Describe(o)))
				}
			}
		}
	}
	sec, err := c.Clientset.CoreV1().Secrets(s.Namespace).Get(ctx, AccountTokensSecret, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err) || (err == nil && len(sec.Data[s.Account]) == 0):
		missing = append(missing, fmt.Sprintf("key %s of Secret %s/%s", s.Account, s.Namespace, AccountTokensSecret))
	case err != nil:
		return nil, err
	}
	return missing, nil
}

// accountSpecFields are the parts of a SpinnakerAccount's spec that
// Missing compares with the rendering. Not spec.enabled: the bridge owns it
// (keptEnabled). Not spec.kubernetes: the endpoint's address and CA are
// known only when applying.
var accountSpecFields = []string{"type", "permissions", "settings"}

func nestedOrNil(obj map[string]any, fields ...string) any {
	v, found, err := unstructured.NestedFieldNoCopy(obj, fields...)
	if !found || err != nil {
		return nil
	}
	return v
}

// sameJSON compares two values as JSON, an empty object or list being the
// same as none.
func sameJSON(a, b any) bool {
	norm := func(v any) string {
		switch x := v.(type) {
		case map[string]any:
			if len(x) == 0 {
				return "null"
			}
		case []any:
			if len(x) == 0 {
				return "null"
			}
		}
		out, err := json.Marshal(v)
		if err != nil {
			return fmt.Sprintf("%#v", v)
		}
		return string(out)
	}
	return norm(a) == norm(b)
}

// Remove deletes the SpinnakerAccount, its token and its kubeconfig
// Secret, tolerating what is gone.
func (s *SpinnakerAccount) Remove(ctx context.Context, c *kube.Client) error {
	objs := s.Objects("")
	if err := c.Delete(ctx, objs[1]); err != nil {
		return err
	}
	if err := s.setToken(ctx, c, nil); err != nil {
		return err
	}
	return c.Delete(ctx, objs[0])
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

// Object is the Secret as Apply writes it with credential.
func (s *CredentialSecret) Object(credential string) *unstructured.Unstructured {
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
	_, err := c.Apply(ctx, s.Object(credential))
	return err
}

// Remove deletes the Secret, tolerating that it is gone.
func (s *CredentialSecret) Remove(ctx context.Context, c *kube.Client) error {
	return c.Delete(ctx, s.Object(""))
}
