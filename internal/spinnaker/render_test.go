package spinnaker

import (
	"bytes"
	"encoding/base64"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

func testInstallation() *Installation {
	return &Installation{
		ID: "spinnaker-operator", Namespace: "spinnaker-operator", SpinnakerVersion: "1.35.3",
		Persistence: &Persistence{S3: &S3Persistence{
			Bucket: "spin-front50", Region: "eu-west-1", RootFolder: "front50", Endpoint: "http://minio.minio:9000",
			PathStyle: true, AccessKeyID: "spinnaker", HasSecretAccessKey: true,
		}},
		SQL: &SQL{
			Endpoint: "primary.db.internal", ReaderEndpoint: "reader.db.internal", Port: 3306, User: "spinnaker",
			Databases: map[string]string{"clouddriver": "clouddriver", "orca": "orca", "front50": "front50"},
		},
		Redis:     &Redis{Endpoint: "redis.internal:6379"},
		Auth:      &Auth{OAuth2: &OAuth2{Provider: "github", ClientID: "abc123", HasClientSecret: true}},
		Features:  map[string]bool{"pipelineTemplates": true},
		Profiles:  map[string]string{"gate": "server:\n  tomcat:\n    protocolHeader: X-Forwarded-Proto\n"},
		Promotion: Promotion{Soak: Duration(24 * 3600e9), RequireVerification: true},
	}
}

var testCredentials = map[string][]byte{
	KeySQLPassword:        []byte("sql-s3cr3t-value"),
	KeyS3SecretAccessKey:  []byte("s3-s3cr3t-value"),
	KeyOAuth2ClientSecret: []byte("oauth-s3cr3t-value"),
}

func TestRender_golden(t *testing.T) {
	cases := map[string]*Zone{
		"sandbox_basic": {Name: "red", Namespace: "spinnaker-red", Tier: TierSandbox},
		"production_ha": {
			Name: "green", Namespace: "spinnaker-green", Tier: TierProduction, Version: "1.35.2",
			HA: &HA{Enabled: true, ClouddriverSplit: true, Replicas: 3},
			Expose: &Expose{Type: ExposeService, DeckHost: "spinnaker.example.com", GateHost: "api.spinnaker.example.com",
				TLSSecret: "spinnaker-tls", Annotations: map[string]string{"service.beta.kubernetes.io/aws-load-balancer-type": "nlb"},
				SourceRanges: []string{"10.0.0.0/8"}},
			Profiles:        map[string]string{"gate": "server:\n  tomcat:\n    httpsServerPort: X-Forwarded-Port\n"},
			ConfigOverrides: "features:\n  pipelineTemplates: true\n",
		},
		"production_ingress": {
			Name: "blue", Namespace: "spinnaker-blue", Tier: TierProduction,
			HA:     &HA{Enabled: true, ClouddriverSplit: false, Replicas: 2},
			Expose: &Expose{Type: ExposeIngress, DeckHost: "deck.example.com", GateHost: "gate.example.com", TLSSecret: "tls", SourceRanges: []string{"192.0.2.0/24"}},
		},
	}
	for name, z := range cases {
		t.Run(name, func(t *testing.T) {
			r, err := Render(testInstallation(), z, testCredentials)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			for _, o := range append([]*unstructured.Unstructured{r.Service, r.Secret, r.Ingress}, r.PDBs...) {
				if o == nil {
					continue
				}
				b, err := yaml.Marshal(o.Object)
				if err != nil {
					t.Fatal(err)
				}
				buf.WriteString("---\n")
				buf.Write(b)
			}
			golden(t, filepath.Join("testdata", "render_"+name+".yaml"), buf.Bytes())
		})
	}
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/spinnaker -run %s -update to create it)", err, t.Name())
	}
	if !bytes.Equal(want, got) {
		t.Errorf("%s differs from the rendering (rerun with -update if the change is intended):\n--- got\n%s", path, got)
	}
}

