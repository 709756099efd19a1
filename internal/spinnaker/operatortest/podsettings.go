package operatortest

import (
	"context"
	"fmt"
	"reflect"
	"strconv"
	"testing"

	appsv1 "k8s.io/api/apps/v1"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes"
)

// inspectMerge is the operator's inspect.Merge (armory/spinnaker-operator
// d92e6804, pkg/inspect/parse.go), with which its last config transformer
// merges the global "spinnaker" service-settings (a) under a service's own
// (b), behaviour by behaviour:
//   - a key only one side has is kept;
//   - a map both have is merged the same way;
//   - a list both have becomes a's items followed by b's (its comment:
//     "Arrays are merged");
//   - a list only a has is dropped when b has the map holding it: the
//     function walks a's keys, and for a list it writes a result only when
//     b has the key too (there is no branch for a list b lacks), so a
//     global kubernetes.imagePullSecrets does not reach a service whose own
//     settings have any other kubernetes key;
//   - anything else b has wins (b's scalar over a's map or list, b's null
//     included).
func inspectMerge(a, b map[string]any) map[string]any {
	out := map[string]any{}
	for k, av := range a {
		bv, inB := b[k]
		switch avt := av.(type) {
		case map[string]any:
			if bm, ok := bv.(map[string]any); ok && inB {
				out[k] = inspectMerge(avt, bm)
			} else if inB {
				out[k] = bv
			} else {
				out[k] = av
			}
		default:
			if av != nil && reflect.ValueOf(av).Kind() == reflect.Slice {
				if !inB {
					continue // dropped
				}
				if bv != nil && reflect.ValueOf(bv).Kind() == reflect.Slice {
					out[k] = append(items(av), items(bv)...)
				} else {
					out[k] = bv
				}
			} else if inB {
				out[k] = bv
			} else {
				out[k] = av
			}
		}
	}
	for k, bv := range b {
		if _, inA := a[k]; !inA {
			out[k] = bv
		}
	}
	return out
}

// items are the elements of list (a slice of any type).
func items(list any) []any {
	v := reflect.ValueOf(list)
	out := make([]any, v.Len())
	for i := range out {
		out[i] = v.Index(i).Interface()
	}
	return out
}

