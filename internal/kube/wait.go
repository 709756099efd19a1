package kube

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
)

// pollInterval is how often the WaitFor* helpers of Client look again.
var pollInterval = 2 * time.Second

// ConditionFunc reports whether a wait is over. While it is not, progress
// says what is still missing ("1 of 2 replicas available"); the last one is
// kept for the error should the wait run out of time. An error ends the wait.
type ConditionFunc func(ctx context.Context) (done bool, progress string, err error)

// WaitError is returned when a wait ran out of time or its context ended
// before the condition was met.
type WaitError struct {
	// Timeout is the limit given to WaitFor.
	Timeout time.Duration
	// Progress is the last thing the condition said was missing.
	Progress string
	// Err is why the wait stopped: context.DeadlineExceeded or
	// context.Canceled.
	Err error
}

func (e *WaitError) Error() string {
	var b strings.Builder
	if errors.Is(e.Err, context.Canceled) {
		b.WriteString("wait cancelled")
	} else {
		fmt.Fprintf(&b, "timed out after %s", e.Timeout)
	}
	if e.Progress != "" {
		b.WriteString("; still waiting: ")
		b.WriteString(e.Progress)
	}
	return b.String()
}

func (e *WaitError) Unwrap() error { return e.Err }

// WaitFor calls cond at once and then every interval until it is done,
// returns an error, timeout passes or ctx ends. Running out of time gives a
// *WaitError carrying cond's last progress — also when time runs out during
// a look (its request failing only because the deadline came: client-go's
// rate limiter refuses a request that would end past it, with an error
// that does not wrap context.DeadlineExceeded), so the error says what was
// still missing, not that a read failed.
func WaitFor(ctx context.Context, interval, timeout time.Duration, cond ConditionFunc) error {
	var last string
	err := wait.PollUntilContextTimeout(ctx, interval, timeout, true, func(ctx context.Context) (bool, error) {
		done, progress, err := cond(ctx)
		if progress != "" {
			last = progress
		}
		if err != nil {
			if dl, ok := ctx.Deadline(); ok && time.Until(dl) < interval {
				return false, nil // no look would follow: out of time
			}
		}
		return done, err
	})
	if err == nil {
		return nil
	}
	if wait.Interrupted(err) {
		cause := context.DeadlineExceeded
		if ctx.Err() != nil {
			cause = ctx.Err()
		}
		return &WaitError{Timeout: timeout, Progress: last, Err: cause}
	}
	return err
}

// WaitForDeploymentAvailable waits until the Deployment's current
// generation is rolled out: every desired replica updated and available and
// no old replica left, the same test as `kubectl rollout status`. A rollout
// past its progress deadline ends the wait with an error at once.
func (c *Client) WaitForDeploymentAvailable(ctx context.Context, namespace, name string, timeout time.Duration) error {
	err := WaitFor(ctx, pollInterval, timeout, func(ctx context.Context) (bool, string, error) {
		d, err := c.Clientset.AppsV1().Deployments(namespace).Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return false, "the Deployment does not exist yet", nil
		}
		if err != nil {
			return false, "", fmt.Errorf("reading: %w", err)
		}
		return DeploymentRolledOut(d)
	})
	if err != nil {
		return fmt.Errorf("waiting for Deployment %s/%s to become available: %w", namespace, name, err)
	}
	return nil
}

// DeploymentRolledOut is the ConditionFunc test of
// WaitForDeploymentAvailable for one observation of d.
func DeploymentRolledOut(d *appsv1.Deployment) (done bool, progress string, err error) {
	if d.Generation > d.Status.ObservedGeneration {
		return false, fmt.Sprintf("generation %d not yet observed by the deployment controller", d.Generation), nil
	}
	for _, cond := range d.Status.Conditions {
		if cond.Type == appsv1.DeploymentProgressing && cond.Reason == "ProgressDeadlineExceeded" {
			return false, "", fmt.Errorf("rollout failed (ProgressDeadlineExceeded): %s", cond.Message)
		}
	}

	desired := int32(1)
	if d.Spec.Replicas != nil {
		desired = *d.Spec.Replicas
	}
	st := d.Status
	switch {
	case st.UpdatedReplicas < desired:
		return false, fmt.Sprintf("%d of %d replicas updated%s", st.UpdatedReplicas, desired, availableMessage(d)), nil
	case st.Replicas > st.UpdatedReplicas:
		return false, fmt.Sprintf("%d old replicas pending termination", st.Replicas-st.UpdatedReplicas), nil
	case st.AvailableReplicas < st.UpdatedReplicas:
		return false, fmt.Sprintf("%d of %d updated replicas available%s", st.AvailableReplicas, st.UpdatedReplicas, availableMessage(d)), nil
	}
	return true, "", nil
}

// availableMessage adds the Available condition's message when it is false,
// which usually names the cause (quota, image pull, scheduling).
func availableMessage(d *appsv1.Deployment) string {
	for _, cond := range d.Status.Conditions {
		if cond.Type == appsv1.DeploymentAvailable && cond.Status == corev1.ConditionFalse && cond.Message != "" {
			return " (" + cond.Message + ")"
		}
	}
	return ""
}

