package monitor

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// InstallSpec is what the monitor's installation needs: where it runs, the
// image, its configuration (no secrets) and the secrets, which go only into
// the Secret.
type InstallSpec struct {
	Name      string // e.g. "spinops-monitor"
	Namespace string // where the Deployment runs
	Image     string
	Config    Config
	// Secrets are the Secret's keys → values; Config's *_file fields must
	// name SecretMountPath + "/" + key.
	Secrets map[string]string
}

// Mount paths in the monitor's pod.
const (
	ConfigMountPath = "/etc/spinops/monitor/config"
	SecretMountPath = "/etc/spinops/monitor/secret"
	MetricsPort     = 9464
)

// InstallObjects are the objects that run the monitor, with the least RBAC
// it needs: in each zone's namespace a Role allowing get/create/update of
// ConfigMaps (its state; create cannot be limited by name) and, for zones
// checked through the service proxy, get on services/proxy of spin-gate and
// spin-deck. It reads no Secret through the API: its own is mounted.
func InstallObjects(s InstallSpec) ([]runtime.Object, error) {
	if s.Name == "" || s.Namespace == "" || s.Image == "" {
		return nil, errors.New("the monitor's installation needs a name, a namespace and an image")
	}
	cfg, err := json.MarshalIndent(s.Config, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encoding the monitor configuration: %w", err)
	}
	labels := map[string]string{"app.kubernetes.io/name": "spinops-monitor", "app.kubernetes.io/instance": s.Name, LabelManagedBy: "spinops"}
	meta := func(ns string) metav1.ObjectMeta {
		return metav1.ObjectMeta{Name: s.Name, Namespace: ns, Labels: labels}
	}
	objs := []runtime.Object{
		&corev1.ServiceAccount{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ServiceAccount"}, ObjectMeta: meta(s.Namespace)},
		&corev1.ConfigMap{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"}, ObjectMeta: meta(s.Namespace),
			Data: map[string]string{"config.json": string(cfg)}},
		&corev1.Secret{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"}, ObjectMeta: meta(s.Namespace),
			Type: corev1.SecretTypeOpaque, StringData: s.Secrets},
	}
	// One Role per zone namespace, sorted for a stable plan.
	rules := map[string][]rbacv1.PolicyRule{}
	for _, z := range s.Config.Zones {
		if z.Kubeconfig != "" {
			continue // on its own cluster, with that kubeconfig's credentials
		}
		rs := rules[z.Namespace]
		rs = append(rs, rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get", "create", "update"}})
		if z.ServiceProxy {
			rs = append(rs, rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"services/proxy"}, Verbs: []string{"get"},
				ResourceNames: []string{fmt.Sprintf("spin-gate:%d", orDefault(z.GatePort, 8084)), fmt.Sprintf("spin-deck:%d", orDefault(z.DeckPort, 9000))}})
		}
		rules[z.Namespace] = rs
	}
	namespaces := make([]string, 0, len(rules))
	for ns := range rules {
		namespaces = append(namespaces, ns)
	}
	sort.Strings(namespaces)
	for _, ns := range namespaces {
		objs = append(objs,
			&rbacv1.Role{TypeMeta: metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "Role"}, ObjectMeta: meta(ns), Rules: dedupRules(rules[ns])},
			&rbacv1.RoleBinding{TypeMeta: metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "RoleBinding"}, ObjectMeta: meta(ns),
				RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: s.Name},
				Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: s.Name, Namespace: s.Namespace}}})
	}
	one, nonRoot, no := int32(1), true, false
	uid := int64(65532)
	objs = append(objs, &appsv1.Deployment{TypeMeta: metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"}, ObjectMeta: meta(s.Namespace),
		Spec: appsv1.DeploymentSpec{
			Replicas: &one,
			// One monitor at a time; two overlapping would each count their rounds.
			Strategy: appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType},
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app.kubernetes.io/name": "spinops-monitor", "app.kubernetes.io/instance": s.Name}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					ServiceAccountName: s.Name,
					SecurityContext:    &corev1.PodSecurityContext{RunAsNonRoot: &nonRoot, RunAsUser: &uid},
					Containers: []corev1.Container{{
						Name: "monitor", Image: s.Image,
						Args:  []string{"monitor", "--config", ConfigMountPath + "/config.json", fmt.Sprintf("--metrics-addr=:%d", MetricsPort)},
						Ports: []corev1.ContainerPort{{Name: "metrics", ContainerPort: MetricsPort}},
						ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
							Path: "/healthz", Port: intstr.FromInt32(MetricsPort)}}},
						SecurityContext: &corev1.SecurityContext{AllowPrivilegeEscalation: &no, ReadOnlyRootFilesystem: &nonRoot,
							Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}},
						VolumeMounts: []corev1.VolumeMount{
							{Name: "config", MountPath: ConfigMountPath, ReadOnly: true},
							{Name: "secret", MountPath: SecretMountPath, ReadOnly: true},
						},
					}},
					Volumes: []corev1.Volume{
						{Name: "config", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: s.Name}}}},
						{Name: "secret", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: s.Name}}},
					},
				},
			},
		}})
	return objs, nil
}

func orDefault(v, d int) int {
	if v == 0 {
		return d
	}
	return v
}

func dedupRules(rs []rbacv1.PolicyRule) []rbacv1.PolicyRule {
	var out []rbacv1.PolicyRule
	seen := map[string]bool{}
	for _, r := range rs {
		k := fmt.Sprint(r)
		if !seen[k] {
			seen[k] = true
			out = append(out, r)
		}
	}
	return out
}
