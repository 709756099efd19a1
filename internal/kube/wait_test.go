package kube

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/utils/ptr"
)

func TestWaitFor_timeoutKeepsLastProgress(t *testing.T) {
	calls := 0
	err := WaitFor(context.Background(), 5*time.Millisecond, 50*time.Millisecond, func(context.Context) (bool, string, error) {
		calls++
		if calls == 1 {
			return false, "first look", nil
		}
		return false, "1 of 2 replicas available", nil
	})
	var we *WaitError
	if !errors.As(err, &we) {
		t.Fatalf("err = %v, want *WaitError", err)
	}
	if want := "timed out after 50ms; still waiting: 1 of 2 replicas available"; err.Error() != want {
		t.Errorf("message = %q, want %q", err.Error(), want)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Error("a timeout should match context.DeadlineExceeded")
	}
}

func TestWaitFor_doneAtOnce(t *testing.T) {
	start := time.Now()
	err := WaitFor(context.Background(), time.Hour, time.Hour, func(context.Context) (bool, string, error) { return true, "", nil })
	if err != nil || time.Since(start) > time.Second {
		t.Fatalf("err = %v after %v, want an immediate success", err, time.Since(start))
	}
}

func TestWaitFor_conditionErrorEndsWait(t *testing.T) {
	boom := errors.New("boom")
	err := WaitFor(context.Background(), time.Millisecond, time.Hour, func(context.Context) (bool, string, error) { return false, "", boom })
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want the condition's error", err)
	}
}

func TestWaitFor_cancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	err := WaitFor(ctx, time.Millisecond, time.Hour, func(context.Context) (bool, string, error) {
		cancel()
		return false, "still rolling", nil
	})
	if err == nil || !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "wait cancelled; still waiting: still rolling") {
		t.Fatalf("err = %v, want a cancelled wait naming the last progress", err)
	}
}

func deployment(replicas, updated, available, total int32) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: "spinnaker", Name: "spinnaker-operator", Generation: 2},
		Spec:       appsv1.DeploymentSpec{Replicas: ptr.To(replicas)},
		Status: appsv1.DeploymentStatus{
			ObservedGeneration: 2,
			Replicas:           total,
			UpdatedReplicas:    updated,
			AvailableReplicas:  available,
		},
	}
}

func TestDeploymentRolledOut(t *testing.T) {
	stale := deployment(1, 1, 1, 1)
	stale.Status.ObservedGeneration = 1
	failed := deployment(1, 0, 0, 1)
	failed.Status.Conditions = []appsv1.DeploymentCondition{{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionFalse, Reason: "ProgressDeadlineExceeded", Message: `ReplicaSet "x" has timed out progressing.`}}
	unavailable := deployment(2, 2, 1, 2)
	unavailable.Status.Conditions = []appsv1.DeploymentCondition{{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionFalse, Message: "Deployment does not have minimum availability."}}

	for name, tc := range map[string]struct {
		d        *appsv1.Deployment
		done     bool
		progress string
		err      string
	}{
		"rolled out":        {d: deployment(2, 2, 2, 2), done: true},
		"generation stale":  {d: stale, progress: "generation 2 not yet observed"},
		"updating":          {d: deployment(3, 1, 1, 3), progress: "1 of 3 replicas updated"},
		"old pods left":     {d: deployment(2, 2, 2, 3), progress: "1 old replicas pending termination"},
		"not yet available": {d: unavailable, progress: "1 of 2 updated replicas available (Deployment does not have minimum availability.)"},
		"deadline exceeded": {d: failed, err: "ProgressDeadlineExceeded"},
	} {
		t.Run(name, func(t *testing.T) {
			done, progress, err := DeploymentRolledOut(tc.d)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || done != tc.done || !strings.Contains(progress, tc.progress) {
				t.Errorf("= %v, %q, %v; want %v, %q", done, progress, err, tc.done, tc.progress)
			}
		})
	}
}

func TestWaitForDeploymentAvailable(t *testing.T) {
	defer func(d time.Duration) { pollInterval = d }(pollInterval)
	pollInterval = 5 * time.Millisecond

	c := &Client{Clientset: fake.NewClientset(deployment(2, 2, 2, 2))}
	if err := c.WaitForDeploymentAvailable(context.Background(), "spinnaker", "spinnaker-operator", time.Second); err != nil {
		t.Fatalf("available deployment: %v", err)
	}

	c = &Client{Clientset: fake.NewClientset(deployment(2, 2, 1, 2))}
	err := c.WaitForDeploymentAvailable(context.Background(), "spinnaker", "spinnaker-operator", 30*time.Millisecond)
	want := "waiting for Deployment spinnaker/spinnaker-operator to become available: timed out after 30ms; still waiting: 1 of 2 updated replicas available"
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %q", err, want)
	}

	err = c.WaitForDeploymentAvailable(context.Background(), "spinnaker", "absent", 30*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "does not exist yet") {
		t.Fatalf("err = %v, want the timeout to say the Deployment never appeared", err)
	}
}

// TestWaitFor_outOfTimeDuringALook: a look that fails only because the
// deadline came (client-go's rate limiter refuses a request that would end
// past it) gives the timeout with the last progress, not the read's error;
// a look that fails with time left still ends the wait with its error.
func TestWaitFor_outOfTimeDuringALook(t *testing.T) {
	calls := 0
	err := WaitFor(context.Background(), 20*time.Millisecond, 100*time.Millisecond, func(ctx context.Context) (bool, string, error) {
		calls++
		if dl, _ := ctx.Deadline(); time.Until(dl) < 20*time.Millisecond {
			return false, "", errors.New("client rate limiter Wait returned an error: rate: Wait(n=1) would exceed context deadline")
		}
		return false, "the object is being deleted", nil
	})
	var we *WaitError
	if !errors.As(err, &we) || we.Progress != "the object is being deleted" {
		t.Fatalf("err = %v (after %d looks), want a *WaitError with the last progress", err, calls)
	}
	err = WaitFor(context.Background(), 20*time.Millisecond, time.Minute, func(ctx context.Context) (bool, string, error) {
		return false, "", errors.New("forbidden")
	})
	if err == nil || err.Error() != "forbidden" {
		t.Fatalf("err = %v, want the look's own error", err)
	}
}
