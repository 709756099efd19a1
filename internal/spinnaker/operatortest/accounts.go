package operatortest

import (
	"context"
	"fmt"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"
)

// How the real operator hands SpinnakerAccounts to Clouddriver
// (armory/spinnaker-operator d92e6804; paths in that repository). Each
// behaviour below has its own test in accounts_test.go.
//
//   - Halyard's Deployments mount the service's config Secret at
//     /opt/spinnaker/config; the operator finds "the" config Secret of a
//     service through that mount (pkg/util/find.go
//     GetMountedSecretNameInDeployment, FindSecretInDeployment).
//   - Accounts: pkg/accounts/accounts.go AllValidCRDAccounts lists the
//     SpinnakerAccounts of the SpinnakerService's namespace and keeps those
//     with spec.enabled and a known spec.type (Kubernetes only); an account
//     that cannot be read (no spec.kubernetes) fails the whole list.
//   - Rendering: pkg/accounts/kubernetes/parse.go ToSpinnakerSettings:
//     name, every key of spec.settings, providerVersion V2, and the
//     credentials: kubeconfigFile as is, an inline kubeconfig serialised as
//     kubeconfigContents, serviceAccount: true; kubeconfigSecret needs the
//     secret context that 1.3.1 does not set up (OPERATOR-CONTRACT.md).
//     pkg/accounts/service.go PrepareSettings puts the list under
//     kubernetes.accounts, for the service named exactly "clouddriver"
//     (foundIn, not IsServiceLike: a split Clouddriver's file stays empty).
//   - pkg/util/find.go UpdateSecret writes it as key
//     "<service>-accounts.yml" of the config Secret; Spring loads it only
//     with the "accounts" profile active.
//   - At deploy (pkg/deploy/spindeploy/transformer/accounts.go), only with
//     spec.accounts.enabled: SPRING_PROFILES_ACTIVE gains "accounts" on
//     every Clouddriver-like service (IsServiceLike: clouddriver and
//     clouddriver-*), and every service's Secret gets its accounts file.
//   - On every SpinnakerAccount change (pkg/controller/spinnakeraccount/
//     spinnakeraccount_controller.go deploy): the first SpinnakerService of
//     the namespace, Deployment spin-clouddriver, its config Secret, the
//     accounts file rewritten. It logs, but does not stop, when the
//     SpinnakerService does not accept dynamic accounts; a missing
//     spin-clouddriver (split Clouddriver) is an error of that reconcile.

const (
	configMountPath = "/opt/spinnaker/config" // pkg/util/find.go callers
	accountsProfile = "accounts"              // pkg/accounts/accounts.go SpringProfile
)

// configSecretName is the name the stand-in gives a service's config
// Secret (Halyard adds a hash; the operator only follows the mount).
func configSecretName(svc string) string { return "spin-" + svc + "-files" }

// accountsFileKey is UpdateSecret's key.
func accountsFileKey(svc string) string { return svc + "-" + accountsProfile + ".yml" }

// isServiceLike is pkg/util/find.go IsServiceLike.
func isServiceLike(svc1, svc2 string) bool {
	return svc1 == svc2 || strings.HasPrefix(svc1, svc2+"-")
}

