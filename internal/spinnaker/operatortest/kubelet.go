package operatortest

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
)

// NodeName is the Node the kubelet stand-in registers.
const NodeName = "standin-node"

// KubeletOptions tune the kubelet stand-in.
type KubeletOptions struct {
	// PodIP is every pod's IP; it must not be a loopback address if the
	// API server's service proxy is to reach it.
	PodIP string
	// PullFails, when it returns true for a container image, keeps the pod
	// Pending with that container waiting in ImagePullBackOff, as a kubelet
	// does for an image it cannot pull.
	PullFails func(image string) bool
	// Hold, when it returns true for a pod, keeps it Pending in
	// ContainerCreating (a slow image pull or volume mount).
	Hold func(p *corev1.Pod) bool
}

// StartKubelet runs the kubelet stand-in with every pod on podIP.
func StartKubelet(t testing.TB, cfg *rest.Config, podIP string) {
	t.Helper()
	StartKubeletWith(t, cfg, KubeletOptions{PodIP: podIP})
}

// StartKubeletWith runs the kubelet stand-in (and, since there is no
// scheduler, the scheduler's one job) until the test ends: it registers a
// Ready Node, binds every unscheduled pod to it, and marks every pod that
// is not yet Ready Running and Ready with opts.PodIP, as a kubelet would
// once its containers pass their readiness probes (unless opts.PullFails
// or opts.Hold keep it Pending).
func StartKubeletWith(t testing.TB, cfg *rest.Config, opts KubeletOptions) {
	t.Helper()
	podIP := opts.PodIP
	cs := kubernetes.NewForConfigOrDie(cfg)
	// A freshly started API server may still reset a first connection:
	// retry transient errors for a few seconds, as a kubelet would.
	var regErr error
	for deadline := time.Now().Add(15 * time.Second); ; {
		if regErr = registerNode(t.Context(), cs, podIP); regErr == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if regErr != nil {
		t.Fatalf("kubelet stand-in: registering node: %v", regErr)
	}
	run(t, 200*time.Millisecond, func(ctx context.Context) error {
		pods, err := cs.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		for i := range pods.Items {
			p := &pods.Items[i]
			if p.DeletionTimestamp != nil {
				// A kubelet stops a terminating pod's containers and then
				// deletes the pod for good (grace period 0); until it does,
				// a Recreate rollout never starts its new pods.
				if p.Spec.NodeName == NodeName {
					if err := cs.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To(int64(0)),
						Preconditions: &metav1.Preconditions{UID: &p.UID}}); err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
						return err
					}
				}
				continue
			}
			if podReady(p) {
				continue
			}
			if p.Spec.NodeName == "" {
				b := &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: p.Name, Namespace: p.Namespace, UID: p.UID},
					Target: corev1.ObjectReference{Kind: "Node", Name: NodeName}}
				if err := cs.CoreV1().Pods(p.Namespace).Bind(ctx, b, metav1.CreateOptions{}); err != nil && !apierrors.IsConflict(err) && !apierrors.IsNotFound(err) {
					return err
				}
				continue // status next pass, on the bound pod
			}
			switch {
			case opts.PullFails != nil && pullFails(p, opts.PullFails):
				if !markWaiting(p, "ImagePullBackOff", opts.PullFails) {
					continue
				}
			case opts.Hold != nil && opts.Hold(p):
				if !markWaiting(p, "ContainerCreating", func(string) bool { return true }) {
					continue
				}
			default:
				markReady(p, podIP)
			}
			if _, err := cs.CoreV1().Pods(p.Namespace).UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil && !apierrors.IsConflict(err) && !apierrors.IsNotFound(err) {
				return err
			}
		}
		return nil
	})
}

func pullFails(p *corev1.Pod, fails func(string) bool) bool {
	for _, c := range p.Spec.Containers {
		if fails(c.Image) {
			return true
		}
	}
	return false
}

// markWaiting sets p Pending with the containers that match waiting for
// reason; false when it already is.
func markWaiting(p *corev1.Pod, reason string, match func(string) bool) bool {
	if p.Status.Phase == corev1.PodPending && len(p.Status.ContainerStatuses) > 0 && p.Status.ContainerStatuses[0].State.Waiting != nil &&
		p.Status.ContainerStatuses[0].State.Waiting.Reason == reason {
		return false
	}
	now := metav1.Now()
	p.Status.Phase = corev1.PodPending
	p.Status.Conditions = []corev1.PodCondition{
		{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: now},
		{Type: corev1.PodReady, Status: corev1.ConditionFalse, Reason: "ContainersNotReady", LastTransitionTime: now},
	}
	p.Status.ContainerStatuses = nil
	for _, c := range p.Spec.Containers {
		st := corev1.ContainerStatus{Name: c.Name, Image: c.Image}
		if match(c.Image) {
			msg := ""
			if reason == "ImagePullBackOff" {
				msg = fmt.Sprintf("Back-off pulling image %q", c.Image)
			}
			st.State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: msg}}
		} else {
			st.State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}}
		}
		p.Status.ContainerStatuses = append(p.Status.ContainerStatuses, st)
	}
	return true
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func markReady(p *corev1.Pod, podIP string) {
	now := metav1.Now()
	p.Status.Phase = corev1.PodRunning
	p.Status.PodIP = podIP
	p.Status.PodIPs = []corev1.PodIP{{IP: podIP}}
	p.Status.HostIP = podIP
	p.Status.HostIPs = []corev1.HostIP{{IP: podIP}}
	p.Status.StartTime = &now
	p.Status.Conditions = nil
	for _, t := range []corev1.PodConditionType{corev1.PodScheduled, corev1.PodInitialized, corev1.ContainersReady, corev1.PodReady} {
		p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{Type: t, Status: corev1.ConditionTrue, LastTransitionTime: now})
	}
	p.Status.ContainerStatuses = nil
	for _, c := range p.Spec.Containers {
		p.Status.ContainerStatuses = append(p.Status.ContainerStatuses, corev1.ContainerStatus{
			Name: c.Name, Image: c.Image, ImageID: c.Image, Ready: true, Started: &[]bool{true}[0],
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}},
		})
	}
}

func registerNode(ctx context.Context, cs kubernetes.Interface, ip string) error {
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: NodeName, Labels: map[string]string{"kubernetes.io/hostname": NodeName}}}
	if _, err := cs.CoreV1().Nodes().Create(ctx, n, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	// kube-controller-manager touches a new Node too: re-read on conflict.
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		node, err := cs.CoreV1().Nodes().Get(ctx, NodeName, metav1.GetOptions{})
		if err != nil {
			return err
		}
		now := metav1.Now()
		node.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady",
			Message: "kubelet stand-in", LastHeartbeatTime: now, LastTransitionTime: now}}
		node.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: ip}, {Type: corev1.NodeHostName, Address: NodeName}}
		node.Status.Capacity = corev1.ResourceList{corev1.ResourcePods: resource.MustParse("110")}
		node.Status.Allocatable = node.Status.Capacity
		_, err = cs.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{})
		return err
	})
}
