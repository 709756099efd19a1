package attach

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/discovery"
	"sigs.k8s.io/yaml"

	"github.com/spinops/terraform-provider-spinops/internal/agent"
	"github.com/spinops/terraform-provider-spinops/internal/kube"
)

// Keys of the agent's Secret and ConfigMap, and where the Deployment mounts
// them.
const (
	SecretCredentialKey = "credential"
	SecretAddressKey    = "bridge-address"
	SecretCAKey         = "ca.crt"
	ConfigKey           = "agent.yaml"

	SecretMountPath = "/var/run/spinops"
	ConfigMountPath = "/etc/spinops"

	// AnnotationAccount marks objects (and a namespace the install created)
	// with the account they belong to.
	AnnotationAccount = "spinops.io/agent-account"
	// AnnotationChecksum on the pod template changes with the config and the
	// credential, so either change rolls the agent.
	AnnotationChecksum = "spinops.io/agent-checksum"
)

// BridgeEndpoint is how an agent reaches the bridge.
type BridgeEndpoint struct {
	Address    string
	CAPEM      string
	ServerName string
	Insecure   bool
}

// AccountFilter is what an account watches and who may use it.
type AccountFilter struct {
	Kinds, OmitKinds           []string
	Namespaces, OmitNamespaces []string
	OnlyNamespacedResources    bool
	Read, Write                []string
}

// AgentInstall is an agent in agent mode, installed in the target cluster:
// a ServiceAccount, RBAC limited to the watched kinds, a Secret with the
// credential and bridge address, a ConfigMap with the agent config and a
// Deployment.
type AgentInstall struct {
	Account      string
	Namespace    string
	Image        string
	Replicas     int32
	Resources    corev1.ResourceRequirements
	NodeSelector map[string]string
	Tolerations  []corev1.Toleration
	Bridge       BridgeEndpoint
	Filter       AccountFilter
}

// Name is the name of every namespaced object and of the ClusterRole.
func (in *AgentInstall) Name() string { return "spinops-agent-" + in.Account }

func (in *AgentInstall) labels() map[string]string {
	return map[string]string{
		"app.kubernetes.io/name":       "spinops-agent",
		"app.kubernetes.io/instance":   in.Account,
		"app.kubernetes.io/managed-by": "spinops",
	}
}

func (in *AgentInstall) meta(namespace, name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: namespace, Labels: in.labels(), Annotations: map[string]string{AnnotationAccount: in.Account}}
}

// accountConfig is the account as the agent's config names it.
func (f AccountFilter) accountConfig(name string) agent.AccountConfig {
	return agent.AccountConfig{
		Name: name, Kinds: f.Kinds, OmitKinds: f.OmitKinds, Namespaces: f.Namespaces, OmitNamespaces: f.OmitNamespaces,
		OnlyNamespacedResources: f.OnlyNamespacedResources,
		Permissions:             agent.Permissions{Read: f.Read, Write: f.Write},
	}
}

// AgentConfig is the agent.yaml the ConfigMap holds: agent mode, the
// in-cluster service account, the credential and the bridge CA read from
// the mounted Secret; the bridge address comes from the Secret through the
// SPINOPS_BRIDGE_ADDRESS environment variable.
func (in *AgentInstall) AgentConfig() ([]byte, error) {
	acct := in.Filter.accountConfig(in.Account)
	acct.ServiceAccount = true
	b := &agent.BridgeConfig{Insecure: in.Bridge.Insecure, Auth: agent.Auth{TokenFile: SecretMountPath + "/" + SecretCredentialKey}}
	if in.Bridge.CAPEM != "" {
		b.TLS.CACertFile = SecretMountPath + "/" + SecretCAKey
	}
	b.TLS.ServerName = in.Bridge.ServerName
	cfg := agent.Config{Mode: agent.ModeAgent, Bridge: b, Kubernetes: agent.KubernetesConfig{Accounts: []agent.AccountConfig{acct}}}
	out, err := yaml.Marshal(cfg)
	if err != nil {
		return nil, fmt.Errorf("writing the agent config of %q: %w", in.Account, err)
	}
	return out, nil
}

