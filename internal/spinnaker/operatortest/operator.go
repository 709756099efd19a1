// Package operatortest holds TEST STAND-INS for what cannot run on a test
// machine: the Spinnaker Operator (which would run Halyard and Spinnaker's
// containers) and the kubelet (which would run pods). Tests only; nothing in
// the provider imports it.
//
// The operator stand-in does what armory/spinnaker-operator 1.3.1 does on
// each point of shared/design/OPERATOR-CONTRACT.md (source paths of the real
// operator in the comments; each behaviour has its own test in
// operator_test.go):
//
//   - It runs only while its Deployment (spinnaker-operator in
//     OperatorOptions.Namespace) has an available pod, and reads its mode
//     from it: --disable-admission-controller, WATCH_NAMESPACE (basic mode
//     reconciles only that namespace), OPERATOR_NAME.
//   - In cluster mode it creates the webhook Service selecting
//     name: $OPERATOR_NAME and the ValidatingWebhookConfiguration
//     spinnakervalidatingwebhook (failurePolicy Fail) for spinnakerservices
//     and spinnakeraccounts. The webhook is served from a test host; it
//     refuses every write while no ready pod matches the Service's selector
//     (the API server's "no endpoints available"), and refuses what Halyard
//     refuses (unknown features, persistentStorage.s3.assumeRole, SAML
//     without its keystore) and the SpinnakerAccount shapes that fail in
//     1.3.1.
//   - Each SpinnakerService becomes one Deployment and Service per Spinnaker
//     service, named spin-<service>, with spec.kustomize's patches applied
//     as the operator's patch transformer does (ApplyKustomize,
//     kustomize_test.go), then, with spec.expose.type "service", spin-deck's
//     and spin-gate's type, public port (named <service>-tcp) and
//     annotations rewritten over them (transformService); a change of
//     spec.spinnakerConfig or spec.kustomize (their hashes) redeploys, and
//     so does an exposed Service that differs from spec.expose (the expose
//     detector, exposeUpToDate), but not the removal of spec.expose.
//   - The global "spinnaker" service-settings are merged under those of
//     every service of the operator's BOM but Deck as inspect.Merge does
//     (inspectMerge: lists concatenated, a global list dropped under a
//     service's own map without it), and the pods carry the merged
//     kubernetes.imagePullSecrets, volumes, podLabels (after Halyard's
//     own, the later value of a key winning), podAnnotations and
//     nodeSelector as Halyard's Deployment does (withPodSettings).
//   - A profile's server.port is the container's port and an exposed
//     Gate's target port, and crashes the operator where Halyard's
//     readiness probe is not an exec probe (transformServerPort).
//   - Services carry Halyard's service-settings kubernetes.serviceAnnotations,
//     except spin-deck's and spin-gate's with expose.type service, which
//     carry spec.expose.service.annotations under the service's overrides
//     instead; each deploy removes annotations the generated Service lacks
//     (another controller's included), and nothing is touched between
//     deploys.
//   - Status: status.version (and lastDeployed) is written right after the
//     Deployments are applied, before their pods roll out, keeping the
//     previous status; later passes compute status.status from the pods
//     (Failure while a pod is Pending for a reason other than
//     ContainerCreating, or while a pod's ReplicaSet has waited longer than
//     MaxWaiting for its replicas), status.services[].name is the
//     Deployment's name,
//     status.accountCount counts SpinnakerAccounts only with
//     spec.accounts.enabled, and status.uiUrl / apiUrl are written only on
//     a deploy with spec.expose.type "service" (overrideBaseUrl, else the
//     load balancer's URL, else "").
//
// What it cannot prove: Halyard's validation of every other key, the
// manifests Halyard really generates, real pods. See docs/operator.md.
package operatortest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"

	"github.com/spinops/terraform-provider-spinops/internal/spinnaker"
	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

// standInManager is the field manager of what the stand-in writes, and the
// managed-by label of the accounts Secret it makes.
const standInManager = "spinnaker-operator-standin"

// operatorManagedBy is the managed-by label the real operator's owner
// transformer puts on each Deployment and its pod template
// (pkg/deploy/spindeploy/transformer/owner.go), and the one its status
// checker lists Deployments by (pkg/util/k8s_lookup.go,
// GetSpinnakerDeployments).
const operatorManagedBy = "spinnaker-operator"

// DefaultNamespace is the operator namespace when OperatorOptions leaves it
// empty.
const DefaultNamespace = "spinnaker-operator"

// OperatorOptions configure the operator stand-in.
type OperatorOptions struct {
	// Backend returns the port on the kubelet stand-in's pod IP where the
	// HTTP endpoints of service at version are served; the stand-in points
	// the service's targetPort there. Nil: the service's own port.
	Backend func(service, version string) int
	// Interval between reconciliations; 0 means 200ms.
	Interval time.Duration
	// MaxWaiting is how long a ReplicaSet may have pods not ready and
	// available before the status says Failure; 0 means the real
	// operator's 2 minutes (pkg/util/k8s_lookup.go,
	// MaxChecksWaitingForSpinnakerStability, HasExceededMaxWaitingTime).
	MaxWaiting time.Duration
	// Namespace of the operator's Deployment (spinnaker-operator), which
	// the stand-in "runs as"; empty means DefaultNamespace.
	Namespace string
	// Host serves the admission webhook in cluster mode (the API server
	// calls webhooks, and refuses loopback for nothing but is reached from
	// its own namespace, so a test host is used like for the backends).
	// Nil: cluster mode fails the test, since the real operator would
	// register its webhook.
	Host *testenv.TestHost
}

// Operator is the running operator stand-in.
type Operator struct {
	t    testing.TB
	cs   kubernetes.Interface
	dyn  dynamic.Interface
	opts OperatorOptions

	mu           sync.Mutex
	lastError    error
	accountError error
	mode         *Mode
	webhook      *webhookServer
	// passAccounts holds each namespace's SpinnakerAccounts, listed once
	// per reconciliation pass (reset by reconcileAll; only its goroutine
	// reads it).
	passAccounts map[string]accountsListed
}

