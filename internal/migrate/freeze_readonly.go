package migrate

// This file: the freeze's read-only Gate (FreezeOptions.GateMode
// "read-only"). Instead of scaling Gate to zero, spinops runs its read-only
// proxy (gateproxy.go) beside it and points Gate's Service at the proxy:
//
//  1. recorded in the ledger first: the mode, Gate's Service and its
//     selector as found;
//  2. the Service spinops-gate-upstream, with Gate's selector and ports, so
//     the proxy reaches the Gate pods whatever the Service in front says;
//  3. the Deployment spinops-gate-readonly (the spinops image, `spinops
//     migrate gate-proxy`, one listener per port of Gate's Service, ready
//     when Gate's /health answers through it), waited for until every
//     replica is ready;
//  4. Gate's Service's selector switched to the proxy's pods (an update
//     with the resourceVersion read, retried on a conflict). Whatever
//     routes to that Service — the load balancer, an Ingress, a
//     TargetGroupBinding, Deck — now reaches the proxy; the Gate pods keep
//     running and the API server's endpoints follow the selector.
//
// Unfreeze undoes it in the other order: the selector back first (only if
// it is still the proxy's), then the proxy and the upstream Service
// deleted. The Spinnaker Operator and Halyard write Gate's Service only
// when they deploy (armory/spinnaker-operator d92e6804, pkg/deploy/
// spindeploy/spindeploy.go applies the generated manifests when the config
// or kustomize hash changes; Halyard on `hal deploy apply`): do not change
// the old installation during the freeze.

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/util/retry"
)

// The old Gate during a freeze.
const (
	// GateStop scales Gate's Deployment to zero: reads stop too.
	GateStop = "stop"
	// GateReadOnly puts spinops' read-only proxy in front of Gate.
	GateReadOnly = "read-only"

	// ReadOnlyGateName is the proxy's Deployment; GateUpstreamName the
	// Service through which it reaches the Gate pods.
	ReadOnlyGateName = "spinops-gate-readonly"
	GateUpstreamName = "spinops-gate-upstream"
)

// readOnlyGateLabels select the proxy's pods (and mark what spinops made).
var readOnlyGateLabels = map[string]string{"app.kubernetes.io/name": ReadOnlyGateName, "app.kubernetes.io/managed-by": "spinops"}

// madeBySpinops says whether an object of the names above is the
// freeze's, not one of the same name that was there before.
func madeBySpinops(m metav1.ObjectMeta) bool {
	return m.Labels["app.kubernetes.io/managed-by"] == "spinops" && m.Labels["app.kubernetes.io/part-of"] == "spinops-migration"
}

// readGateService reads Gate's Service for the record: it must select pods
// (the proxy takes its selector over) and not be the proxy's already
// unless the ledger says so.
func readGateService(ctx context.Context, f FreezeOptions, rec *FreezeRecord) (*corev1.Service, error) {
	svc, err := f.Kube.CoreV1().Services(f.Namespace).Get(ctx, f.GateService, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("freeze: reading Gate's Service %s/%s (--old-gate read-only points it at the proxy): %w", f.Namespace, f.GateService, err)
	}
	if len(svc.Spec.Selector) == 0 {
		return nil, fmt.Errorf("freeze: Gate's Service %s/%s has no selector (its endpoints are kept by hand): the read-only proxy cannot take it over; "+
			"use --old-gate stop", f.Namespace, f.GateService)
	}
	if maps.Equal(svc.Spec.Selector, readOnlyGateLabels) && rec == nil {
		return nil, fmt.Errorf("freeze: Gate's Service %s/%s already selects spinops' read-only proxy, but the ledger records no freeze: "+
			"set its selector back to Gate's pods first", f.Namespace, f.GateService)
	}
	if len(tcpPorts(svc)) == 0 {
		return nil, fmt.Errorf("freeze: Gate's Service %s/%s has no TCP port", f.Namespace, f.GateService)
	}
	return svc, nil
}

// tcpPorts are the TCP ports of a Service, the ones the proxy serves.
func tcpPorts(svc *corev1.Service) []corev1.ServicePort {
	var out []corev1.ServicePort
	for _, p := range svc.Spec.Ports {
		if p.Protocol == "" || p.Protocol == corev1.ProtocolTCP {
			out = append(out, p)
		}
	}
	return out
}

