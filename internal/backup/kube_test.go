package backup

import (
	"fmt"
	"strings"
	"testing"
)

func TestPolicyObjects(t *testing.T) {
	p := Policy{Name: "spin", Namespace: "ns", Schedule: "@daily", Image: "img", Password: "s3cret",
		Config: Config{Destination: StoreConfig{URL: "s3://b/p"}, MySQL: &MySQLConfig{Host: "h", User: "u", Password: "s3cret", Databases: []string{"orca"}}, PointInTime: true}}
	objs, err := p.Objects()
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, o := range objs {
		kinds = append(kinds, o.GetKind())
		if o.GetKind() == "ConfigMap" {
			cfg, _, _ := unstructuredString(o.Object, "data", ConfigKey)
			if strings.Contains(cfg, "s3cret") {
				t.Error("the ConfigMap holds the password")
			}
		}
	}
	if got := strings.Join(kinds, ","); got != "Secret,ConfigMap,CronJob,Deployment" {
		t.Errorf("objects %s", got)
	}
	// With a Secret reference there is no Secret of ours, and without
	// point in time no archiver: a metrics Deployment instead, which reads
	// only the destination (no database password).
	p.Password, p.PasswordSecretName, p.PasswordSecretKey, p.Config.PointInTime = "", "db", "password", false
	objs, _ = p.Objects()
	if len(objs) != 3 || objs[0].GetKind() != "ConfigMap" || objs[2].GetKind() != "Deployment" || objs[2].GetName() != "spinops-backup-spin-metrics" {
		t.Fatalf("with password_secret and no point in time: %d objects", len(objs))
	}
	c := objs[2].Object["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)["containers"].([]any)[0].(map[string]any)
	if args := c["args"].([]any); args[0] != "backup" || args[1] != "metrics" {
		t.Errorf("metrics Deployment args %v", args)
	}
	if env, _ := c["env"].([]any); strings.Contains(strings.ToLower(strings.Join(func() []string {
		var out []string
		for _, e := range env {
			out = append(out, e.(map[string]any)["name"].(string))
		}
		return out
	}(), ",")), "mysql") || strings.Contains(fmt.Sprint(env), EnvSigningKey) {
		t.Errorf("the metrics Deployment gets the database password or the signing key: %v", env)
	}
}

func unstructuredString(obj map[string]any, fields ...string) (string, bool, error) {
	cur := any(obj)
	for _, f := range fields {
		m, ok := cur.(map[string]any)
		if !ok {
			return "", false, nil
		}
		cur = m[f]
	}
	s, ok := cur.(string)
	return s, ok, nil
}

// TestPolicyMakesItsServiceAccount: the ServiceAccount comes first (the
// pods' account exists before them) with the policy's labels, by which
// OwnsServiceAccount tells it from one another policy or a person made.
func TestPolicyMakesItsServiceAccount(t *testing.T) {
	p := Policy{Name: "spin", Namespace: "ns", Schedule: "@daily", Image: "img", ServiceAccountName: "spinops-backup",
		MakeServiceAccount: true, ServiceAccountAnnotations: map[string]string{"eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/b"},
		Config: Config{Destination: StoreConfig{URL: "s3://b/p"}}}
	objs, err := p.Objects()
	if err != nil {
		t.Fatal(err)
	}
	sa := objs[0]
	if sa.GetKind() != "ServiceAccount" || sa.GetName() != "spinops-backup" || sa.GetNamespace() != "ns" {
		t.Fatalf("first object %s %s/%s, want the ServiceAccount ns/spinops-backup", sa.GetKind(), sa.GetNamespace(), sa.GetName())
	}
	if got := sa.GetAnnotations()["eks.amazonaws.com/role-arn"]; got != "arn:aws:iam::123456789012:role/b" {
		t.Errorf("role annotation %q", got)
	}
	if !OwnsServiceAccount(sa.GetLabels(), "spin") {
		t.Errorf("the policy does not own the ServiceAccount it made: labels %v", sa.GetLabels())
	}
	for name, labels := range map[string]map[string]string{
		"none":           nil,
		"another policy": PolicyLabels("other"),
		"another tool":   {"app.kubernetes.io/name": "spinops-backup", "app.kubernetes.io/instance": "spin", "app.kubernetes.io/managed-by": "helm"},
	} {
		if OwnsServiceAccount(labels, "spin") {
			t.Errorf("%s: a ServiceAccount labelled %v counts as the policy's", name, labels)
		}
	}
	if got := string(ServiceAccountReleasePatch()); !strings.Contains(got, `"app.kubernetes.io/managed-by":null`) || !strings.Contains(got, `"app.kubernetes.io/instance":null`) {
		t.Errorf("release patch %s", got)
	}
	// Without MakeServiceAccount: none.
	p.MakeServiceAccount = false
	objs, _ = p.Objects()
	for _, o := range objs {
		if o.GetKind() == "ServiceAccount" {
			t.Error("a ServiceAccount made without MakeServiceAccount")
		}
	}
	p.MakeServiceAccount, p.ServiceAccountName = true, ""
	if _, err := p.Objects(); err == nil {
		t.Error("a ServiceAccount without a name was rendered")
	}
}