type accountsListed struct {
	list *unstructured.UnstructuredList
	err  error
}

// accountList lists the namespace's SpinnakerAccounts, once per pass: the
// SpinnakerService reconcile, the account controller and the status check
// each read them, as the real controllers do from one informer cache.
func (o *Operator) accountList(ctx context.Context, ns string) (*unstructured.UnstructuredList, error) {
	if r, ok := o.passAccounts[ns]; ok {
		return r.list, r.err
	}
	list, err := o.dyn.Resource(spinaccResource).Namespace(ns).List(ctx, metav1.ListOptions{})
	o.passAccounts[ns] = accountsListed{list, err}
	return list, err
}

// Mode is how the operator's Deployment runs it.
type Mode struct {
	// Running: the Deployment exists and has an available pod.
	Running bool
	// WatchNamespace: "" watches every namespace (cluster mode without
	// WATCH_NAMESPACE, deploy/operator/cluster), otherwise only this one
	// (deploy/operator/basic sets it to the pod's namespace).
	WatchNamespace string
	// Webhook: no --disable-admission-controller.
	Webhook bool
	// Name is OPERATOR_NAME, the webhook Service's name and selector value.
	Name string
}

var (
	spinsvcResource    = spinnaker.SpinnakerServiceGVK.GroupVersion().WithResource("spinnakerservices")
	spinaccResource    = spinnaker.SpinnakerAccountGVK.GroupVersion().WithResource("spinnakeraccounts")
	operatorDeployName = "spinnaker-operator"
)

// StartOperator runs the operator stand-in against the cluster until the
// test ends.
func StartOperator(t testing.TB, cfg *rest.Config, opts OperatorOptions) *Operator {
	t.Helper()
	if opts.Interval == 0 {
		opts.Interval = 200 * time.Millisecond
	}
	if opts.Namespace == "" {
		opts.Namespace = DefaultNamespace
	}
	if opts.MaxWaiting == 0 {
		opts.MaxWaiting = 2 * time.Minute
	}
	o := &Operator{t: t, cs: kubernetes.NewForConfigOrDie(cfg), dyn: dynamic.NewForConfigOrDie(cfg), opts: opts}
	run(t, opts.Interval, o.reconcileAll)
	return o
}

// LastError is the last reconciliation error (nil when the last pass
// succeeded), for test diagnostics.
func (o *Operator) LastError() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.lastError
}

// CurrentMode is the mode read from the operator's Deployment on the last
// pass (nil before the first).
func (o *Operator) CurrentMode() *Mode {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.mode
}

// run calls fn every interval in a goroutine stopped (and waited for) on
// t.Cleanup.
func run(t testing.TB, interval time.Duration, fn func(context.Context) error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			_ = fn(ctx)
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
}

// readMode reads the operator's mode from its Deployment, as the real
// operator's process gets it from its container's args and env.
func (o *Operator) readMode(ctx context.Context) (*Mode, error) {
	d, err := o.cs.AppsV1().Deployments(o.opts.Namespace).Get(ctx, operatorDeployName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return &Mode{}, nil
	}
	if err != nil {
		return nil, err
	}
	m := &Mode{Running: d.Status.AvailableReplicas > 0, Webhook: true, Name: operatorDeployName}
	for _, c := range d.Spec.Template.Spec.Containers {
		if c.Name != "spinnaker-operator" {
			continue
		}
		if slices.Contains(c.Args, "--disable-admission-controller") {
			m.Webhook = false
		}
		for _, e := range c.Env {
			switch e.Name {
			case "WATCH_NAMESPACE":
				switch {
				case e.ValueFrom != nil && e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.namespace":
					m.WatchNamespace = d.Namespace
				default:
					m.WatchNamespace = e.Value
				}
			case "OPERATOR_NAME":
				if e.Value != "" {
					m.Name = e.Value
				}
			}
		}
	}
	return m, nil
}

