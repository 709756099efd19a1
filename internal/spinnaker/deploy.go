package spinnaker

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/retry"

	"github.com/spinops/terraform-provider-spinops/internal/kube"
)

// Deployer applies zones of one installation. Control is the installation's
// cluster (shared configuration, credentials, ledger); Target is the zone's.
type Deployer struct {
	Control *kube.Client
	Target  *kube.Client
	// Now is the clock; ledger times and soak use it.
	Now func() time.Time
	// Log receives progress messages (optional).
	Log func(msg string, fields map[string]any)
	// PollInterval of readiness waits; 0 means 2s.
	PollInterval time.Duration
	// Operator is how the installation manages its operator. When Target is
	// another cluster than Control, Deploy installs the operator there the
	// same way (CRDs, RBAC, Deployment), since a SpinnakerService is only
	// reconciled by an operator in its own cluster.
	Operator *OperatorRecord
}

// ensureTargetOperator installs the installation's operator on a zone's
// own cluster. With Operator.Install off it only checks that the operator's
// kinds are served there.
func (d *Deployer) ensureTargetOperator(ctx context.Context, inst *Installation, wait bool) error {
	if d.Target == d.Control {
		return nil
	}
	host := d.Target.Config.Host
	op := d.Operator
	if op == nil || !op.Install {
		err := d.Target.Serves(ctx, SpinnakerServiceGVK)
		if meta.IsNoMatchError(err) {
			return fmt.Errorf("the zone's cluster %s does not serve SpinnakerService and the installation does not install the operator (operator.install = false): install the Spinnaker Operator there first", host)
		}
		if err != nil {
			return fmt.Errorf("checking that the zone's cluster %s serves SpinnakerService: %w", host, err)
		}
		return nil
	}
	d.log("installing the operator on the zone's cluster", map[string]any{"cluster": host, "namespace": inst.Namespace})
	err := EnsureOperator(ctx, d.Target, op.Settings(inst.Namespace), wait && op.Wait, 5*time.Minute)
	if err != nil && !errors.Is(err, ErrNoKubelet) {
		return fmt.Errorf("the operator on the zone's cluster %s: %w", host, err)
	}
	return nil
}

// DeployOptions say how far Deploy goes.
type DeployOptions struct {
	// Wait for readiness and verify; when false, Deploy returns after
	// applying and the ledger records verification as skipped.
	Wait bool
	// Timeout bounds the readiness wait (and the rollback's).
	Timeout time.Duration
	// Verify: run post-upgrade verification after readiness.
	Verify bool
	// OnVerifying, when set, is called once the new version is ready,
	// just before post-upgrade verification starts (the zone resource
	// announces it).
	OnVerifying func()
	// VerifyVia is "proxy" (the API server's service proxy) or "exposed"
	// (DeckURL / GateURL).
	VerifyVia       string
	DeckURL         string
	GateURL         string
	VerifyOptions   VerifyOptions
	RollbackOnError bool
	// Previous is the zone as it was before this change, nil on create;
	// rollback re-applies it.
	Previous *Zone
	// Override, when set, records a promotion override in the ledger.
	Override *Override
}

// DeployResult says what Deploy did.
type DeployResult struct {
	Rendered     *Rendered
	Object       *unstructured.Unstructured
	Verification *Verification
	RolledBack   bool
	// LeftRunning, after a deploy that does not wait, names the services
	// the zone no longer runs that still run: they are removed once the
	// zone is ready, by a deploy that waits.
	LeftRunning []string
}

// DeployError is a change that failed readiness or verification. Its message
// lists each failing check and whether the previous version was restored.
type DeployError struct {
	Version     string
	Reason      string
	Failures    []string
	RolledBack  bool
	RolledTo    string
	RollbackErr error
}

func (e *DeployError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Spinnaker %s %s", e.Version, e.Reason)
	if len(e.Failures) > 0 {
		b.WriteString(":")
		for _, f := range e.Failures {
			b.WriteString("\n  - " + f)
		}
	}
	switch {
	case e.RollbackErr != nil:
		fmt.Fprintf(&b, "\nRolling back to %s failed too: %s", e.RolledTo, e.RollbackErr)
	case e.RolledBack:
		fmt.Fprintf(&b, "\nRolled back to %s, which is ready again; the promotion ledger records the rollback.", e.RolledTo)
	}
	return b.String()
}

