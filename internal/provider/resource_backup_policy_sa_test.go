package provider

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	tfresource "github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/spinops/terraform-provider-spinops/internal/backup"
)

const (
	accBackupRole      = "arn:aws:iam::123456789012:role/spinops-backup"
	accBackupOtherRole = "arn:aws:iam::210987654321:role/someone-else"
)

// TestAccBackupPolicy_makesItsServiceAccount: with
// service_account_annotations the policy makes the ServiceAccount its pods
// run as (examples/aws-complete's first apply needed it made by hand),
// never takes over one it did not make, puts back what was changed behind
// its back, leaves annotations others add, lets go of the account when the
// argument goes, and deletes only what it made.
func TestAccBackupPolicy_makesItsServiceAccount(t *testing.T) {
	if testing.Short() {
		t.Skip("acceptance test")
	}
	c, mdb, moto, ns, db := backupPolicyEnv(t)
	_, bucket := backupBucket(t, moto)
	base := backupPolicyConfig(c.Kubeconfig, ns, moto.Endpoint, bucket, mdb.Host, mdb.Port, db, "0 */6 * * *", true, 7)
	conf := func(sa, annotations string) string {
		args := `name      = "spinnaker"`
		if sa != "" {
			args += fmt.Sprintf("\n  service_account_name = %q", sa)
		}
		if annotations != "" {
			args += "\n  service_account_annotations = " + annotations
		}
		return strings.Replace(base, `name      = "spinnaker"`, args, 1)
	}
	irsa := fmt.Sprintf(`{ "eks.amazonaws.com/role-arn" = %q, "example.com/team" = "platform" }`, accBackupRole)
	sas := c.Clientset().CoreV1().ServiceAccounts(ns)
	getSA := func(name string) (*corev1.ServiceAccount, error) {
		return sas.Get(t.Context(), name, metav1.GetOptions{})
	}
	// Someone else's account, which runs their pods with their role.
	foreign := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "someone-elses", Namespace: ns,
		Annotations: map[string]string{"eks.amazonaws.com/role-arn": accBackupOtherRole}}}
	if _, err := sas.Create(t.Context(), foreign, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// Another backup policy's account, which goes with that policy.
	others := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "other-policys", Namespace: ns, Labels: backup.PolicyLabels("other")}}
	if _, err := sas.Create(t.Context(), others, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	wantSA := func(name string, annotations map[string]string, owned bool) error {
		sa, err := getSA(name)
		if err != nil {
			return fmt.Errorf("the ServiceAccount %s: %w", name, err)
		}
		for k, v := range annotations {
			if sa.Annotations[k] != v {
				return fmt.Errorf("ServiceAccount %s has %s=%q, want %q (all: %v)", name, k, sa.Annotations[k], v, sa.Annotations)
			}
		}
		if got := backup.OwnsServiceAccount(sa.Labels, "spinnaker"); got != owned {
			return fmt.Errorf("ServiceAccount %s is the policy's: %t, want %t (labels %v)", name, got, owned, sa.Labels)
		}
		return nil
	}
	gone := func(name string) error {
		if _, err := getSA(name); !apierrors.IsNotFound(err) {
			return fmt.Errorf("ServiceAccount %s should be gone: %v", name, err)
		}
		return nil
	}
	name := backup.ObjectName("spinnaker")
	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy: func(*terraform.State) error {
			// What it made goes; what it let go of, and what was never
			// its, stay.
			if err := gone("spinops-backup-4"); err != nil {
				return err
			}
			if err := wantSA("victim", map[string]string{"eks.amazonaws.com/role-arn": accBackupOtherRole}, true); err != nil {
				return err
			}
			if err := wantSA("spinops-backup", map[string]string{"eks.amazonaws.com/role-arn": accBackupRole}, false); err != nil {
				return err
			}
			return wantSA("someone-elses", map[string]string{"eks.amazonaws.com/role-arn": accBackupOtherRole}, false)
		},
		Steps: []tfresource.TestStep{
			// Plan time: a role name where the ARN belongs, an e-mail that
			// is no Google service account, annotations without a name.
			{
				Config:      conf("spinops-backup", `{ "eks.amazonaws.com/role-arn" = "spinops-backup" }`),
				ExpectError: wrappedRe(`eks\.amazonaws\.com/role-arn must be an IAM role ARN.*got "spinops-backup"`),
			},
			{
				Config:      conf("spinops-backup", `{ "iam.gke.io/gcp-service-account" = "me@example.com" }`),
				ExpectError: wrappedRe(`must be a Google service account's e-mail`),
			},
			{
				Config:      conf("", irsa),
				ExpectError: wrappedRe(`service_account_name.*must be specified`),
			},
			{
				// Someone else's account is refused, and left as it was;
				// the message says how to hand it over on purpose.
				Config:      conf("someone-elses", irsa),
				ExpectError: wrappedRe(`ServiceAccount "someone-elses" already exists in namespace.*this policy did not make it.*does not take over.*kubectl -n ` + ns + ` label serviceaccount someone-elses app.kubernetes.io/instance=spinnaker`),
			},
			{
				// Nor may the pods run as another policy's account.
				Config:      conf("other-policys", ""),
				ExpectError: wrappedRe(`ServiceAccount "other-policys" in namespace ` + ns + ` was made by the backup policy "other" and goes when that policy is destroyed`),
			},
			{
				PreConfig: func() {
					if err := wantSA("someone-elses", map[string]string{"eks.amazonaws.com/role-arn": accBackupOtherRole, "example.com/team": ""}, false); err != nil {
						t.Fatal(err)
					}
					if _, err := c.Clientset().BatchV1().CronJobs(ns).Get(t.Context(), name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
						t.Fatalf("the CronJob was made although the ServiceAccount was refused: %v", err)
					}
				},
				Config: conf("spinops-backup", irsa),
				Check: func(*terraform.State) error {
					if err := wantSA("spinops-backup", map[string]string{"eks.amazonaws.com/role-arn": accBackupRole, "example.com/team": "platform"}, true); err != nil {
						return err
					}
					return backupPodsRunAs(t, c, ns, "spinops-backup")
				},
			},
			{
				// Behind Terraform's back: the role swapped for another
				// account's, and an annotation another controller owns.
				PreConfig: func() {
					sa, err := getSA("spinops-backup")
					if err != nil {
						t.Fatal(err)
					}
					sa.Annotations["eks.amazonaws.com/role-arn"] = accBackupOtherRole
					sa.Annotations["other.example.com/owner"] = "kept"
					if _, err := sas.Update(t.Context(), sa, metav1.UpdateOptions{}); err != nil {
						t.Fatal(err)
					}
				},
				Config:           conf("spinops-backup", irsa),
				ConfigPlanChecks: tfresource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction("spinops_backup_policy.this", plancheck.ResourceActionUpdate)}},
				Check: func(*terraform.State) error {
					return wantSA("spinops-backup", map[string]string{"eks.amazonaws.com/role-arn": accBackupRole, "other.example.com/owner": "kept"}, true)
				},
			},
			{
				// Deleted behind its back: made again.
				PreConfig: func() {
					if err := sas.Delete(t.Context(), "spinops-backup", metav1.DeleteOptions{}); err != nil {
						t.Fatal(err)
					}
				},
				Config:           conf("spinops-backup", irsa),
				ConfigPlanChecks: tfresource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction("spinops_backup_policy.this", plancheck.ResourceActionUpdate)}},
				Check: func(*terraform.State) error {
					return wantSA("spinops-backup", map[string]string{"eks.amazonaws.com/role-arn": accBackupRole}, true)
				},
			},
			{
				ResourceName:            "spinops_backup_policy.this",
				ImportState:             true,
				ImportStateId:           ns + "/spinnaker",
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"kubernetes", "timeouts", "last_drill"},
			},
			{
				// A key dropped from the configuration goes from the account.
				Config: conf("spinops-backup", fmt.Sprintf(`{ "eks.amazonaws.com/role-arn" = %q }`, accBackupRole)),
				Check: func(*terraform.State) error {
					sa, err := getSA("spinops-backup")
					if err != nil {
						return err
					}
					if v, ok := sa.Annotations["example.com/team"]; ok {
						return fmt.Errorf("example.com/team=%q stayed on the ServiceAccount after it left the configuration", v)
					}
					return nil
				},
			},
			{
				// The argument removed: the pods still run as the account,
				// which stays, no longer the policy's.
				Config: conf("spinops-backup", ""),
				Check: func(*terraform.State) error {
					return wantSA("spinops-backup", map[string]string{"eks.amazonaws.com/role-arn": accBackupRole}, false)
				},
			},
			{
				// Made under another name, then renamed: the old one, the
				// policy's, is deleted; the one it let go of stays.
				Config: conf("spinops-backup-2", irsa),
				Check: func(*terraform.State) error {
					return wantSA("spinops-backup-2", map[string]string{"eks.amazonaws.com/role-arn": accBackupRole}, true)
				},
			},
			{
				Config: conf("spinops-backup-3", irsa),
				Check: func(*terraform.State) error {
					if err := gone("spinops-backup-2"); err != nil {
						return err
					}
					return wantSA("spinops-backup-3", map[string]string{"eks.amazonaws.com/role-arn": accBackupRole}, true)
				},
			},
			{
				// Someone who may edit the namespace's objects labels an
				// account as the policy's and points the policy's record at
				// it: the rename deletes only the account the policy made
				// (its UID kept in private state), not that one.
				PreConfig: func() {
					victim := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "victim", Namespace: ns,
						Labels: backup.PolicyLabels("spinnaker"), Annotations: map[string]string{"eks.amazonaws.com/role-arn": accBackupOtherRole}}}
					if _, err := sas.Create(t.Context(), victim, metav1.CreateOptions{}); err != nil {
						t.Fatal(err)
					}
					cms := c.Clientset().CoreV1().ConfigMaps(ns)
					cm, err := cms.Get(t.Context(), name, metav1.GetOptions{})
					if err != nil {
						t.Fatal(err)
					}
					var rec map[string]any
					if err := json.Unmarshal([]byte(cm.Annotations[backup.PolicyAnnotation]), &rec); err != nil {
						t.Fatal(err)
					}
					rec["service_account_name"] = "victim"
					b, _ := json.Marshal(rec)
					cm.Annotations[backup.PolicyAnnotation] = string(b)
					if _, err := cms.Update(t.Context(), cm, metav1.UpdateOptions{}); err != nil {
						t.Fatal(err)
					}
				},
				Config: conf("spinops-backup-4", irsa),
				Check: func(*terraform.State) error {
					if err := wantSA("victim", map[string]string{"eks.amazonaws.com/role-arn": accBackupOtherRole}, true); err != nil {
						return fmt.Errorf("the account the record was pointed at: %w", err)
					}
					return wantSA("spinops-backup-4", map[string]string{"eks.amazonaws.com/role-arn": accBackupRole}, true)
				},
			},
		},
	})
}