func (o *Operator) reconcileAll(ctx context.Context) error {
	o.passAccounts = map[string]accountsListed{}
	mode, err := o.readMode(ctx)
	if err != nil {
		o.setErr(err)
		return err
	}
	o.mu.Lock()
	o.mode = mode
	o.mu.Unlock()
	if !mode.Running {
		// Idle, as the real operator is without a running pod; expected
		// before the install and after a destroy, so say which Deployment.
		o.setErr(fmt.Errorf("idle: the operator's Deployment %s/%s is missing or has no available pod (expected before it is installed and after it is removed)",
			o.opts.Namespace, operatorDeployName))
		return nil // no operator pod, nothing reconciled (the webhook configuration stays, as it would)
	}
	if mode.Webhook {
		if err := o.ensureWebhook(ctx, mode); err != nil {
			o.setErr(err)
			return err
		}
	}
	list, err := o.dyn.Resource(spinsvcResource).Namespace(mode.WatchNamespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		if apierrors.IsNotFound(err) {
			return nil // CRDs not installed yet
		}
		o.setErr(err)
		return err
	}
	var errs []string
	firstInNamespace := map[string]bool{}
	var accountErrs []string
	for i := range list.Items {
		if err := o.reconcile(ctx, &list.Items[i]); err != nil {
			errs = append(errs, err.Error())
		}
		// The account controller works for the first SpinnakerService of
		// a namespace (pkg/util/find.go FindSpinnakerService).
		if ns := list.Items[i].GetNamespace(); !firstInNamespace[ns] {
			firstInNamespace[ns] = true
			if err := o.reconcileAccounts(ctx, ns); err != nil {
				accountErrs = append(accountErrs, err.Error())
			}
		}
	}
	o.mu.Lock()
	o.accountError = nil
	if len(accountErrs) > 0 {
		o.accountError = fmt.Errorf("%s", strings.Join(accountErrs, "; "))
	}
	o.mu.Unlock()
	if len(errs) > 0 {
		err = fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	o.setErr(err)
	return err
}

func (o *Operator) setErr(err error) {
	o.mu.Lock()
	o.lastError = err
	o.mu.Unlock()
}

type service struct {
	name     string
	port     int
	replicas int32
	// kubernetes is service-settings' <name>.kubernetes as Halyard
	// receives it (transformedSettings).
	kubernetes map[string]any
	// execProbe says whether Halyard gives the container an exec
	// readiness probe (halyardExecProbe).
	execProbe bool
}

// servicesOf reads the Halyard configuration as the operator does, with the
// service-settings Halyard receives (transformedSettings).
func servicesOf(config, settings map[string]any) []service {
	// The services Halyard deploys (spinnaker/halyard 23e66d69,
	// halyard-deploy/.../kubernetes/v2/KubernetesV2*Service.java, each
	// isEnabled, which buildServiceSettings makes the service's `enabled`;
	// a service-settings `enabled` of the service's own overrides it).
	flag := func(path ...string) bool { b, _, _ := unstructured.NestedBool(config, path...); return b }
	cdHA := flag("deploymentEnvironment", "haServices", "clouddriver", "enabled")
	echoHA := flag("deploymentEnvironment", "haServices", "echo", "enabled")
	// KubernetesV2IgorService: docker registry provider or Cis.ciEnabled,
	// any child of ci enabled.
	igor := flag("providers", "dockerRegistry", "enabled")
	ci, _, _ := unstructured.NestedMap(config, "ci")
	for k := range ci {
		igor = igor || flag("ci", k, "enabled")
	}
	enabled := map[string]bool{
		"deck":                true,
		"gate":                true,
		"orca":                true,
		"front50":             true,
		"rosco":               true,
		"clouddriver":         !cdHA,
		"clouddriver-caching": cdHA,
		"clouddriver-rw":      cdHA,
		"clouddriver-ro":      cdHA,
		"clouddriver-ro-deck": cdHA && !flag("deploymentEnvironment", "haServices", "clouddriver", "disableClouddriverRoDeck"),
		"echo":                !echoHA,
		"echo-scheduler":      echoHA,
		"echo-worker":         echoHA,
		"fiat":                flag("security", "authz", "enabled"),
		"kayenta":             flag("canary", "enabled"),
		"igor":                igor,
	}
	var names []string
	for n, on := range enabled {
		if own, found, _ := unstructured.NestedBool(settings, n, "enabled"); found {
			on = own
		}
		// KubectlDeployer.deploy: a service whose service-settings set
		// skipLifeCycleManagement is not deployed.
		if skip, _, _ := unstructured.NestedBool(settings, n, "skipLifeCycleManagement"); skip {
			on = false
		}
		if on {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	out := make([]service, 0, len(names))
	for _, n := range names {
		// KubernetesV2Service.getResourceYaml: customSizing under the
		// service name (spin-<canonical name>), else the service-settings'
		// targetSize, else 1.
		k8s, _, _ := unstructured.NestedMap(settings, n, "kubernetes")
		// The service-settings' port, else the service's default
		// (ServiceSettings.port; KubernetesV2Service.getServiceYaml binds
		// it to the Service's port and targetPort).
		port := spinnaker.PortOf(n)
		if p := toInt32(nested(settings, n, "port")); p > 0 {
			port = int(p)
		}
		s := service{name: n, port: port, replicas: 1, kubernetes: k8s, execProbe: halyardExecProbe(settings, n)}
		if r, ok, _ := unstructured.NestedFieldNoCopy(config, "deploymentEnvironment", "customSizing", "spin-"+n, "replicas"); ok {
			s.replicas = toInt32(r)
		} else if r, ok, _ := unstructured.NestedFieldNoCopy(settings, n, "targetSize"); ok {
			s.replicas = toInt32(r)
		}
		out = append(out, s)
	}
	return out
}

func baseName(svc string) string {
	if i := strings.Index(svc, "-"); i > 0 {
		return svc[:i]
	}
	return svc
}

// exposePort is the port the operator gives spin-deck / spin-gate with
// spec.expose.type = service (pkg/util/runtime.go GetDesiredExposePort,
// pkg/deploy/spindeploy/expose_service/transform.go): 80, or the port of
// the service's overrideBaseUrl (443 for https), or the service's
// publicPort override, or spec.expose.service.publicPort.
func exposePort(spec, config map[string]any, svc string) int32 {
	port := int32(80)
	if u, ok, _ := unstructured.NestedString(config, baseURLProp[svc]...); ok && u != "" {
		if parsed, err := url.Parse(u); err == nil {
			if p, err := strconv.Atoi(parsed.Port()); err == nil {
				port = int32(p)
			} else if parsed.Scheme == "https" {
				port = 443
			} else if parsed.Scheme == "http" {
				port = 80
			}
		}
	}
	if ov, ok, _ := unstructured.NestedMap(spec, "expose", "service", "overrides", svc); ok {
		if p := toInt32(ov["publicPort"]); p != 0 {
			port = p
		}
	} else if p := toInt32(nested(spec, "expose", "service", "publicPort")); p != 0 {
		port = p
	}
	return port
}

func nested(m map[string]any, path ...string) any {
	v, _, _ := unstructured.NestedFieldNoCopy(m, path...)
	return v
}

func toInt32(v any) int32 {
	switch n := v.(type) {
	case int64:
		return int32(n)
	case float64:
		return int32(n)
	}
	return 0
}

// The real operator's change detection (pkg/deploy/spindeploy/config/
// detector.go): it hashes spec.spinnakerConfig and spec.kustomize, each as
// the JSON of its typed field (SpinnakerConfig keeps files,
// service-settings, profiles and config, each left out when empty; the
// kustomize map is marshalled as it is, null when absent), deploys when
// either hash differs from status.lastDeployed.<key>.hash, and records both
// there once it has deployed. A change of spec.expose is found by another
// detector (expose_service/detector.go), which compares the Services and
// records no hash; spec.accounts is hashed by neither, so switching it
// does not redeploy.
const (
	hashConfig    = "config"
	hashKustomize = "kustomize"
)

func specHashes(ss *unstructured.Unstructured) map[string]string {
	sc, _, _ := unstructured.NestedMap(ss.Object, "spec", "spinnakerConfig")
	typed := map[string]any{}
	for _, k := range []string{"files", "service-settings", "profiles", "config"} {
		if m, ok := sc[k].(map[string]any); ok && len(m) > 0 {
			typed[k] = m
		}
	}
	return map[string]string{hashConfig: jsonHash(typed), hashKustomize: jsonHash(nested(ss.Object, "spec", "kustomize"))}
}

// exposeUpToDate is the expose detector (pkg/deploy/spindeploy/
// expose_service/detector.go, IsSpinnakerUpToDate): it applies only when
// spec.expose.type is exactly "service", and then finds spin-deck and
// spin-gate up to date when the live Service exists, has the type
// expose asks (the service's override, else expose.service.type), the
// port named <service>-tcp on the desired public port (exposePort), and
// exactly the aggregated expose annotations. It compares the live
// Services, not the spec last deployed: removing spec.expose alone
// redeploys nothing (the Services stay as they are until a hashed part
// changes), and an out-of-band edit of an exposed Service is redeployed
// over. Its last rule redeploys while status.uiUrl / apiUrl is empty and
// the Service's load balancer has an address (which a test gives it: no
// load balancer controller runs here).
func (o *Operator) exposeUpToDate(ctx context.Context, ns string, spec, config, status map[string]any) (bool, error) {
	if t, _, _ := unstructured.NestedString(spec, "expose", "type"); t != "service" {
		return true, nil
	}
	for _, name := range []string{"deck", "gate"} {
		live, err := o.cs.CoreV1().Services(ns).Get(ctx, "spin-"+name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		if string(live.Spec.Type) != exposeType(spec, name) {
			return false, nil
		}
		var port int32
		for _, p := range live.Spec.Ports {
			if p.Name == name+"-tcp" {
				port = p.Port
			}
		}
		if port != exposePort(spec, config, name) {
			return false, nil
		}
		want := exposeAnnotations(spec, name)
		if len(live.Annotations) != len(want) || len(want) > 0 && !maps.Equal(live.Annotations, want) {
			return false, nil
		}
		// The status URL is not set yet but the load balancer has an
		// address: redeploy, so the transformer writes it.
		if reported, _, _ := unstructured.NestedString(status, statusURLField[name]); reported == "" && loadBalancerURL(live, sslEnabled(config, name)) != "" {
			return false, nil
		}
	}
	return true, nil
}

// statusURLField is where the expose transformer reports each service's
// URL (status.uiUrl for Deck, status.apiUrl for Gate).
var statusURLField = map[string]string{"deck": "uiUrl", "gate": "apiUrl"}

// baseURLProp is the halconfig property of each service's overrideBaseUrl
// (pkg/util/constants.go).
var baseURLProp = map[string][]string{"deck": {"security", "uiSecurity", "overrideBaseUrl"}, "gate": {"security", "apiSecurity", "overrideBaseUrl"}}

// sslEnabled is security.uiSecurity.ssl.enabled (Deck) or
// security.apiSecurity.ssl.enabled (Gate).
func sslEnabled(config map[string]any, name string) bool {
	on, _, _ := unstructured.NestedBool(config, baseURLProp[name][0], baseURLProp[name][1], "ssl", "enabled")
	return on
}

// loadBalancerURL is FindLoadBalancerUrl (pkg/util/runtime.go): for a
// Service of type LoadBalancer whose load balancer has an address, its
// hostname (else IP) with the first port whose name contains "tcp", https
// when SSL is on in the halconfig or that port is 443; "" otherwise.
func loadBalancerURL(svc *corev1.Service, ssl bool) string {
	if svc == nil || svc.Spec.Type != corev1.ServiceTypeLoadBalancer || len(svc.Status.LoadBalancer.Ingress) == 0 {
		return ""
	}
	host := svc.Status.LoadBalancer.Ingress[0].Hostname
	if host == "" {
		host = svc.Status.LoadBalancer.Ingress[0].IP
	}
	if host == "" {
		return ""
	}
	var port int32
	for _, p := range svc.Spec.Ports {
		if strings.Contains(p.Name, "tcp") {
			port = p.Port
			break
		}
	}
	scheme := "http"
	if ssl || len(svc.Spec.Ports) > 0 && strings.EqualFold(string(svc.Spec.Ports[0].Protocol), "https") || port == 443 {
		scheme = "https"
	}
	return buildURL(scheme, host, port)
}

// buildURL is BuildUrl (pkg/util/runtime.go): the port only when the
// scheme does not imply it.
func buildURL(scheme, host string, port int32) string {
	if port > 0 && (scheme == "https" && port != 443 || scheme == "http" && port != 80) {
		host = net.JoinHostPort(host, strconv.Itoa(int(port)))
	}
	return (&url.URL{Scheme: scheme, Host: host}).String()
}

// statusURLs are what the expose transformer's TransformConfig writes to
// status.uiUrl and status.apiUrl on a deploy with spec.expose.type
// "service" (expose_service/transform.go, setStatusAndOverrideBaseUrl,
// findStatusUrl, generateOverrideUrl): the service's overrideBaseUrl when
// set, else the URL of its live Service's load balancer with the public
// port, else "". Without that expose the transformer does not run and the
// status keeps the URLs it had; nothing else writes them.
func (o *Operator) statusURLs(ctx context.Context, ns string, spec, config map[string]any) (map[string]string, error) {
	out := map[string]string{}
	for name, field := range statusURLField {
		if u, _, _ := unstructured.NestedString(config, baseURLProp[name]...); u != "" {
			out[field] = u
			continue
		}
		live, err := o.cs.CoreV1().Services(ns).Get(ctx, "spin-"+name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			live, err = nil, nil
		}
		if err != nil {
			return nil, err
		}
		lb := loadBalancerURL(live, sslEnabled(config, name))
		if parsed, err := url.Parse(lb); err == nil && lb != "" {
			lb = buildURL(parsed.Scheme, parsed.Hostname(), exposePort(spec, config, name))
		}
		out[field] = lb
	}
	return out, nil
}

// exposeType is the type the expose transformer gives spin-<svc>
// (ApplyExposeServiceConfig): the override's type when it has one, else
// spec.expose.service.type, even when that is empty.
func exposeType(spec map[string]any, svc string) string {
	if t, _, _ := unstructured.NestedString(spec, "expose", "service", "overrides", svc, "type"); t != "" {
		return t
	}
	t, _, _ := unstructured.NestedString(spec, "expose", "service", "type")
	return t
}

// exposeAnnotations is GetAggregatedAnnotations (pkg/apis/spinnaker/
// interfaces/interfaces.go): spec.expose.service.annotations with the
// service's override's on top; never nil.
func exposeAnnotations(spec map[string]any, svc string) map[string]string {
	out := map[string]string{}
	maps.Copy(out, stringMap(spec, "expose", "service", "annotations"))
	maps.Copy(out, stringMap(spec, "expose", "service", "overrides", svc, "annotations"))
	return out
}

func jsonHash(v any) string {
	b, _ := json.Marshal(v)
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func (o *Operator) reconcile(ctx context.Context, ss *unstructured.Unstructured) error {
	if ss.GetDeletionTimestamp() != nil {
		return nil
	}
	ns, name := ss.GetNamespace(), ss.GetName()
	spec, _, _ := unstructured.NestedMap(ss.Object, "spec")
	config, _, _ := unstructured.NestedMap(ss.Object, "spec", "spinnakerConfig", "config")
	version, _, _ := unstructured.NestedString(config, "version")
	accountsOn, _, _ := unstructured.NestedBool(ss.Object, "spec", "accounts", "enabled")
	if accountsOn {
		// Observed with 1.3.1: a SpinnakerAccount with kubeconfigSecret
		// fails the account controller with "secret context not
		// initialized", and with it the whole SpinnakerService reconcile.
		accs, err := o.accountList(ctx, ns)
		if err != nil && !apierrors.IsNotFound(err) {
			return err
		}
		if accs != nil {
			for _, a := range accs.Items {
				if _, found, _ := unstructured.NestedFieldNoCopy(a.Object, "spec", "kubernetes", "kubeconfigSecret"); found {
					return fmt.Errorf("SpinnakerService %s/%s: SpinnakerAccount %s: secret context not initialized", ns, name, a.GetName())
				}
			}
		}
	}
	hashes := specHashes(ss)
	changed := false
	for key, h := range hashes {
		if deployed, _, _ := unstructured.NestedString(ss.Object, "status", "lastDeployed", key, "hash"); deployed != h {
			changed = true
		}
	}
	// The composite detector (changedetector.go) runs the expose detector
	// only while the config detector found nothing.
	status, _, _ := unstructured.NestedMap(ss.Object, "status")
	if status == nil {
		status = map[string]any{}
	}
	if !changed {
		upToDate, err := o.exposeUpToDate(ctx, ns, spec, config, status)
		if err != nil {
			return err
		}
		changed = !upToDate
	}
	services := servicesOf(config, transformedSettings(spec))
	if changed {
		// TransformConfig runs before the manifests are generated and
		// saved: the load balancer it reads is the one before this deploy.
		var urls map[string]string
		if t, _, _ := unstructured.NestedString(spec, "expose", "type"); t == "service" {
			var err error
			if urls, err = o.statusURLs(ctx, ns, spec, config); err != nil {
				return err
			}
		}
		if err := o.deploy(ctx, ss, spec, config, version, services, accountsOn); err != nil {
			return err
		}
		// spindeploy.go Deploy: after applying the manifests the operator
		// writes status.version (and the hashes) at once, keeping the rest
		// of the status as it was: the pods have not rolled out yet.
		for field, u := range urls {
			status[field] = u
		}
		status["version"] = version
		at := time.Now().UTC().Format(time.RFC3339)
		status["lastDeployed"] = map[string]any{
			hashConfig:    map[string]any{"hash": hashes[hashConfig], "lastUpdatedAt": at},
			hashKustomize: map[string]any{"hash": hashes[hashKustomize], "lastUpdatedAt": at},
		}
		return o.writeStatus(ctx, ss, status)
	}
	return o.checkStatus(ctx, ss, accountsOn)
}

// deploy applies the Deployments and Services Halyard would generate.
func (o *Operator) deploy(ctx context.Context, ss *unstructured.Unstructured, spec, config map[string]any, version string, services []service, accountsOn bool) error {
	ns, name := ss.GetNamespace(), ss.GetName()
	owner := metav1.OwnerReference{APIVersion: ss.GetAPIVersion(), Kind: ss.GetKind(), Name: name, UID: ss.GetUID(), Controller: ptr.To(true)}
	// Halyard's labels (halyard-deploy resources/kubernetes/manifests/
	// deployment.yml) on the Deployment and its pod template, managed-by
	// rewritten by the operator's owner transformer (pkg/deploy/spindeploy/
	// transformer/owner.go); the Service has only app and cluster
	// (service.yml), which the owner transformer leaves alone.
	labels := func(svc string) map[string]string {
		return map[string]string{"app": "spin", "cluster": "spin-" + svc, "app.kubernetes.io/name": svc,
			"app.kubernetes.io/managed-by": operatorManagedBy, "app.kubernetes.io/part-of": "spinnaker", "app.kubernetes.io/version": version}
	}
	var accounts []map[string]any
	if accountsOn {
		// The accounts transformer (pkg/deploy/spindeploy/transformer/
		// accounts.go): an account list that cannot be built fails the
		// deploy.
		var err error
		if accounts, err = o.validAccounts(ctx, ns); err != nil {
			return err
		}
	}
	for _, s := range services {
		objName := "spin-" + s.name
		target := s.port
		if o.opts.Backend != nil {
			target = o.opts.Backend(s.name, version)
		}
		image := fmt.Sprintf("us-docker.pkg.dev/spinnaker-community/docker/%s:%s", baseName(s.name), version)
		dep := &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Name: objName, Namespace: ns, Labels: labels(s.name), OwnerReferences: []metav1.OwnerReference{owner}},
			Spec: appsv1.DeploymentSpec{
				Replicas: ptr.To(s.replicas),
				// Halyard's selector (halyard-deploy/src/main/resources/
				// kubernetes/manifests/deployment.yml).
				Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "spin", "cluster": objName}},
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: labels(s.name)},
					Spec: corev1.PodSpec{Containers: []corev1.Container{{
						Name: baseName(s.name), Image: image,
						Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: int32(target)}},
					}}},
				},
			},
		}
		withConfigMount(dep, s.name, accountsOn)
		if err := withPodSettings(dep, s.kubernetes); err != nil {
			return err
		}
		// The owner transformer runs on Halyard's output: its managed-by
		// replaces a podLabel of that key too.
		dep.Spec.Template.Labels["app.kubernetes.io/managed-by"] = operatorManagedBy
		if err := transformServerPort(spec, s, dep); err != nil {
			return err
		}
		svc := o.service(ns, s, objName, target, owner)
		if err := ApplyKustomize(spec, s.name, dep, svc); err != nil {
			return err
		}
		transformService(spec, config, s.name, svc)
		setSpecHash(dep)
		if err := o.upsertConfigSecret(ctx, ns, s.name, owner, accountsOn, accounts); err != nil {
			return err
		}
		if err := o.upsertDeployment(ctx, dep); err != nil {
			return err
		}
		if err := o.upsertService(ctx, svc); err != nil {
			return err
		}
	}
	// Nothing the configuration no longer asks for is removed (the
	// unsplit Clouddriver after HA was turned on, spin-kayenta after canary
	// was turned off): the real operator saves what Halyard generates and
	// deletes only a transformer's ToDelete, which only the x509
	// transformer fills (pkg/deploy/spindeploy/save.go, deployConfig;
	// armory/spinnaker-operator issue #218).
	return nil
}