func TestRender_secretsStayOutOfTheSpinnakerService(t *testing.T) {
	z := &Zone{Name: "green", Namespace: "spinnaker-green", Tier: TierProduction, HA: &HA{Enabled: true, ClouddriverSplit: true, Replicas: 2}}
	r, err := Render(testInstallation(), z, testCredentials)
	if err != nil {
		t.Fatal(err)
	}
	cr, err := yaml.Marshal(r.Service.Object)
	if err != nil {
		t.Fatal(err)
	}
	for key, v := range testCredentials {
		if bytes.Contains(cr, v) {
			t.Errorf("the SpinnakerService holds the value of %s", key)
		}
		if !bytes.Contains(cr, []byte("encrypted:k8s!n:green-spinops-credentials!k:"+key)) {
			t.Errorf("the SpinnakerService does not reference %s in the zone's Secret", key)
		}
		if got := r.Secret.Object["data"].(map[string]any)[key]; got != base64.StdEncoding.EncodeToString(v) {
			t.Errorf("Secret %s = %v, want the credential", key, got)
		}
	}
}

func TestRender_haSplitAndSingletons(t *testing.T) {
	// Igor runs only with a CI system (halyardEnabled): one is turned on.
	z := &Zone{Name: "green", Namespace: "ns", Tier: TierProduction, HA: &HA{Enabled: true, ClouddriverSplit: true, Replicas: 3},
		ConfigOverrides: "ci:\n  jenkins:\n    enabled: true\n"}
	r := mustRender(t, testInstallation(), z)
	got := replicasOf(r)
	for _, name := range []string{"clouddriver-caching", "clouddriver-rw", "clouddriver-ro", "clouddriver-ro-deck", "echo-worker", "gate", "deck", "fiat"} {
		if got[name] != 3 {
			t.Errorf("%s: %d replicas, want 3", name, got[name])
		}
	}
	for _, name := range []string{"echo-scheduler", "igor"} {
		if got[name] != 1 {
			t.Errorf("polling service %s: %d replicas, want exactly 1", name, got[name])
		}
	}
	if _, ok := got["clouddriver"]; ok {
		t.Error("HA with clouddriver_split still runs a monolithic clouddriver")
	}
	for _, ro := range []string{"clouddriver-ro", "clouddriver-ro-deck"} {
		url, _, _ := unstructured.NestedString(r.Service.Object, "spec", "spinnakerConfig", "profiles", ro, "sql", "connectionPools", "default", "jdbcUrl")
		if !strings.Contains(url, "reader.db.internal") {
			t.Errorf("%s reads from %q, want the read replica", ro, url)
		}
	}
	rw, _, _ := unstructured.NestedString(r.Service.Object, "spec", "spinnakerConfig", "profiles", "clouddriver", "sql", "connectionPools", "default", "jdbcUrl")
	if !strings.Contains(rw, "primary.db.internal") {
		t.Errorf("clouddriver writes to %q, want the primary", rw)
	}
}

func TestRender_overridesMayNotSetVersion(t *testing.T) {
	z := &Zone{Name: "red", Namespace: "ns", Tier: TierSandbox, ConfigOverrides: "version: 1.99.0\n"}
	if _, err := Render(testInstallation(), z, testCredentials); err == nil || !strings.Contains(err.Error(), "spinnaker_version") {
		t.Fatalf("err = %v, want a refusal naming spinnaker_version", err)
	}
}

