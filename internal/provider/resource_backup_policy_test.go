package provider

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	tfresource "github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8stypes "k8s.io/apimachinery/pkg/types"

	"github.com/spinops/terraform-provider-spinops/internal/backup"
	awscloud "github.com/spinops/terraform-provider-spinops/internal/cloud/aws"
	"github.com/spinops/terraform-provider-spinops/internal/testenv"
	"github.com/spinops/terraform-provider-spinops/internal/version"
)

const (
	accBackupPassword   = "tf-acc-backup-password-4711"
	accBackupSigningKey = "tf-acc-backup-signing-key-0123456789abcdef"
)

func TestBackupPolicySchemaIsValid(t *testing.T) {
	var resp resource.SchemaResponse
	newBackupPolicyResource().Schema(context.Background(), resource.SchemaRequest{}, &resp)
	if resp.Diagnostics.HasError() {
		t.Fatal(resp.Diagnostics)
	}
	if d := resp.Schema.ValidateImplementation(context.Background()); d.HasError() {
		t.Fatal(d)
	}
}

// withoutSigningKey is config without signing_key_wo, its version set to
// version.
func withoutSigningKey(t *testing.T, config string, version int) string {
	t.Helper()
	out := regexp.MustCompile(`(?m)^  signing_key_wo         = ".*"\n`).ReplaceAllString(config, "")
	out = strings.Replace(out, "signing_key_wo_version = 1", fmt.Sprintf("signing_key_wo_version = %d", version), 1)
	if out == config || !strings.Contains(out, fmt.Sprintf("signing_key_wo_version = %d", version)) {
		t.Fatal("withoutSigningKey: the configuration's signing key is not where it is expected")
	}
	return out
}

func backupPolicyConfig(kubeconfig, ns, endpoint, bucket, dbHost string, dbPort int, db, schedule string, pitr bool, countKeep int) string {
	return fmt.Sprintf(`
provider "spinops" {
  kubernetes {
    config_path = %[1]q
  }
}

resource "spinops_backup_policy" "this" {
  name      = "spinnaker"
  namespace = %[2]q
  schedule  = %[8]q

  signing_key_wo         = %[12]q
  signing_key_wo_version = 1

  retention {
    count = %[10]d
  }
  drill {
    schedule = "30 3 * * *"
  }
  sources {
    mysql {
      host                = %[5]q
      port                = %[6]d
      user                = "root"
      password_wo         = %[11]q
      password_wo_version = 1
      databases           = [%[7]q]
    }
  }
  destination {
    s3 {
      bucket     = %[4]q
      prefix     = "spinnaker"
      endpoint   = %[3]q
      path_style = true
    }
  }
  point_in_time {
    enabled = %[9]t
  }
}

data "spinops_backups" "all" {
  destination {
    s3 {
      bucket           = %[4]q
      prefix           = "spinnaker"
      endpoint         = %[3]q
      force_path_style = true
    }
  }
  depends_on = [spinops_backup_policy.this]
}
`, kubeconfig, ns, endpoint, bucket, dbHost, dbPort, db, schedule, pitr, countKeep, accBackupPassword, accBackupSigningKey)
}

// backupPolicyEnv is what a backup policy test runs against: the shared
// cluster, MariaDB and moto (its endpoint and credentials in the
// environment, as the provider reads them), a namespace and a database.
func backupPolicyEnv(t *testing.T) (*testenv.Cluster, *testenv.MariaDB, *testenv.Moto, string, string) {
	t.Helper()
	c := testenv.SharedCluster(t)
	mdb := testenv.SharedMariaDB(t)
	moto := testenv.SharedMoto(t)
	moto.SetEnv(t)
	return c, mdb, moto, c.Namespace(t), mdb.Database(t)
}