// service is the Service Halyard generates for s (halyard-deploy
// resources/kubernetes/manifests/service.yml: Halyard's selector, the
// type of service-settings' kubernetes.serviceType, whose default is
// ClusterIP (KubernetesSettings.java line 37, bound in
// KubernetesV2Service.java line 146), one unnamed TCP port, and
// kubernetes.serviceAnnotations, line 149), the stand-in's backend as its
// target port.
func (o *Operator) service(ns string, s service, objName string, target int, owner metav1.OwnerReference) *corev1.Service {
	k8s := s.kubernetes
	svcType, _ := k8s["serviceType"].(string)
	if svcType == "" {
		svcType = string(corev1.ServiceTypeClusterIP)
	}
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: objName, Namespace: ns, Labels: map[string]string{"app": "spin", "cluster": objName}, OwnerReferences: []metav1.OwnerReference{owner},
			Annotations: stringMap(k8s, "serviceAnnotations")},
		Spec: corev1.ServiceSpec{
			Type: corev1.ServiceType(svcType),
			// Halyard's selector (the operator's testdata service.yml,
			// Halyard's spin-gate: app spin, cluster spin-gate).
			Selector: map[string]string{"app": "spin", "cluster": objName},
			Ports:    []corev1.ServicePort{{Protocol: corev1.ProtocolTCP, Port: int32(s.port), TargetPort: intstr.FromInt32(int32(target))}},
		},
	}
}