// startReadOnlyGate makes the upstream Service and the proxy, waits until
// the proxy is ready and points Gate's Service (gate, as readGateService
// read it) at it. It is idempotent.
func startReadOnlyGate(ctx context.Context, f FreezeOptions, fr *FreezeRecord, gate *corev1.Service) error {
	svcs := f.Kube.CoreV1().Services(f.Namespace)
	meta := func(name string) metav1.ObjectMeta {
		l := maps.Clone(readOnlyGateLabels)
		l["app.kubernetes.io/part-of"] = "spinops-migration"
		return metav1.ObjectMeta{Name: name, Namespace: f.Namespace, Labels: l,
			Annotations: map[string]string{"spinops.io/frozen-since": fr.Since.UTC().Format(time.RFC3339)}}
	}
	upstream := &corev1.Service{ObjectMeta: meta(GateUpstreamName), Spec: corev1.ServiceSpec{Selector: fr.GateSelector}}
	routes := map[int32]string{}
	var ports []corev1.ContainerPort
	for i, p := range tcpPorts(gate) {
		upstream.Spec.Ports = append(upstream.Spec.Ports, corev1.ServicePort{Name: p.Name, Port: p.Port, TargetPort: p.TargetPort, Protocol: corev1.ProtocolTCP})
		// The proxy's pods answer where Gate's did: on the target port's
		// number, or on a container port of the same name.
		cp := corev1.ContainerPort{Name: fmt.Sprintf("gate-%d", i), ContainerPort: p.Port}
		switch {
		case p.TargetPort.Type == intstr.String:
			cp.Name = p.TargetPort.StrVal
		case p.TargetPort.IntVal != 0:
			cp.ContainerPort = p.TargetPort.IntVal
		}
		routes[cp.ContainerPort] = fmt.Sprintf("http://%s.%s.svc:%d", GateUpstreamName, f.Namespace, p.Port)
		ports = append(ports, cp)
	}
	if err := applyUpstream(ctx, f, upstream); err != nil {
		return err
	}
	replicas := min(max(fr.GateReplicas, 1), 3)
	sort.Slice(ports, func(i, j int) bool { return ports[i].ContainerPort < ports[j].ContainerPort })
	nonRoot, no, uid := true, false, int64(65532)
	podLabels := maps.Clone(readOnlyGateLabels)
	dep := &appsv1.Deployment{ObjectMeta: meta(ReadOnlyGateName), Spec: appsv1.DeploymentSpec{
		Replicas: &replicas,
		Selector: &metav1.LabelSelector{MatchLabels: maps.Clone(readOnlyGateLabels)},
		Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: podLabels}, Spec: corev1.PodSpec{
			AutomountServiceAccountToken: &no,
			SecurityContext: &corev1.PodSecurityContext{RunAsNonRoot: &nonRoot, RunAsUser: &uid, RunAsGroup: &uid,
				SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
			Containers: []corev1.Container{{
				Name: "gate-proxy", Image: f.ProxyImage, Args: ReadOnlyGateArgs(routes, fr.Since, f.AllowPost), Ports: ports,
				// Ready when a Gate answers /health through it (Gate's own
				// readiness check, as the operator and Halyard probe it).
				ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
					Path: "/health", Port: intstr.FromInt32(ports[0].ContainerPort)}}, PeriodSeconds: 5},
				Resources: corev1.ResourceRequirements{
					Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("50m"), corev1.ResourceMemory: resource.MustParse("32Mi")},
					Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("256Mi")}},
				SecurityContext: &corev1.SecurityContext{AllowPrivilegeEscalation: &no, ReadOnlyRootFilesystem: &nonRoot,
					Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}},
			}},
		}},
	}}
	deps := f.Kube.AppsV1().Deployments(f.Namespace)
	cur, err := deps.Get(ctx, ReadOnlyGateName, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		if cur, err = deps.Create(ctx, dep, metav1.CreateOptions{FieldManager: "spinops"}); err != nil {
			return fmt.Errorf("creating the read-only Gate's Deployment %s/%s: %w", f.Namespace, ReadOnlyGateName, err)
		}
	case err != nil:
		return fmt.Errorf("reading the read-only Gate's Deployment %s/%s: %w", f.Namespace, ReadOnlyGateName, err)
	case !madeBySpinops(cur.ObjectMeta):
		return fmt.Errorf("a Deployment %s/%s that spinops did not make is in the way of the read-only Gate: rename it, or use --old-gate stop",
			f.Namespace, ReadOnlyGateName)
	default:
		cur.Spec = dep.Spec
		if cur, err = deps.Update(ctx, cur, metav1.UpdateOptions{FieldManager: "spinops"}); err != nil {
			return fmt.Errorf("updating the read-only Gate's Deployment %s/%s: %w", f.Namespace, ReadOnlyGateName, err)
		}
	}
	if err := waitReadOnlyGate(ctx, f, cur.Generation, replicas); err != nil {
		return err
	}
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		svc, err := svcs.Get(ctx, fr.GateService, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if maps.Equal(svc.Spec.Selector, readOnlyGateLabels) {
			return nil
		}
		if !maps.Equal(svc.Spec.Selector, fr.GateSelector) {
			return fmt.Errorf("its selector changed during the freeze (%v, recorded %v): roll back, then freeze again", svc.Spec.Selector, fr.GateSelector)
		}
		svc.Spec.Selector = maps.Clone(readOnlyGateLabels)
		_, err = svcs.Update(ctx, svc, metav1.UpdateOptions{FieldManager: "spinops"})
		return err
	})
	if err != nil {
		return fmt.Errorf("pointing Gate's Service %s/%s at the read-only Gate: %w", f.Namespace, fr.GateService, err)
	}
	return checkReadOnlyGate(ctx, f, fr, tcpPorts(gate)[0].Port)
}