func (d *Deployer) log(msg string, fields map[string]any) {
	if d.Log != nil {
		d.Log(msg, fields)
	}
}

// Deploy applies zone z of inst, waits for the operator to report it ready,
// verifies it, records everything in the ledger and, on failure with
// RollbackOnError and a previous zone, re-applies the previous one.
func (d *Deployer) Deploy(ctx context.Context, inst *Installation, z *Zone, opts DeployOptions) (*DeployResult, error) {
	creds, err := ReadCredentials(ctx, d.Control.Clientset, inst)
	if err != nil {
		return nil, err
	}
	r, err := Render(inst, z, creds)
	if err != nil {
		return nil, err
	}
	if err := CheckZoneWatched(d.Operator, inst.Namespace, z.Namespace); err != nil {
		return nil, err
	}
	if err := d.ensureTargetOperator(ctx, inst, opts.Wait); err != nil {
		return nil, err
	}
	version := z.EffectiveVersion(inst)
	obj, awaited, err := d.apply(ctx, z, r)
	if err != nil {
		return nil, err
	}
	now := d.Now()
	if err := UpdateZoneRecord(ctx, d.Control.Clientset, inst.Namespace, z.Name, func(rec *ZoneRecord) {
		rec.RecordApplied(z, version, now)
		if opts.Override != nil {
			o := *opts.Override
			o.At = now
			rec.Overrides = append(rec.Overrides, o)
		}
	}); err != nil {
		return nil, err
	}
	res := &DeployResult{Rendered: r, Object: obj}
	if !opts.Wait {
		d.log("not waiting for readiness (wait = false)", map[string]any{"zone": z.Name})
		// Said, not failed on: this apply removes nothing either way.
		if left, err := d.leftRunning(ctx, obj, r.Services); err != nil {
			d.log("cannot tell which services the zone no longer runs", map[string]any{"zone": z.Name, "error": err.Error()})
		} else {
			res.LeftRunning = left
		}
		return res, UpdateZoneRecord(ctx, d.Control.Clientset, inst.Namespace, z.Name, func(rec *ZoneRecord) {
			rec.RecordVerification(ResultSkipped, nil, d.Now())
		})
	}

	failure := &DeployError{Version: version}
	obj, err = d.waitReady(ctx, z.Namespace, z.Name, version, r.Services, awaited, opts.Timeout)
	if err != nil {
		failure.Reason = "did not become ready"
		failure.Failures = []string{err.Error()}
	} else {
		res.Object = obj
		if opts.Verify {
			if opts.OnVerifying != nil {
				opts.OnVerifying()
			}
			v, err := d.verify(ctx, z, r, opts)
			if err != nil {
				return res, err
			}
			res.Verification = v
			if !v.Passed() {
				failure.Reason = "failed post-upgrade verification"
				failure.Failures = v.Failures()
			}
		}
	}
	result := ResultPassed
	if failure.Reason != "" {
		result = ResultFailed
	} else if !opts.Verify {
		result = ResultSkipped
	}
	if err := UpdateZoneRecord(ctx, d.Control.Clientset, inst.Namespace, z.Name, func(rec *ZoneRecord) {
		rec.RecordVerification(result, failure.Failures, d.Now())
	}); err != nil {
		return res, err
	}
	if failure.Reason == "" {
		// Ready (and verified when asked): what the zone no longer runs goes.
		removed, err := d.removeOrphans(ctx, res.Object, r.Services)
		if err == nil {
			res.Object = d.withoutRemoved(ctx, res.Object, removed)
		}
		return res, err
	}
	if !opts.RollbackOnError || opts.Previous == nil {
		return res, failure
	}

	prev := opts.Previous
	prevVersion := prev.EffectiveVersion(inst)
	failure.RolledTo = prevVersion
	d.log("rolling back", map[string]any{"zone": z.Name, "from": version, "to": prevVersion})
	rb := Rollback{From: version, To: prevVersion, At: d.Now(), Reason: failure.Reason}
	pr, err := Render(inst, prev, creds)
	var prevAwaited awaitedDeploy
	if err == nil {
		_, prevAwaited, err = d.apply(ctx, prev, pr)
		prevAwaited = prevAwaited.unlessNeverRecorded(awaited)
	}
	if err == nil && opts.Wait {
		res.Object, err = d.waitReady(ctx, prev.Namespace, prev.Name, prevVersion, pr.Services, prevAwaited, opts.Timeout)
	}
	var orphanErr error
	if err == nil && opts.Wait {
		// Back on the previous services: what the failed change started goes.
		var removed []string
		if removed, orphanErr = d.removeOrphans(ctx, res.Object, pr.Services); orphanErr == nil {
			res.Object = d.withoutRemoved(ctx, res.Object, removed)
		}
	}
	rb.Complete = err == nil
	failure.RollbackErr = err
	failure.RolledBack = err == nil
	res.RolledBack = err == nil
	if err == nil {
		res.Rendered = pr
	}
	lerr := UpdateZoneRecord(ctx, d.Control.Clientset, inst.Namespace, z.Name, func(rec *ZoneRecord) {
		rec.Rollbacks = append(rec.Rollbacks, rb)
		if rb.Complete {
			rec.Version = prevVersion
			rec.AppliedAt = rb.At
		}
	})
	return res, errors.Join(failure, lerr, orphanErr)
}