// bomServices are the services the operator knows (pkg/bom/services.go).
var bomServices = []string{"deck", "gate", "orca", "clouddriver", "front50", "rosco", "igor", "echo", "fiat", "kayenta"}

// transformedSettings are the service-settings Halyard receives: for every
// service of the operator's BOM but Deck, the global "spinnaker"
// service-settings deep-merged under the service's own by the operator's
// last config transformer (pkg/deploy/spindeploy/transformer/
// spinsvcsettings.go, inspect.Merge, copied by inspectMerge: the service's
// values win, maps merge, lists both have are concatenated and a global
// list under a map the service has without it is dropped). The HA
// services (clouddriver-caching, ...) are not in the BOM.
func transformedSettings(spec map[string]any) map[string]any {
	settings, _, _ := unstructured.NestedMap(spec, "spinnakerConfig", "service-settings")
	global, _ := settings["spinnaker"].(map[string]any)
	if global == nil {
		return settings
	}
	for _, svc := range bomServices {
		if svc == "deck" {
			continue
		}
		own, _ := settings[svc].(map[string]any)
		settings[svc] = inspectMerge(global, own)
	}
	return settings
}

// transformService is what the operator's manifest transformers do to a
// generated Service after the patch transformer (spindeploy.go runs
// TransformerGenerators' TransformManifests in reverse order: Patches, then
// ExposeAsService, then NamedPorts). With spec.expose.type exactly
// "service", spin-deck's and spin-gate's first port becomes
// <service>-tcp on the public port (exposePort), and the Service takes
// expose's type and aggregated annotations, Halyard's and any patch's
// replaced (expose_service/transform.go, transformServiceManifest and
// ApplyExposeServiceConfig); then a single unnamed port is named "http"
// (transformer/name_ports.go).
func transformService(spec, config map[string]any, name string, svc *corev1.Service) {
	if t, _, _ := unstructured.NestedString(spec, "expose", "type"); t == "service" && (name == "deck" || name == "gate") {
		if len(svc.Spec.Ports) > 0 {
			svc.Spec.Ports[0].Port = exposePort(spec, config, name)
			svc.Spec.Ports[0].Name = name + "-tcp"
			// applyPortChanges: an exposed Gate's target port is its
			// profile's server.port (one that is not a number failed
			// the deploy before, in transformServerPort).
			if p, err := strconv.ParseInt(profileServerPort(spec, name), 10, 32); err == nil && name == "gate" {
				svc.Spec.Ports[0].TargetPort = intstr.FromInt32(int32(p))
			}
		}
		svc.Spec.Type = corev1.ServiceType(exposeType(spec, name))
		svc.Annotations = exposeAnnotations(spec, name)
	}
	if len(svc.Spec.Ports) == 1 && svc.Spec.Ports[0].Name == "" {
		svc.Spec.Ports[0].Name = "http"
	}
}