// Rules are the RBAC rules of the agent: get/list/watch on every kind it
// watches (plus write verbs when the account may be written), split into
// namespaced kinds and cluster-scoped kinds.
type Rules struct {
	Namespaced []rbacv1.PolicyRule
	Cluster    []rbacv1.PolicyRule
	// Kinds counts the kinds granted.
	Kinds int
	// Incomplete is set when some API groups of the target cluster did not
	// answer discovery (an aggregated API whose server is down): their
	// kinds are missing from the rules.
	Incomplete error
}

var (
	readVerbs  = []string{"get", "list", "watch"}
	writeVerbs = []string{"create", "update", "patch", "delete"}
)

// ResolveRules discovers the target cluster's resources and grants exactly
// the kinds the account watches (the agent's own selection).
func ResolveRules(ctx context.Context, c *kube.Client, f AccountFilter) (Rules, error) {
	disc, err := discovery.NewDiscoveryClientForConfig(c.Config)
	if err != nil {
		return Rules{}, fmt.Errorf("creating a discovery client for %s: %w", c.Config.Host, err)
	}
	lists, err := disc.ServerPreferredResources()
	if err != nil && len(lists) == 0 {
		return Rules{}, fmt.Errorf("discovering the resources of %s: %w", c.Config.Host, err)
	}
	var incomplete error
	if err != nil {
		incomplete = fmt.Errorf("discovering the resources of %s: %w", c.Config.Host, err)
	}
	kinds := agent.SelectKinds(lists, f.accountConfig("x"))
	if len(kinds) == 0 {
		return Rules{}, fmt.Errorf("kinds %v / omit_kinds %v select no resource %s serves: name kinds as Deployment, deployments or deployments.apps", f.Kinds, f.OmitKinds, c.Config.Host)
	}
	verbs := readVerbs
	if f.accountConfig("x").Rules().Writable() {
		verbs = append(append([]string{}, readVerbs...), writeVerbs...)
	}
	type key struct {
		group      string
		namespaced bool
	}
	byGroup := map[key][]string{}
	for _, k := range kinds {
		kk := key{k.GetGroup(), k.GetNamespaced()}
		byGroup[kk] = append(byGroup[kk], k.GetResource())
		if k.GetGroup() == "" && k.GetResource() == "pods" {
			// kubectl logs through the bridge is forwarded as an operation.
			byGroup[kk] = append(byGroup[kk], "pods/log")
		}
	}
	keys := make([]key, 0, len(byGroup))
	for k := range byGroup {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].group < keys[j].group })
	r := Rules{Kinds: len(kinds), Incomplete: incomplete}
	for _, k := range keys {
		res := byGroup[k]
		sort.Strings(res)
		rule := rbacv1.PolicyRule{APIGroups: []string{k.group}, Resources: res, Verbs: verbs}
		if k.namespaced {
			r.Namespaced = append(r.Namespaced, rule)
		} else {
			r.Cluster = append(r.Cluster, rule)
		}
	}
	return r, nil
}

// InstallAccess is what the credentials used for the install must be
// allowed to do.
func (in *AgentInstall) InstallAccess() []kube.Access {
	ns := in.Namespace
	want := []kube.Access{
		{Verb: "create", Resource: "serviceaccounts", Namespace: ns},
		{Verb: "create", Resource: "secrets", Namespace: ns},
		{Verb: "create", Resource: "configmaps", Namespace: ns},
		{Verb: "create", Group: "apps", Resource: "deployments", Namespace: ns},
		{Verb: "create", Group: "rbac.authorization.k8s.io", Resource: "clusterroles"},
	}
	if len(in.Filter.Namespaces) == 0 {
		want = append(want, kube.Access{Verb: "create", Group: "rbac.authorization.k8s.io", Resource: "clusterrolebindings"})
	} else {
		for _, n := range in.Filter.Namespaces {
			want = append(want, kube.Access{Verb: "create", Group: "rbac.authorization.k8s.io", Resource: "rolebindings", Namespace: n})
		}
	}
	return want
}