// validAccounts is AllValidCRDAccounts followed by ToSpinnakerSettings.
func (o *Operator) validAccounts(ctx context.Context, ns string) ([]map[string]any, error) {
	list, err := o.accountList(ctx, ns)
	if apierrors.IsNotFound(err) {
		return nil, nil // the CRD is not installed: NoKindMatch, skipped
	}
	if err != nil {
		return nil, err
	}
	items := list.Items
	slices.SortFunc(items, func(a, b unstructured.Unstructured) int { return strings.Compare(a.GetName(), b.GetName()) })
	var out []map[string]any
	for _, a := range items {
		if on, _, _ := unstructured.NestedBool(a.Object, "spec", "enabled"); !on {
			continue
		}
		if tp, _, _ := unstructured.NestedString(a.Object, "spec", "type"); tp != "Kubernetes" {
			continue // GetType fails: skipped
		}
		auth, found, _ := unstructured.NestedMap(a.Object, "spec", "kubernetes")
		if !found {
			return nil, fmt.Errorf("SpinnakerAccount %s/%s: no kubernetes auth defined", ns, a.GetName())
		}
		m := map[string]any{"name": a.GetName()}
		settings, _, _ := unstructured.NestedMap(a.Object, "spec", "settings")
		for k, v := range settings {
			m[k] = v
		}
		m["providerVersion"] = "V2"
		switch {
		case auth["kubeconfigFile"] != nil && auth["kubeconfigFile"] != "":
			m["kubeconfigFile"] = auth["kubeconfigFile"]
		case auth["kubeconfig"] != nil:
			b, err := yaml.Marshal(auth["kubeconfig"])
			if err != nil {
				return nil, err
			}
			m["kubeconfigContents"] = string(b)
		case auth["kubeconfigSecret"] != nil:
			return nil, fmt.Errorf("SpinnakerAccount %s/%s: secret context not initialized", ns, a.GetName())
		case auth["useServiceAccount"] == true:
			m["serviceAccount"] = true
		default:
			return nil, fmt.Errorf("SpinnakerAccount %s/%s: auth method not implemented", ns, a.GetName())
		}
		out = append(out, m)
	}
	return out, nil
}

// accountsFile is PrepareSettings for svc, serialised as UpdateSecret does.
func accountsFile(svc string, accounts []map[string]any) ([]byte, error) {
	settings := map[string]any{}
	if svc == "clouddriver" && len(accounts) > 0 {
		list := make([]any, len(accounts))
		for i, a := range accounts {
			list[i] = a
		}
		settings["kubernetes"] = map[string]any{"accounts": list}
	}
	return yaml.Marshal(settings)
}

// mountedConfigSecret is GetMountedSecretNameInDeployment.
func mountedConfigSecret(dep *appsv1.Deployment, container string) string {
	for _, c := range dep.Spec.Template.Spec.Containers {
		if c.Name != container {
			continue
		}
		for _, vm := range c.VolumeMounts {
			if vm.MountPath != configMountPath {
				continue
			}
			for _, v := range dep.Spec.Template.Spec.Volumes {
				if v.Name == vm.Name && v.Secret != nil {
					return v.Secret.SecretName
				}
			}
		}
	}
	return ""
}

// writeAccountsFile sets the accounts file of the Secret mounted in dep's
// container svc.
func (o *Operator) writeAccountsFile(ctx context.Context, dep *appsv1.Deployment, svc string, accounts []map[string]any) error {
	name := mountedConfigSecret(dep, svc)
	if name == "" {
		return fmt.Errorf("unable to find secret at path %s in container %s in deployment %s", configMountPath, svc, dep.Name)
	}
	sec, err := o.cs.CoreV1().Secrets(dep.Namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	b, err := accountsFile(svc, accounts)
	if err != nil {
		return err
	}
	if string(sec.Data[accountsFileKey(svc)]) == string(b) {
		return nil
	}
	if sec.Data == nil {
		sec.Data = map[string][]byte{}
	}
	sec.Data[accountsFileKey(svc)] = b
	_, err = o.cs.CoreV1().Secrets(dep.Namespace).Update(ctx, sec, metav1.UpdateOptions{FieldManager: standInManager})
	return err
}

// reconcileAccounts is the account controller's deploy for the namespace
// of the first SpinnakerService: the stand-in polls where the real one is
// triggered by SpinnakerAccount events, with the same outcome.
func (o *Operator) reconcileAccounts(ctx context.Context, ns string) error {
	accs, err := o.accountList(ctx, ns)
	if err != nil || len(accs.Items) == 0 {
		return nil // no SpinnakerAccount event to react to
	}
	accounts, err := o.validAccounts(ctx, ns)
	if err != nil {
		return err
	}
	dep, err := o.cs.AppsV1().Deployments(ns).Get(ctx, "spin-clouddriver", metav1.GetOptions{})
	if err != nil {
		return err
	}
	return o.writeAccountsFile(ctx, dep, "clouddriver", accounts)
}

// AccountError is the last error of the account controller stand-in (it
// does not touch the SpinnakerService's status, as the real one does not).
func (o *Operator) AccountError() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.accountError
}

