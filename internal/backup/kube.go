package backup

import (
	"encoding/json"
	"fmt"
	"slices"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"

	"github.com/spinops/terraform-provider-spinops/internal/kube"
)

// Keys and paths the policy's objects share.
const (
	ConfigKey        = "config.json"
	PolicyAnnotation = "spinops.io/backup-policy"
	// SecretPasswordKey and SecretSigningKey are the keys of the policy's
	// own Secret (ObjectName), present when the password or the signing key
	// was given as a write-only value.
	SecretPasswordKey = "mysql-password"
	SecretSigningKey  = "signing-key"
	configMountPath   = "/etc/spinops/backup"
	// CAMountPath is where the MySQL CA Secret is mounted; the
	// configuration's mysql.ca_file points into it.
	CAMountPath = "/etc/spinops/mysql-ca"
	// MetricsPort is the archiver's Prometheus port.
	MetricsPort = 9464
)

// Policy is a scheduled backup running in a cluster: a Secret (the MySQL
// password, when given as a value), a ConfigMap (Config), a CronJob running
// `spinops backup run` and, with point-in-time recovery, a Deployment
// running `spinops backup archive-binlogs`.
type Policy struct {
	Name, Namespace string
	Schedule        string
	TimeZone        string
	Image           string
	Config          Config
	// Password, when set, is written to the policy's Secret.
	Password string
	// PasswordSecret references an existing Secret key instead.
	PasswordSecretName, PasswordSecretKey string
	// CredentialsSecret is an existing Secret whose keys become environment
	// variables (AWS_ACCESS_KEY_ID, ...), optional.
	CredentialsSecret  string
	ServiceAccountName string
	// MakeServiceAccount: the policy makes and owns ServiceAccountName,
	// with ServiceAccountAnnotations (IRSA's role, Workload Identity's
	// Google service account).
	MakeServiceAccount        bool
	ServiceAccountAnnotations map[string]string
	// Annotation is stored on the ConfigMap for the provider to read back.
	Annotation string
	// SigningKey, when set, is written to the policy's Secret; or
	// SigningKeySecretName/Key reference an existing Secret. Either becomes
	// SPINOPS_BACKUP_SIGNING_KEY of every pod.
	SigningKey                                string
	SigningKeySecretName, SigningKeySecretKey string
	// CASecretName/Key is a Secret with the MySQL server's CA (PEM),
	// mounted at CAMountPath/<key>.
	CASecretName, CASecretKey string
	// DrillSchedule, when set, adds a CronJob running `verify --drill`.
	DrillSchedule string
}

// DrillObjectName is the name of the drill CronJob of policy name.
func DrillObjectName(name string) string { return ObjectName(name) + "-drill" }

// MetricsObjectName names the Deployment that serves the metrics of a
// policy without point-in-time recovery (with it, the archiver does).
func MetricsObjectName(name string) string { return ObjectName(name) + "-metrics" }

// ObjectName is the name of every object of policy name.
func ObjectName(name string) string { return "spinops-backup-" + name }

// PolicyLabels are the labels of every object of policy name; a
// ServiceAccount the policy made carries them too, which is how the
// provider tells it from one someone else made (OwnsServiceAccount).
func PolicyLabels(name string) map[string]string {
	return map[string]string{"app.kubernetes.io/name": "spinops-backup", "app.kubernetes.io/instance": name, "app.kubernetes.io/managed-by": "spinops"}
}

// OwnsServiceAccount reports whether the ServiceAccount with these labels
// was made by policy name (MakeServiceAccount).
func OwnsServiceAccount(labels map[string]string, name string) bool {
	return name != "" && ServiceAccountPolicy(labels) == name
}

// ServiceAccountPolicy is the name of the policy that made the
// ServiceAccount with these labels, or "".
func ServiceAccountPolicy(labels map[string]string) string {
	for k, v := range PolicyLabels("") {
		if k != "app.kubernetes.io/instance" && labels[k] != v {
			return ""
		}
	}
	return labels["app.kubernetes.io/instance"]
}