// backupBucket makes a bucket in moto for the backups.
func backupBucket(t *testing.T, moto *testenv.Moto) (*s3.Client, string) {
	t.Helper()
	cfg := aws.Config{Region: testenv.MotoRegion, Credentials: credentials.NewStaticCredentialsProvider(testenv.MotoAccessKeyID, testenv.MotoSecretAccessKey, "")}
	s3c := awscloud.NewS3Client(cfg, awscloud.Endpoints{}, awscloud.S3Options{Endpoint: moto.Endpoint, PathStyle: true})
	bucket := testenv.UniqueName("tf-acc-test-", 8)
	if _, err := s3c.CreateBucket(t.Context(), &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	return s3c, bucket
}

// TestAccBackupPolicy_serviceAccountMustExist: with service_account_name,
// the policy is refused while that ServiceAccount is missing (Kubernetes
// would create no backup pod and no archiver pod, and nothing in Terraform
// would say so; examples/aws-complete's first apply found it), with a
// message that says what to create; once it exists the policy applies and
// its pods run as it.
func TestAccBackupPolicy_serviceAccountMustExist(t *testing.T) {
	if testing.Short() {
		t.Skip("acceptance test")
	}
	c, mdb, moto, ns, db := backupPolicyEnv(t)
	_, bucket := backupBucket(t, moto)
	conf := strings.Replace(backupPolicyConfig(c.Kubeconfig, ns, moto.Endpoint, bucket, mdb.Host, mdb.Port, db, "0 */6 * * *", true, 7),
		`name      = "spinnaker"`, `name      = "spinnaker"
  service_account_name = "spinops-backup"`, 1)
	name := backup.ObjectName("spinnaker")
	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []tfresource.TestStep{
			{
				Config:      conf,
				ExpectError: regexp.MustCompile(`(?s)ServiceAccount "spinops-backup" does not exist in namespace\s+` + ns + `.*no backup would\s+run.*Create it first`),
			},
			{
				PreConfig: func() {
					// Refused before anything was applied.
					if _, err := c.Clientset().BatchV1().CronJobs(ns).Get(t.Context(), name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
						t.Fatalf("the CronJob was made for a missing ServiceAccount: %v", err)
					}
					sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "spinops-backup", Namespace: ns}}
					if _, err := c.Clientset().CoreV1().ServiceAccounts(ns).Create(t.Context(), sa, metav1.CreateOptions{}); err != nil {
						t.Fatal(err)
					}
				},
				Config: conf,
				Check:  func(*terraform.State) error { return backupPodsRunAs(t, c, ns, "spinops-backup") },
			},
		},
	})
}

// backupPodsRunAs checks the ServiceAccount of the backup CronJob's pods.
func backupPodsRunAs(t *testing.T, c *testenv.Cluster, ns, sa string) error {
	cj, err := c.Clientset().BatchV1().CronJobs(ns).Get(t.Context(), backup.ObjectName("spinnaker"), metav1.GetOptions{})
	if err != nil {
		return err
	}
	if got := cj.Spec.JobTemplate.Spec.Template.Spec.ServiceAccountName; got != sa {
		return fmt.Errorf("the backup pods run as %q, want %s", got, sa)
	}
	return nil
}

