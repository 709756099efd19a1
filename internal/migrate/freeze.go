package migrate

// This file: the freeze of a scheduled migration. Before the final data copy
// the old installation stops taking writes and stops running executions, so
// that what the copy takes is what the old installation ends with; a
// rollback unfreezes it. Every step is recorded in the ledger first and done
// second, so a new process can undo what a crashed one did.
//
// What the real services offer, and what spinops uses (read at the commits
// named; the paths are in those repositories):
//
//   - Orca stops starting (and running) executions when its instance is
//     taken out of service: POST /admin/instance/enabled {"enabled": false}
//     (spinnaker/orca 2fdb327a9f67345c4919e1503ff5119fa3c31caf,
//     orca-web/src/main/groovy/com/netflix/spinnaker/orca/controllers/AdminController.groovy)
//     makes kork's NoDiscoveryStatusPublisher publish OUT_OF_SERVICE
//     (spinnaker/kork a7b6fdea15ec2e98c80093947f194afb0ee552f3,
//     kork-core/src/main/java/com/netflix/spinnaker/kork/discovery/NoDiscoveryStatusPublisher.java),
//     keiko's DiscoveryActivator turns off and QueueProcessor.poll stops
//     taking messages (orca keiko-spring/.../q/discovery/DiscoveryActivator.kt,
//     keiko-core/.../q/QueueProcessor.kt). The state is per instance and in
//     memory: every Orca pod must be told, and a pod that (re)starts is UP
//     again (NoDiscoveryStatusPublisher sets UP on ContextRefreshedEvent).
//     The endpoint answers 400 when Eureka manages the status
//     (DiscoveryUnchangeableException) or when "enabled" is missing.
//     A new execution is still accepted while out of service: OperationsController
//     stores it NOT_STARTED and QueueExecutionRunner pushes StartExecution
//     onto the queue, where it waits. Running executions stall the same way
//     (their next message is not taken), so they are waited for BEFORE Orca
//     is taken out of service.
//   - Running executions are listed per application, since Orca has no
//     listing across applications (GET /pipelines/running answers 410 Gone;
//     GET /pipelines needs pipelineConfigIds or executionIds):
//     GET /applications/{app}/pipelines?statuses=...&limit=N&expand=false
//     (limit per pipeline config, only pipelines Front50 knows) and
//     GET /applications/{app}/tasks?statuses=...&limit=N (orchestrations of
//     the last daysOfExecutionHistory days) in TaskController.groovy; the
//     active statuses are those ExecutionStatus (orca-api) marks not
//     complete: NOT_STARTED, RUNNING, PAUSED, SUSPENDED, BUFFERED. The
//     applications come from Front50's GET /v2/applications
//     (spinnaker/front50 ceda49e0cb67925d85f0dc7f928c8909f53f1813,
//     front50-web/.../controllers/v2/ApplicationsController.java), whose
//     names are upper case (Application.getName).
//   - Gate has no read-only mode (spinnaker/gate
//     c0c8d1d774e2dd1df28a024196d7fd85ebcfd9c5: nothing of the kind), nor
//     has kork; Front50's only one is S3 failover (S3Properties
//     failover.enabled → S3StorageService readOnlyMode), S3 only, it also
//     switches the bucket, and it needs a redeploy. So the old Gate is
//     scaled to zero replicas (the Deployment's scale subresource): it then
//     refuses reads as well as writes. The Spinnaker Operator leaves the
//     replica count alone until the SpinnakerService's config or kustomize
//     hash changes (armory/spinnaker-operator
//     d92e68045855fd44396a2239d877599179d40fbc,
//     pkg/deploy/spindeploy/spindeploy.go, config/detector.go); a
//     HorizontalPodAutoscaler would scale it back, so one on Gate is refused.
//
// The old installation is reached through its cluster's API server: the
// services' proxy (Front50, Orca) and each Orca pod's proxy.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/spinops/terraform-provider-spinops/internal/version"
)