// crdFinalizerNudge is the annotation WaitForDeleted sets on a
// CustomResourceDefinition whose deletion kube-apiserver's CRD finalizer
// failed, and crdNudgeEvery how often at most.
const (
	crdFinalizerNudge = "spinops.io/retry-deletion"
	crdNudgeEvery     = 5 * time.Second
)

// CRDGVK and CRDGVR name apiextensions.k8s.io/v1 CustomResourceDefinitions.
var (
	CRDGVK = schema.GroupVersionKind{Group: "apiextensions.k8s.io", Version: "v1", Kind: "CustomResourceDefinition"}
	CRDGVR = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
)

// crdFinalizerFailed reports whether a CustomResourceDefinition's deletion
// is waiting for kube-apiserver's CRD finalizer to try again after a
// failure: its Terminating condition says the custom resources could not
// be listed or deleted (InstanceDeletionFailed) or not confirmed gone
// (InstanceDeletionCheck).
func crdFinalizerFailed(obj *unstructured.Unstructured) bool {
	if obj.GroupVersionKind().GroupKind() != CRDGVK.GroupKind() {
		return false
	}
	m := TrueCondition(obj, "Terminating")
	r, _ := m["reason"].(string)
	return r == "InstanceDeletionFailed" || r == "InstanceDeletionCheck"
}

// WaitForDeleted waits until the object is gone, or its kind is no longer
// served. While it lingers the progress names its finalizers.
//
// A CustomResourceDefinition whose deletion kube-apiserver's CRD finalizer
// failed (it lists and deletes every custom resource of the kind first; a
// list fails while the kind's storage is (re)initializing, or when a stored
// object cannot be converted) is retried by that controller only after an
// exponential back-off per CRD — 5 ms doubled after every failure, up to
// 1,000 s (client-go's DefaultTypedControllerRateLimiter, which the
// finalizer's queue uses; AddRateLimited after a failed sync) — so a cause
// that lasted a minute can keep the CRD Terminating for another. Any change
// to the CRD other than that condition makes the finalizer try again at
// once (its update handler calls Add; apiextensions-apiserver
// pkg/controller/finalizer/crd_finalizer.go), so while the condition says
// the last try failed, the wait sets the annotation spinops.io/retry-deletion
// at most every 5 s.
func (c *Client) WaitForDeleted(ctx context.Context, gvk schema.GroupVersionKind, namespace, name string, timeout time.Duration) error {
	ref := objectRef(gvk, namespace, name)
	var nudged time.Time
	err := WaitFor(ctx, pollInterval, timeout, func(ctx context.Context) (bool, string, error) {
		obj, err := c.Get(ctx, gvk, namespace, name)
		if apierrors.IsNotFound(err) || meta.IsNoMatchError(err) {
			return true, "", nil
		}
		if err != nil {
			return false, "", err
		}
		if obj.GetDeletionTimestamp() == nil {
			return false, "the object still exists and is not being deleted", nil
		}
		progress := "the object is being deleted"
		if crdFinalizerFailed(obj) && time.Since(nudged) >= crdNudgeEvery {
			nudged = time.Now()
			patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, crdFinalizerNudge, nudged.UTC().Format(time.RFC3339Nano))
			if _, err := c.Dynamic.Resource(CRDGVR).Patch(ctx, name, types.MergePatchType, []byte(patch), metav1.PatchOptions{FieldManager: FieldManager}); err != nil && !apierrors.IsNotFound(err) {
				progress += fmt.Sprintf(" (asking kube-apiserver's CRD finalizer to try again failed: %v)", err)
			}
		}
		if f := obj.GetFinalizers(); len(f) > 0 {
			progress += "; finalizers left: " + strings.Join(f, ", ")
		}
		return false, progress + terminatingCondition(obj), nil
	})
	if err != nil {
		return fmt.Errorf("waiting for %s to be deleted: %w", Describe(ref), err)
	}
	return nil
}

// terminatingCondition is what an object being deleted says of its own
// deletion, when it says anything: kube-apiserver's CRD finalizer sets the
// condition Terminating on a CustomResourceDefinition while it deletes the
// custom resources (InstanceDeletionInProgress, or InstanceDeletionCheck /
// InstanceDeletionFailed with the reason it is stuck, such as a resource
// that keeps its own finalizer).
func terminatingCondition(obj *unstructured.Unstructured) string {
	m := TrueCondition(obj, "Terminating")
	if m == nil {
		return ""
	}
	out := "; Terminating"
	if r, _ := m["reason"].(string); r != "" {
		out += " (" + r + ")"
	}
	if msg, _ := m["message"].(string); msg != "" {
		out += ": " + msg
	}
	return out
}

// TrueCondition is the status condition of type typ with status True, or
// nil.
func TrueCondition(obj *unstructured.Unstructured, typ string) map[string]any {
	conds, _, _ := unstructured.NestedSlice(obj.Object, "status", "conditions")
	for _, cond := range conds {
		if m, _ := cond.(map[string]any); m["type"] == typ && m["status"] == "True" {
			return m
		}
	}
	return nil
}

// CRDEstablished reports whether a CustomResourceDefinition's status has
// the condition Established=True (the API server serves its kind).
func CRDEstablished(crd *unstructured.Unstructured) bool {
	return TrueCondition(crd, "Established") != nil
}