// apply writes the zone's namespace, Secret, SpinnakerService, Ingress and
// PodDisruptionBudgets.
// When the stored spec still differs from the rendered one after
// server-side apply (fields another manager added out of band), the spec
// is replaced as a whole. What it returns besides the SpinnakerService is
// what the operator has to record before the change counts as deployed.
func (d *Deployer) apply(ctx context.Context, z *Zone, r *Rendered) (*unstructured.Unstructured, awaitedDeploy, error) {
	before, err := d.Target.Get(ctx, SpinnakerServiceGVK, z.Namespace, z.Name)
	if apierrors.IsNotFound(err) || meta.IsNoMatchError(err) {
		before, err = nil, nil
	}
	if err != nil {
		return nil, awaitedDeploy{}, fmt.Errorf("reading SpinnakerService %s/%s before applying it: %w", z.Namespace, z.Name, err)
	}
	obj, err := d.applyObjects(ctx, z, r)
	if err != nil {
		return nil, awaitedDeploy{}, err
	}
	awaited := awaitDeploy(before, obj)
	if awaited.expose && !exposesService(obj) && len(awaited.hashes) == 0 {
		// No detector of the operator sees this change (expose_wait.go).
		if err := d.forceRedeploy(ctx, z.Namespace, z.Name); err != nil {
			return nil, awaitedDeploy{}, err
		}
		awaited.hashes[LastDeployedConfig] = ""
	}
	return obj, awaited, nil
}

func (d *Deployer) applyObjects(ctx context.Context, z *Zone, r *Rendered) (*unstructured.Unstructured, error) {
	if len(r.TargetGroupBindings) > 0 {
		// Before anything is written: without the controller's kind,
		// nothing would register the pods in the target groups.
		if err := d.Target.Serves(ctx, kube.TargetGroupBindingGVK); err != nil {
			return nil, fmt.Errorf("expose type %s: the cluster does not serve TargetGroupBinding (elbv2.k8s.aws/v1beta1), which registers Deck's and Gate's pods "+
				"in the target groups: install the AWS Load Balancer Controller (modules/aws/lb-controller) first: %w", ExposeAWSTargetGroups, err)
		}
	}
	if err := EnsureNamespace(ctx, d.Target, z.Namespace); err != nil {
		return nil, err
	}
	if r.Secret != nil {
		if _, err := d.Target.Apply(ctx, r.Secret); err != nil {
			return nil, err
		}
	} else if err := d.Target.Delete(ctx, secretRefObject(z)); err != nil {
		return nil, err
	}
	if err := ensureAccountTokens(ctx, d.Target, z.Namespace); err != nil {
		return nil, err
	}
	obj, err := d.Target.Apply(ctx, r.Service)
	if err != nil {
		return nil, err
	}
	if SpecHash(SpecOf(obj)) != r.SpecHash {
		d.log("replacing the SpinnakerService spec edited out of band", map[string]any{"zone": z.Name})
		ri := d.Target.Dynamic.Resource(SpinnakerServiceGVK.GroupVersion().WithResource("spinnakerservices")).Namespace(z.Namespace)
		// The operator writes the status at any time (and with it the
		// resourceVersion): on a conflict, read the object again and retry.
		cur := obj
		err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
			if cur == nil {
				if cur, err = ri.Get(ctx, z.Name, metav1.GetOptions{}); err != nil {
					return err
				}
			}
			cur.Object["spec"] = r.Service.Object["spec"]
			updated, err := ri.Update(ctx, cur, metav1.UpdateOptions{FieldManager: kube.FieldManager})
			if err != nil {
				cur = nil
				return err
			}
			obj = updated
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("replacing the spec of SpinnakerService %s/%s: %w", z.Namespace, z.Name, err)
		}
	}
	if r.Ingress != nil {
		if _, err := d.Target.Apply(ctx, r.Ingress); err != nil {
			return nil, err
		}
	} else if err := d.Target.Delete(ctx, ingressRefObject(z)); err != nil {
		return nil, err
	}
	if err := d.applyPDBs(ctx, z, r.PDBs, obj); err != nil {
		return nil, err
	}
	if err := d.applyTargetGroupBindings(ctx, z, r, obj); err != nil {
		return nil, err
	}
	return obj, nil
}