// gateModeOf says what a recorded freeze did with Gate.
func gateModeOf(fr *FreezeRecord) string {
	if fr.GateMode == GateReadOnly {
		return GateReadOnly
	}
	return "stopped"
}

// FreezeOptions say where the old installation runs and how long to wait
// for its executions.
type FreezeOptions struct {
	// Kube reaches the old installation's cluster.
	Kube kubernetes.Interface
	// Namespace is the old installation's namespace.
	Namespace string
	// Deployments and Services, named as Halyard and the operator name them
	// (defaults spin-gate, spin-orca, spin-front50; ports 8083, 8080).
	GateDeployment, OrcaDeployment, OrcaService, Front50Service string
	OrcaPort, Front50Port                                       int
	// User is sent as X-SPINNAKER-USER to Orca and Front50 (needed with
	// Fiat: an administrator who may read every application).
	User string
	// DrainTimeout is how long running executions are waited for
	// (default 10m); PollInterval how often they are listed (default 15s).
	DrainTimeout, PollInterval time.Duration
	// Force freezes although executions still run after DrainTimeout: they
	// stall where they are.
	Force bool
	// Progress, when set, is told what the freeze is waiting for.
	Progress func(string)
	// GateMode is what becomes of Gate: GateStop (the default: scaled to
	// zero) or GateReadOnly (spinops' read-only proxy in front of it, made
	// from ProxyImage, waited for up to ProxyTimeout, default 5m; see
	// freeze_readonly.go). GateService is Gate's Service (default
	// spin-gate); AllowPost are further login paths the proxy lets POSTs
	// through to.
	GateMode, GateService, ProxyImage string
	ProxyTimeout                      time.Duration
	AllowPost                         []string
}

func (f *FreezeOptions) setDefaults() {
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&f.GateDeployment, "spin-gate")
	def(&f.OrcaDeployment, "spin-orca")
	def(&f.OrcaService, "spin-orca")
	def(&f.Front50Service, "spin-front50")
	def(&f.GateMode, GateStop)
	def(&f.GateService, "spin-gate")
	def(&f.ProxyImage, version.Image())
	if f.ProxyTimeout == 0 {
		f.ProxyTimeout = 5 * time.Minute
	}
	if f.OrcaPort == 0 {
		f.OrcaPort = 8083
	}
	if f.Front50Port == 0 {
		f.Front50Port = 8080
	}
	if f.DrainTimeout == 0 {
		f.DrainTimeout = 10 * time.Minute
	}
	if f.PollInterval == 0 {
		f.PollInterval = 15 * time.Second
	}
}

// FreezeRecord is what the freeze changed on the old installation, kept in
// the migration's ledger entry before each change is made.
type FreezeRecord struct {
	Namespace      string `json:"namespace"`
	GateDeployment string `json:"gate_deployment"`
	// GateReplicas is Gate's replica count before the freeze.
	GateReplicas int32 `json:"gate_replicas"`
	// GateMode is GateReadOnly when the read-only proxy took Gate's
	// Service over (empty: Gate scaled to zero); GateService and
	// GateSelector are that Service and its selector before the freeze.
	GateMode       string            `json:"gate_mode,omitempty"`
	GateService    string            `json:"gate_service,omitempty"`
	GateSelector   map[string]string `json:"gate_selector,omitempty"`
	OrcaDeployment string            `json:"orca_deployment"`
	OrcaPort       int               `json:"orca_port"`
	// OrcaDisabled lists the Orca pods told to go out of service.
	OrcaDisabled []string  `json:"orca_disabled,omitempty"`
	Since        time.Time `json:"since"`
}

// Execution is a pipeline or task the old Orca has not finished.
type Execution struct {
	ID          string `json:"id"`
	Type        string `json:"type"` // pipeline or task
	Application string `json:"application"`
	Name        string `json:"name"`
	Status      string `json:"status"`
}

