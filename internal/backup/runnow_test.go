package backup_test

import (
	"context"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"

	"github.com/spinops/terraform-provider-spinops/internal/backup"
	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

// playKubelet ends every pod of the namespace in phase (there is no kubelet
// here; the Job controller of the real kube-controller-manager counts them).
func playKubelet(ctx context.Context, cs kubernetes.Interface, ns string, phase corev1.PodPhase) {
	for ctx.Err() == nil {
		pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err == nil {
			for _, p := range pods.Items {
				if p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
					continue
				}
				p.Status.Phase = phase
				code := int32(0)
				if phase == corev1.PodFailed {
					code = 1
				}
				p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "spinops", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code, Reason: "Completed"}}}}
				_, _ = cs.CoreV1().Pods(ns).UpdateStatus(ctx, &p, metav1.UpdateOptions{})
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// The backend of spinops_zone's backup_before_upgrade: one Job from the
// policy's CronJob, waited for; a failed backup is an error naming the Job.
func TestRunPolicyNow(t *testing.T) {
	c := testenv.StartCluster(t, testenv.WithControllerManager())
	cs := c.Clientset()
	ns := c.Namespace(t)
	ctx := ctxTimeout(t, 3*time.Minute)
	pol := backup.Policy{Name: "spinnaker", Namespace: ns, Schedule: "@daily", Image: "ghcr.io/spinops/spinops:test",
		Config: backup.Config{Destination: backup.StoreConfig{URL: "s3://b/p"}, Bucket: &backup.StoreConfig{URL: "s3://front50/"}}}
	objs, err := pol.Objects()
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		if o.GetKind() != "CronJob" {
			continue
		}
		var cj batchv1.CronJob
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &cj); err != nil {
			t.Fatal(err)
		}
		if _, err := cs.BatchV1().CronJobs(ns).Create(ctx, &cj, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := backup.RunPolicyNow(ctx, cs, ns, "missing", "upgrade", time.Minute); err == nil || !strings.Contains(err.Error(), "create the spinops_backup_policy first") {
		t.Errorf("unknown policy: %v", err)
	}

	kctx, stopKubelet := context.WithCancel(ctx)
	go playKubelet(kctx, cs, ns, corev1.PodSucceeded)
	job, err := backup.RunPolicyNow(ctx, cs, ns, "spinnaker", "upgrade", 2*time.Minute)
	stopKubelet()
	if err != nil {
		t.Fatalf("a succeeding backup Job: %v", err)
	}
	if job.Annotations["cronjob.kubernetes.io/instantiate"] != "manual" || job.OwnerReferences[0].Kind != "CronJob" || job.Spec.Template.Spec.Containers[0].Args[1] != "run" {
		t.Errorf("the Job is not made like `kubectl create job --from=cronjob`: %+v", job.ObjectMeta)
	}

	// A failing backup (no retries, to keep the test short) refuses.
	// The CronJob controller writes the CronJob's status as it sees the
	// Job above: read and write again when that comes in between.
	if err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cj, err := cs.BatchV1().CronJobs(ns).Get(ctx, backup.ObjectName("spinnaker"), metav1.GetOptions{})
		if err != nil {
			return err
		}
		cj.Spec.JobTemplate.Spec.BackoffLimit = ptr.To[int32](0)
		_, err = cs.BatchV1().CronJobs(ns).Update(ctx, cj, metav1.UpdateOptions{})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	kctx, stopKubelet = context.WithCancel(ctx)
	defer stopKubelet()
	go playKubelet(kctx, cs, ns, corev1.PodFailed)
	_, err = backup.RunPolicyNow(ctx, cs, ns, "spinnaker", "upgrade", 2*time.Minute)
	if err == nil || !strings.Contains(err.Error(), "failed") || !strings.Contains(err.Error(), "kubectl logs") {
		t.Errorf("a failing backup Job: %v", err)
	}
}