// withPodSettings puts what Halyard's Deployment takes from a service's
// kubernetes service-settings (spinnaker/halyard 23e66d69,
// KubernetesV2Service.java getResourceYaml, getPodSpecYaml,
// combineVolumes, getVolumeYaml and buildContainer;
// resources/kubernetes/manifests/deployment.yml, podSpec.yml and the
// *Volume.yml templates) on a Deployment the stand-in renders:
//   - imagePullSecrets: each name as a pod image pull secret;
//   - volumes ({id, type, mountPath}, type secret when none is given): one
//     pod volume per id, the first entry of an id kept (combineVolumes
//     collects them by id), named by the id and sourcing the Secret,
//     ConfigMap or claim of that name (emptyDir: none), after the volumes of
//     Halyard's own config; and a mount on the service's container for
//     every entry, an id given twice mounted twice (buildContainer does
//     not collect them), which the API server refuses when the mount paths
//     repeat;
//   - podLabels: on the pod template, written after Halyard's own labels
//     (deployment.yml), and Halyard reads its manifests with SnakeYAML's
//     defaults, under which the later value of a key given twice wins
//     (KubernetesV2Utils.prettify, parseManifest): a podLabel app or
//     cluster replaces the label the Deployment's selector matches, which
//     the API server refuses;
//   - podAnnotations: the pod template's annotations (deployment.yml);
//   - nodeSelector: the pod's (podSpec.yml);
//   - label, annotation and node selector values written as strings
//     ("{{ value }}").
//
// A volume type Halyard does not know fails the deploy, as it fails
// Halyard (ConfigSource.Type is an enum: emptyDir, configMap, secret,
// persistentVolumeClaim).
func withPodSettings(dep *appsv1.Deployment, k8s map[string]any) error {
	tmpl := &dep.Spec.Template
	for _, f := range []struct {
		key string
		to  *map[string]string
	}{
		{"podLabels", &tmpl.Labels},
		{"podAnnotations", &tmpl.Annotations},
		{"nodeSelector", &tmpl.Spec.NodeSelector},
	} {
		m, _ := k8s[f.key].(map[string]any)
		for k, v := range m {
			if *f.to == nil {
				*f.to = map[string]string{}
			}
			(*f.to)[k] = fmt.Sprint(v)
		}
	}
	spec := &tmpl.Spec
	if secrets, ok := k8s["imagePullSecrets"].([]any); ok {
		for _, s := range secrets {
			if name, ok := s.(string); ok {
				spec.ImagePullSecrets = append(spec.ImagePullSecrets, corev1.LocalObjectReference{Name: name})
			}
		}
	}
	volumes, _ := k8s["volumes"].([]any)
	seen := map[string]bool{}
	c := &spec.Containers[0]
	for _, e := range volumes {
		v, _ := e.(map[string]any)
		id, _ := v["id"].(string)
		mountPath, _ := v["mountPath"].(string)
		// Every entry is read as a ConfigSource (its type an enum), the
		// ones combineVolumes then drops included.
		vol := corev1.Volume{Name: id}
		t := "secret"
		if tv, given := v["type"]; given {
			t, _ = tv.(string)
		}
		switch t {
		case "configMap":
			vol.ConfigMap = &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: id}}
		case "emptyDir":
			vol.EmptyDir = &corev1.EmptyDirVolumeSource{}
		case "persistentVolumeClaim":
			vol.PersistentVolumeClaim = &corev1.PersistentVolumeClaimVolumeSource{ClaimName: id}
		case "secret":
			vol.Secret = &corev1.SecretVolumeSource{SecretName: id}
		default:
			return fmt.Errorf("halyard: volume %s of %s has type %v, not one of emptyDir, configMap, secret, persistentVolumeClaim", id, dep.Name, v["type"])
		}
		c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: id, MountPath: mountPath})
		if !seen[id] {
			seen[id] = true
			spec.Volumes = append(spec.Volumes, vol)
		}
	}
	return nil
}

// PodSettings says, for a test, what of the service-settings a stand-in
// Deployment's pods carry (withPodSettings): "pull [<secret> ...] volumes
// [<id>=<secret|configMap|claim>:<name>|emptyDir ...] mounts
// [<id>@<path> ...]", the stand-in's own config volume left out.
func PodSettings(d *appsv1.Deployment) string {
	spec := d.Spec.Template.Spec
	pulls, vols, mounts := []string{}, []string{}, []string{}
	for _, s := range spec.ImagePullSecrets {
		pulls = append(pulls, s.Name)
	}
	for _, v := range spec.Volumes {
		switch {
		case v.Name == configSecretName(d.Labels["app.kubernetes.io/name"]):
		case v.Secret != nil:
			vols = append(vols, v.Name+"=secret:"+v.Secret.SecretName)
		case v.ConfigMap != nil:
			vols = append(vols, v.Name+"=configMap:"+v.ConfigMap.Name)
		case v.EmptyDir != nil:
			vols = append(vols, v.Name+"=emptyDir")
		case v.PersistentVolumeClaim != nil:
			vols = append(vols, v.Name+"=claim:"+v.PersistentVolumeClaim.ClaimName)
		}
	}
	for _, m := range spec.Containers[0].VolumeMounts {
		if m.MountPath != configMountPath {
			mounts = append(mounts, m.Name+"@"+m.MountPath)
		}
	}
	return fmt.Sprintf("pull %v volumes %v mounts %v", pulls, vols, mounts)
}