// applyTargetGroupBindings server-side applies the zone's
// TargetGroupBindings and its x509 Service, owned by its SpinnakerService,
// and deletes those it no longer renders (expose changed, a target group
// left out).
func (d *Deployer) applyTargetGroupBindings(ctx context.Context, z *Zone, r *Rendered, owner *unstructured.Unstructured) error {
	want := map[string]bool{}
	objs := r.TargetGroupBindings
	if r.X509Service != nil {
		objs = append([]*unstructured.Unstructured{r.X509Service}, objs...)
	}
	for _, o := range objs {
		o = o.DeepCopy()
		o.SetOwnerReferences([]metav1.OwnerReference{{APIVersion: owner.GetAPIVersion(), Kind: owner.GetKind(), Name: owner.GetName(), UID: owner.GetUID()}})
		if _, err := d.Target.Apply(ctx, o); err != nil {
			return err
		}
		want[o.GetKind()+"/"+o.GetName()] = true
	}
	return d.deleteTargetGroupBindings(ctx, z, want)
}

// zoneTGBResource is the TargetGroupBindings' resource.
var zoneTGBResource = kube.TargetGroupBindingGVK.GroupVersion().WithResource("targetgroupbindings")

// ZoneTargetGroupBindings lists the TargetGroupBindings spinops keeps for
// zone in namespace, by name, with the target group each binds: what the
// zone's Read compares with what it renders, so that a binding deleted or
// repointed out of band is a planned change. A cluster without the kind
// has none.
func ZoneTargetGroupBindings(ctx context.Context, c *kube.Client, namespace, zone string) (map[string]string, error) {
	list, err := zoneTargetGroupBindings(ctx, c, namespace, zone)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, b := range list {
		if b.GetDeletionTimestamp() == nil {
			out[b.GetName()], _, _ = unstructured.NestedString(b.Object, "spec", "targetGroupARN")
		}
	}
	return out, nil
}

// zoneTargetGroupBindings lists the zone's TargetGroupBindings; none when
// the cluster does not serve the kind.
func zoneTargetGroupBindings(ctx context.Context, c *kube.Client, namespace, zone string) ([]unstructured.Unstructured, error) {
	if err := c.Serves(ctx, kube.TargetGroupBindingGVK); err != nil {
		if meta.IsNoMatchError(err) {
			return nil, nil
		}
		return nil, err
	}
	list, err := c.Dynamic.Resource(zoneTGBResource).Namespace(namespace).List(ctx, metav1.ListOptions{LabelSelector: zoneSelector(zone)})
	if err != nil {
		return nil, fmt.Errorf("listing the TargetGroupBindings of zone %s in namespace %s: %w", zone, namespace, err)
	}
	return list.Items, nil
}