// checkReadOnlyGate waits, up to ProxyTimeout, until a request to Gate's
// Service (through the API server's service proxy, as the freeze reaches
// Orca and Front50) is answered by the read-only Gate of this freeze:
// its endpoints follow the new selector only once the cluster's endpoint
// controller has caught up, and a NetworkPolicy may keep the proxy from
// being reached at all.
func checkReadOnlyGate(ctx context.Context, f FreezeOptions, fr *FreezeRecord, port int32) error {
	want := fr.Since.UTC().Format(time.RFC3339)
	deadline := time.Now().Add(f.ProxyTimeout)
	for {
		var got struct {
			FrozenSince string `json:"frozen_since"`
		}
		err := proxyGet(ctx, f, fr.GateService, int(port), strings.TrimPrefix(ReadOnlyGateStatusPath, "/"), nil, &got)
		if err == nil && got.FrozenSince == want {
			return nil
		}
		if err == nil {
			err = fmt.Errorf("answered by a read-only Gate frozen since %q, not this freeze's %s", got.FrozenSince, want)
		}
		if !time.Now().Before(deadline) {
			return fmt.Errorf("the read-only Gate is selected by Gate's Service %s/%s, but requests to it do not reach it after %s (last: %v): "+
				"check its endpoints and NetworkPolicies, or use --old-gate stop", f.Namespace, fr.GateService, f.ProxyTimeout, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("checking the read-only Gate through Gate's Service: %w", ctx.Err())
		case <-time.After(min(f.PollInterval, time.Second, time.Until(deadline)+time.Millisecond)):
		}
	}
}

// applyUpstream creates (or brings back to what it should be) the Service
// through which the proxy reaches the Gate pods.
func applyUpstream(ctx context.Context, f FreezeOptions, want *corev1.Service) error {
	svcs := f.Kube.CoreV1().Services(f.Namespace)
	cur, err := svcs.Get(ctx, want.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		_, err = svcs.Create(ctx, want, metav1.CreateOptions{FieldManager: "spinops"})
	case err != nil:
	case !madeBySpinops(cur.ObjectMeta):
		return fmt.Errorf("a Service %s/%s that spinops did not make is in the way of the read-only Gate: rename it, or use --old-gate stop", f.Namespace, want.Name)
	default:
		cur.Spec.Selector, cur.Spec.Ports = want.Spec.Selector, want.Spec.Ports
		_, err = svcs.Update(ctx, cur, metav1.UpdateOptions{FieldManager: "spinops"})
	}
	if err != nil {
		return fmt.Errorf("making the Service %s/%s to Gate's pods: %w", f.Namespace, want.Name, err)
	}
	return nil
}

// waitReadOnlyGate waits until every replica of the proxy is ready, up to
// ProxyTimeout; a timeout names what its pods wait for.
func waitReadOnlyGate(ctx context.Context, f FreezeOptions, generation int64, replicas int32) error {
	deps := f.Kube.AppsV1().Deployments(f.Namespace)
	deadline := time.Now().Add(f.ProxyTimeout)
	for {
		d, err := deps.Get(ctx, ReadOnlyGateName, metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("reading the read-only Gate's Deployment %s/%s: %w", f.Namespace, ReadOnlyGateName, err)
		}
		s := d.Status
		if s.ObservedGeneration >= generation && s.UpdatedReplicas >= replicas && s.ReadyReplicas >= replicas {
			return nil
		}
		if !time.Now().Before(deadline) {
			return fmt.Errorf("the read-only Gate %s/%s is not ready after %s (%d of %d replicas ready)%s: check that the cluster can pull %s "+
				"and that Gate's /health answers, or use --old-gate stop", f.Namespace, ReadOnlyGateName, f.ProxyTimeout, s.ReadyReplicas, replicas,
				proxyPodStates(ctx, f), f.ProxyImage)
		}
		if f.Progress != nil {
			f.Progress(fmt.Sprintf("waiting for the read-only Gate %s/%s (%d of %d replicas ready, until %s)", f.Namespace, ReadOnlyGateName,
				s.ReadyReplicas, replicas, deadline.Format(time.TimeOnly)))
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for the read-only Gate: %w", ctx.Err())
		case <-time.After(min(f.PollInterval, time.Second, time.Until(deadline)+time.Millisecond)):
		}
	}
}

// proxyPodStates says what the proxy's pods wait for (", pods: NAME
// ImagePullBackOff: ...").
func proxyPodStates(ctx context.Context, f FreezeOptions) string {
	pods, err := f.Kube.CoreV1().Pods(f.Namespace).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=" + ReadOnlyGateName})
	if err != nil || len(pods.Items) == 0 {
		return ", no pods"
	}
	var out []string
	for _, p := range pods.Items {
		state := string(p.Status.Phase)
		for _, c := range p.Status.ContainerStatuses {
			if w := c.State.Waiting; w != nil {
				state = strings.TrimSuffix(w.Reason+": "+w.Message, ": ")
			} else if c.State.Running != nil && !c.Ready {
				state = "running, not ready"
			}
		}
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse {
				state = "unschedulable: " + c.Message
			}
		}
		out = append(out, p.Name+" "+state)
	}
	slices.Sort(out)
	return ", pods: " + strings.Join(out, "; ")
}