// ClouddriverAccounts is what the Clouddriver of namespace ns would load
// from the operator: the names in clouddriver-accounts.yml of the config
// Secret mounted in spin-clouddriver, when the Deployment runs with the
// "accounts" Spring profile (otherwise Spring does not read the file: nil).
func ClouddriverAccounts(ctx context.Context, cs kubernetes.Interface, ns string) ([]string, error) {
	dep, err := cs.AppsV1().Deployments(ns).Get(ctx, "spin-clouddriver", metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	active := false
	for _, c := range dep.Spec.Template.Spec.Containers {
		if c.Name == "clouddriver" {
			for _, e := range c.Env {
				if e.Name == "SPRING_PROFILES_ACTIVE" && slices.Contains(strings.Split(e.Value, ","), accountsProfile) {
					active = true
				}
			}
		}
	}
	if !active {
		return nil, nil
	}
	name := mountedConfigSecret(dep, "clouddriver")
	if name == "" {
		return nil, fmt.Errorf("spin-clouddriver mounts no config Secret at %s", configMountPath)
	}
	sec, err := cs.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	var file struct {
		Kubernetes struct {
			Accounts []struct {
				Name string `json:"name"`
			} `json:"accounts"`
		} `json:"kubernetes"`
	}
	if err := yaml.Unmarshal(sec.Data[accountsFileKey("clouddriver")], &file); err != nil {
		return nil, fmt.Errorf("reading %s of Secret %s/%s: %w", accountsFileKey("clouddriver"), ns, name, err)
	}
	names := []string{}
	for _, a := range file.Kubernetes.Accounts {
		names = append(names, a.Name)
	}
	return names, nil
}

// withConfigMount adds the config Secret volume (and, with accounts on,
// the accounts profile of a Clouddriver-like service) to a Deployment the
// stand-in renders, as Halyard's manifests and the accounts transformer do.
func withConfigMount(dep *appsv1.Deployment, svc string, accountsOn bool) {
	spec := &dep.Spec.Template.Spec
	spec.Volumes = append(spec.Volumes, corev1.Volume{Name: configSecretName(svc),
		VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: configSecretName(svc)}}})
	c := &spec.Containers[0]
	c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: configSecretName(svc), MountPath: configMountPath})
	if accountsOn && isServiceLike(svc, "clouddriver") {
		c.Env = append(c.Env, corev1.EnvVar{Name: "SPRING_PROFILES_ACTIVE", Value: accountsProfile})
	}
}

// upsertConfigSecret creates a service's config Secret and, with accounts
// on, writes its accounts file (the transformer: every service's Secret,
// with the accounts only in Clouddriver's).
func (o *Operator) upsertConfigSecret(ctx context.Context, ns, svc string, owner metav1.OwnerReference, accountsOn bool, accounts []map[string]any) error {
	c := o.cs.CoreV1().Secrets(ns)
	sec, err := c.Get(ctx, configSecretName(svc), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		sec = &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: configSecretName(svc), Namespace: ns, OwnerReferences: []metav1.OwnerReference{owner},
			Labels: map[string]string{"app.kubernetes.io/managed-by": standInManager}}, Data: map[string][]byte{}}
		if sec, err = c.Create(ctx, sec, metav1.CreateOptions{FieldManager: standInManager}); err != nil {
			return err
		}
	} else if err != nil {
		return err
	}
	if !accountsOn {
		return nil
	}
	b, err := accountsFile(svc, accounts)
	if err != nil {
		return err
	}
	if string(sec.Data[accountsFileKey(svc)]) == string(b) {
		return nil
	}
	if sec.Data == nil {
		sec.Data = map[string][]byte{}
	}
	sec.Data[accountsFileKey(svc)] = b
	_, err = c.Update(ctx, sec, metav1.UpdateOptions{FieldManager: standInManager})
	return err
}