func (e Execution) String() string {
	return fmt.Sprintf("%s %s %q of %s (%s)", e.Type, e.ID, e.Name, e.Application, e.Status)
}

// activeStatuses are the ExecutionStatus values that are not complete.
const activeStatuses = "NOT_STARTED,RUNNING,PAUSED,SUSPENDED,BUFFERED"

// FreezeResult says what a freeze did.
type FreezeResult struct {
	Record *FreezeRecord
	// Drained are the executions waited for; Left those still unfinished
	// when Orca went out of service (they stall where they are).
	Drained, Left []Execution
	// Pods are the Orca pods now out of service; NewPods those of them
	// that were not told before (started after an earlier freeze: they
	// were in service until now).
	Pods, NewPods []string
	// Checked is true when the freeze was already in place.
	Checked bool
}

// ErrNotFrozen is returned by Unfreeze when the ledger records no freeze.
var ErrNotFrozen = errors.New("the ledger records no freeze of the old installation")

// Freeze stops the old installation taking writes and starting executions:
// Gate is scaled to zero, the executions Orca runs are waited for (up to
// DrainTimeout), then every Orca pod is taken out of service. It is
// idempotent: freezing a frozen installation keeps the replica count found
// by the first freeze and tells every current Orca pod again. When the
// executions do not finish in time (and Force is not set) the freeze fails,
// naming them, and what it changed is undone.
func Freeze(ctx context.Context, o CutoverOptions) (*FreezeResult, error) {
	if o.Freeze == nil || o.Freeze.Kube == nil || o.Freeze.Namespace == "" {
		return nil, errors.New("freeze: give the old installation's cluster and namespace")
	}
	f := *o.Freeze
	f.setDefaults()
	rec, err := o.read(ctx)
	if err != nil {
		return nil, err
	}
	// A freeze already in place is checked again (Gate at zero, every
	// current Orca pod out of service) without waiting: its executions
	// stall, and a failure leaves it frozen.
	already := rec.Freeze != nil
	fail := func(cause error) error {
		if already {
			_ = o.phase(context.WithoutCancel(ctx), "freeze-failed", cause.Error())
			return fmt.Errorf("checking the freeze of the old installation: %w (it stays frozen; DNS is unchanged)", cause)
		}
		return o.freezeFailed(ctx, cause)
	}
	if rec.Freeze != nil && rec.Freeze.Namespace != f.Namespace {
		return nil, fmt.Errorf("freeze: the ledger records a freeze of namespace %s, not %s: roll it back first", rec.Freeze.Namespace, f.Namespace)
	}
	readOnly := f.GateMode == GateReadOnly
	switch {
	case f.GateMode != GateStop && !readOnly:
		return nil, fmt.Errorf("freeze: old Gate mode %q: give %s or %s", f.GateMode, GateStop, GateReadOnly)
	case rec.Freeze != nil && (rec.Freeze.GateMode == GateReadOnly) != readOnly:
		return nil, fmt.Errorf("freeze: the ledger records a freeze with the old Gate %s, not %s: roll it back first", gateModeOf(rec.Freeze), f.GateMode)
	}
	deps := f.Kube.AppsV1().Deployments(f.Namespace)
	scale, err := deps.GetScale(ctx, f.GateDeployment, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("freeze: reading Gate's Deployment %s/%s: %w", f.Namespace, f.GateDeployment, err)
	}
	var gateSvc *corev1.Service
	if readOnly {
		if gateSvc, err = readGateService(ctx, f, rec.Freeze); err != nil {
			return nil, err
		}
	} else if err := refuseAutoscaler(ctx, f); err != nil {
		return nil, err
	}
	// Record first, change second: a crash in between leaves a record
	// whose rollback is harmless.
	var fr *FreezeRecord
	at := o.now()
	if err := o.record(ctx, func(r *MigrationRecord) {
		if r.Freeze == nil {
			r.Freeze = &FreezeRecord{Namespace: f.Namespace, GateDeployment: f.GateDeployment, GateReplicas: scale.Spec.Replicas,
				OrcaDeployment: f.OrcaDeployment, OrcaPort: f.OrcaPort, Since: at}
			gate := fmt.Sprintf("Gate %s from %d replicas to 0", f.GateDeployment, scale.Spec.Replicas)
			if readOnly {
				r.Freeze.GateMode, r.Freeze.GateService, r.Freeze.GateSelector = GateReadOnly, gateSvc.Name, gateSvc.Spec.Selector
				gate = fmt.Sprintf("Gate read-only (Service %s to the proxy %s, from %s)", gateSvc.Name, ReadOnlyGateName, f.ProxyImage)
			}
			r.Phases = append(r.Phases, MigrationPhase{Phase: "freeze", At: at, Detail: fmt.Sprintf("namespace %s: %s, "+
				"Orca %s's executions waited for (up to %s), then its pods out of service", f.Namespace, gate,
				f.OrcaDeployment, f.DrainTimeout)})
		}
		fr = r.Freeze
	}); err != nil {
		return nil, err
	}
	if readOnly {
		if err := startReadOnlyGate(ctx, f, fr, gateSvc); err != nil {
			return nil, fail(err)
		}
	} else if scale.Spec.Replicas != 0 {
		scale.Spec.Replicas = 0
		if _, err := deps.UpdateScale(ctx, f.GateDeployment, scale, metav1.UpdateOptions{FieldManager: "spinops"}); err != nil {
			return nil, fail(fmt.Errorf("scaling Gate's Deployment %s/%s to 0: %w", f.Namespace, f.GateDeployment, err))
		}
	}
	res := &FreezeResult{Record: fr, Checked: already}
	// Wait while Orca still runs its queue: executions stall once it is
	// out of service.
	deadline := time.Now().Add(f.DrainTimeout)
	seen := map[string]Execution{}
	for !already {
		running, err := listActive(ctx, f)
		if err != nil {
			return nil, fail(err)
		}
		for _, e := range running {
			seen[e.ID] = e
		}
		if len(running) == 0 {
			break
		}
		if !time.Now().Before(deadline) {
			if !f.Force {
				return nil, fail(fmt.Errorf("%d executions still run after --drain-timeout %s: %s. Wait for them or cancel them, "+
					"or freeze with --force (they then stall where they are until a rollback)", len(running), f.DrainTimeout, joinExecutions(running)))
			}
			break
		}
		if f.Progress != nil {
			f.Progress(fmt.Sprintf("waiting for %d executions of the old installation (until %s): %s",
				len(running), deadline.Format(time.TimeOnly), joinExecutions(running)))
		}
		select {
		case <-ctx.Done():
			return nil, fail(fmt.Errorf("waiting for the old installation's executions: %w", ctx.Err()))
		case <-time.After(min(f.PollInterval, time.Until(deadline)+time.Millisecond)):
		}
	}
	pods, err := orcaPods(ctx, f.Kube, f.Namespace, f.OrcaDeployment, true)
	if err != nil {
		return nil, fail(err)
	}
	if err := o.record(ctx, func(r *MigrationRecord) {
		res.NewPods = nil
		if r.Freeze != nil {
			for _, p := range pods {
				if !slices.Contains(r.Freeze.OrcaDisabled, p.Name) {
					r.Freeze.OrcaDisabled = append(r.Freeze.OrcaDisabled, p.Name)
					res.NewPods = append(res.NewPods, p.Name)
				}
			}
			fr = r.Freeze
		}
	}); err != nil {
		return nil, err
	}
	res.Record = fr
	for _, p := range pods {
		if err := setOrcaEnabled(ctx, f, p.Name, false); err != nil {
			// It did not go out of service: not the freeze's to undo.
			_ = o.record(context.WithoutCancel(ctx), func(r *MigrationRecord) {
				if r.Freeze != nil && slices.Contains(res.NewPods, p.Name) {
					r.Freeze.OrcaDisabled = slices.DeleteFunc(r.Freeze.OrcaDisabled, func(n string) bool { return n == p.Name })
				}
			})
			return nil, fail(err)
		}
		res.Pods = append(res.Pods, p.Name)
	}
	left, err := listActive(ctx, f)
	if err != nil {
		return nil, fail(err)
	}
	res.Left = left
	for _, e := range left {
		delete(seen, e.ID)
	}
	for _, e := range seen {
		res.Drained = append(res.Drained, e)
	}
	sortExecutions(res.Drained)
	return res, nil
}

