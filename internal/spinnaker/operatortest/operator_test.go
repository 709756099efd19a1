package operatortest_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/spinops/terraform-provider-spinops/internal/kube"
	"github.com/spinops/terraform-provider-spinops/internal/spinnaker"
	"github.com/spinops/terraform-provider-spinops/internal/spinnaker/operatortest"
	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// env is one cluster with kube-controller-manager, the kubelet stand-in
// (with switches to hold or fail pods) and the operator stand-in.
type env struct {
	t      *testing.T
	ctx    context.Context
	client *kube.Client
	op     *operatortest.Operator
	hold   atomic.Value // string: image tag held in ContainerCreating
	fail   atomic.Value // string: image tag whose pull fails
}

func startEnv(t *testing.T, opNS string, opts ...func(*operatortest.OperatorOptions)) *env {
	c := testenv.StartCluster(t, testenv.WithControllerManager())
	backends := operatortest.StartBackends(t)
	e := &env{t: t}
	e.hold.Store("\x00")
	e.fail.Store("\x00")
	operatortest.StartKubeletWith(t, c.RESTConfig(), operatortest.KubeletOptions{PodIP: backends.IP,
		PullFails: func(image string) bool { return strings.HasSuffix(image, ":"+e.fail.Load().(string)) },
		Hold: func(p *corev1.Pod) bool {
			return len(p.Spec.Containers) > 0 && strings.HasSuffix(p.Spec.Containers[0].Image, ":"+e.hold.Load().(string))
		}})
	o := operatortest.OperatorOptions{Backend: backends.Backend, Namespace: opNS, Host: backends.Host, Interval: 100 * time.Millisecond}
	for _, f := range opts {
		f(&o)
	}
	e.op = operatortest.StartOperator(t, c.RESTConfig(), o)
	var cancel context.CancelFunc
	e.ctx, cancel = context.WithTimeout(t.Context(), 4*time.Minute)
	t.Cleanup(cancel)
	var err error
	if e.client, err = kube.NewClient(c.RESTConfig()); err != nil {
		t.Fatal(err)
	}
	return e
}

func settings(ns string, clusterWide bool) spinnaker.OperatorSettings {
	img, _ := spinnaker.HalyardImageFor(spinnaker.DefaultOperatorVersion)
	return spinnaker.OperatorSettings{Namespace: ns, Image: "armory/spinnaker-operator:1.3.1", HalyardImage: img, ClusterWide: clusterWide}
}

func spinsvc(ns, name, version string, config map[string]any, extra map[string]any) *unstructured.Unstructured {
	cfg := map[string]any{"version": version}
	for k, v := range config {
		cfg[k] = v
	}
	spec := map[string]any{"spinnakerConfig": map[string]any{"config": cfg}}
	for k, v := range extra {
		spec[k] = v
	}
	o := &unstructured.Unstructured{Object: map[string]any{"spec": spec}}
	o.SetGroupVersionKind(spinnaker.SpinnakerServiceGVK)
	o.SetNamespace(ns)
	o.SetName(name)
	return o
}

// applyWithSettings applies, in namespace ns (made when missing), the
// SpinnakerService "spinnaker" at 1.35.5 with these service-settings.
func (e *env) applyWithSettings(ns string, settings map[string]any) *unstructured.Unstructured {
	e.t.Helper()
	if err := spinnaker.EnsureNamespace(e.ctx, e.client, ns); err != nil {
		e.t.Fatal(err)
	}
	obj := spinsvc(ns, "spinnaker", "1.35.5", nil, nil)
	if err := unstructured.SetNestedMap(obj.Object, settings, "spec", "spinnakerConfig", "service-settings"); err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.client.Apply(e.ctx, obj); err != nil {
		e.t.Fatal(err)
	}
	return obj
}

func (e *env) waitFor(what string, cond func() (bool, string)) {
	e.t.Helper()
	var last string
	err := kube.WaitFor(e.ctx, 200*time.Millisecond, time.Minute, func(context.Context) (bool, string, error) {
		ok, msg := cond()
		last = msg
		return ok, msg, nil
	})
	if err != nil {
		e.t.Fatalf("%s: %v (last: %s; stand-in: %v)", what, err, last, e.op.LastError())
	}
}

// failsThenDeleted waits until the stand-in's last deploy failed with an
// error containing every one of want (what), then deletes obj, the
// SpinnakerService that failed, and waits until that error is gone.
func (e *env) failsThenDeleted(obj *unstructured.Unstructured, what string, want ...string) {
	e.t.Helper()
	has := func(err error) bool {
		for _, w := range want {
			if err == nil || !strings.Contains(err.Error(), w) {
				return false
			}
		}
		return true
	}
	e.waitFor(what, func() (bool, string) {
		err := e.op.LastError()
		return has(err), errString(err)
	})
	if err := e.client.Delete(e.ctx, obj); err != nil {
		e.t.Fatal(err)
	}
	e.waitFor(what+": gone once the SpinnakerService is deleted", func() (bool, string) {
		err := e.op.LastError()
		return !has(err), errString(err)
	})
}

func (e *env) status(ns, name string) spinnaker.Status {
	obj, err := e.client.Get(e.ctx, spinnaker.SpinnakerServiceGVK, ns, name)
	if err != nil {
		return spinnaker.Status{Status: "get: " + err.Error()}
	}
	return spinnaker.ParseStatus(obj)
}

