package attach

import (
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/spinops/terraform-provider-spinops/internal/agent"
)

func testInstall() *AgentInstall {
	return &AgentInstall{
		Account: "prod", Namespace: "spinops-agent", Image: "ghcr.io/spinops/spinops:1.0.0", Replicas: 2,
		Bridge: BridgeEndpoint{Address: "bridge.example:9091", CAPEM: "-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n", ServerName: "spinops-bridge"},
		Filter: AccountFilter{Kinds: []string{"Deployment", "ConfigMap"}, Namespaces: []string{"apps", "web"}, Read: []string{"dev"}, Write: []string{"ops"}},
	}
}

// The installed config is one the agent accepts, in agent mode, reading the
// credential and CA from the mounted Secret and the address from the
// environment — and it holds no credential itself.
func TestAgentConfigIsValidForTheAgent(t *testing.T) {
	in := testInstall()
	b, err := in.AgentConfig()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "bridge.example") {
		t.Fatalf("the address belongs in the Secret, not the config:\n%s", b)
	}
	t.Setenv("SPINOPS_BRIDGE_ADDRESS", "bridge.example:9091")
	cfg, err := agent.ParseConfig(b)
	if err != nil {
		t.Fatalf("the agent refuses the installed config: %v\n%s", err, b)
	}
	if len(cfg.Notices.Unknown) > 0 || len(cfg.Notices.NoMeaning) > 0 {
		t.Fatalf("the installed config holds keys the agent does not use: %+v", cfg.Notices)
	}
	br := cfg.BridgeSettings()
	if cfg.Mode != agent.ModeAgent || br.GRPC != "bridge.example:9091" || br.Auth.TokenFile != "/var/run/spinops/credential" ||
		br.TLS.CACertFile != "/var/run/spinops/ca.crt" || br.TLS.ServerName != "spinops-bridge" {
		t.Fatalf("unexpected config: %+v %+v", cfg, br)
	}
	a := cfg.Kubernetes.Accounts[0]
	if a.Name != "prod" || !a.ServiceAccount || strings.Join(a.Kinds, ",") != "Deployment,ConfigMap" || strings.Join(a.Permissions.Write, ",") != "ops" {
		t.Fatalf("unexpected account: %+v", a)
	}
}

func TestObjectsCarryTheCredentialOnlyInTheSecret(t *testing.T) {
	in := testInstall()
	rules := Rules{
		Namespaced: []rbacv1.PolicyRule{{APIGroups: []string{"apps"}, Resources: []string{"deployments"}, Verbs: []string{"get", "list", "watch"}}},
		Cluster:    []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"namespaces"}, Verbs: []string{"get", "list", "watch"}}},
	}
	objs, err := in.Objects(rules, "spa_secret-credential")
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, o := range objs {
		kinds = append(kinds, o.GetKind()+"/"+o.GetNamespace()+"/"+o.GetName())
		y, _ := yaml.Marshal(o.Object)
		if strings.Contains(string(y), "spa_secret-credential") != (o.GetKind() == "Secret") {
			t.Fatalf("credential placement wrong in %s:\n%s", o.GetKind(), y)
		}
	}
	want := "ServiceAccount/spinops-agent/spinops-agent-prod,ClusterRole//spinops-agent-prod,RoleBinding/apps/spinops-agent-prod,RoleBinding/web/spinops-agent-prod," +
		"ClusterRole//spinops-agent-prod-cluster,ClusterRoleBinding//spinops-agent-prod-cluster,Secret/spinops-agent/spinops-agent-prod," +
		"ConfigMap/spinops-agent/spinops-agent-prod,Deployment/spinops-agent/spinops-agent-prod"
	if strings.Join(kinds, ",") != want {
		t.Fatalf("objects:\n%s\nwant\n%s", strings.Join(kinds, ","), want)
	}
	// A new credential rolls the Deployment (its pod template changes).
	objs2, _ := in.Objects(rules, "spa_rotated")
	sum := func(o []byte) string { return string(o) }
	d1, _ := yaml.Marshal(objs[len(objs)-1].Object["spec"])
	d2, _ := yaml.Marshal(objs2[len(objs2)-1].Object["spec"])
	if sum(d1) == sum(d2) {
		t.Fatal("rotating the credential does not change the pod template")
	}
	if _, err := in.Objects(rules, ""); err == nil {
		t.Fatal("an empty credential must be refused")
	}
}

func TestInstallAccessNamesWhatIsNeeded(t *testing.T) {
	in := testInstall()
	var got []string
	for _, a := range in.InstallAccess() {
		got = append(got, a.String())
	}
	s := strings.Join(got, "; ")
	for _, want := range []string{"create serviceaccounts in namespace spinops-agent", "create deployments.apps in namespace spinops-agent",
		"create clusterroles.rbac.authorization.k8s.io cluster-wide", "create rolebindings.rbac.authorization.k8s.io in namespace web"} {
		if !strings.Contains(s, want) {
			t.Fatalf("%q missing from %s", want, s)
		}
	}
	in.Filter.Namespaces = nil
	got = nil
	for _, a := range in.InstallAccess() {
		got = append(got, a.String())
	}
	if !strings.Contains(strings.Join(got, ";"), "create clusterrolebindings.rbac.authorization.k8s.io cluster-wide") {
		t.Fatalf("without namespaces a ClusterRoleBinding is needed: %v", got)
	}
}

// The Deployment probes the agent's health check: its only listener, on the
// port the installed config leaves at the default.
func TestDeploymentProbesTheHealthCheck(t *testing.T) {
	in := testInstall()
	objs, err := in.Objects(Rules{}, "spa_x")
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		if o.GetKind() != "Deployment" {
			continue
		}
		c, _, _ := unstructured.NestedSlice(o.Object, "spec", "template", "spec", "containers")
		ctr := c[0].(map[string]any)
		ports, _, _ := unstructured.NestedSlice(ctr, "ports")
		if len(ports) != 1 || ports[0].(map[string]any)["containerPort"] != int64(agent.DefaultHealthPort) || ports[0].(map[string]any)["name"] != "health" {
			t.Fatalf("ports %v", ports)
		}
		for _, probe := range []string{"livenessProbe", "readinessProbe"} {
			path, _, _ := unstructured.NestedString(ctr, probe, "httpGet", "path")
			p, _, _ := unstructured.NestedFieldNoCopy(ctr, probe, "httpGet", "port")
			if path != agent.HealthPath || p != "health" {
				t.Fatalf("%s: %v %v", probe, path, p)
			}
		}
		return
	}
	t.Fatal("no Deployment")
}