// freezeFailed records why a freeze failed and undoes it.
func (o *CutoverOptions) freezeFailed(ctx context.Context, cause error) error {
	ctx = context.WithoutCancel(ctx)
	_ = o.phase(ctx, "freeze-failed", cause.Error())
	if _, err := Unfreeze(ctx, *o); err != nil {
		return fmt.Errorf("freezing the old installation: %w; undoing the freeze failed too (run the rollback): %v", cause, err)
	}
	return fmt.Errorf("freezing the old installation: %w (the freeze was undone; DNS is unchanged)", cause)
}

// Unfreeze undoes what the ledger says the freeze changed: every Orca pod
// of the recorded Deployment back in service, Gate back to the recorded
// replica count (only if it is still at the freeze's zero), and the record
// cleared. It needs only the ledger and the old cluster, so a new process
// can undo a crashed one's freeze.
func Unfreeze(ctx context.Context, o CutoverOptions) (*FreezeRecord, error) {
	rec, err := o.read(ctx)
	if err != nil {
		return nil, err
	}
	fr := rec.Freeze
	if fr == nil {
		return nil, ErrNotFrozen
	}
	if o.Freeze == nil || o.Freeze.Kube == nil {
		return nil, fmt.Errorf("the old installation (namespace %s) is frozen: give its cluster (--old-kubeconfig) to unfreeze it", fr.Namespace)
	}
	f := FreezeOptions{Kube: o.Freeze.Kube, Namespace: fr.Namespace, OrcaPort: fr.OrcaPort, User: o.Freeze.User}
	f.setDefaults()
	// Every step is tried; the record stays until all succeeded, so the
	// rollback can be run again.
	var errs []error
	// Only the pods the freeze told: any other pod is in service already
	// (a pod that starts is UP), and one gone needs nothing.
	var back []string
	for _, name := range fr.OrcaDisabled {
		if _, err := f.Kube.CoreV1().Pods(fr.Namespace).Get(ctx, name, metav1.GetOptions{}); apierrors.IsNotFound(err) {
			continue
		} else if err != nil {
			errs = append(errs, fmt.Errorf("reading Orca pod %s/%s: %w", fr.Namespace, name, err))
			continue
		}
		if err := setOrcaEnabled(ctx, f, name, true); err != nil {
			errs = append(errs, err)
			continue
		}
		back = append(back, name)
	}
	restore := scaleGateBack
	if fr.GateMode == GateReadOnly {
		restore = stopReadOnlyGate
	}
	gate, err := restore(ctx, f, fr)
	if err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("unfreezing the old installation: %w (run the rollback again)", errors.Join(errs...))
	}
	at := o.now()
	detail := fmt.Sprintf("%s: %s, Orca pods %s in service", fr.Namespace, gate, strings.Join(back, ", "))
	if err := o.record(ctx, func(r *MigrationRecord) {
		if w, ok := frozenWindow(r.Phases, at); ok && r.Freeze != nil {
			detail += fmt.Sprintf("; frozen for %s", w.Round(time.Millisecond))
		}
		r.Freeze = nil
		r.Phases = append(r.Phases, MigrationPhase{Phase: "unfreeze", At: at, Detail: detail})
	}); err != nil {
		return nil, err
	}
	return fr, nil
}

