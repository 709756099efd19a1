package provider

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/spinops/terraform-provider-spinops/internal/backup"
	"github.com/spinops/terraform-provider-spinops/internal/kube"
	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

// TestApplyServiceAccountNeverTakesOneOverInTheRace: the apply checks
// that the account is missing or the policy's, then writes it. Whatever
// happens in between — another policy or tool of the same apply making
// the account, someone changing the policy's own — is refused, never
// overwritten (a forced server-side apply would put the policy's labels
// and role on someone else's account, and destroy would then delete it).
func TestApplyServiceAccountNeverTakesOneOverInTheRace(t *testing.T) {
	if testing.Short() {
		t.Skip("needs a Kubernetes API server")
	}
	c := testenv.SharedCluster(t)
	ns := c.Namespace(t)
	client, err := kube.NewClient(c.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	sas := c.Clientset().CoreV1().ServiceAccounts(ns)
	render := func(name string, annotations map[string]string) *unstructured.Unstructured {
		t.Helper()
		objs, err := backup.Policy{Name: "spinnaker", Namespace: ns, Schedule: "@daily", Image: "img", ServiceAccountName: name,
			MakeServiceAccount: true, ServiceAccountAnnotations: annotations, Config: backup.Config{Destination: backup.StoreConfig{URL: "s3://b/p"}}}.Objects()
		if err != nil || objs[0].GetKind() != "ServiceAccount" {
			t.Fatalf("rendering: %v", err)
		}
		return objs[0]
	}
	ours := map[string]string{"eks.amazonaws.com/role-arn": accBackupRole, "example.com/team": "platform"}
	theirs := map[string]string{"eks.amazonaws.com/role-arn": accBackupOtherRole}

	// The check saw no account; someone made it before the write.
	if _, err := sas.Create(t.Context(), &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "raced", Annotations: theirs}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	_, err = applyServiceAccount(t.Context(), client, render("raced", ours), "", "spinnaker")
	if err == nil || !strings.Contains(err.Error(), "was made by someone else while this apply ran") {
		t.Errorf("an account made after the check: %v, want it refused", err)
	}
	if sa, err := sas.Get(t.Context(), "raced", metav1.GetOptions{}); err != nil || sa.Annotations["eks.amazonaws.com/role-arn"] != accBackupOtherRole || backup.ServiceAccountPolicy(sa.Labels) != "" {
		t.Errorf("the account made after the check was changed: %v %v %v", sa.Annotations, sa.Labels, err)
	}

	// The policy's own account, made; then changed after it was read.
	uid, err := applyServiceAccount(t.Context(), client, render("own", ours), "", "spinnaker")
	if err != nil {
		t.Fatalf("making the policy's account: %v", err)
	}
	read, err := sas.Get(t.Context(), "own", metav1.GetOptions{})
	if err != nil || read.Annotations["example.com/team"] != "platform" || !backup.OwnsServiceAccount(read.Labels, "spinnaker") || string(read.UID) != uid {
		t.Fatalf("the policy's account: %v %v %v (UID %s, returned %s)", read.Annotations, read.Labels, err, read.UID, uid)
	}
	swapped := read.DeepCopy()
	swapped.Annotations["eks.amazonaws.com/role-arn"] = accBackupOtherRole
	if _, err := sas.Update(t.Context(), swapped, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	_, err = applyServiceAccount(t.Context(), client, render("own", ours), read.ResourceVersion, "spinnaker")
	if err == nil || !strings.Contains(err.Error(), "changed while this apply ran") {
		t.Errorf("an account changed after it was read: %v, want a conflict", err)
	}
	// Read again, the apply goes through; a key dropped from the
	// configuration leaves the account (server-side apply owns it, even
	// on an account that began with a create).
	cur, err := sas.Get(t.Context(), "own", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := applyServiceAccount(t.Context(), client, render("own", map[string]string{"eks.amazonaws.com/role-arn": accBackupRole}), cur.ResourceVersion, "spinnaker"); err != nil {
		t.Fatal(err)
	}
	if sa, err := sas.Get(t.Context(), "own", metav1.GetOptions{}); err != nil || sa.Annotations["eks.amazonaws.com/role-arn"] != accBackupRole {
		t.Errorf("the role after the apply: %v %v", sa.Annotations, err)
	} else if v, ok := sa.Annotations["example.com/team"]; ok {
		t.Errorf("example.com/team=%q stayed after it left the configuration", v)
	}
}
