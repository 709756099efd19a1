package backup

import (
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
	// With a Secret reference there is no Secret of ours, and without point in time no archiver.
	p.Password, p.PasswordSecretName, p.PasswordSecretKey, p.Config.PointInTime = "", "db", "password", false
	objs, _ = p.Objects()
	if len(objs) != 2 || objs[0].GetKind() != "ConfigMap" {
		t.Errorf("with password_secret and no point in time: %d objects", len(objs))
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