// scaleGateBack puts a stopped Gate back to its recorded replica count,
// only if it is still at the freeze's zero, and says what it did.
func scaleGateBack(ctx context.Context, f FreezeOptions, fr *FreezeRecord) (string, error) {
	deps := f.Kube.AppsV1().Deployments(fr.Namespace)
	scale, err := deps.GetScale(ctx, fr.GateDeployment, metav1.GetOptions{})
	if err != nil {
		return "", fmt.Errorf("reading Gate's Deployment %s/%s: %w", fr.Namespace, fr.GateDeployment, err)
	}
	if scale.Spec.Replicas != 0 {
		return fmt.Sprintf("Gate %s left at %d replicas (changed during the freeze)", fr.GateDeployment, scale.Spec.Replicas), nil
	}
	scale.Spec.Replicas = fr.GateReplicas
	if _, err := deps.UpdateScale(ctx, fr.GateDeployment, scale, metav1.UpdateOptions{FieldManager: "spinops"}); err != nil {
		return "", fmt.Errorf("scaling Gate's Deployment %s/%s back to %d: %w", fr.Namespace, fr.GateDeployment, fr.GateReplicas, err)
	}
	return fmt.Sprintf("Gate %s back to %d replicas", fr.GateDeployment, fr.GateReplicas), nil
}