// deleteTargetGroupBindings deletes the zone's TargetGroupBindings and its
// x509 Service except keep ("Kind/name").
func (d *Deployer) deleteTargetGroupBindings(ctx context.Context, z *Zone, keep map[string]bool) error {
	list, err := zoneTargetGroupBindings(ctx, d.Target, z.Namespace, z.Name)
	if err != nil {
		return err
	}
	stale := make([]*unstructured.Unstructured, 0, len(list)+1)
	for i := range list {
		stale = append(stale, &list[i])
	}
	// The x509 Service, when it is the zone's (its labels; a Service of
	// that name someone else made is left alone).
	name := z.Name + "-" + GateX509Port
	svc, err := d.Target.Clientset.CoreV1().Services(z.Namespace).Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		return fmt.Errorf("reading Service %s/%s: %w", z.Namespace, name, err)
	case svc.Labels[LabelManagedBy] == managedBy && svc.Labels[LabelZone] == z.Name:
		ref := &unstructured.Unstructured{}
		ref.SetAPIVersion("v1")
		ref.SetKind("Service")
		ref.SetNamespace(z.Namespace)
		ref.SetName(name)
		stale = append(stale, ref)
	}
	for _, o := range stale {
		if keep[o.GetKind()+"/"+o.GetName()] {
			continue
		}
		d.log("deleting "+o.GetKind(), map[string]any{"zone": z.Name, "name": o.GetName()})
		if err := d.Target.Delete(ctx, o); err != nil {
			return err
		}
	}
	return nil
}

// applyPDBs server-side applies the zone's PodDisruptionBudgets, owned by
// its SpinnakerService (so that they go with it), and deletes the zone's
// budgets it no longer renders (HA turned off, replicas down to 1, a
// service no longer split).
func (d *Deployer) applyPDBs(ctx context.Context, z *Zone, pdbs []*unstructured.Unstructured, owner *unstructured.Unstructured) error {
	want := map[string]bool{}
	for _, p := range pdbs {
		p = p.DeepCopy()
		p.SetOwnerReferences([]metav1.OwnerReference{{APIVersion: owner.GetAPIVersion(), Kind: owner.GetKind(), Name: owner.GetName(), UID: owner.GetUID()}})
		if _, err := d.Target.Apply(ctx, p); err != nil {
			return err
		}
		want[p.GetName()] = true
	}
	return d.deletePDBs(ctx, z, want)
}

// zoneSelector selects the objects spinops made for a zone beside its
// SpinnakerService (PodDisruptionBudgets, TargetGroupBindings).
func zoneSelector(zone string) string {
	return LabelManagedBy + "=" + managedBy + "," + LabelZone + "=" + zone
}

// ZonePDBNames lists the names of the PodDisruptionBudgets spinops keeps for
// zone in namespace (sorted): what the zone's Read compares with what it
// renders, so that a budget deleted out of band is a planned change.
func ZonePDBNames(ctx context.Context, c *kube.Client, namespace, zone string) ([]string, error) {
	list, err := c.Clientset.PolicyV1().PodDisruptionBudgets(namespace).List(ctx, metav1.ListOptions{LabelSelector: zoneSelector(zone)})
	if err != nil {
		return nil, fmt.Errorf("listing the PodDisruptionBudgets of zone %s in namespace %s: %w", zone, namespace, err)
	}
	names := make([]string, 0, len(list.Items))
	for _, p := range list.Items {
		if p.DeletionTimestamp == nil {
			names = append(names, p.Name)
		}
	}
	sort.Strings(names)
	return names, nil
}

// deletePDBs deletes the zone's PodDisruptionBudgets (those spinops
// labelled with the zone) except keep.
func (d *Deployer) deletePDBs(ctx context.Context, z *Zone, keep map[string]bool) error {
	c := d.Target.Clientset.PolicyV1().PodDisruptionBudgets(z.Namespace)
	list, err := c.List(ctx, metav1.ListOptions{LabelSelector: zoneSelector(z.Name)})
	if err != nil {
		return fmt.Errorf("listing the PodDisruptionBudgets of zone %s in namespace %s: %w", z.Name, z.Namespace, err)
	}
	for _, p := range list.Items {
		if keep[p.Name] {
			continue
		}
		d.log("deleting PodDisruptionBudget", map[string]any{"zone": z.Name, "name": p.Name})
		if err := c.Delete(ctx, p.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &p.UID}}); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("deleting PodDisruptionBudget %s/%s: %w", z.Namespace, p.Name, err)
		}
	}
	return nil
}

