package backup

import (
	"encoding/json"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
)

// Keys and paths the policy's objects share.
const (
	ConfigKey         = "config.json"
	PolicyAnnotation  = "spinops.io/backup-policy"
	secretPasswordKey = "mysql-password"
	configMountPath   = "/etc/spinops/backup"
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
	// Annotation is stored on the ConfigMap for the provider to read back.
	Annotation string
}

// ObjectName is the name of every object of policy name.
func ObjectName(name string) string { return "spinops-backup-" + name }

// Objects renders the policy's objects for server-side apply. The Secret is
// included only when Password is set.
func (p Policy) Objects() ([]*unstructured.Unstructured, error) {
	name := ObjectName(p.Name)
	labels := map[string]string{"app.kubernetes.io/name": "spinops-backup", "app.kubernetes.io/instance": p.Name, "app.kubernetes.io/managed-by": "spinops"}
	meta := func() metav1.ObjectMeta {
		return metav1.ObjectMeta{Name: name, Namespace: p.Namespace, Labels: labels}
	}
	cfg, err := json.MarshalIndent(p.Config, "", "  ")
	if err != nil {
		return nil, err
	}
	cm := &corev1.ConfigMap{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"}, ObjectMeta: meta(), Data: map[string]string{ConfigKey: string(cfg)}}
	cm.Annotations = map[string]string{PolicyAnnotation: p.Annotation}
	var objs []runtime.Object
	pwRef := &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: name}, Key: secretPasswordKey}
	if p.Password != "" {
		objs = append(objs, &corev1.Secret{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"}, ObjectMeta: meta(),
			Type: corev1.SecretTypeOpaque, Data: map[string][]byte{secretPasswordKey: []byte(p.Password)}})
	} else if p.PasswordSecretName != "" {
		pwRef = &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: p.PasswordSecretName}, Key: p.PasswordSecretKey}
	} else {
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
			c.Env = []corev1.EnvVar{{Name: EnvMySQLPassword, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: pwRef}}}
		}
		if p.CredentialsSecret != "" {
			c.EnvFrom = []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: p.CredentialsSecret}}}}
		}
		return corev1.PodSpec{
			ServiceAccountName: p.ServiceAccountName,
			Containers:         []corev1.Container{c},
			Volumes: []corev1.Volume{
				{Name: "config", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: name}}}},
				{Name: "work", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
			},
		}
	}
	jobPod := pod("run")
	jobPod.RestartPolicy = corev1.RestartPolicyNever
	cj := &batchv1.CronJob{TypeMeta: metav1.TypeMeta{APIVersion: "batch/v1", Kind: "CronJob"}, ObjectMeta: meta(), Spec: batchv1.CronJobSpec{
		Schedule:                   p.Schedule,
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
	if p.Config.PointInTime {
		archLabels := map[string]string{"app.kubernetes.io/name": "spinops-binlog-archiver", "app.kubernetes.io/instance": p.Name}
		d := &appsv1.Deployment{TypeMeta: metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"}, ObjectMeta: meta(), Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](1),
			Strategy: appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType},
			Selector: &metav1.LabelSelector{MatchLabels: archLabels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: archLabels}, Spec: pod("archive-binlogs", "--work-dir", "/var/lib/spinops/binlogs")},
		}}
		objs = append(objs, d)
	}
	out := make([]*unstructured.Unstructured, 0, len(objs))
	for _, o := range objs {
		m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(o)
		if err != nil {
			return nil, fmt.Errorf("rendering %T: %w", o, err)
		}
		u := &unstructured.Unstructured{Object: m}
		unstructured.RemoveNestedField(u.Object, "metadata", "creationTimestamp")
		unstructured.RemoveNestedField(u.Object, "status")
		unstructured.RemoveNestedField(u.Object, "spec", "template", "metadata", "creationTimestamp")
		unstructured.RemoveNestedField(u.Object, "spec", "jobTemplate", "metadata", "creationTimestamp")
		unstructured.RemoveNestedField(u.Object, "spec", "jobTemplate", "spec", "template", "metadata", "creationTimestamp")
		out = append(out, u)
	}
	return out, nil
}