// refuseAutoscaler fails when a HorizontalPodAutoscaler targets Gate: it
// would scale the frozen Gate back up.
func refuseAutoscaler(ctx context.Context, f FreezeOptions) error {
	hpas, err := f.Kube.AutoscalingV2().HorizontalPodAutoscalers(f.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("freeze: listing HorizontalPodAutoscalers in %s: %w", f.Namespace, err)
	}
	for _, h := range hpas.Items {
		if t := h.Spec.ScaleTargetRef; t.Kind == "Deployment" && t.Name == f.GateDeployment {
			return fmt.Errorf("freeze: HorizontalPodAutoscaler %s/%s scales Gate's Deployment %s and would undo the freeze: delete it (or set its minReplicas "+
				"to 0 with the HPAScaleToZero feature) for the migration", f.Namespace, h.Name, f.GateDeployment)
		}
	}
	return nil
}

// orcaPods returns the running pods of Orca's Deployment. With all, every
// pod must be running: one that starts later would be in service.
func orcaPods(ctx context.Context, cs kubernetes.Interface, ns, deployment string, all bool) ([]corev1.Pod, error) {
	dep, err := cs.AppsV1().Deployments(ns).Get(ctx, deployment, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("reading Orca's Deployment %s/%s: %w", ns, deployment, err)
	}
	sel, err := metav1.LabelSelectorAsSelector(dep.Spec.Selector)
	if err != nil {
		return nil, fmt.Errorf("reading the selector of Orca's Deployment %s/%s: %w", ns, deployment, err)
	}
	list, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return nil, fmt.Errorf("listing Orca's pods in %s: %w", ns, err)
	}
	var pods []corev1.Pod
	for _, p := range list.Items {
		if p.DeletionTimestamp != nil || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue
		}
		if p.Status.Phase != corev1.PodRunning || p.Status.PodIP == "" {
			if !all {
				continue // it starts in service
			}
			return nil, fmt.Errorf("the Orca pod %s/%s is %s: it cannot be taken out of service, and would be in service once it starts; "+
				"wait until Orca's rollout is done", ns, p.Name, p.Status.Phase)
		}
		pods = append(pods, p)
	}
	sort.Slice(pods, func(i, j int) bool { return pods[i].Name < pods[j].Name })
	return pods, nil
}