// stringMap reads a map of strings at path in obj; values that are not
// strings are formatted (Halyard reads them into a Map<String, String>).
func stringMap(obj map[string]any, path ...string) map[string]string {
	m, ok, _ := unstructured.NestedMap(obj, path...)
	if !ok || len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		if str, ok := v.(string); ok {
			out[k] = str
		} else {
			out[k] = fmt.Sprint(v)
		}
	}
	return out
}

// specHashAnnotation holds a hash of the Deployment spec the stand-in
// generated, so that it updates the Deployment when anything in it
// changed (a kustomize patch included) and leaves it alone otherwise.
const specHashAnnotation = "spinnaker-operator-standin/spec-hash"

func setSpecHash(d *appsv1.Deployment) {
	b, _ := json.Marshal(d.Spec)
	sum := sha256.Sum256(b)
	if d.Annotations == nil {
		d.Annotations = map[string]string{}
	}
	d.Annotations[specHashAnnotation] = hex.EncodeToString(sum[:])
}

func (o *Operator) upsertDeployment(ctx context.Context, d *appsv1.Deployment) error {
	c := o.cs.AppsV1().Deployments(d.Namespace)
	cur, err := c.Get(ctx, d.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		_, err = c.Create(ctx, d, metav1.CreateOptions{FieldManager: standInManager})
		return err
	}
	if err != nil {
		return err
	}
	if cur.Annotations[specHashAnnotation] == d.Annotations[specHashAnnotation] &&
		*cur.Spec.Replicas == *d.Spec.Replicas && cur.Spec.Template.Spec.Containers[0].Image == d.Spec.Template.Spec.Containers[0].Image &&
		cur.Spec.Template.Spec.Containers[0].Ports[0].ContainerPort == d.Spec.Template.Spec.Containers[0].Ports[0].ContainerPort &&
		equality.Semantic.DeepEqual(cur.Spec.Template.Spec.Containers[0].Env, d.Spec.Template.Spec.Containers[0].Env) &&
		len(cur.Spec.Template.Spec.Volumes) == len(d.Spec.Template.Spec.Volumes) {
		return nil
	}
	cur.Spec.Replicas = d.Spec.Replicas
	cur.Spec.Template = d.Spec.Template
	if cur.Annotations == nil {
		cur.Annotations = map[string]string{}
	}
	cur.Annotations[specHashAnnotation] = d.Annotations[specHashAnnotation]
	_, err = c.Update(ctx, cur, metav1.UpdateOptions{FieldManager: standInManager})
	return err
}