// Halyard's kubernetes.serviceAnnotations reach the SpinnakerService for an
// unexposed zone (the way modules/gcp/edge's NEG annotations get onto
// spin-deck and spin-gate), and are refused for Deck and Gate with expose
// type service, where the operator replaces those Services' annotations
// with expose's; other services keep them.
func TestRender_serviceAnnotationsAndExpose(t *testing.T) {
	neg := "kubernetes:\n  serviceAnnotations:\n    cloud.google.com/neg: '{\"exposed_ports\":{\"9000\":{\"name\":\"spinnaker-deck\"}}}'\n"
	z := &Zone{Name: "green", Namespace: "ns", Tier: TierProduction, ServiceSettings: map[string]string{"deck": neg}}
	r, err := Render(testInstallation(), z, testCredentials)
	if err != nil {
		t.Fatal(err)
	}
	got, _, _ := unstructured.NestedString(r.Service.Object, "spec", "spinnakerConfig", "service-settings", "deck", "kubernetes", "serviceAnnotations", "cloud.google.com/neg")
	if got != `{"exposed_ports":{"9000":{"name":"spinnaker-deck"}}}` {
		t.Errorf("deck's serviceAnnotations rendered as %q", got)
	}
	for _, svc := range []string{"deck", "gate"} {
		z := &Zone{Name: "green", Namespace: "ns", Tier: TierProduction, Expose: &Expose{Type: ExposeService},
			ServiceSettings: map[string]string{svc: neg}}
		_, err := Render(testInstallation(), z, testCredentials)
		if err == nil || !strings.Contains(err.Error(), "service_settings for "+svc) || !strings.Contains(err.Error(), "expose.annotations") {
			t.Errorf("%s with expose type service: err = %v, want a refusal naming the service and expose.annotations", svc, err)
		}
		// From the installation's service_settings too.
		inst := testInstallation()
		inst.ServiceSettings = map[string]string{svc: neg}
		z.ServiceSettings = nil
		if _, err := Render(inst, z, testCredentials); err == nil || !strings.Contains(err.Error(), "service_settings for "+svc) {
			t.Errorf("%s from the installation with expose type service: err = %v", svc, err)
		}
	}
	z = &Zone{Name: "green", Namespace: "ns", Tier: TierProduction, Expose: &Expose{Type: ExposeService}, ServiceSettings: map[string]string{"orca": neg}}
	if _, err := Render(testInstallation(), z, testCredentials); err != nil {
		t.Errorf("orca's serviceAnnotations with expose type service: %v", err)
	}
}

func TestRender_invalidProfileNamesTheKey(t *testing.T) {
	z := &Zone{Name: "red", Namespace: "ns", Tier: TierSandbox, Profiles: map[string]string{"orca": "- a list"}}
	_, err := Render(testInstallation(), z, testCredentials)
	if err == nil || !strings.Contains(err.Error(), `profiles["orca"]`) {
		t.Fatalf("err = %v, want it to name profiles[\"orca\"]", err)
	}
}