// MissingAccessError says which permissions the install credentials lack.
type MissingAccessError struct {
	Host    string
	Missing []kube.Access
}

func (e *MissingAccessError) Error() string {
	var parts []string
	for _, m := range e.Missing {
		parts = append(parts, m.String())
	}
	return fmt.Sprintf("the credentials used for the target cluster %s may not %s: grant them (for example a binding to cluster-admin for the identity Terraform uses) or give install_agent.kubernetes other credentials",
		e.Host, strings.Join(parts, ", "))
}

// Check asks the target cluster whether the install may proceed.
func (in *AgentInstall) Check(ctx context.Context, c *kube.Client) error {
	missing, err := c.MissingAccess(ctx, in.InstallAccess())
	if err != nil {
		return err
	}
	if len(missing) > 0 {
		return &MissingAccessError{Host: c.Config.Host, Missing: missing}
	}
	return nil
}

// healthProbe probes the agent's health check.
var healthProbe = corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: agent.HealthPath, Port: intstr.FromString("health")}}

// Objects renders everything the install applies, in apply order. The
// credential goes into the Secret only.
func (in *AgentInstall) Objects(rules Rules, credential string) ([]*unstructured.Unstructured, error) {
	if credential == "" {
		return nil, errors.New("no agent credential to install")
	}
	name, ns := in.Name(), in.Namespace
	config, err := in.AgentConfig()
	if err != nil {
		return nil, err
	}
	subject := []rbacv1.Subject{{Kind: "ServiceAccount", Name: name, Namespace: ns}}
	rbacGV := rbacv1.SchemeGroupVersion.String()
	objs := []runtime.Object{
		&corev1.ServiceAccount{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ServiceAccount"}, ObjectMeta: in.meta(ns, name)},
	}
	bindRef := rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: name}
	if len(in.Filter.Namespaces) == 0 {
		objs = append(objs,
			&rbacv1.ClusterRole{TypeMeta: metav1.TypeMeta{APIVersion: rbacGV, Kind: "ClusterRole"}, ObjectMeta: in.meta("", name),
				Rules: append(append([]rbacv1.PolicyRule{}, rules.Namespaced...), rules.Cluster...)},
			&rbacv1.ClusterRoleBinding{TypeMeta: metav1.TypeMeta{APIVersion: rbacGV, Kind: "ClusterRoleBinding"}, ObjectMeta: in.meta("", name),
				RoleRef: bindRef, Subjects: subject})
	} else {
		objs = append(objs, &rbacv1.ClusterRole{TypeMeta: metav1.TypeMeta{APIVersion: rbacGV, Kind: "ClusterRole"}, ObjectMeta: in.meta("", name), Rules: rules.Namespaced})
		for _, n := range in.Filter.Namespaces {
			objs = append(objs, &rbacv1.RoleBinding{TypeMeta: metav1.TypeMeta{APIVersion: rbacGV, Kind: "RoleBinding"}, ObjectMeta: in.meta(n, name),
				RoleRef: bindRef, Subjects: subject})
		}
		if len(rules.Cluster) > 0 {
			cn := name + "-cluster"
			objs = append(objs,
				&rbacv1.ClusterRole{TypeMeta: metav1.TypeMeta{APIVersion: rbacGV, Kind: "ClusterRole"}, ObjectMeta: in.meta("", cn), Rules: rules.Cluster},
				&rbacv1.ClusterRoleBinding{TypeMeta: metav1.TypeMeta{APIVersion: rbacGV, Kind: "ClusterRoleBinding"}, ObjectMeta: in.meta("", cn),
					RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: cn}, Subjects: subject})
		}
	}
	secretData := map[string]string{SecretCredentialKey: credential, SecretAddressKey: in.Bridge.Address}
	if in.Bridge.CAPEM != "" {
		secretData[SecretCAKey] = in.Bridge.CAPEM
	}
	sum := sha256.New()
	sum.Write(config)
	sum.Write([]byte{0})
	sum.Write([]byte(credential))
	sum.Write([]byte{0})
	sum.Write([]byte(in.Bridge.Address + "\x00" + in.Bridge.CAPEM))
	checksum := hex.EncodeToString(sum.Sum(nil))[:16]

	replicas := in.Replicas
	nonRoot, noEsc, roFS := true, false, true
	uid := int64(65532)
	podLabels := in.labels()
	objs = append(objs,
		&corev1.Secret{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"}, ObjectMeta: in.meta(ns, name), Type: corev1.SecretTypeOpaque, StringData: secretData},
		&corev1.ConfigMap{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"}, ObjectMeta: in.meta(ns, name), Data: map[string]string{ConfigKey: string(config)}},
		&appsv1.Deployment{
			TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
			ObjectMeta: in.meta(ns, name),
			Spec: appsv1.DeploymentSpec{
				Replicas: &replicas,
				Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app.kubernetes.io/name": "spinops-agent", "app.kubernetes.io/instance": in.Account}},
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: podLabels, Annotations: map[string]string{AnnotationChecksum: checksum}},
					Spec: corev1.PodSpec{
						ServiceAccountName: name,
						NodeSelector:       in.NodeSelector,
						Tolerations:        in.Tolerations,
						SecurityContext: &corev1.PodSecurityContext{RunAsNonRoot: &nonRoot, RunAsUser: &uid,
							SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
						Containers: []corev1.Container{{
							Name:  "agent",
							Image: in.Image,
							Args:  []string{"agent", "--config", ConfigMountPath + "/" + ConfigKey},
							Env: []corev1.EnvVar{{Name: "SPINOPS_BRIDGE_ADDRESS", ValueFrom: &corev1.EnvVarSource{
								SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: name}, Key: SecretAddressKey}}}},
							Resources: in.Resources,
							Ports:     []corev1.ContainerPort{{Name: "health", ContainerPort: agent.DefaultHealthPort, Protocol: corev1.ProtocolTCP}},
							// The agent's local health check (GET /health on
							// server.port, its only listener).
							LivenessProbe:  &corev1.Probe{ProbeHandler: healthProbe, InitialDelaySeconds: 10, PeriodSeconds: 10, FailureThreshold: 3},
							ReadinessProbe: &corev1.Probe{ProbeHandler: healthProbe, PeriodSeconds: 5},
							SecurityContext: &corev1.SecurityContext{AllowPrivilegeEscalation: &noEsc, ReadOnlyRootFilesystem: &roFS,
								Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}},
							VolumeMounts: []corev1.VolumeMount{
								{Name: "config", MountPath: ConfigMountPath, ReadOnly: true},
								{Name: "credential", MountPath: SecretMountPath, ReadOnly: true},
							},
						}},
						Volumes: []corev1.Volume{
							{Name: "config", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: name}}}},
							{Name: "credential", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: name}}},
						},
					},
				},
			},
		})
	return kube.ToUnstructured(objs...)
}