func (o *Operator) upsertService(ctx context.Context, s *corev1.Service) error {
	c := o.cs.CoreV1().Services(s.Namespace)
	cur, err := c.Get(ctx, s.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		_, err = c.Create(ctx, s, metav1.CreateOptions{FieldManager: standInManager})
		return err
	}
	if err != nil {
		return err
	}
	// The operator saves each generated object with a three-way JSON merge
	// patch whose "original" is the live object itself (pkg/deploy/
	// spindeploy/save.go, patch and createDeleteJson): every field the
	// generated Service has is written (type, ports, a kustomize patch's
	// sessionAffinity), and on every deploy annotations the generated
	// Service lacks are removed, whoever wrote them (GKE's NEG
	// controller's cloud.google.com/neg-status included); between deploys
	// nothing is touched. What the API server allocated (cluster IPs, IP
	// families, node ports of a port kept) it keeps on an update that
	// leaves them out.
	spec := *s.Spec.DeepCopy()
	spec.ClusterIP, spec.ClusterIPs = cur.Spec.ClusterIP, cur.Spec.ClusterIPs
	spec.IPFamilies, spec.IPFamilyPolicy = cur.Spec.IPFamilies, cur.Spec.IPFamilyPolicy
	cur.Spec = spec
	cur.Annotations = s.Annotations
	_, err = c.Update(ctx, cur, metav1.UpdateOptions{FieldManager: standInManager})
	return err
}

