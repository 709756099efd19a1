package backup

import (
	"context"
	"fmt"
	"strconv"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
)

// RunPolicyNow runs one backup of a spinops_backup_policy now and waits for
// it: a Job from the policy's CronJob template, made the way `kubectl
// create job --from=cronjob/NAME` makes it (the template's spec and
// labels, the annotation cronjob.kubernetes.io/instantiate=manual, the
// CronJob as owner). It returns when the Job completed, or an error naming
// the Job and its failure when it failed or timeout passed — what a zone
// upgrade with backup_before_upgrade needs before it goes on.
func RunPolicyNow(ctx context.Context, cs kubernetes.Interface, namespace, policy, reason string, timeout time.Duration) (*batchv1.Job, error) {
	name := ObjectName(policy)
	cj, err := cs.BatchV1().CronJobs(namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		if apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("backup policy %s/%s has no CronJob %s: create the spinops_backup_policy first", namespace, policy, name)
		}
		return nil, fmt.Errorf("reading the CronJob of backup policy %s/%s: %w", namespace, policy, err)
	}
	suffix := "-" + reason + "-" + strconv.FormatInt(time.Now().Unix(), 36)
	jobName := name
	if len(jobName)+len(suffix) > 63 {
		jobName = jobName[:63-len(suffix)]
	}
	jobName += suffix
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{
			Name: jobName, Namespace: namespace,
			Labels:          cj.Spec.JobTemplate.Labels,
			Annotations:     map[string]string{"cronjob.kubernetes.io/instantiate": "manual", PolicyAnnotation + "-reason": reason},
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(cj, batchv1.SchemeGroupVersion.WithKind("CronJob"))},
		},
		Spec: cj.Spec.JobTemplate.Spec,
	}
	job, err = cs.BatchV1().Jobs(namespace).Create(ctx, job, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("starting a backup Job from %s/%s: %w", namespace, name, err)
	}
	var last *batchv1.Job
	err = wait.PollUntilContextTimeout(ctx, time.Second, timeout, true, func(ctx context.Context) (bool, error) {
		j, err := cs.BatchV1().Jobs(namespace).Get(ctx, job.Name, metav1.GetOptions{})
		if err != nil {
			return false, nil //nolint:nilerr // transient: keep polling until the timeout
		}
		last = j
		for _, c := range j.Status.Conditions {
			if c.Status != corev1.ConditionTrue {
				continue
			}
			switch c.Type {
			case batchv1.JobComplete:
				return true, nil
			case batchv1.JobFailed:
				return false, fmt.Errorf("backup Job %s/%s failed (%s): %s; see `kubectl logs -n %s job/%s`", namespace, j.Name, c.Reason, c.Message, namespace, j.Name)
			}
		}
		return false, nil
	})
	if err != nil {
		if wait.Interrupted(err) {
			active := int32(0)
			if last != nil {
				active = last.Status.Active
			}
			return last, fmt.Errorf("backup Job %s/%s did not finish within %s (%d pods active): the upgrade was not started", namespace, job.Name, timeout, active)
		}
		return last, err
	}
	return last, nil
}