// ensureAccountTokens creates the (empty) Secret the zone's Clouddrivers
// mount, unless it exists: spinops_agent_account fills its keys.
func ensureAccountTokens(ctx context.Context, c *kube.Client, namespace string) error {
	secrets := c.Clientset.CoreV1().Secrets(namespace)
	_, err := secrets.Get(ctx, AccountTokensSecret, metav1.GetOptions{})
	if err == nil {
		return nil
	}
	if !apierrors.IsNotFound(err) {
		return fmt.Errorf("reading Secret %s/%s: %w", namespace, AccountTokensSecret, err)
	}
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: AccountTokensSecret, Namespace: namespace,
		Labels: map[string]string{LabelManagedBy: managedBy}}, Type: corev1.SecretTypeOpaque}
	if _, err := secrets.Create(ctx, sec, metav1.CreateOptions{FieldManager: kube.FieldManager}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating Secret %s/%s: %w", namespace, AccountTokensSecret, err)
	}
	return nil
}

func secretRefObject(z *Zone) *unstructured.Unstructured {
	o := &unstructured.Unstructured{}
	o.SetAPIVersion("v1")
	o.SetKind("Secret")
	o.SetNamespace(z.Namespace)
	o.SetName(CredentialsSecretName(z.Name))
	return o
}

func ingressRefObject(z *Zone) *unstructured.Unstructured {
	o := &unstructured.Unstructured{}
	o.SetAPIVersion("networking.k8s.io/v1")
	o.SetKind("Ingress")
	o.SetNamespace(z.Namespace)
	o.SetName(z.Name + "-spinnaker")
	return o
}

// waitReady waits, after an apply, until the operator has recorded the
// deployment of every hashed part the apply changed (awaited: until then
// its status still says what it said for the pods of the spec before),
// reports the SpinnakerService OK at version with every service ready, and
// the services' Deployments have rolled out. The real operator writes
// status.version right after it applied the new Deployments and before
// their pods roll out, while status.status may still say OK with the old
// pods (pkg/deploy/spindeploy/spindeploy.go, Deploy), so the version alone
// is no proof. A Failure status is waited through (it is transient while a
// pod is Pending); when the wait times out, the error names the pods that
// are not running and why (e.g. ImagePullBackOff).
func (d *Deployer) waitReady(ctx context.Context, namespace, name, version string, services []Service, awaited awaitedDeploy, timeout time.Duration) (*unstructured.Unstructured, error) {
	interval := d.pollInterval()
	var last *unstructured.Unstructured
	err := kube.WaitFor(ctx, interval, timeout, func(ctx context.Context) (bool, string, error) {
		obj, err := d.Target.Get(ctx, SpinnakerServiceGVK, namespace, name)
		if err != nil {
			return false, "", err
		}
		last = obj
		if progress := awaited.pending(obj); progress != "" {
			return false, progress, nil
		}
		if done, progress := Ready(ParseStatus(obj), version, services); !done {
			return false, progress, nil
		}
		if awaited.expose {
			if progress, err := d.exposePending(ctx, obj); err != nil || progress != "" {
				return false, progress, err
			}
		}
		return d.rolledOut(ctx, namespace, services)
	})
	if err != nil {
		msg := fmt.Sprintf("waiting for SpinnakerService %s/%s to be ready: %v", namespace, name, err)
		if last != nil && ParseStatus(last).Status == StatusFailure {
			msg += fmt.Sprintf("\nThe Spinnaker Operator reports status Failure for version %s; check its logs (kubectl -n <operator namespace> logs deploy/spinnaker-operator)", version)
		}
		if problems := d.podProblems(context.WithoutCancel(ctx), namespace); len(problems) > 0 {
			msg += "\nPods not running:\n  - " + strings.Join(problems, "\n  - ")
		}
		return last, errors.New(msg)
	}
	return last, nil
}

// pollInterval is how often the deployer reads what it waits for:
// PollInterval, 2 s when unset.
func (d *Deployer) pollInterval() time.Duration {
	if d.PollInterval == 0 {
		return 2 * time.Second
	}
	return d.PollInterval
}

