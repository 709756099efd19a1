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