// Refs are every object an install may have made, for deletion and for
// drift checks (the cluster-scoped "-cluster" pair exists only when
// namespaces are set and cluster-scoped kinds are watched).
func (in *AgentInstall) Refs() []*unstructured.Unstructured {
	name, ns := in.Name(), in.Namespace
	ref := func(apiVersion, kind, namespace, name string) *unstructured.Unstructured {
		u := &unstructured.Unstructured{}
		u.SetAPIVersion(apiVersion)
		u.SetKind(kind)
		u.SetNamespace(namespace)
		u.SetName(name)
		return u
	}
	rbacGV := rbacv1.SchemeGroupVersion.String()
	refs := []*unstructured.Unstructured{
		ref("apps/v1", "Deployment", ns, name),
		ref("v1", "ConfigMap", ns, name),
		ref("v1", "Secret", ns, name),
		ref(rbacGV, "ClusterRoleBinding", "", name),
		ref(rbacGV, "ClusterRole", "", name),
		ref(rbacGV, "ClusterRoleBinding", "", name+"-cluster"),
		ref(rbacGV, "ClusterRole", "", name+"-cluster"),
	}
	for _, n := range in.Filter.Namespaces {
		refs = append(refs, ref(rbacGV, "RoleBinding", n, name))
	}
	return append(refs, ref("v1", "ServiceAccount", ns, name))
}

