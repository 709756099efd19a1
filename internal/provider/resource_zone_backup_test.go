package provider

import (
	"context"
	"fmt"
	"regexp"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	tfresource "github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfversion"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes"

	"github.com/spinops/terraform-provider-spinops/internal/backup"
	awscloud "github.com/spinops/terraform-provider-spinops/internal/cloud/aws"
	"github.com/spinops/terraform-provider-spinops/internal/spinnaker"
	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

// jobPods stands in for the kubelet of the backup Jobs' pods (there is no
// kubelet; the real kube-controller-manager's Job controller counts them):
// every pod of ns ends Succeeded, or Failed while fail is set.
func jobPods(t *testing.T, cs kubernetes.Interface, ns string, fail *atomic.Bool) {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go func() {
		for ctx.Err() == nil {
			pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
			if err == nil {
				for _, p := range pods.Items {
					if p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
						continue
					}
					phase, code := corev1.PodSucceeded, int32(0)
					if fail.Load() {
						phase, code = corev1.PodFailed, 1
					}
					p.Status.Phase = phase
					p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: p.Spec.Containers[0].Name,
						State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code, Reason: "Completed"}}}}
					_, _ = cs.CoreV1().Pods(ns).UpdateStatus(ctx, &p, metav1.UpdateOptions{})
				}
			}
			time.Sleep(200 * time.Millisecond)
		}
	}()
}

// TestAccZone_backupBeforeUpgrade: an upgrade of a zone with
// backup_before_upgrade first runs one backup of the policy (a Job from its
// CronJob) and goes on only when it succeeded. A failed backup refuses the
// upgrade and leaves the SpinnakerService at the old version; a version
// unchanged (or a first create) runs no backup.
func TestAccZone_backupBeforeUpgrade(t *testing.T) {
	c := testenv.StartCluster(t, testenv.WithControllerManager())
	cs := c.Clientset()
	opNS, redNS, polNS := c.Namespace(t), c.Namespace(t), c.Namespace(t)
	moto := testenv.SharedMoto(t)
	moto.SetEnv(t)
	cfg := aws.Config{Region: testenv.MotoRegion, Credentials: credentials.NewStaticCredentialsProvider(testenv.MotoAccessKeyID, testenv.MotoSecretAccessKey, "")}
	s3c := awscloud.NewS3Client(cfg, awscloud.Endpoints{}, awscloud.S3Options{Endpoint: moto.Endpoint, PathStyle: true})
	bucket := testenv.UniqueName("tf-acc-test-", 8)
	if _, err := s3c.CreateBucket(t.Context(), &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	var fail atomic.Bool
	jobPods(t, cs, polNS, &fail)

	config := func(version, block string) string {
		return fmt.Sprintf(`
provider "spinops" {
  kubernetes {
    config_path = %[1]q
  }
}

resource "spinops_managed_spinnaker" "this" {
  spinnaker_version = "1.35.3"
  operator {
    namespace = %[2]q
    wait      = false
  }
}

resource "spinops_backup_policy" "this" {
  name           = "spinnaker"
  namespace      = %[4]q
  schedule       = "0 3 * * *"
  image          = "ghcr.io/spinops/spinops:test"
  signing_key_wo = %[8]q
  signing_key_wo_version = 1
  sources {
    bucket {
      s3 {
        bucket     = %[5]q
        prefix     = "front50"
        endpoint   = %[6]q
        path_style = true
      }
    }
  }
  destination {
    s3 {
      bucket     = %[5]q
      prefix     = "backups"
      endpoint   = %[6]q
      path_style = true
    }
  }
}

resource "spinops_zone" "red" {
  managed_spinnaker_id = spinops_managed_spinnaker.this.id
  name                 = "red"
  tier                 = "sandbox"
  namespace            = %[3]q
  spinnaker_version    = %[7]q
  wait                 = false
  %[9]s
}
`, c.Kubeconfig, opNS, redNS, polNS, bucket, moto.Endpoint, version, accBackupSigningKey, block)
	}
	block := `backup_before_upgrade {
    policy_id = spinops_backup_policy.this.id
    timeout   = "90s"
  }`
	deployed := func(want string) func() error {
		return func() error {
			u, err := mustKube(t, c).Get(t.Context(), spinnaker.SpinnakerServiceGVK, redNS, "red")
			if err != nil {
				return err
			}
			if v, _, _ := unstructured.NestedString(u.Object, "spec", "spinnakerConfig", "config", "version"); v != want {
				return fmt.Errorf("the SpinnakerService runs %q, want %q", v, want)
			}
			return nil
		}
	}
	preUpgradeJobs := func(wantComplete, wantFailed int) error {
		jobs, err := cs.BatchV1().Jobs(polNS).List(t.Context(), metav1.ListOptions{})
		if err != nil {
			return err
		}
		complete, failed := 0, 0
		for _, j := range jobs.Items {
			if j.Annotations[backup.PolicyAnnotation+"-reason"] != "pre-upgrade" {
				continue
			}
			if j.Status.Succeeded > 0 {
				complete++
			} else {
				failed++
			}
		}
		if complete != wantComplete || failed != wantFailed {
			return fmt.Errorf("pre-upgrade backup Jobs: %d complete, %d failed; want %d and %d", complete, failed, wantComplete, wantFailed)
		}
		return nil
	}
	check := func(f func() error) tfresource.TestCheckFunc { return func(*terraform.State) error { return f() } }
	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		TerraformVersionChecks:   []tfversion.TerraformVersionCheck{tfversion.SkipBelow(tfversion.Version1_11_0)},
		Steps: []tfresource.TestStep{
			{
				// Create: nothing to back up yet.
				Config: config("1.35.3", block),
				Check:  tfresource.ComposeTestCheckFunc(check(deployed("1.35.3")), check(func() error { return preUpgradeJobs(0, 0) })),
			},
			{
				PreConfig:   func() { fail.Store(true) },
				Config:      config("1.36.1", block),
				ExpectError: regexp.MustCompile(`(?s)Backup before the upgrade failed.*was not started and the zone is\s+unchanged.*failed`),
			},
			{
				// The failed backup left the zone at 1.35.3 (checked before
				// this apply) and the backup works again: the upgrade runs.
				PreConfig: func() {
					if err := deployed("1.35.3")(); err != nil {
						t.Fatalf("after a failed pre-upgrade backup: %v", err)
					}
					if err := preUpgradeJobs(0, 1); err != nil {
						t.Fatal(err)
					}
					fail.Store(false)
				},
				Config: config("1.36.1", block),
				Check:  tfresource.ComposeTestCheckFunc(check(deployed("1.36.1")), check(func() error { return preUpgradeJobs(1, 1) })),
			},
			{
				// A change that is not an upgrade runs no backup.
				Config: config("1.36.1", block+`
  profiles = { gate = "server:\n  port: 8084\n" }`),
				Check: check(func() error { return preUpgradeJobs(1, 1) }),
			},
		},
	})
}