// setOrcaEnabled puts one Orca pod in or out of service through the API
// server's pod proxy.
func setOrcaEnabled(ctx context.Context, f FreezeOptions, pod string, enabled bool) error {
	body, _ := json.Marshal(map[string]bool{"enabled": enabled})
	req := f.Kube.CoreV1().RESTClient().Post().Namespace(f.Namespace).Resource("pods").Name(pod+":"+strconv.Itoa(f.OrcaPort)).
		SubResource("proxy").Suffix("admin", "instance", "enabled").SetHeader("Content-Type", "application/json").Body(body)
	if f.User != "" {
		req.SetHeader("X-SPINNAKER-USER", f.User)
	}
	if raw, err := req.DoRaw(ctx); err != nil {
		err = proxiedError(raw, err)
		what := "out of"
		if enabled {
			what = "back in"
		}
		return fmt.Errorf("putting Orca pod %s/%s %s service (POST /admin/instance/enabled): %w", f.Namespace, pod, what, err)
	}
	return nil
}

// proxyGet GETs path from a service of the old installation through the
// API server's service proxy and decodes the JSON answer into v.
func proxyGet(ctx context.Context, f FreezeOptions, service string, port int, path string, query url.Values, v any) error {
	req := f.Kube.CoreV1().RESTClient().Get().Namespace(f.Namespace).Resource("services").Name(service + ":" + strconv.Itoa(port)).
		SubResource("proxy").Suffix(path)
	for k, vs := range query {
		for _, x := range vs {
			req.Param(k, x)
		}
	}
	if f.User != "" {
		req.SetHeader("X-SPINNAKER-USER", f.User)
	}
	raw, err := req.DoRaw(ctx)
	if err != nil {
		return fmt.Errorf("GET %s from %s/%s: %w", path, f.Namespace, service, proxiedError(raw, err))
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("GET %s from %s/%s: not the JSON expected: %w", path, f.Namespace, service, err)
	}
	return nil
}

// proxiedError adds what a Spinnaker service said (Spring's error body,
// {"status": 400, "message": ...}) to the API server proxy's error, which
// does not carry it.
func proxiedError(raw []byte, err error) error {
	var body struct {
		Status  int    `json:"status"`
		Message string `json:"message"`
	}
	if json.Unmarshal(raw, &body) == nil && body.Message != "" {
		return fmt.Errorf("HTTP %d: %s", body.Status, body.Message)
	}
	return err
}

// listActive lists the pipelines and tasks the old Orca has not finished,
// application by application.
func listActive(ctx context.Context, f FreezeOptions) ([]Execution, error) {
	var apps []struct {
		Name string `json:"name"`
	}
	if err := proxyGet(ctx, f, f.Front50Service, f.Front50Port, "v2/applications", nil, &apps); err != nil {
		return nil, fmt.Errorf("listing the old installation's applications: %w", err)
	}
	var out []Execution
	q := url.Values{"statuses": {activeStatuses}, "limit": {"1000"}}
	for _, a := range apps {
		app := strings.ToLower(a.Name)
		var pipelines, tasks []Execution
		pq := url.Values{"statuses": q["statuses"], "limit": q["limit"], "expand": {"false"}}
		if err := proxyGet(ctx, f, f.OrcaService, f.OrcaPort, "applications/"+url.PathEscape(app)+"/pipelines", pq, &pipelines); err != nil {
			return nil, fmt.Errorf("listing the running pipelines of %s: %w", app, err)
		}
		if err := proxyGet(ctx, f, f.OrcaService, f.OrcaPort, "applications/"+url.PathEscape(app)+"/tasks", q, &tasks); err != nil {
			return nil, fmt.Errorf("listing the running tasks of %s: %w", app, err)
		}
		for _, e := range pipelines {
			e.Type = "pipeline"
			out = append(out, e)
		}
		for _, e := range tasks {
			e.Type = "task"
			out = append(out, e)
		}
	}
	sortExecutions(out)
	return out, nil
}

func sortExecutions(es []Execution) {
	sort.Slice(es, func(i, j int) bool {
		if es[i].Application != es[j].Application {
			return es[i].Application < es[j].Application
		}
		return es[i].ID < es[j].ID
	})
}

func joinExecutions(es []Execution) string {
	var s []string
	for _, e := range es {
		s = append(s, e.String())
	}
	return strings.Join(s, "; ")
}