// Essential are the objects without which the agent cannot run; Missing
// reports which of them are gone (drift).
func (in *AgentInstall) Essential() []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, r := range in.Refs() {
		switch r.GetKind() {
		case "Deployment", "ConfigMap", "Secret":
			out = append(out, r)
		}
	}
	return out
}

// Apply installs (or updates) the agent: the namespace when it is missing
// (marked as the install's, so Remove deletes it), then every object.
func (in *AgentInstall) Apply(ctx context.Context, c *kube.Client, rules Rules, credential string) error {
	objs, err := in.Objects(rules, credential)
	if err != nil {
		return err
	}
	if err := ensureNamespace(ctx, c, in.Namespace, in.Account); err != nil {
		return err
	}
	// Objects of an earlier shape (namespaces changed) are removed first.
	want := map[string]bool{}
	for _, o := range objs {
		want[kube.Describe(o)] = true
	}
	for _, r := range in.Refs() {
		if !want[kube.Describe(r)] && r.GetKind() != "RoleBinding" {
			if err := c.Delete(ctx, r); err != nil {
				return err
			}
		}
	}
	for _, o := range objs {
		if _, err := c.Apply(ctx, o); err != nil {
			return err
		}
	}
	return nil
}

// RemoveStaleRoleBindings deletes the RoleBindings of namespaces the
// account no longer watches.
func (in *AgentInstall) RemoveStaleRoleBindings(ctx context.Context, c *kube.Client, previous []string) error {
	keep := map[string]bool{}
	for _, n := range in.Filter.Namespaces {
		keep[n] = true
	}
	for _, n := range previous {
		if keep[n] {
			continue
		}
		old := *in
		old.Filter.Namespaces = []string{n}
		for _, r := range old.Refs() {
			if r.GetKind() == "RoleBinding" {
				if err := c.Delete(ctx, r); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// Missing lists the essential objects that are gone.
func (in *AgentInstall) Missing(ctx context.Context, c *kube.Client) ([]string, error) {
	return c.Missing(ctx, in.Essential())
}

// Remove deletes everything the install made, tolerating what is gone,
// and the namespace when the install created it.
func (in *AgentInstall) Remove(ctx context.Context, c *kube.Client) error {
	for _, r := range in.Refs() {
		if err := c.Delete(ctx, r); err != nil {
			return err
		}
	}
	return removeNamespace(ctx, c, in.Namespace, in.Account)
}

var namespaceGVK = schema.GroupVersionKind{Version: "v1", Kind: "Namespace"}

// ensureNamespace creates the namespace when it does not exist, marked as
// created for the account.
func ensureNamespace(ctx context.Context, c *kube.Client, ns, account string) error {
	_, err := c.Get(ctx, namespaceGVK, "", ns)
	if err == nil {
		return nil
	}
	if !apierrors.IsNotFound(err) {
		return err
	}
	u := &unstructured.Unstructured{}
	u.SetAPIVersion("v1")
	u.SetKind("Namespace")
	u.SetName(ns)
	u.SetLabels(map[string]string{"app.kubernetes.io/managed-by": "spinops"})
	u.SetAnnotations(map[string]string{AnnotationAccount: account})
	_, err = c.Apply(ctx, u)
	return err
}

// removeNamespace deletes the namespace only when the install created it.
func removeNamespace(ctx context.Context, c *kube.Client, ns, account string) error {
	u, err := c.Get(ctx, namespaceGVK, "", ns)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if u.GetAnnotations()[AnnotationAccount] != account {
		return nil
	}
	return c.Delete(ctx, u)
}