// TestStandIn_clusterMode copies, point by point, the contract's sections
// "Admission webhook", "Halyard sidecar and config keys", "Accounts",
// "Expose" and "Status the operator writes" (shared/design/
// OPERATOR-CONTRACT.md).
func TestStandIn_clusterMode(t *testing.T) {
	const opNS = "spinnaker-operator"
	e := startEnv(t, opNS)
	if err := spinnaker.EnsureNamespace(e.ctx, e.client, "zone"); err != nil {
		t.Fatal(err)
	}

	// "Admission webhook: operator pods without that label leave the
	// webhook with no endpoints, and the API server refuses every
	// SpinnakerService write." An operator Deployment whose pods lack
	// name: spinnaker-operator (as spinops rendered it before issue 12).
	if err := spinnaker.InstallCRDs(e.ctx, e.client, time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := spinnaker.EnsureNamespace(e.ctx, e.client, opNS); err != nil {
		t.Fatal(err)
	}
	unlabelled := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "spinnaker-operator", Namespace: opNS},
		Spec: appsv1.DeploymentSpec{Replicas: ptr.To(int32(1)),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app.kubernetes.io/name": "spinnaker-operator"}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app.kubernetes.io/name": "spinnaker-operator"}},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "spinnaker-operator", Image: "armory/spinnaker-operator:1.3.1",
					Env: []corev1.EnvVar{{Name: "OPERATOR_NAME", Value: "spinnaker-operator"}}}}}}},
	}
	if _, err := e.client.Clientset.AppsV1().Deployments(opNS).Create(e.ctx, unlabelled, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	e.waitFor("the webhook configuration", func() (bool, string) {
		_, err := e.client.Clientset.AdmissionregistrationV1().ValidatingWebhookConfigurations().Get(e.ctx, operatortest.WebhookConfigurationName, metav1.GetOptions{})
		return err == nil, "not yet created"
	})
	svc, err := e.client.Clientset.CoreV1().Services(opNS).Get(e.ctx, "spinnaker-operator", metav1.GetOptions{})
	if err != nil || svc.Spec.Selector["name"] != "spinnaker-operator" {
		t.Fatalf("webhook Service: %v, selector %v", err, svc.Spec.Selector)
	}
	basic := spinsvc("zone", "spinnaker", "1.35.3", nil, nil)
	if _, err := e.client.Apply(e.ctx, basic); err == nil || !strings.Contains(err.Error(), "no endpoints available") {
		t.Fatalf("write with no labelled operator pod: err = %v, want a refusal naming the missing endpoints", err)
	}
	// spinops' manifests keep the immutable selector and label the pods.
	if err := spinnaker.EnsureOperator(e.ctx, e.client, settings(opNS, true), true, time.Minute); err != nil {
		t.Fatal(err)
	}
	e.waitFor("a write once a labelled pod is ready", func() (bool, string) {
		_, err := e.client.Apply(e.ctx, basic)
		return err == nil, errString(err)
	})

	t.Run("Halyard refuses keys it does not know", func(t *testing.T) {
		for what, config := range map[string]map[string]any{
			"features.canary":                 {"features": map[string]any{"canary": true}},
			"persistentStorage.s3.assumeRole": {"persistentStorage": map[string]any{"persistentStoreType": "s3", "s3": map[string]any{"bucket": "b", "assumeRole": "arn:aws:iam::1:role/x"}}},
			"SAML without keystore":           {"security": map[string]any{"authn": map[string]any{"saml": map[string]any{"enabled": true, "metadataRemote": "https://idp", "issuerId": "spin"}}}},
		} {
			if _, err := e.client.Apply(e.ctx, spinsvc("zone", "bad", "1.35.3", config, nil)); err == nil {
				t.Errorf("%s: admitted", what)
			}
		}
	})

	t.Run("SpinnakerAccount shapes of 1.3.1", func(t *testing.T) {
		acc := &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{"enabled": true, "type": "Kubernetes",
			"kubernetes": map[string]any{"kubeconfigFile": "encryptedFile:k8s!n:kc!k:config"}}}}
		acc.SetGroupVersionKind(spinnaker.SpinnakerAccountGVK)
		acc.SetNamespace("zone")
		acc.SetName("enc")
		if _, err := e.client.Apply(e.ctx, acc); err == nil || !strings.Contains(err.Error(), "nil pointer") {
			t.Errorf("encryptedFile kubeconfigFile: err = %v, want the validator's crash", err)
		}
	})

	t.Run("Deployments spin-<service>, status names, version before rollout", func(t *testing.T) {
		e.waitFor("OK at 1.35.3", func() (bool, string) {
			st := e.status("zone", "spinnaker")
			return st.Status == spinnaker.StatusOK && st.Version == "1.35.3", st.Status + " " + st.Version
		})
		st := e.status("zone", "spinnaker")
		for _, s := range st.Services {
			if !strings.HasPrefix(s.Name, "spin-") {
				t.Errorf("status.services[].name %q is not the Deployment's name", s.Name)
			}
			if _, err := e.client.Clientset.AppsV1().Deployments("zone").Get(e.ctx, s.Name, metav1.GetOptions{}); err != nil {
				t.Errorf("no Deployment %s: %v", s.Name, err)
			}
		}
		// Upgrade with the new pods held in ContainerCreating: the version
		// is reported at once, the status keeps saying OK from the old pods.
		e.hold.Store("1.35.4")
		if _, err := e.client.Apply(e.ctx, spinsvc("zone", "spinnaker", "1.35.4", nil, nil)); err != nil {
			t.Fatal(err)
		}
		e.waitFor("version 1.35.4 reported", func() (bool, string) {
			st := e.status("zone", "spinnaker")
			return st.Version == "1.35.4", st.Version
		})
		dep, err := e.client.Clientset.AppsV1().Deployments("zone").Get(e.ctx, "spin-gate", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if done, _, _ := kube.DeploymentRolledOut(dep); done {
			t.Error("spin-gate rolled out although its new pod is held")
		}
		e.hold.Store("\x00")
		e.waitFor("OK at 1.35.4", func() (bool, string) {
			st := e.status("zone", "spinnaker")
			return st.Status == spinnaker.StatusOK, st.Status
		})
	})

	t.Run("Failure while a pod cannot pull its image", func(t *testing.T) {
		e.fail.Store("1.35.5")
		if _, err := e.client.Apply(e.ctx, spinsvc("zone", "spinnaker", "1.35.5", nil, nil)); err != nil {
			t.Fatal(err)
		}
		e.waitFor("status Failure", func() (bool, string) {
			st := e.status("zone", "spinnaker")
			return st.Status == spinnaker.StatusFailure, st.Status
		})
		e.fail.Store("\x00")
		// The kubelet stand-in only touches pods that are not ready: a
		// pull that succeeds later makes the pod run.
		e.waitFor("OK again", func() (bool, string) {
			st := e.status("zone", "spinnaker")
			return st.Status == spinnaker.StatusOK, st.Status
		})
	})

	t.Run("accounts counted only with spec.accounts.enabled", func(t *testing.T) {
		acc := &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{"enabled": true, "type": "Kubernetes",
			"kubernetes": map[string]any{"kubeconfig": map[string]any{"apiVersion": "v1", "kind": "Config", "preferences": map[string]any{},
				"clusters":        []any{map[string]any{"name": "c", "cluster": map[string]any{"server": "https://10.0.0.1"}}},
				"users":           []any{map[string]any{"name": "u", "user": map[string]any{"tokenFile": "/var/run/token"}}},
				"contexts":        []any{map[string]any{"name": "x", "context": map[string]any{"cluster": "c", "user": "u"}}},
				"current-context": "x"}}}}}
		acc.SetGroupVersionKind(spinnaker.SpinnakerAccountGVK)
		acc.SetNamespace("zone")
		acc.SetName("inline")
		if _, err := e.client.Apply(e.ctx, acc); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
		if n := e.status("zone", "spinnaker").AccountCount; n != 0 {
			t.Errorf("accountCount %d without spec.accounts.enabled", n)
		}
		if _, err := e.client.Apply(e.ctx, spinsvc("zone", "spinnaker", "1.35.5", nil, map[string]any{"accounts": map[string]any{"enabled": true, "dynamic": true}})); err != nil {
			t.Fatal(err)
		}
		e.waitFor("accountCount 1", func() (bool, string) {
			n := e.status("zone", "spinnaker").AccountCount
			return n == 1, "accountCount " + itoa(int(n))
		})
	})

	t.Run("Services select Halyard's labels", func(t *testing.T) {
		// armory/spinnaker-operator pkg/deploy/spindeploy/expose_service/
		// testdata/service.yml: Halyard's spin-gate selects app spin,
		// cluster spin-gate (what a zone's own x509 Service copies).
		for _, name := range []string{"spin-deck", "spin-gate", "spin-orca"} {
			s, err := e.client.Clientset.CoreV1().Services("zone").Get(e.ctx, name, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if want := map[string]string{"app": "spin", "cluster": name}; !maps.Equal(s.Spec.Selector, want) {
				t.Errorf("%s selects %v, want %v", name, s.Spec.Selector, want)
			}
		}
	})

	t.Run("Igor only with CI; a service the config drops is left running and still counted", func(t *testing.T) {
		// pkg/deploy/spindeploy/save.go deletes only a transformer's
		// ToDelete (only x509's fills it; armory/spinnaker-operator issue
		// #218), and the status checker lists every Deployment of the
		// namespace with managed-by spinnaker-operator, pods by
		// app.kubernetes.io/name (pkg/util/k8s_lookup.go).
		accounts := map[string]any{"accounts": map[string]any{"enabled": true, "dynamic": true}}
		hash := func() string {
			obj, err := e.client.Get(e.ctx, spinnaker.SpinnakerServiceGVK, "zone", "spinnaker")
			if err != nil {
				t.Fatal(err)
			}
			return spinnaker.LastDeployedHash(obj, spinnaker.LastDeployedConfig)
		}
		reported := func(name string) bool {
			for _, s := range e.status("zone", "spinnaker").Services {
				if s.Name == name {
					return true
				}
			}
			return false
		}
		// Halyard deploys Igor only with a CI system or a Docker registry
		// (KubernetesV2IgorService.isEnabled): none so far.
		if reported("spin-igor") {
			t.Error("spin-igor deployed without a CI system or a Docker registry")
		}
		// Authz on, but Fiat's life cycle left to the user
		// (skipLifeCycleManagement: KubectlDeployer.deploy skips it); Igor
		// sized by its service-settings' targetSize, Halyard's size without
		// a customSizing entry (KubernetesV2Service.getResourceYaml).
		withCanaryAndCI := map[string]any{"canary": map[string]any{"enabled": true}, "ci": map[string]any{"jenkins": map[string]any{"enabled": true}},
			"security": map[string]any{"authz": map[string]any{"enabled": true}}}
		obj := spinsvc("zone", "spinnaker", "1.35.5", withCanaryAndCI, accounts)
		if err := unstructured.SetNestedMap(obj.Object, map[string]any{"fiat": map[string]any{"skipLifeCycleManagement": true}, "igor": map[string]any{"targetSize": int64(2)}},
			"spec", "spinnakerConfig", "service-settings"); err != nil {
			t.Fatal(err)
		}
		if _, err := e.client.Apply(e.ctx, obj); err != nil {
			t.Fatal(err)
		}
		// Both of Igor's pods ready: the ReplicaSet controller creates pods
		// in slow-start batches (one, then the rest), so the operator's
		// status can read OK while spin-igor has only its first pod, and
		// Updating again when the second comes (a loaded run of 59868e6).
		e.waitFor("spin-kayenta and spin-igor reported OK, both of Igor's pods ready", func() (bool, string) {
			st := e.status("zone", "spinnaker")
			igorReady := slices.ContainsFunc(st.Services, func(s spinnaker.ServiceStatus) bool { return s.Name == "spin-igor" && s.ReadyReplicas == 2 })
			return reported("spin-kayenta") && igorReady && st.Status == spinnaker.StatusOK, fmt.Sprint(st.Status, st.Services)
		})
		if reported("spin-fiat") {
			t.Error("spin-fiat deployed although its service-settings set skipLifeCycleManagement")
		}
		igorDep, err := e.client.Clientset.AppsV1().Deployments("zone").Get(e.ctx, "spin-igor", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if n := *igorDep.Spec.Replicas; n != 2 {
			t.Errorf("spin-igor asks for %d replicas, want its targetSize 2", n)
		}
		before := hash()
		if _, err := e.client.Apply(e.ctx, spinsvc("zone", "spinnaker", "1.35.5", nil, accounts)); err != nil {
			t.Fatal(err)
		}
		e.waitFor("the config without canary and CI deployed", func() (bool, string) {
			h := hash()
			return h != before, "config hash " + h
		})
		// A Deployment of the namespace the operator did not make, with its
		// label, is counted too; one without the label is not.
		for name, managedBy := range map[string]string{"spin-legacy": "spinnaker-operator", "other": "someone-else"} {
			l := map[string]string{"app": name, "app.kubernetes.io/managed-by": managedBy}
			dep := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: l}, Spec: appsv1.DeploymentSpec{
				Replicas: ptr.To(int32(0)), Selector: &metav1.LabelSelector{MatchLabels: l},
				Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: l}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "x"}}}}}}
			if _, err := e.client.Clientset.AppsV1().Deployments("zone").Create(e.ctx, dep, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		e.waitFor("spin-legacy reported", func() (bool, string) { return reported("spin-legacy"), "" })
		for _, name := range []string{"spin-kayenta", "spin-igor"} {
			if _, err := e.client.Clientset.AppsV1().Deployments("zone").Get(e.ctx, name, metav1.GetOptions{}); err != nil {
				t.Errorf("the operator removed %s after the config stopped asking for it: %v", name, err)
			}
		}
		if _, err := e.client.Clientset.CoreV1().Services("zone").Get(e.ctx, "spin-kayenta", metav1.GetOptions{}); err != nil {
			t.Errorf("the operator removed the spin-kayenta Service after canary was turned off: %v", err)
		}
		// The config without canary and CI rolls out (Clouddriver's
		// config changed): OK once its new pod is ready.
		e.waitFor("OK with spin-kayenta, spin-igor and spin-legacy", func() (bool, string) {
			st := e.status("zone", "spinnaker")
			return reported("spin-kayenta") && reported("spin-igor") && st.Status == spinnaker.StatusOK, fmt.Sprint(st.Status, st.Services)
		})
		if reported("other") {
			t.Errorf("services %v: a Deployment without the operator's managed-by label reported", e.status("zone", "spinnaker").Services)
		}
		if err := e.client.Clientset.AppsV1().Deployments("zone").Delete(e.ctx, "spin-legacy", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("the global service-settings decide for every service of the operator's BOM but Deck", func(t *testing.T) {
		// pkg/deploy/spindeploy/transformer/spinsvcsettings.go merges
		// service-settings.spinnaker under gate, orca, clouddriver, front50,
		// rosco, igor, echo, fiat and kayenta (pkg/bom/services.go, Deck
		// skipped), the service's own values winning (inspect.Merge); the
		// HA services are not in the BOM. Halyard then reads `enabled` and
		// `targetSize` from the merged settings.
		e.applyWithSettings("global", map[string]any{
			"spinnaker": map[string]any{"enabled": true, "targetSize": int64(2)},
			"kayenta":   map[string]any{"targetSize": int64(1)},
			"fiat":      map[string]any{"enabled": false},
		})
		e.waitFor("the zone reported OK", func() (bool, string) {
			st := e.status("global", "spinnaker")
			return st.Status == spinnaker.StatusOK, st.Status
		})
		replicas := map[string]int32{}
		deps, err := e.client.Clientset.AppsV1().Deployments("global").List(e.ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range deps.Items {
			replicas[d.Name] = *d.Spec.Replicas
		}
		want := map[string]int32{"spin-clouddriver": 2, "spin-deck": 1, "spin-echo": 2, "spin-front50": 2, "spin-gate": 2,
			"spin-igor": 2, "spin-kayenta": 1, "spin-orca": 2, "spin-rosco": 2}
		if !maps.Equal(replicas, want) {
			t.Errorf("Deployments and replicas %v, want %v (no Fiat, no HA service, Deck at Halyard's 1)", replicas, want)
		}
	})

	t.Run("the global service-settings' lists: concatenated, or dropped under a service's own map; a service's own port", func(t *testing.T) {
		// inspect.Merge (pkg/inspect/parse.go) puts a list both sides have
		// as the global items then the service's, and drops a global list
		// where the service's own settings hold the map above it without
		// it. Halyard's pod spec takes kubernetes.imagePullSecrets and
		// kubernetes.volumes from the merged settings (one volume per id,
		// a mount per entry: KubernetesV2Service.combineVolumes,
		// buildContainer).
		vol := func(id, typ, path string) map[string]any {
			v := map[string]any{"id": id, "mountPath": path}
			if typ != "" {
				v["type"] = typ
			}
			return v
		}
		e.applyWithSettings("lists", map[string]any{
			"spinnaker": map[string]any{"kubernetes": map[string]any{"imagePullSecrets": []any{"global-pull"},
				"volumes": []any{vol("corp-ca", "configMap", "/etc/corp-ca")}}},
			"orca":        map[string]any{"kubernetes": map[string]any{"serviceAnnotations": map[string]any{"team": "pipelines"}}},
			"clouddriver": map[string]any{"kubernetes": map[string]any{"imagePullSecrets": []any{"cd-pull"}, "volumes": []any{vol("cd-extra", "", "/opt/extra")}}},
			"rosco": map[string]any{"kubernetes": map[string]any{"volumes": []any{vol("scratch", "emptyDir", "/tmp/scratch"),
				vol("bakery-cache", "persistentVolumeClaim", "/cache")}}},
			// A port of its own: its Service's (getServiceYaml).
			"echo": map[string]any{"port": int64(8099)},
		})
		e.waitFor("the zone reported OK", func() (bool, string) {
			st := e.status("lists", "spinnaker")
			return st.Status == spinnaker.StatusOK, st.Status
		})
		operatortest.CheckPodSettings(e.ctx, t, e.client.Clientset, "lists", map[string]string{
			// Both lists of both sides, the global items first.
			"spin-clouddriver": "pull [global-pull cd-pull] volumes [corp-ca=configMap:corp-ca cd-extra=secret:cd-extra] mounts [corp-ca@/etc/corp-ca cd-extra@/opt/extra]",
			// Its own kubernetes map has neither list: both dropped.
			"spin-orca": "pull [] volumes [] mounts []",
			// volumes concatenated, imagePullSecrets dropped.
			"spin-rosco": "pull [] volumes [corp-ca=configMap:corp-ca scratch=emptyDir bakery-cache=claim:bakery-cache] mounts [corp-ca@/etc/corp-ca scratch@/tmp/scratch bakery-cache@/cache]",
			// No settings of its own: the global ones as they are.
			"spin-front50": "pull [global-pull] volumes [corp-ca=configMap:corp-ca] mounts [corp-ca@/etc/corp-ca]",
			// Not given the global settings at all.
			"spin-deck": "pull [] volumes [] mounts []",
		})
		operatortest.CheckServicePorts(e.ctx, t, e.client.Clientset, "lists", map[string]int32{"spin-echo": 8099, "spin-gate": 8084})

		// A volume id given by both sides is one volume mounted twice at
		// its path: the API server refuses the Deployment, so the deploy
		// fails.
		twice := e.applyWithSettings("lists-twice", map[string]any{
			"spinnaker": map[string]any{"kubernetes": map[string]any{"volumes": []any{vol("corp-ca", "configMap", "/etc/corp-ca")}}},
			"gate":      map[string]any{"kubernetes": map[string]any{"volumes": []any{vol("corp-ca", "configMap", "/etc/corp-ca")}}},
		})
		e.failsThenDeleted(twice, "the deploy refused", `"spin-gate" is invalid`, "must be unique")
	})

	t.Run("podLabels after Halyard's labels: a replaced app refused by the API server, a replaced name unseen by the status check", func(t *testing.T) {
		// Halyard's deployment.yml writes podLabels after app and cluster,
		// SnakeYAML keeps the later value, the owner transformer then sets
		// managed-by; the global labels reach the services of the BOM but
		// Deck (inspect.Merge: a service's own key wins).
		e.applyWithSettings("labels", map[string]any{
			"spinnaker": map[string]any{"kubernetes": map[string]any{"podLabels": map[string]any{"team": "spinnaker", "cost-center": "platform"}}},
			"orca": map[string]any{"kubernetes": map[string]any{"podLabels": map[string]any{"team": "pipelines", "app.kubernetes.io/managed-by": "me"},
				"podAnnotations": map[string]any{"example.com/owner": "pipelines"}}},
		})
		e.waitFor("the zone reported OK", func() (bool, string) {
			st := e.status("labels", "spinnaker")
			return st.Status == spinnaker.StatusOK, st.Status
		})
		for name, want := range map[string]map[string]string{
			"spin-orca":    {"team": "pipelines", "cost-center": "platform", "app.kubernetes.io/managed-by": "spinnaker-operator", "cluster": "spin-orca"},
			"spin-front50": {"team": "spinnaker", "cost-center": "platform", "cluster": "spin-front50"},
			"spin-deck":    {"team": "", "cost-center": "", "cluster": "spin-deck"},
		} {
			d, err := e.client.Clientset.AppsV1().Deployments("labels").Get(e.ctx, name, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range want {
				if got := d.Spec.Template.Labels[k]; got != v {
					t.Errorf("%s: pod label %s = %q, want %q", name, k, got, v)
				}
			}
			if name == "spin-orca" && d.Spec.Template.Annotations["example.com/owner"] != "pipelines" {
				t.Errorf("spin-orca: pod annotations %v, want example.com/owner: pipelines", d.Spec.Template.Annotations)
			}
		}

		// A podLabel app replaces Halyard's: the pods no longer match the
		// Deployment's selector, and the API server refuses it.
		replaced := e.applyWithSettings("labels-app", map[string]any{
			"gate": map[string]any{"kubernetes": map[string]any{"podLabels": map[string]any{"app": "web"}}},
		})
		e.failsThenDeleted(replaced, "the deploy refused", `"spin-gate" is invalid`, "`selector` does not match template `labels`")

		// A podLabel app.kubernetes.io/name (the global one, and Deck's,
		// which the global settings do not reach): the status check looks
		// for each Deployment's pods by the Deployment's own name label
		// (GetPodsByDeployment) and finds none, so it reports N/A with
		// every Deployment ready.
		e.applyWithSettings("labels-name", map[string]any{
			"spinnaker": map[string]any{"kubernetes": map[string]any{"podLabels": map[string]any{"app.kubernetes.io/name": "spinnaker"}}},
			"deck":      map[string]any{"kubernetes": map[string]any{"podLabels": map[string]any{"app.kubernetes.io/name": "spinnaker"}}},
		})
		var st spinnaker.Status
		e.waitFor("the status listing every Deployment ready", func() (bool, string) {
			st = e.status("labels-name", "spinnaker")
			for _, svc := range st.Services {
				if svc.Replicas == 0 || svc.ReadyReplicas != svc.Replicas {
					return false, svc.Name + " not ready"
				}
			}
			return len(st.Services) > 0, st.Status
		})
		if st.Status != spinnaker.StatusNA {
			t.Errorf("status %s with every pod relabelled, want %s (no pod found by any Deployment's name label)", st.Status, spinnaker.StatusNA)
		}
	})

	t.Run("expose rewrites spin-deck and spin-gate", func(t *testing.T) {
		expose := map[string]any{"type": "service", "service": map[string]any{"type": "LoadBalancer", "publicPort": int64(443),
			"overrides": map[string]any{"gate": map[string]any{"publicPort": int64(443)}}}}
		if _, err := e.client.Apply(e.ctx, spinsvc("zone", "spinnaker", "1.35.5", nil, map[string]any{"expose": expose, "accounts": map[string]any{"enabled": true}})); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"spin-deck", "spin-gate"} {
			e.waitFor(name+" on 443", func() (bool, string) {
				s, err := e.client.Clientset.CoreV1().Services("zone").Get(e.ctx, name, metav1.GetOptions{})
				if err != nil {
					return false, err.Error()
				}
				return s.Spec.Ports[0].Port == 443 && s.Spec.Type == corev1.ServiceTypeLoadBalancer, string(s.Spec.Type) + " " + itoa(int(s.Spec.Ports[0].Port))
			})
		}
	})

	t.Run("server.port: the container's port and an exposed Gate's target port; under a TCP probe the operator exits", func(t *testing.T) {
		// The server-port transformer (transformer/serverport.go) and the
		// expose transformer's applyPortChanges (expose_service/transform.go).
		apply := func(ns string, profiles, settings map[string]any) *unstructured.Unstructured {
			if err := spinnaker.EnsureNamespace(e.ctx, e.client, ns); err != nil {
				t.Fatal(err)
			}
			expose := map[string]any{"type": "service", "service": map[string]any{"type": "ClusterIP", "publicPort": int64(443)}}
			obj := spinsvc(ns, "spinnaker", "1.35.5", nil, map[string]any{"expose": expose})
			for k, v := range map[string]map[string]any{"profiles": profiles, "service-settings": settings} {
				if v != nil {
					if err := unstructured.SetNestedMap(obj.Object, v, "spec", "spinnakerConfig", k); err != nil {
						t.Fatal(err)
					}
				}
			}
			if _, err := e.client.Apply(e.ctx, obj); err != nil {
				t.Fatal(err)
			}
			return obj
		}
		apply("serverport", map[string]any{"gate": map[string]any{"server": map[string]any{"port": int64(8085)}}, "orca": map[string]any{"server.port": int64(8083)}}, nil)
		e.waitFor("spin-gate's target port 8085", func() (bool, string) {
			s, err := e.client.Clientset.CoreV1().Services("serverport").Get(e.ctx, "spin-gate", metav1.GetOptions{})
			if err != nil {
				return false, err.Error()
			}
			return s.Spec.Ports[0].Port == 443 && s.Spec.Ports[0].TargetPort.IntValue() == 8085, s.Spec.Ports[0].TargetPort.String()
		})
		// The container ports: each profile's server.port.
		e.waitFor("spin-gate's and spin-orca's containers on 8085 and 8083", func() (bool, string) {
			var got []string
			for _, name := range []string{"spin-gate", "spin-orca"} {
				d, err := e.client.Clientset.AppsV1().Deployments("serverport").Get(e.ctx, name, metav1.GetOptions{})
				if err != nil {
					return false, err.Error()
				}
				got = append(got, itoa(int(d.Spec.Template.Spec.Containers[0].Ports[0].ContainerPort)))
			}
			return slices.Equal(got, []string{"8085", "8083"}), strings.Join(got, " ")
		})

		// A server.port where Halyard makes a TCP readiness probe.
		crash := apply("serverport-tcp", map[string]any{"orca": map[string]any{"server": map[string]any{"port": int64(8083)}}},
			map[string]any{"orca": map[string]any{"kubernetes": map[string]any{"useTcpProbe": true}}})
		e.failsThenDeleted(crash, "the operator's crash", "nil pointer dereference", "spin-orca")
	})

	t.Run("Service annotations: Halyard's, expose's, and another controller's dropped on redeploy", func(t *testing.T) {
		const neg = "cloud.google.com/neg"
		deckNEG := `{"exposed_ports":{"9000":{"name":"spinnaker-deck"}}}`
		svcSettings := map[string]any{
			"deck": map[string]any{"kubernetes": map[string]any{"serviceAnnotations": map[string]any{neg: deckNEG}}},
			"orca": map[string]any{"kubernetes": map[string]any{"serviceAnnotations": map[string]any{"team": "pipelines", "weight": int64(3)},
				// Halyard's KubernetesSettings.serviceType (ClusterIP when unset).
				"serviceType": "NodePort"}},
			// The global settings, which the operator merges under every
			// service's but Deck's (transformer/spinsvcsettings.go).
			"spinnaker": map[string]any{"kubernetes": map[string]any{"serviceAnnotations": map[string]any{"global": "yes", "team": "everyone"}}},
		}
		withSettings := func(version string, extra map[string]any) *unstructured.Unstructured {
			o := spinsvc("zone", "spinnaker", version, nil, extra)
			if err := unstructured.SetNestedMap(o.Object, svcSettings, "spec", "spinnakerConfig", "service-settings"); err != nil {
				t.Fatal(err)
			}
			return o
		}
		annotationsOf := func(name string) map[string]string {
			s, err := e.client.Clientset.CoreV1().Services("zone").Get(e.ctx, name, metav1.GetOptions{})
			if err != nil {
				return map[string]string{"error": err.Error()}
			}
			return s.Annotations
		}
		show := func(m map[string]string) string { return fmt.Sprint(m) }

		// No expose: Halyard's serviceAnnotations on each Service, values
		// as strings.
		if _, err := e.client.Apply(e.ctx, withSettings("1.35.5", map[string]any{"accounts": map[string]any{"enabled": true}})); err != nil {
			t.Fatal(err)
		}
		// One deploy saves the Services one after another: wait for all.
		want := func(what string, services map[string]map[string]string) {
			t.Helper()
			e.waitFor(what, func() (bool, string) {
				for name, w := range services {
					if a := annotationsOf(name); !maps.Equal(a, w) {
						return false, name + ": " + show(a)
					}
				}
				return true, ""
			})
		}
		orca := map[string]string{"team": "pipelines", "weight": "3", "global": "yes"}
		want("Halyard's annotations on each Service, the global ones on all but Deck's", map[string]map[string]string{
			"spin-deck": {neg: deckNEG}, "spin-orca": orca, "spin-gate": {"global": "yes", "team": "everyone"}})
		for name, typ := range map[string]corev1.ServiceType{"spin-orca": corev1.ServiceTypeNodePort, "spin-deck": corev1.ServiceTypeClusterIP} {
			s, err := e.client.Clientset.CoreV1().Services("zone").Get(e.ctx, name, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if s.Spec.Type != typ {
				t.Errorf("%s: type %s, want service-settings' kubernetes.serviceType or ClusterIP: %s", name, s.Spec.Type, typ)
			}
		}

		// Another controller annotates the Service (GKE's NEG controller
		// writes its status): kept while nothing is deployed ...
		patch := []byte(`{"metadata":{"annotations":{"cloud.google.com/neg-status":"{\"zones\":[\"europe-west1-b\"]}"}}}`)
		if _, err := e.client.Clientset.CoreV1().Services("zone").Patch(e.ctx, "spin-deck", types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second) // ten reconcile intervals
		if a := annotationsOf("spin-deck"); a["cloud.google.com/neg-status"] == "" {
			t.Errorf("the stand-in removed another controller's annotation without a deploy: %v", a)
		}
		// ... and removed by the next deploy, which keeps its own.
		if _, err := e.client.Apply(e.ctx, withSettings("1.35.6", map[string]any{"accounts": map[string]any{"enabled": true}})); err != nil {
			t.Fatal(err)
		}
		e.waitFor("spin-deck redeployed without the foreign annotation", func() (bool, string) {
			a := annotationsOf("spin-deck")
			return maps.Equal(a, map[string]string{neg: deckNEG}), show(a)
		})

		// expose.type service: spin-deck's and spin-gate's annotations are
		// expose's, overrides on top; Halyard's are dropped there, kept on
		// the other Services.
		expose := map[string]any{"type": "service", "service": map[string]any{"type": "LoadBalancer",
			"annotations": map[string]any{"shared": "yes", "scheme": "internal"},
			"overrides":   map[string]any{"deck": map[string]any{"annotations": map[string]any{"scheme": "internet-facing"}}}}}
		if _, err := e.client.Apply(e.ctx, withSettings("1.35.6", map[string]any{"expose": expose, "accounts": map[string]any{"enabled": true}})); err != nil {
			t.Fatal(err)
		}
		want("expose's annotations on Deck and Gate, Halyard's elsewhere", map[string]map[string]string{
			"spin-deck": {"shared": "yes", "scheme": "internet-facing"},
			"spin-gate": {"shared": "yes", "scheme": "internal"},
			"spin-orca": orca})
	})
}

// TestStandIn_basicModeWatchesItsNamespace copies "Namespaces watched":
// basic mode sets WATCH_NAMESPACE to the operator's namespace and runs
// without the admission controller.
func TestStandIn_basicModeWatchesItsNamespace(t *testing.T) {
	const opNS = "spin-basic"
	e := startEnv(t, opNS)
	if err := spinnaker.EnsureOperator(e.ctx, e.client, settings(opNS, false), true, time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := spinnaker.EnsureNamespace(e.ctx, e.client, "elsewhere"); err != nil {
		t.Fatal(err)
	}
	for _, ns := range []string{opNS, "elsewhere"} {
		if _, err := e.client.Apply(e.ctx, spinsvc(ns, "spinnaker", "1.35.3", nil, nil)); err != nil {
			t.Fatalf("%s: %v (basic mode has no admission webhook)", ns, err)
		}
	}
	e.waitFor("the operator's own namespace reconciled", func() (bool, string) {
		st := e.status(opNS, "spinnaker")
		return st.Status == spinnaker.StatusOK, st.Status
	})
	if m := e.op.CurrentMode(); m == nil || m.WatchNamespace != opNS || m.Webhook {
		t.Errorf("mode read from the Deployment: %+v", m)
	}
	if deps, _ := e.client.Clientset.AppsV1().Deployments("elsewhere").List(e.ctx, metav1.ListOptions{}); len(deps.Items) != 0 {
		t.Errorf("basic mode deployed %d Deployments outside its namespace", len(deps.Items))
	}
	if st := e.status("elsewhere", "spinnaker"); st.Version != "" {
		t.Errorf("basic mode reported status %+v outside its namespace", st)
	}

	t.Run("change detection: lastDeployed hashes", func(t *testing.T) {
		// pkg/deploy/spindeploy/config/detector.go: status.lastDeployed
		// holds a hash of spec.spinnakerConfig ("config") and of
		// spec.kustomize ("kustomize"); a change of either is deployed and
		// its hash recorded, the other's kept; spec.expose is found by the
		// expose detector and changes neither hash.
		hashes := func() (string, string) {
			obj, err := e.client.Get(e.ctx, spinnaker.SpinnakerServiceGVK, opNS, "spinnaker")
			if err != nil {
				t.Fatal(err)
			}
			return spinnaker.LastDeployedHash(obj, spinnaker.LastDeployedConfig), spinnaker.LastDeployedHash(obj, spinnaker.LastDeployedKustomize)
		}
		config0, kustomize0 := hashes()
		if config0 == "" || kustomize0 == "" {
			t.Fatalf("lastDeployed after the first deploy: config %q, kustomize %q", config0, kustomize0)
		}
		apply := func(o *unstructured.Unstructured) {
			t.Helper()
			if _, err := e.client.Apply(e.ctx, o); err != nil {
				t.Fatal(err)
			}
		}
		withProfile := spinsvc(opNS, "spinnaker", "1.35.3", nil, nil)
		if err := unstructured.SetNestedField(withProfile.Object, map[string]any{"gate": map[string]any{"server": map[string]any{"port": int64(8084)}}}, "spec", "spinnakerConfig", "profiles"); err != nil {
			t.Fatal(err)
		}
		apply(withProfile)
		e.waitFor("the profile deployed", func() (bool, string) {
			c, _ := hashes()
			return c != config0, c
		})
		config1, kustomize1 := hashes()
		if kustomize1 != kustomize0 {
			t.Errorf("a profile change changed the kustomize hash: %s -> %s", kustomize0, kustomize1)
		}

		withKustomize := withProfile.DeepCopy()
		if err := unstructured.SetNestedField(withKustomize.Object, map[string]any{"gate": map[string]any{"deployment": map[string]any{
			"patchesStrategicMerge": []any{"spec:\n  template:\n    metadata:\n      labels:\n        patched: \"yes\"\n"}}}}, "spec", "kustomize"); err != nil {
			t.Fatal(err)
		}
		apply(withKustomize)
		e.waitFor("the kustomize patch deployed", func() (bool, string) {
			_, k := hashes()
			return k != kustomize1, k
		})
		if c, _ := hashes(); c != config1 {
			t.Errorf("a kustomize change changed the config hash: %s -> %s", config1, c)
		}
		config2, kustomize2 := hashes()

		exposed := withKustomize.DeepCopy()
		if err := unstructured.SetNestedField(exposed.Object, map[string]any{"type": "service", "service": map[string]any{"type": "LoadBalancer"}}, "spec", "expose"); err != nil {
			t.Fatal(err)
		}
		apply(exposed)
		e.waitFor("spin-deck rewritten to the public port", func() (bool, string) {
			svc, err := e.client.Clientset.CoreV1().Services(opNS).Get(e.ctx, "spin-deck", metav1.GetOptions{})
			if err != nil || len(svc.Spec.Ports) == 0 {
				return false, errString(err)
			}
			return svc.Spec.Ports[0].Port == 80, itoa(int(svc.Spec.Ports[0].Port))
		})
		if c, k := hashes(); c != config2 || k != kustomize2 {
			t.Errorf("an expose change changed the hashes: config %s -> %s, kustomize %s -> %s", config2, c, kustomize2, k)
		}
	})

	t.Run("expose detector: the live Services, not the spec", func(t *testing.T) {
		// expose_service/detector.go: with spec.expose.type "service" the
		// operator redeploys when spin-deck's or spin-gate's live Service
		// differs from what expose asks (type, the <service>-tcp port,
		// annotations); without it, nothing about the Services is checked.
		svcs := e.client.Clientset.CoreV1().Services(opNS)
		get := func(name string) *corev1.Service {
			t.Helper()
			s, err := svcs.Get(e.ctx, name, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
		shape := func(s *corev1.Service) string {
			return fmt.Sprintf("%s %s:%d %v", s.Spec.Type, s.Spec.Ports[0].Name, s.Spec.Ports[0].Port, s.Annotations)
		}
		lastDeployed := func() (hash, at string) {
			obj, err := e.client.Get(e.ctx, spinnaker.SpinnakerServiceGVK, opNS, "spinnaker")
			if err != nil {
				t.Fatal(err)
			}
			at, _, _ = unstructured.NestedString(obj.Object, "status", "lastDeployed", "config", "lastUpdatedAt")
			return spinnaker.LastDeployedHash(obj, spinnaker.LastDeployedConfig), at
		}
		exposed := spinsvc(opNS, "spinnaker", "1.35.3", nil, map[string]any{
			"expose": map[string]any{"type": "service", "service": map[string]any{"type": "LoadBalancer",
				"annotations": map[string]any{"scheme": "internal"},
				"overrides":   map[string]any{"gate": map[string]any{"publicPort": int64(8084)}}}},
			// The patch transformer runs before the expose transformer
			// (TransformManifests in reverse list order): a Service patch's
			// type and annotations are replaced, its other fields kept.
			"kustomize": map[string]any{"gate": map[string]any{"service": map[string]any{"patchesStrategicMerge": []any{
				"metadata:\n  annotations:\n    patched: \"yes\"\nspec:\n  type: NodePort\n  sessionAffinity: ClientIP\n"}}}},
		})
		if _, err := e.client.Apply(e.ctx, exposed); err != nil {
			t.Fatal(err)
		}
		want := map[string]string{
			"spin-deck": "LoadBalancer deck-tcp:80 map[scheme:internal]",
			"spin-gate": "LoadBalancer gate-tcp:8084 map[scheme:internal]",
			"spin-orca": "ClusterIP http:8083 map[]",
		}
		settled := func(what string) {
			t.Helper()
			e.waitFor(what, func() (bool, string) {
				for name, w := range want {
					if got := shape(get(name)); got != w {
						return false, name + ": " + got
					}
				}
				return true, ""
			})
		}
		settled("exposed Deck and Gate on their <service>-tcp ports")
		if a := get("spin-gate").Spec.SessionAffinity; a != corev1.ServiceAffinityClientIP {
			t.Errorf("spin-gate's sessionAffinity %q: the kustomize patch's field was lost", a)
		}

		// status.uiUrl / apiUrl: written only by the expose transformer,
		// from overrideBaseUrl (none here) or the load balancer's address
		// (none yet). Once Gate's has one, the detector's last rule
		// redeploys and the transformer reports it on the public port.
		urls := func() string {
			st := e.status(opNS, "spinnaker")
			return "ui=" + st.UIURL + " api=" + st.APIURL
		}
		if got := urls(); got != "ui= api=" {
			t.Errorf("status URLs %q with no overrideBaseUrl and no load balancer address, want none", got)
		}
		gate := get("spin-gate")
		gate.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{Hostname: "gate-lb.example"}}
		if _, err := svcs.UpdateStatus(e.ctx, gate, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		e.waitFor("Gate's load balancer URL reported", func() (bool, string) {
			got := urls()
			return got == "ui= api=http://gate-lb.example:8084", got
		})

		// Another client edits an exposed Service: the detector sees it
		// and the operator deploys over it, with no hash changed.
		time.Sleep(1100 * time.Millisecond) // lastUpdatedAt is in whole seconds
		config0, at0 := lastDeployed()
		patch := []byte(`{"metadata":{"annotations":{"edited":"by hand"}},"spec":{"type":"NodePort"}}`)
		if _, err := svcs.Patch(e.ctx, "spin-gate", types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
		settled("spin-gate's out-of-band edit deployed over")
		e.waitFor("the redeploy recorded", func() (bool, string) {
			_, at := lastDeployed()
			return at != at0, at
		})
		if c, _ := lastDeployed(); c != config0 {
			t.Errorf("the redeploy changed the config hash: %s -> %s", config0, c)
		}

		// spec.expose removed alone: the expose detector no longer
		// applies and no hash changed, so nothing is deployed and the
		// load balancers stay.
		unexposed := exposed.DeepCopy()
		unstructured.RemoveNestedField(unexposed.Object, "spec", "expose")
		if _, err := e.client.Apply(e.ctx, unexposed); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second) // ten reconcile intervals
		for name, w := range want {
			if got := shape(get(name)); got != w {
				t.Errorf("%s changed without a deploy after spec.expose was removed: %s, was %s", name, got, w)
			}
		}

		// With status.lastDeployed.config gone the config detector finds
		// no prior hash (UpdateHashIfNotExist) and the operator deploys:
		// Halyard's Services again (the patch's NodePort type on Gate).
		obj, err := e.client.Get(e.ctx, spinnaker.SpinnakerServiceGVK, opNS, "spinnaker")
		if err != nil {
			t.Fatal(err)
		}
		unstructured.RemoveNestedField(obj.Object, "status", "lastDeployed", "config")
		if _, err := e.client.Dynamic.Resource(spinnaker.SpinnakerServiceGVK.GroupVersion().WithResource("spinnakerservices")).Namespace(opNS).
			UpdateStatus(e.ctx, obj, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		want = map[string]string{
			"spin-deck": "ClusterIP http:9000 map[]",
			"spin-gate": "NodePort http:8084 map[patched:yes]",
			"spin-orca": "ClusterIP http:8083 map[]",
		}
		settled("Halyard's Services after the forced deploy")
		// The Services are saved before the status is written.
		e.waitFor("the forced deploy's config hash recorded", func() (bool, string) {
			c, _ := lastDeployed()
			return c == config0, c
		})
	})
}

// TestStandIn_failureAfterMaxWaiting copies the status checker's
// HasExceededMaxWaitingTime (pkg/util/k8s_lookup.go): a Running or Pending
// pod whose ReplicaSet has not had every replica ready and available for
// longer than the limit (2 minutes in the real operator; 3 s here) makes
// the status Failure, a held new ReplicaSet once it is older than that and
// a scale-up of an old one at once, until the pods are ready.
func TestStandIn_failureAfterMaxWaiting(t *testing.T) {
	const opNS = "spin-waiting"
	e := startEnv(t, opNS, func(o *operatortest.OperatorOptions) { o.MaxWaiting = 3 * time.Second })
	if err := spinnaker.EnsureOperator(e.ctx, e.client, settings(opNS, false), true, time.Minute); err != nil {
		t.Fatal(err)
	}
	apply := func(version string, config map[string]any) {
		t.Helper()
		if _, err := e.client.Apply(e.ctx, spinsvc(opNS, "spinnaker", version, config, nil)); err != nil {
			t.Fatal(err)
		}
	}
	statusIs := func(what, want string) {
		t.Helper()
		e.waitFor(what, func() (bool, string) {
			st := e.status(opNS, "spinnaker")
			return st.Status == want, st.Version + " " + st.Status
		})
	}
	apply("1.35.3", nil)
	statusIs("OK at 1.35.3", spinnaker.StatusOK)

	// An upgrade whose new pods stay in ContainerCreating: Updating (or
	// OK from the old pods) at first, Failure once the new ReplicaSets are
	// older than the limit, OK when the pods run.
	e.hold.Store("1.35.4")
	apply("1.35.4", nil)
	e.waitFor("version 1.35.4 reported", func() (bool, string) {
		st := e.status(opNS, "spinnaker")
		return st.Version == "1.35.4", st.Version
	})
	if st := e.status(opNS, "spinnaker"); st.Status == spinnaker.StatusFailure {
		t.Errorf("Failure right after the upgrade, before the limit")
	}
	statusIs("Failure once the held ReplicaSets waited too long", spinnaker.StatusFailure)
	e.hold.Store("\x00")
	statusIs("OK at 1.35.4 once the pods run", spinnaker.StatusOK)

	// A scale-up keeps Gate's ReplicaSet, created long ago: its new,
	// held pod makes the status Failure without waiting for the limit.
	time.Sleep(3 * time.Second)
	e.hold.Store("1.35.4")
	scaled := map[string]any{"deploymentEnvironment": map[string]any{"customSizing": map[string]any{"spin-gate": map[string]any{"replicas": int64(2)}}}}
	apply("1.35.4", scaled)
	statusIs("Failure as soon as the old ReplicaSet has a pod that is not ready", spinnaker.StatusFailure)
	e.hold.Store("\x00")
	statusIs("OK with both of Gate's pods running", spinnaker.StatusOK)
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	neg := n < 0
	if neg {
		n = -n
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	if neg {
		b = append([]byte{'-'}, b...)
	}
	return string(b)
}