// CheckPodSettings fails t for each Deployment of namespace ns named in
// want whose pods do not carry the service-settings want says
// (PodSettings).
func CheckPodSettings(ctx context.Context, t testing.TB, cs kubernetes.Interface, ns string, want map[string]string) {
	t.Helper()
	for name, w := range want {
		d, err := cs.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got := PodSettings(d); got != w {
			t.Errorf("%s: %s, want %s", name, got, w)
		}
	}
}

// CheckServicePorts fails t for each Service of namespace ns named in
// want whose (first) port is not the one want gives.
func CheckServicePorts(ctx context.Context, t testing.TB, cs kubernetes.Interface, ns string, want map[string]int32) {
	t.Helper()
	for name, w := range want {
		svc, err := cs.CoreV1().Services(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got := svc.Spec.Ports[0].Port; got != w {
			t.Errorf("%s on port %d, want %d", name, got, w)
		}
	}
}

// profileServerPort is server.port of service name's profile in spec, as
// the operator reads it (armory/spinnaker-operator d92e6804,
// pkg/apis/spinnaker/interfaces/config.go GetServiceConfigPropString and
// pkg/inspect/getter.go GetObjectProp: the nested server: {port: ...},
// else a key spelled "server.port"), formatted as a string; "" without
// one.
func profileServerPort(spec map[string]any, name string) string {
	profile, _, _ := unstructured.NestedMap(spec, "spinnakerConfig", "profiles", name)
	v, found, _ := unstructured.NestedFieldNoCopy(profile, "server", "port")
	if !found {
		v, found = profile["server.port"]
	}
	if !found || v == nil {
		return ""
	}
	if f, ok := v.(float64); ok {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return fmt.Sprint(v)
}

// halyardExecProbe is whether Halyard gives service n's container an exec
// readiness probe under the service-settings it receives (spinnaker/halyard
// 23e66d69, KubernetesV2Service.getProbe): a TCP probe when the
// healthEndpoint is empty (Deck's default: DeckService has none) or
// kubernetes.useTcpProbe is true, else an exec
// probe unless kubernetes.useExecHealthCheck is false (its default is
// true), else an HTTP one.
func halyardExecProbe(settings map[string]any, n string) bool {
	v, found, _ := unstructured.NestedFieldNoCopy(settings, n, "healthEndpoint")
	if v == "" || !found && n == "deck" {
		return false // DeckService's default settings have no healthEndpoint
	}
	if v, _, _ := unstructured.NestedFieldNoCopy(settings, n, "kubernetes", "useTcpProbe"); v == true {
		return false
	}
	v, _, _ = unstructured.NestedFieldNoCopy(settings, n, "kubernetes", "useExecHealthCheck")
	return v != false
}

// transformServerPort is the operator's server-port transformer
// (pkg/deploy/spindeploy/transformer/serverport.go) on the Deployment of
// service s: for a service whose profile has server.port, a value that is
// not a whole number fails the deploy (strconv.ParseInt's error), and the
// container's first port becomes it. It then rewrites the command of the
// container's exec readiness probe without checking that there is one
// (ReadinessProbe.Exec.Command): with Halyard's TCP or HTTP probe that is a
// nil pointer dereference, and the operator, whose controllers do not
// recover panics (controller-runtime v0.11.2, RecoverPanic unset), exits at
// every reconcile of that SpinnakerService. The stand-in has no probes: it
// fails the deploy saying so.
func transformServerPort(spec map[string]any, s service, dep *appsv1.Deployment) error {
	v := profileServerPort(spec, s.name)
	if v == "" {
		return nil
	}
	p, err := strconv.ParseInt(v, 10, 32)
	if err != nil {
		return fmt.Errorf("server-port transformer: %w", err)
	}
	c := &dep.Spec.Template.Spec.Containers[0]
	if len(c.Ports) > 0 {
		c.Ports[0].ContainerPort = int32(p)
	}
	if !s.execProbe {
		return fmt.Errorf("panic: runtime error: invalid memory address or nil pointer dereference (the server-port transformer on %s, "+
			"whose readiness probe Halyard does not make an exec probe): the operator exits", dep.Name)
	}
	return nil
}