// stopReadOnlyGate points Gate's Service back at the Gate pods (only if it
// still selects the proxy) and deletes what the freeze made. It says what
// it did with the Service.
func stopReadOnlyGate(ctx context.Context, f FreezeOptions, fr *FreezeRecord) (string, error) {
	svcs := f.Kube.CoreV1().Services(f.Namespace)
	said := ""
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		svc, err := svcs.Get(ctx, fr.GateService, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			said = fmt.Sprintf("Gate's Service %s is gone (left so)", fr.GateService)
			return nil
		case err != nil:
			return err
		case maps.Equal(svc.Spec.Selector, fr.GateSelector):
			said = fmt.Sprintf("Gate's Service %s selects Gate's pods", fr.GateService)
			return nil
		case !maps.Equal(svc.Spec.Selector, readOnlyGateLabels):
			said = fmt.Sprintf("Gate's Service %s left selecting %v (changed during the freeze)", fr.GateService, svc.Spec.Selector)
			return nil
		}
		svc.Spec.Selector = maps.Clone(fr.GateSelector)
		if _, err := svcs.Update(ctx, svc, metav1.UpdateOptions{FieldManager: "spinops"}); err != nil {
			return err
		}
		said = fmt.Sprintf("Gate's Service %s back to Gate's pods", fr.GateService)
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("pointing Gate's Service %s/%s back at Gate's pods: %w", f.Namespace, fr.GateService, err)
	}
	var errs []error
	if d, err := f.Kube.AppsV1().Deployments(f.Namespace).Get(ctx, ReadOnlyGateName, metav1.GetOptions{}); err == nil && madeBySpinops(d.ObjectMeta) {
		if err := f.Kube.AppsV1().Deployments(f.Namespace).Delete(ctx, ReadOnlyGateName, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("deleting the read-only Gate's Deployment %s/%s: %w", f.Namespace, ReadOnlyGateName, err))
		}
	} else if err != nil && !apierrors.IsNotFound(err) {
		errs = append(errs, fmt.Errorf("reading the read-only Gate's Deployment %s/%s: %w", f.Namespace, ReadOnlyGateName, err))
	}
	if s, err := svcs.Get(ctx, GateUpstreamName, metav1.GetOptions{}); err == nil && madeBySpinops(s.ObjectMeta) {
		if err := svcs.Delete(ctx, GateUpstreamName, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("deleting the Service %s/%s: %w", f.Namespace, GateUpstreamName, err))
		}
	} else if err != nil && !apierrors.IsNotFound(err) {
		errs = append(errs, fmt.Errorf("reading the Service %s/%s: %w", f.Namespace, GateUpstreamName, err))
	}
	return said, errors.Join(errs...)
}