// rolledOut reports whether every service's Deployment (spin-<service>)
// has rolled out its current generation.
func (d *Deployer) rolledOut(ctx context.Context, namespace string, services []Service) (bool, string, error) {
	var pending []string
	for _, s := range services {
		dep, err := d.Target.Clientset.AppsV1().Deployments(namespace).Get(ctx, s.ObjectName(), metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			pending = append(pending, "Deployment "+s.ObjectName()+" not found")
			continue
		}
		if err != nil {
			return false, "", fmt.Errorf("reading Deployment %s/%s: %w", namespace, s.ObjectName(), err)
		}
		done, progress, err := kube.DeploymentRolledOut(dep)
		if err != nil {
			return false, "", fmt.Errorf("checking the rollout of Deployment %s/%s: %w", namespace, s.ObjectName(), err)
		}
		if !done {
			pending = append(pending, s.ObjectName()+": "+progress)
		}
	}
	if len(pending) > 0 {
		return false, "status OK at the version, but the Deployments have not rolled out: " + strings.Join(pending, "; "), nil
	}
	return true, "", nil
}

// podProblems describes the Spinnaker pods of namespace that are not
// running and ready: phase and each waiting or terminated container's
// reason and message.
func (d *Deployer) podProblems(ctx context.Context, namespace string) []string {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	pods, err := d.Target.Clientset.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return []string{"listing pods: " + err.Error()}
	}
	var out []string
	for _, p := range pods.Items {
		if !strings.HasPrefix(p.Name, "spin-") || p.DeletionTimestamp != nil || podIsReady(&p) {
			continue
		}
		var why []string
		for _, cs := range p.Status.ContainerStatuses {
			switch {
			case cs.State.Waiting != nil && cs.State.Waiting.Reason != "":
				why = append(why, fmt.Sprintf("container %s waiting: %s %s", cs.Name, cs.State.Waiting.Reason, cs.State.Waiting.Message))
			case cs.State.Terminated != nil:
				why = append(why, fmt.Sprintf("container %s terminated: %s %s", cs.Name, cs.State.Terminated.Reason, cs.State.Terminated.Message))
			}
		}
		if len(why) == 0 {
			why = append(why, "not ready")
		}
		out = append(out, fmt.Sprintf("%s (%s): %s", p.Name, p.Status.Phase, strings.TrimSpace(strings.Join(why, "; "))))
	}
	return out
}

func podIsReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func (d *Deployer) verify(ctx context.Context, z *Zone, r *Rendered, opts DeployOptions) (*Verification, error) {
	var checks []Check
	client := http.DefaultClient
	if opts.VerifyVia == "exposed" {
		checks = ExposedChecks(opts.DeckURL, opts.GateURL)
		if len(checks) == 0 {
			return nil, fmt.Errorf("verification through the exposed URLs needs expose.deck_host or expose.gate_host")
		}
	} else {
		hc, err := rest.HTTPClientFor(d.Target.Config)
		if err != nil {
			return nil, fmt.Errorf("building the verification client: %w", err)
		}
		client = hc
		checks = ProxyChecks(d.Target.Config, z.Namespace, r.Services, z.Expose)
	}
	d.log("verifying", map[string]any{"zone": z.Name, "checks": len(checks)})
	return Verify(ctx, client, checks, opts.VerifyOptions), nil
}

// Destroy deletes a zone's SpinnakerService (waiting until it is gone),
// Secret, Ingress and PodDisruptionBudgets, and marks the zone deleted in the ledger; its
// verification history stays.
func (d *Deployer) Destroy(ctx context.Context, inst *Installation, z *Zone, timeout time.Duration) error {
	ref := &unstructured.Unstructured{}
	ref.SetGroupVersionKind(SpinnakerServiceGVK)
	ref.SetNamespace(z.Namespace)
	ref.SetName(z.Name)
	if err := d.Target.Delete(ctx, ref); err != nil {
		return err
	}
	if err := d.Target.WaitForDeleted(ctx, SpinnakerServiceGVK, z.Namespace, z.Name, timeout); err != nil {
		return err
	}
	for _, o := range []*unstructured.Unstructured{secretRefObject(z), ingressRefObject(z)} {
		if err := d.Target.Delete(ctx, o); err != nil {
			return err
		}
	}
	if err := d.deletePDBs(ctx, z, nil); err != nil {
		return err
	}
	if err := d.deleteTargetGroupBindings(ctx, z, nil); err != nil {
		return err
	}
	if inst == nil {
		return nil
	}
	now := d.Now()
	err := UpdateZoneRecord(ctx, d.Control.Clientset, inst.Namespace, z.Name, func(rec *ZoneRecord) { rec.DeletedAt = &now })
	if apierrors.IsNotFound(errors.Unwrap(err)) {
		return nil
	}
	return err
}