// frozenWindow is how long the old installation has been frozen at `at`,
// from the "freeze" phase that began the current freeze.
func frozenWindow(phases []MigrationPhase, at time.Time) (time.Duration, bool) {
	start, ok := FrozenSince(phases)
	if !ok {
		return 0, false
	}
	return at.Sub(start), true
}

// FrozenSince is when the current freeze began: the last "freeze" phase
// not followed by an "unfreeze".
func FrozenSince(phases []MigrationPhase) (time.Time, bool) {
	var start time.Time
	open := false
	for _, p := range phases {
		switch p.Phase {
		case "freeze":
			if !open {
				start, open = p.At, true
			}
		case "unfreeze":
			open = false
		}
	}
	return start, open
}

// FrozenWindow is the measured downtime of the last scheduled migration or
// rollback: from the "freeze" phase to the first "done" or "unfreeze" after
// it. ok is false when no freeze was recorded; closed is false while the
// window is still open (then end is zero).
func FrozenWindow(phases []MigrationPhase) (start, end time.Time, closed, ok bool) {
	for _, p := range phases {
		switch p.Phase {
		case "freeze":
			if !ok || closed {
				start, end, closed, ok = p.At, time.Time{}, false, true
			}
		case "done", "unfreeze":
			if ok && !closed {
				end, closed = p.At, true
			}
		}
	}
	return start, end, closed, ok
}

// freezeForCutover freezes the old installation for a scheduled migration.
// The first run freezes and stops (stop is true): the final data copy
// (`spinops migrate data`) comes next, then the cutover is run again. A
// later run finds the freeze in the ledger, checks it again and lets the
// cutover go on.
func freezeForCutover(ctx context.Context, o CutoverOptions) (*MigrationRecord, bool, error) {
	if o.Weight != 100 {
		return nil, false, fmt.Errorf("cutover: a frozen installation cannot take %d%% of the traffic: a scheduled migration (freeze) switches with --weight 100", 100-o.Weight)
	}
	res, err := Freeze(ctx, o)
	if err != nil {
		return nil, false, err
	}
	gate := fmt.Sprintf("Gate %s at 0 replicas (was %d)", res.Record.GateDeployment, res.Record.GateReplicas)
	if res.Record.GateMode == GateReadOnly {
		gate = fmt.Sprintf("Gate read-only (Service %s selects the proxy %s; Gate %s at %d replicas)", res.Record.GateService, ReadOnlyGateName,
			res.Record.GateDeployment, res.Record.GateReplicas)
	}
	detail := fmt.Sprintf("%s; Orca pods out of service: %s", gate, strings.Join(res.Pods, ", "))
	if len(res.NewPods) > 0 && res.Checked {
		detail += fmt.Sprintf("; started since the freeze and in service until now: %s", strings.Join(res.NewPods, ", "))
	}
	if !res.Checked {
		detail += fmt.Sprintf("; waited for %d executions", len(res.Drained))
		if len(res.Drained) > 0 {
			detail += " (" + joinExecutions(res.Drained) + ")"
		}
	}
	if len(res.Left) > 0 {
		detail += fmt.Sprintf("; %d not finished, stalled until a rollback: %s", len(res.Left), joinExecutions(res.Left))
	}
	phase := "frozen"
	if res.Checked {
		phase = "freeze-checked"
	}
	if err := o.phase(ctx, phase, detail); err != nil {
		return nil, false, err
	}
	rec, err := o.read(ctx)
	return rec, !res.Checked, err
}

// frozenFor is the "done" phase's detail in a scheduled migration: the
// measured frozen window.
func frozenFor(r *MigrationRecord, at time.Time) string {
	w, ok := frozenWindow(r.Phases, at)
	if !ok || r.Freeze == nil {
		return ""
	}
	return fmt.Sprintf("frozen window %s (writes refused since %s); the old installation stays frozen (--rollback unfreezes it)",
		w.Round(time.Millisecond), r.Freeze.Since.Format(time.RFC3339))
}