// ServiceAccountReleasePatch is a JSON merge patch that takes the policy's
// labels off a ServiceAccount it made, leaving the account (and its
// annotations) to whoever runs it now.
func ServiceAccountReleasePatch() []byte {
	labels := map[string]any{}
	for k := range PolicyLabels("") {
		labels[k] = nil
	}
	b, _ := json.Marshal(map[string]any{"metadata": map[string]any{"labels": labels}})
	return b
}

// Objects renders the policy's objects for server-side apply. The Secret is
// included only when Password is set.
func (p Policy) Objects() ([]*unstructured.Unstructured, error) {
	name := ObjectName(p.Name)
	labels := PolicyLabels(p.Name)
	meta := func() metav1.ObjectMeta {
		return metav1.ObjectMeta{Name: name, Namespace: p.Namespace, Labels: labels}
	}
	var objs []runtime.Object
	if p.MakeServiceAccount {
		if p.ServiceAccountName == "" {
			return nil, fmt.Errorf("the policy makes its ServiceAccount, but its name is empty")
		}
		// First, so the pods' account exists before the pods.
		sa := &corev1.ServiceAccount{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ServiceAccount"}, ObjectMeta: meta()}
		sa.Name, sa.Annotations = p.ServiceAccountName, p.ServiceAccountAnnotations
		objs = append(objs, sa)
	}
	cfg, err := json.MarshalIndent(p.Config, "", "  ")
	if err != nil {
		return nil, err
	}
	cm := &corev1.ConfigMap{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"}, ObjectMeta: meta(), Data: map[string]string{ConfigKey: string(cfg)}}
	cm.Annotations = map[string]string{PolicyAnnotation: p.Annotation}
	pwRef := &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: name}, Key: SecretPasswordKey}
	ownSecret := map[string][]byte{}
	if p.Password != "" {
		ownSecret[SecretPasswordKey] = []byte(p.Password)
	}
	var sigRef *corev1.SecretKeySelector
	switch {
	case p.SigningKey != "":
		ownSecret[SecretSigningKey] = []byte(p.SigningKey)
		sigRef = &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: name}, Key: SecretSigningKey}
	case p.SigningKeySecretName != "":
		sigRef = &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: p.SigningKeySecretName}, Key: p.SigningKeySecretKey}
	}
	if len(ownSecret) > 0 {
		objs = append(objs, &corev1.Secret{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"}, ObjectMeta: meta(),
			Type: corev1.SecretTypeOpaque, Data: ownSecret})
	}
	switch {
	case p.Password != "":
	case p.PasswordSecretName != "":
		pwRef = &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: p.PasswordSecretName}, Key: p.PasswordSecretKey}
	default:
		pwRef = nil
	}
	objs = append(objs, cm)
	pod := func(args ...string) corev1.PodSpec {
		c := corev1.Container{
			Name: "spinops", Image: p.Image, Args: append([]string{"backup"}, args...),
			VolumeMounts: []corev1.VolumeMount{{Name: "config", MountPath: configMountPath, ReadOnly: true}, {Name: "work", MountPath: "/var/lib/spinops"}},
		}
		c.Args = append(c.Args, "--config", configMountPath+"/"+ConfigKey)
		if pwRef != nil {
			c.Env = append(c.Env, corev1.EnvVar{Name: EnvMySQLPassword, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: pwRef}})
		}
		if sigRef != nil {
			c.Env = append(c.Env, corev1.EnvVar{Name: EnvSigningKey, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: sigRef}})
		}
		if p.CredentialsSecret != "" {
			c.EnvFrom = []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: p.CredentialsSecret}}}}
		}
		vols := []corev1.Volume{
			{Name: "config", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: name}}}},
			{Name: "work", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
		}
		if p.CASecretName != "" {
			c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: "mysql-ca", MountPath: CAMountPath, ReadOnly: true})
			vols = append(vols, corev1.Volume{Name: "mysql-ca", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: p.CASecretName,
				Items: []corev1.KeyToPath{{Key: p.CASecretKey, Path: p.CASecretKey}}}}})
		}
		return corev1.PodSpec{ServiceAccountName: p.ServiceAccountName, Containers: []corev1.Container{c}, Volumes: vols}
	}
	jobPod := pod("run")
	jobPod.RestartPolicy = corev1.RestartPolicyNever
	cj := &batchv1.CronJob{TypeMeta: metav1.TypeMeta{APIVersion: "batch/v1", Kind: "CronJob"}, ObjectMeta: meta(), Spec: batchv1.CronJobSpec{
		Schedule: p.Schedule,
		// Set, not left to the API server's default, so that a CronJob
		// suspended by hand (kubectl patch, kubectl edit) is an edit of a
		// field spinops owns: drift, put back by the next apply.
		Suspend:                    ptr.To(false),
		ConcurrencyPolicy:          batchv1.ForbidConcurrent,
		SuccessfulJobsHistoryLimit: ptr.To[int32](3),
		FailedJobsHistoryLimit:     ptr.To[int32](3),
		JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{
			BackoffLimit: ptr.To[int32](2),
			Template:     corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: jobPod},
		}},
	}}
	if p.TimeZone != "" {
		cj.Spec.TimeZone = ptr.To(p.TimeZone)
	}
	objs = append(objs, cj)
	if p.DrillSchedule != "" {
		drillPod := pod("verify", "--drill")
		drillPod.RestartPolicy = corev1.RestartPolicyNever
		dm := meta()
		dm.Name = DrillObjectName(p.Name)
		drill := &batchv1.CronJob{TypeMeta: metav1.TypeMeta{APIVersion: "batch/v1", Kind: "CronJob"}, ObjectMeta: dm, Spec: batchv1.CronJobSpec{
			Schedule:                   p.DrillSchedule,
			Suspend:                    ptr.To(false),
			ConcurrencyPolicy:          batchv1.ForbidConcurrent,
			SuccessfulJobsHistoryLimit: ptr.To[int32](3),
			FailedJobsHistoryLimit:     ptr.To[int32](3),
			JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{
				BackoffLimit: ptr.To[int32](0), // a failed drill is a result, not something to retry
				Template:     corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: drillPod},
			}},
		}}
		if p.TimeZone != "" {
			drill.Spec.TimeZone = ptr.To(p.TimeZone)
		}
		objs = append(objs, drill)
	}
	if p.Config.PointInTime {
		archLabels := map[string]string{"app.kubernetes.io/name": "spinops-binlog-archiver", "app.kubernetes.io/instance": p.Name}
		d := &appsv1.Deployment{TypeMeta: metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"}, ObjectMeta: meta(), Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](1),
			Strategy: appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType},
			Selector: &metav1.LabelSelector{MatchLabels: archLabels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: archLabels, Annotations: map[string]string{
				"prometheus.io/scrape": "true", "prometheus.io/port": fmt.Sprint(MetricsPort)}},
				Spec: pod("archive-binlogs", "--work-dir", "/var/lib/spinops/binlogs", fmt.Sprintf("--metrics-addr=:%d", MetricsPort))},
		}}
		d.Spec.Template.Spec.Containers[0].Ports = []corev1.ContainerPort{{Name: "metrics", ContainerPort: MetricsPort}}
		objs = append(objs, d)
	} else {
		// Without the archiver, a small Deployment serves the same figures
		// read from the destination (last backup, window, drills).
		metricsLabels := map[string]string{"app.kubernetes.io/name": "spinops-backup-metrics", "app.kubernetes.io/instance": p.Name}
		mm := meta()
		mm.Name = MetricsObjectName(p.Name)
		d := &appsv1.Deployment{TypeMeta: metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"}, ObjectMeta: mm, Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](1),
			Selector: &metav1.LabelSelector{MatchLabels: metricsLabels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: metricsLabels, Annotations: map[string]string{
				"prometheus.io/scrape": "true", "prometheus.io/port": fmt.Sprint(MetricsPort)}},
				Spec: pod("metrics", fmt.Sprintf("--metrics-addr=:%d", MetricsPort))},
		}}
		c := &d.Spec.Template.Spec.Containers[0]
		c.Ports = []corev1.ContainerPort{{Name: "metrics", ContainerPort: MetricsPort}}
		// It only lists the destination: no database password, and no
		// signing key (which could forge manifests).
		c.Env = slices.DeleteFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == EnvMySQLPassword || e.Name == EnvSigningKey })
		objs = append(objs, d)
	}
	return kube.ToUnstructured(objs...)
}