func TestSpecHash_stableAcrossReadBack(t *testing.T) {
	r, err := Render(testInstallation(), &Zone{Name: "red", Namespace: "ns", Tier: TierSandbox}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// What the API server returns decodes numbers as int64.
	b, _ := yaml.Marshal(r.Service.Object)
	back := &unstructured.Unstructured{}
	j, _ := yaml.YAMLToJSON(b)
	if err := back.UnmarshalJSON(j); err != nil {
		t.Fatal(err)
	}
	if got := SpecHash(SpecOf(back)); got != r.SpecHash {
		t.Fatalf("hash after read-back %s != rendered %s", got, r.SpecHash)
	}
}

func TestOperatorObjects(t *testing.T) {
	for _, wide := range []bool{true, false} {
		objs, err := OperatorObjects(OperatorSettings{Namespace: "ops", Image: "armory/spinnaker-operator:1.3.1", HalyardImage: "armory/halyard:operator-0.4.x", ClusterWide: wide})
		if err != nil {
			t.Fatal(err)
		}
		var kinds []string
		for _, o := range objs {
			kinds = append(kinds, o.GetKind())
		}
		want := "ServiceAccount,ClusterRole,ClusterRoleBinding,Deployment"
		if !wide {
			want = "ServiceAccount,Role,RoleBinding,Deployment"
		}
		if strings.Join(kinds, ",") != want {
			t.Errorf("cluster_wide=%v: kinds %v, want %s", wide, kinds, want)
		}
	}
	crds, err := CRDs()
	if err != nil || len(crds) != 2 {
		t.Fatalf("CRDs: %d, %v", len(crds), err)
	}
}

// Orca's own move of executions from Redis to SQL: the profile Orca's guide
// gives (DualExecutionRepository by bean name, both repositories on, the
// two migration agents), on top of the sql block's Orca settings, and a
// user's profile still merged over it (an interval of its own).
func TestRender_orcaExecutionsFromRedis(t *testing.T) {
	orcaProfile := func(inst *Installation, z *Zone) map[string]any {
		t.Helper()
		r, err := Render(inst, z, testCredentials)
		if err != nil {
			t.Fatal(err)
		}
		spec := r.Service.Object["spec"].(map[string]any)["spinnakerConfig"].(map[string]any)
		return spec["profiles"].(map[string]any)["orca"].(map[string]any)
	}
	z := &Zone{Name: "green", Namespace: "spinnaker-green", Tier: TierProduction}

	off := orcaProfile(testInstallation(), z)
	if _, ok := off["pollers"]; ok {
		t.Errorf("without orca_executions_from_redis the migration agents are on: %v", off["pollers"])
	}
	if got := off["executionRepository"]; !equalYAML(t, got, "sql: {enabled: true}\nredis: {enabled: false}\n") {
		t.Errorf("executionRepository = %v, want SQL only", got)
	}

	inst := testInstallation()
	inst.SQL.OrcaExecutionsFromRedis = true
	z.Profiles = map[string]string{"orca": "pollers:\n  pipelineMigrator:\n    intervalMs: 600000\n"}
	on := orcaProfile(inst, z)
	want := map[string]string{
		"executionRepository": "sql: {enabled: true}\nredis: {enabled: true}\n" +
			"dual: {enabled: true, primaryName: sqlExecutionRepository, previousName: redisExecutionRepository}\n",
		"pollers": "pipelineMigrator: {enabled: true, intervalMs: 600000}\norchestrationMigrator: {enabled: true}\n",
		"monitor": "activeExecutions: {redis: false}\n",
	}
	for k, w := range want {
		if !equalYAML(t, on[k], w) {
			t.Errorf("profiles.orca.%s = %v, want %s", k, on[k], w)
		}
	}
	if _, ok := on["sql"].(map[string]any)["connectionPools"]; !ok {
		t.Errorf("the sql block's connection pools are gone: %v", on["sql"])
	}

	inst.SQL.Databases = map[string]string{"clouddriver": "clouddriver"}
	if _, err := Render(inst, z, testCredentials); err == nil || !strings.Contains(err.Error(), "sql.databases names none for orca") {
		t.Errorf("orca_executions_from_redis without an orca database: %v", err)
	}
}

func equalYAML(t *testing.T, got any, want string) bool {
	t.Helper()
	var w any
	if err := yaml.Unmarshal([]byte(want), &w); err != nil {
		t.Fatal(err)
	}
	a, _ := yaml.Marshal(got)
	b, _ := yaml.Marshal(w)
	return bytes.Equal(a, b)
}

// TestRender_servicesHalyardDeploys: the services a deploy waits for and
// verifies are those Halyard deploys for the rendered config
// (halyardEnabled, from spinnaker/halyard's KubernetesV2*Service.isEnabled),
// not those spinops meant to run: a zone without a CI system or a Docker
// registry has no Igor (waiting for spin-igor would never end), and what
// config_overrides or service_settings turn on or off counts.
func TestRender_servicesHalyardDeploys(t *testing.T) {
	names := func(z *Zone, inst *Installation) []string {
		t.Helper()
		var out []string
		for _, s := range mustRender(t, inst, z).Services {
			out = append(out, s.Name)
		}
		return out
	}
	base := []string{"clouddriver", "deck", "echo", "fiat", "front50", "gate", "orca", "rosco"}
	with := func(extra ...string) []string {
		out := append(append([]string{}, base...), extra...)
		slices.Sort(out)
		return out
	}
	canary := testInstallation()
	canary.Features = map[string]bool{FeatureCanary: true}
	for name, c := range map[string]struct {
		z    *Zone
		inst *Installation
		want []string
	}{
		"no CI, no Docker registry: no Igor": {&Zone{}, testInstallation(), base},
		"Jenkins enabled":                    {&Zone{ConfigOverrides: "ci:\n  jenkins:\n    enabled: true\n"}, testInstallation(), with("igor")},
		"a CI system present but disabled":   {&Zone{ConfigOverrides: "ci:\n  travis:\n    enabled: false\n"}, testInstallation(), base},
		"GitHub Actions enabled":             {&Zone{ConfigOverrides: "ci:\n  gha:\n    enabled: true\n"}, testInstallation(), with("igor")},
		"Docker registry provider enabled":   {&Zone{ConfigOverrides: "providers:\n  dockerRegistry:\n    enabled: true\n"}, testInstallation(), with("igor")},
		"service_settings enable Igor":       {&Zone{ServiceSettings: map[string]string{"igor": "enabled: true"}}, testInstallation(), with("igor")},
		"canary feature":                     {&Zone{}, canary, with("kayenta")},
		"rosco's life cycle left to the user": {&Zone{ServiceSettings: map[string]string{"rosco": "skipLifeCycleManagement: true"}}, testInstallation(),
			[]string{"clouddriver", "deck", "echo", "fiat", "front50", "gate", "orca"}},
		"canary turned off by service_settings": {&Zone{ServiceSettings: map[string]string{"kayenta": "enabled: false"}}, canary, base},
		"authz turned off by config_overrides": {&Zone{ConfigOverrides: "security:\n  authz:\n    enabled: false\n"}, testInstallation(),
			[]string{"clouddriver", "deck", "echo", "front50", "gate", "orca", "rosco"}},
		"HA turned on by config_overrides": {&Zone{ConfigOverrides: "deploymentEnvironment:\n  haServices:\n    echo:\n      enabled: true\n"}, testInstallation(),
			[]string{"clouddriver", "deck", "echo-scheduler", "echo-worker", "fiat", "front50", "gate", "orca", "rosco"}},
		// The operator merges the global "spinnaker" service-settings under
		// every service of its BOM but Deck; the HA services are not in it.
		"global service-settings enable every service": {&Zone{ServiceSettings: map[string]string{"spinnaker": "enabled: true"}}, testInstallation(),
			with("igor", "kayenta")},
		"a service's own enabled wins over the global": {&Zone{ServiceSettings: map[string]string{"spinnaker": "enabled: true", "igor": "enabled: false"}}, testInstallation(),
			with("kayenta")},
		"global skipLifeCycleManagement spares Deck and the HA services": {&Zone{
			ConfigOverrides: "deploymentEnvironment:\n  haServices:\n    echo:\n      enabled: true\n",
			ServiceSettings: map[string]string{"spinnaker": "skipLifeCycleManagement: true", "orca": "skipLifeCycleManagement: false"}}, testInstallation(),
			[]string{"deck", "echo-scheduler", "echo-worker", "orca"}},
	} {
		c.z.Name, c.z.Namespace, c.z.Tier = "red", "ns", TierSandbox
		if got := names(c.z, c.inst); !slices.Equal(got, c.want) {
			t.Errorf("%s: services %v, want %v", name, got, c.want)
		}
	}

	// Replicas as Halyard sizes them: customSizing under spin-<name> (which
	// spinops renders for what it sizes, and config_overrides may change),
	// else the service-settings' targetSize (Kayenta, turned on by
	// config_overrides, is not sized by spinops), else 1.
	z := &Zone{Name: "red", Namespace: "ns", Tier: TierSandbox,
		ConfigOverrides: "ci:\n  jenkins:\n    enabled: true\ncanary:\n  enabled: true\ndeploymentEnvironment:\n  customSizing:\n    spin-gate:\n      replicas: 4\n",
		ServiceSettings: map[string]string{"igor": "targetSize: 3", "orca": "targetSize: 5", "kayenta": "targetSize: 2"}}
	replicas := replicasOf(mustRender(t, testInstallation(), z))
	if want := map[string]int64{"gate": 4, "orca": 1, "igor": 1, "deck": 1, "kayenta": 2}; replicas["gate"] != want["gate"] || replicas["orca"] != want["orca"] ||
		replicas["igor"] != want["igor"] || replicas["deck"] != want["deck"] || replicas["kayenta"] != want["kayenta"] {
		t.Errorf("replicas %v, want %v (customSizing wins over targetSize, and spinops sizes every service it chose)", replicas, want)
	}

	// What Spinnaker needs and service-settings turn off (the plan warns):
	// not what the config alone leaves out, not an optional service, not
	// one left to the user.
	haCD := "deploymentEnvironment:\n  haServices:\n    clouddriver:\n      enabled: true\n"
	for name, c := range map[string]struct {
		overrides string
		settings  map[string]string
		want      []string
	}{
		"nothing turned off":         {"", nil, nil},
		"Gate turned off":            {"", map[string]string{"gate": "enabled: false"}, []string{"gate"}},
		"optional services only":     {"", map[string]string{"rosco": "enabled: false", "fiat": "enabled: false", "igor": "enabled: false"}, nil},
		"the global settings":        {"", map[string]string{"spinnaker": "enabled: false"}, []string{"clouddriver", "echo", "front50", "gate", "orca"}},
		"one left to the user":       {"", map[string]string{"spinnaker": "enabled: false", "orca": "skipLifeCycleManagement: true"}, []string{"clouddriver", "echo", "front50", "gate"}},
		"a split Clouddriver's part": {haCD, map[string]string{"clouddriver-caching": "enabled: false", "clouddriver": "enabled: false"}, []string{"clouddriver-caching"}},
	} {
		z := &Zone{Name: "red", Namespace: "ns", Tier: TierSandbox, ConfigOverrides: c.overrides, ServiceSettings: c.settings}
		if r := mustRender(t, testInstallation(), z); !slices.Equal(r.TurnedOff, c.want) {
			t.Errorf("%s: turned off %v, want %v", name, r.TurnedOff, c.want)
		}
	}

	// The global targetSize sizes what spinops does not (Kayenta turned on
	// by config_overrides), the service's own winning; Igor and Gate keep
	// spinops' customSizing.
	for _, c := range []struct {
		settings map[string]string
		want     int64
	}{
		{map[string]string{"spinnaker": "targetSize: 3"}, 3},
		{map[string]string{"spinnaker": "targetSize: 3", "kayenta": "targetSize: 2"}, 2},
	} {
		z := &Zone{Name: "red", Namespace: "ns", Tier: TierSandbox, ConfigOverrides: "canary:\n  enabled: true\n", ServiceSettings: c.settings}
		for _, s := range mustRender(t, testInstallation(), z).Services {
			if want := map[string]int64{"kayenta": c.want}[s.Name]; want == 0 && s.Replicas != 1 || want != 0 && s.Replicas != want {
				t.Errorf("%v: %s at %d replicas, want %d (1 for what spinops sizes)", c.settings, s.Name, s.Replicas, max(want, 1))
			}
		}
	}
}

// mustRender renders z of inst with the test credentials, failing the test
// on an error.
func mustRender(t *testing.T, inst *Installation, z *Zone) *Rendered {
	t.Helper()
	r, err := Render(inst, z, testCredentials)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// replicasOf maps each service r waits for to its replicas.
func replicasOf(r *Rendered) map[string]int64 {
	out := map[string]int64{}
	for _, s := range r.Services {
		out[s.Name] = s.Replicas
	}
	return out
}