func TestAccBackupPolicy_basic(t *testing.T) {
	if testing.Short() {
		t.Skip("acceptance test")
	}
	c, mdb, moto, ns, db := backupPolicyEnv(t)

	// A backup made by the engine, as the CronJob would make it.
	s3c, bucket := backupBucket(t, moto)
	eng := &backup.Engine{Dest: backup.NewS3Store(s3c, backup.Location{Scheme: "s3", Bucket: bucket, Prefix: "spinnaker/"})}
	m, err := eng.Run(t.Context(), backup.RunOptions{
		MySQL:     &backup.MySQLServer{Host: mdb.Host, Port: mdb.Port, User: mdb.RootUser, Password: mdb.RootPassword},
		Databases: []string{db},
	})
	if err != nil {
		t.Fatal(err)
	}
	conf := func(schedule string, pitr bool) string {
		return backupPolicyConfig(c.Kubeconfig, ns, moto.Endpoint, bucket, mdb.Host, mdb.Port, db, schedule, pitr, 7)
	}
	name := backup.ObjectName("spinnaker")
	readOnly := func(config string) string {
		return strings.ReplaceAll(config, fmt.Sprintf("config_path = %q", c.Kubeconfig),
			fmt.Sprintf("host = %q\n    cluster_ca_certificate = file(%q)\n    token = %q", c.Host, c.CAFile, c.NobodyToken))
	}
	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: append([]tfresource.TestStep{
			{
				Config:      conf("every hour", true),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)Invalid schedule.*schedule  = "every hour".*expected\s+exactly 5 fields`),
			},
			{
				Config: conf("0 */6 * * *", true),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("spinops_backup_policy.this", tfjsonpath.New("id"), knownvalue.StringExact(ns+"/spinnaker")),
					// No image in the configuration: the release's own.
					statecheck.ExpectKnownValue("spinops_backup_policy.this", tfjsonpath.New("image"), knownvalue.StringExact(version.Image())),
					statecheck.ExpectKnownValue("spinops_backup_policy.this", tfjsonpath.New("last_successful_backup"), knownvalue.StringExact(m.ID)),
					statecheck.ExpectKnownValue("spinops_backup_policy.this", tfjsonpath.New("next_run"), knownvalue.StringRegexp(regexp.MustCompile(`T(00|06|12|18):00:00Z$`))),
					statecheck.ExpectKnownValue("data.spinops_backups.all", tfjsonpath.New("latest"), knownvalue.StringExact(m.ID)),
					statecheck.ExpectKnownValue("data.spinops_backups.all", tfjsonpath.New("backups").AtSliceIndex(0).AtMapKey("databases"), knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact(db)})),
					statecheck.ExpectKnownValue("data.spinops_backups.all", tfjsonpath.New("backups").AtSliceIndex(0).AtMapKey("binlog_file"), knownvalue.NotNull()),
				},
				Check: tfresource.ComposeTestCheckFunc(
					checkNoSecretInState(accBackupPassword),
					checkNoSecretInState(accBackupSigningKey),
					func(*terraform.State) error {
						ctx := t.Context()
						cs := c.Clientset()
						sec, err := cs.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
						if err != nil {
							return err
						}
						if string(sec.Data["mysql-password"]) != accBackupPassword {
							return fmt.Errorf("the Secret does not hold the password")
						}
						cm, err := cs.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
						if err != nil {
							return err
						}
						if regexp.MustCompile(accBackupPassword).MatchString(cm.Data[backup.ConfigKey]) {
							return fmt.Errorf("the ConfigMap holds the password")
						}
						cj, err := cs.BatchV1().CronJobs(ns).Get(ctx, name, metav1.GetOptions{})
						if err != nil {
							return err
						}
						if img := cj.Spec.JobTemplate.Spec.Template.Spec.Containers[0].Image; img != version.Image() {
							return fmt.Errorf("CronJob image %q, want the release's own %q", img, version.Image())
						}
						if cj.Spec.Schedule != "0 */6 * * *" || cj.Spec.JobTemplate.Spec.Template.Spec.Containers[0].Args[1] != "run" {
							return fmt.Errorf("CronJob: schedule %q args %v", cj.Spec.Schedule, cj.Spec.JobTemplate.Spec.Template.Spec.Containers[0].Args)
						}
						if _, err := cs.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{}); err != nil {
							return fmt.Errorf("binlog archiver Deployment: %w", err)
						}
						if string(sec.Data["signing-key"]) != accBackupSigningKey {
							return fmt.Errorf("the Secret does not hold the signing key")
						}
						drill, err := cs.BatchV1().CronJobs(ns).Get(ctx, backup.DrillObjectName("spinnaker"), metav1.GetOptions{})
						if err != nil {
							return fmt.Errorf("drill CronJob: %w", err)
						}
						if a := drill.Spec.JobTemplate.Spec.Template.Spec.Containers[0].Args; drill.Spec.Schedule != "30 3 * * *" || a[1] != "verify" || a[2] != "--drill" {
							return fmt.Errorf("drill CronJob: schedule %q args %v", drill.Spec.Schedule, a)
						}
						return nil
					},
				),
			},
			{
				// The signing key left out of an update (the schedule
				// changed) with its version unchanged: the apply would
				// write the Secret without it and backups would go
				// unsigned. Refused; with a new version it is planned.
				Config:      withoutSigningKey(t, conf("0 */4 * * *", true), 1),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)Missing signing_key_wo.*signing_key_wo_version = 1`),
			},
			{
				// The same while the provider's connection is known only
				// after apply: the Secret cannot be read during the plan,
				// and what the last apply wrote (signing_key_wo_version)
				// says it holds the key. Refused all the same.
				Config: strings.Replace(withoutSigningKey(t, conf("0 */4 * * *", true), 1), fmt.Sprintf("config_path = %q", c.Kubeconfig),
					"config_path = terraform_data.cluster.output", 1) + fmt.Sprintf(`
resource "terraform_data" "cluster" {
  input = %q
}
`, c.Kubeconfig),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)Missing signing_key_wo.*signing_key_wo_version = 1`),
			},
			{
				// The applied configuration while the connection is known
				// only after apply: planned as an update that applies the
				// policy again (pending.go), what the apply reads back
				// unknown; applied on the same cluster, it changes nothing
				// and the Secret still holds the key.
				Config: strings.Replace(conf("0 */6 * * *", true), fmt.Sprintf("config_path = %q", c.Kubeconfig),
					"config_path = terraform_data.cluster.output", 1) + fmt.Sprintf(`
resource "terraform_data" "cluster" {
  input = %q
}
`, c.Kubeconfig),
				ConfigPlanChecks: tfresource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("spinops_backup_policy.this", plancheck.ResourceActionUpdate),
					plancheck.ExpectUnknownValue("spinops_backup_policy.this", tfjsonpath.New("drifted_objects")),
					plancheck.ExpectUnknownValue("spinops_backup_policy.this", tfjsonpath.New("last_successful_backup")),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("spinops_backup_policy.this", tfjsonpath.New("last_successful_backup"), knownvalue.StringExact(m.ID)),
				},
				Check: func(*terraform.State) error {
					sec, err := c.Clientset().CoreV1().Secrets(ns).Get(t.Context(), name, metav1.GetOptions{})
					if err != nil {
						return err
					}
					if string(sec.Data["signing-key"]) != accBackupSigningKey || string(sec.Data["mysql-password"]) != accBackupPassword {
						return fmt.Errorf("the Secret lost the signing key or the password")
					}
					return nil
				},
			},
			{Config: conf("0 */6 * * *", true)}, // terraform_data gone again: nothing else changes
			{
				Config:             withoutSigningKey(t, conf("0 */4 * * *", true), 2),
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
			{Config: conf("0 */6 * * *", true), PlanOnly: true}, // the applied configuration again
			{
				ResourceName:            "spinops_backup_policy.this",
				ImportState:             true,
				ImportStateId:           ns + "/spinnaker",
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"kubernetes", "timeouts", "last_drill"},
			},
			{
				// Drift: edits made behind Terraform's back, each as kubectl
				// makes it (its own field manager), are listed on refresh
				// and put back by the apply: the schedule changed and the
				// CronJob suspended, the configuration in the ConfigMap
				// pointed at another bucket, the archiver scaled to 0, the
				// drill CronJob deleted, the signing key taken out of the
				// Secret.
				PreConfig: func() {
					ctx, cs := t.Context(), c.Clientset()
					patch := func(what string, err error) {
						if err != nil {
							t.Fatalf("%s outside Terraform: %v", what, err)
						}
					}
					_, err := cs.BatchV1().CronJobs(ns).Patch(ctx, name, k8stypes.MergePatchType,
						[]byte(`{"spec":{"schedule":"@yearly","suspend":true}}`), metav1.PatchOptions{FieldManager: "kubectl-patch"})
					patch("suspending the CronJob", err)
					cm, err := cs.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
					patch("reading the ConfigMap", err)
					if !strings.Contains(cm.Data[backup.ConfigKey], bucket) {
						t.Fatalf("the configuration names no bucket %s: %s", bucket, cm.Data[backup.ConfigKey])
					}
					cm.Data[backup.ConfigKey] = strings.ReplaceAll(cm.Data[backup.ConfigKey], bucket, "someone-elses-bucket")
					_, err = cs.CoreV1().ConfigMaps(ns).Update(ctx, cm, metav1.UpdateOptions{FieldManager: "kubectl-edit"})
					patch("editing the ConfigMap", err)
					patch("scaling the archiver to 0", scaleToZeroByHand(ctx, cs, ns, name))
					patch("deleting the drill CronJob", cs.BatchV1().CronJobs(ns).Delete(ctx, backup.DrillObjectName("spinnaker"), metav1.DeleteOptions{}))
					_, err = cs.CoreV1().Secrets(ns).Patch(ctx, name, k8stypes.JSONPatchType,
						[]byte(`[{"op":"remove","path":"/data/signing-key"}]`), metav1.PatchOptions{FieldManager: "kubectl-patch"})
					patch("removing the signing key", err)
				},
				Config: conf("0 */6 * * *", true),
				ConfigPlanChecks: driftPlanChecks("spinops_backup_policy.this",
					"ConfigMap "+ns+"/"+name+": changed: data",
					"CronJob "+ns+"/"+name+"-drill: deleted",
					"CronJob "+ns+"/"+name+": changed: spec.schedule, spec.suspend",
					"Deployment "+ns+"/"+name+": changed: spec.replicas",
					"Secret "+ns+"/"+name+": changed: data",
				),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("spinops_backup_policy.this", tfjsonpath.New("drifted_objects"), knownvalue.ListExact(nil)),
				},
				Check: func(*terraform.State) error {
					ctx, cs := t.Context(), c.Clientset()
					cj, err := cs.BatchV1().CronJobs(ns).Get(ctx, name, metav1.GetOptions{})
					if err != nil {
						return err
					}
					if cj.Spec.Schedule != "0 */6 * * *" || cj.Spec.Suspend == nil || *cj.Spec.Suspend {
						return fmt.Errorf("the CronJob was not put back: schedule %q, suspend %v", cj.Spec.Schedule, cj.Spec.Suspend)
					}
					cm, err := cs.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
					if err != nil {
						return err
					}
					if strings.Contains(cm.Data[backup.ConfigKey], "someone-elses-bucket") {
						return fmt.Errorf("the configuration was not put back: %s", cm.Data[backup.ConfigKey])
					}
					d, err := cs.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
					if err != nil {
						return err
					}
					if d.Spec.Replicas == nil || *d.Spec.Replicas != 1 {
						return fmt.Errorf("the archiver was not scaled back: %v", d.Spec.Replicas)
					}
					if _, err := cs.BatchV1().CronJobs(ns).Get(ctx, backup.DrillObjectName("spinnaker"), metav1.GetOptions{}); err != nil {
						return fmt.Errorf("the drill CronJob was not made again: %w", err)
					}
					sec, err := cs.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
					if err != nil {
						return err
					}
					if string(sec.Data["signing-key"]) != accBackupSigningKey {
						return fmt.Errorf("the signing key was not written back")
					}
					return nil
				},
			},
			{
				// Nothing left to put back: an empty plan.
				Config:   conf("0 */6 * * *", true),
				PlanOnly: true,
			},
			// A plan with read-only credentials (a plan-only pipeline):
			// without Secrets first, as Kubernetes' "view" role, then with
			// them but still without the right to patch, which the dry run
			// needs. Both plans work, the check skipped with a warning, and
			// are empty: drifted_objects keeps its value.
			{
				PreConfig: func() { grantNobodyBackupReads(t, c, ns, false) },
				Config:    readOnly(conf("0 */6 * * *", true)),
				PlanOnly:  true,
			},
			{
				PreConfig: func() { grantNobodyBackupReads(t, c, ns, true) },
				Config:    readOnly(conf("0 */6 * * *", true)),
				PlanOnly:  true,
			},
			{
				// Point in time off: the archiver goes away.
				Config: conf("0 */6 * * *", false),
				Check: func(*terraform.State) error {
					cj, err := c.Clientset().BatchV1().CronJobs(ns).Get(t.Context(), name, metav1.GetOptions{})
					if err != nil {
						return err
					}
					if cj.Spec.Schedule != "0 */6 * * *" {
						return fmt.Errorf("drift not corrected: schedule %q", cj.Spec.Schedule)
					}
					if _, err := c.Clientset().AppsV1().Deployments(ns).Get(t.Context(), name, metav1.GetOptions{}); err == nil {
						return fmt.Errorf("the archiver Deployment is still there")
					}
					// Its metrics are served by a Deployment of their own.
					d, err := c.Clientset().AppsV1().Deployments(ns).Get(t.Context(), backup.MetricsObjectName("spinnaker"), metav1.GetOptions{})
					if err != nil {
						return fmt.Errorf("the metrics Deployment: %w", err)
					}
					if a := d.Spec.Template.Spec.Containers[0].Args; a[1] != "metrics" {
						return fmt.Errorf("the metrics Deployment runs %v", a)
					}
					return nil
				},
			},
			{
				// Point in time on again: the archiver serves the metrics.
				Config: conf("0 */6 * * *", true),
				Check: func(*terraform.State) error {
					if _, err := c.Clientset().AppsV1().Deployments(ns).Get(t.Context(), backup.MetricsObjectName("spinnaker"), metav1.GetOptions{}); err == nil {
						return fmt.Errorf("the metrics Deployment is still there beside the archiver")
					}
					return nil
				},
			},
			{
				// Off again, so destroy has a metrics Deployment to remove.
				Config: conf("0 */6 * * *", false),
			},
		}, importSteps("spinops_backup_policy.this", ns+"/spinnaker", nil, regexp.MustCompile(`(?s)Error: Missing MySQL password.*Set password_wo \(write-only\) or password_secret`))...),
		CheckDestroy: func(*terraform.State) error {
			if _, err := c.Clientset().BatchV1().CronJobs(ns).Get(t.Context(), name, metav1.GetOptions{}); err == nil {
				return fmt.Errorf("the CronJob survived destroy")
			}
			if _, err := c.Clientset().AppsV1().Deployments(ns).Get(t.Context(), backup.MetricsObjectName("spinnaker"), metav1.GetOptions{}); err == nil {
				return fmt.Errorf("the metrics Deployment survived destroy")
			}
			l, err := backup.List(t.Context(), eng.Dest)
			if err != nil || len(l.Complete) != 1 {
				return fmt.Errorf("destroy must leave the backups in place: %v backups, %v", len(l.Complete), err)
			}
			return nil
		},
	})
}

// grantNobodyBackupReads lets user "nobody" read what spinops_backup_policy
// reads in ns, Secrets only with secrets: get, list and watch, never a write.
func grantNobodyBackupReads(t *testing.T, c *testenv.Cluster, ns string, secrets bool) {
	t.Helper()
	resources := []string{"configmaps", "cronjobs", "deployments", "serviceaccounts"}
	if secrets {
		resources = append(resources, "secrets")
	}
	bindNobody(t, c, ns, "backup-reader", []rbacv1.PolicyRule{{APIGroups: []string{"", "apps", "batch"},
		Resources: resources, Verbs: []string{"get", "list", "watch"}}})
}