// checkStatus is the operator's status check (pkg/controller/
// spinnakerservice/status.go, checks and getStatus): services[] from the
// Deployments, named after them; the overall status from the pods.
func (o *Operator) checkStatus(ctx context.Context, ss *unstructured.Unstructured, accountsOn bool) error {
	ns := ss.GetNamespace()
	// The status checker (pkg/controller/spinnakerservice/status.go,
	// checks) reads every Deployment of the namespace with the operator's
	// managed-by label (pkg/util/k8s_lookup.go, GetSpinnakerDeployments),
	// whether or not the configuration still asks for its service, and the
	// pods of each by its app.kubernetes.io/name label
	// (GetPodsByDeployment). One list of each per pass, read per Deployment
	// below in the API server's name order: the real operator reads through
	// its informer cache and costs the API server nothing per pass, while a
	// Get and a List per service, five times a second, made the stand-in
	// most of the test cluster's load.
	depList, err := o.cs.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/managed-by=" + operatorManagedBy})
	if err != nil {
		return err
	}
	podList, err := o.cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/name"})
	if err != nil {
		return err
	}
	podsOf := map[string][]corev1.Pod{}
	for _, p := range podList.Items {
		podsOf[p.Labels["app.kubernetes.io/name"]] = append(podsOf[p.Labels["app.kubernetes.io/name"]], p)
	}
	var items []any
	allReady := true
	var pods []corev1.Pod
	for i := range depList.Items {
		d := &depList.Items[i]
		items = append(items, map[string]any{
			"name":          d.Name,
			"image":         deploymentImage(d.Spec.Template.Spec),
			"replicas":      int64(d.Status.Replicas),
			"readyReplicas": int64(d.Status.ReadyReplicas),
		})
		allReady = allReady && d.Status.Replicas == d.Status.ReadyReplicas
		pods = append(pods, podsOf[d.Labels["app.kubernetes.io/name"]]...)
	}
	prevCount, _, _ := unstructured.NestedInt64(ss.Object, "status", "serviceCount")
	exceeded, err := o.exceededMaxWaiting(ctx, ns, pods)
	if err != nil {
		return err
	}
	overall := podsStatus(pods, prevCount, exceeded)
	if overall == spinnaker.StatusUpdating && allReady {
		overall = spinnaker.StatusOK
	}
	accounts := int64(0)
	if accountsOn {
		list, err := o.accountList(ctx, ns)
		if err != nil && !apierrors.IsNotFound(err) {
			return err
		}
		if list != nil {
			for _, a := range list.Items {
				if on, _, _ := unstructured.NestedBool(a.Object, "spec", "enabled"); on {
					accounts++
				}
			}
		}
	}
	status, _, _ := unstructured.NestedMap(ss.Object, "status")
	if status == nil {
		status = map[string]any{}
	}
	status["status"] = overall
	status["serviceCount"] = int64(len(items))
	status["services"] = items
	status["accountCount"] = accounts
	return o.writeStatus(ctx, ss, status)
}

// deploymentImage is the image the status checker reports for a
// Deployment (pkg/util/k8s_lookup.go,
// GetSpinnakerServiceImageFromDeployment): the first container whose name
// starts with "spin-", else the first container's.
func deploymentImage(p corev1.PodSpec) string {
	for _, c := range p.Containers {
		if strings.HasPrefix(c.Name, "spin-") {
			return c.Image
		}
	}
	if len(p.Containers) > 0 {
		return p.Containers[0].Image
	}
	return ""
}

// exceededMaxWaiting is the status checker's HasExceededMaxWaitingTime
// (pkg/util/k8s_lookup.go) for each ReplicaSet by name: it has fewer
// available or ready replicas than replicas and was created more than
// MaxWaiting ago. A scale-up of an old ReplicaSet therefore reads Failure
// at once until its new pods are ready. The ReplicaSets are listed only
// when some pod is not ready (the stand-in's list per pass is what the
// real operator reads from its cache); with every pod ready none is found
// waiting, where the real one could still see a ReplicaSet whose status
// lags its pods for a moment.
func (o *Operator) exceededMaxWaiting(ctx context.Context, ns string, pods []corev1.Pod) (map[string]bool, error) {
	notReady := false
	for _, p := range pods {
		ready := false
		for _, c := range p.Status.Conditions {
			ready = ready || c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue
		}
		notReady = notReady || !ready
	}
	out := map[string]bool{}
	if !notReady {
		return out, nil
	}
	list, err := o.cs.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	for _, rs := range list.Items {
		out[rs.Name] = (rs.Status.AvailableReplicas != rs.Status.Replicas || rs.Status.ReadyReplicas != rs.Status.Replicas) &&
			time.Since(rs.CreationTimestamp.Time) > o.opts.MaxWaiting
	}
	return out, nil
}

// podsStatus is getStatus of the real status checker, pod by pod in
// order: N/A without pods; Failure for a Running or Pending pod whose
// ReplicaSet has waited too long (exceeded), for a pod Failed/Unknown, or
// Pending for any reason but ContainerCreating (Updating then); Updating
// while fewer pods run than services were counted; OK otherwise.
func podsStatus(pods []corev1.Pod, serviceCount int64, exceeded map[string]bool) string {
	if len(pods) == 0 {
		return spinnaker.StatusNA
	}
	running := 0
	for _, p := range pods {
		if p.Status.Phase == corev1.PodRunning || p.Status.Phase == corev1.PodPending {
			if ref := metav1.GetControllerOf(&p); ref != nil && exceeded[ref.Name] {
				return spinnaker.StatusFailure
			}
		}
		switch p.Status.Phase {
		case corev1.PodRunning:
			for _, cs := range p.Status.ContainerStatuses {
				if cs.State.Running != nil && p.DeletionTimestamp == nil {
					running++
				}
			}
		case corev1.PodPending:
			for _, cs := range p.Status.ContainerStatuses {
				if cs.State.Waiting != nil {
					if cs.State.Waiting.Reason == "ContainerCreating" {
						return spinnaker.StatusUpdating
					}
					return spinnaker.StatusFailure
				}
			}
		case corev1.PodFailed, corev1.PodUnknown:
			return spinnaker.StatusFailure
		}
	}
	if int64(running) != serviceCount {
		return spinnaker.StatusUpdating
	}
	return spinnaker.StatusOK
}

func (o *Operator) writeStatus(ctx context.Context, ss *unstructured.Unstructured, status map[string]any) error {
	prev, _, _ := unstructured.NestedMap(ss.Object, "status")
	a, _ := json.Marshal(prev)
	b, _ := json.Marshal(status)
	if string(a) == string(b) {
		return nil
	}
	ss = ss.DeepCopy()
	ss.Object["status"] = status
	_, err := o.dyn.Resource(spinsvcResource).Namespace(ss.GetNamespace()).UpdateStatus(ctx, ss, metav1.UpdateOptions{FieldManager: standInManager})
	if apierrors.IsConflict(err) {
		return nil // the next pass sees the new generation
	}
	return err
}
