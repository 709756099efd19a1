package migrate

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/spinops/terraform-provider-spinops/internal/spinnaker"
)

// neverRE matches the secret values planted in testdata/hal: none may be
// written, to the Terraform or to the report.
var neverRE = regexp.MustCompile(`NEVER-[a-z0-9-]+`)

func TestHalyardGolden(t *testing.T) {
	h, err := ReadHalconfig(filepath.Join("testdata", "hal"), "")
	if err != nil {
		t.Fatal(err)
	}
	hcl, rep, err := HalyardToHCL(h, HalyardOptions{})
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "hal.tf.golden")
	report := rep.String()
	if *update {
		if err := os.WriteFile(golden, hcl, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden+".report", []byte(report), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for file, got := range map[string]string{golden: string(hcl), golden + ".report": report} {
		want, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if got != string(want) {
			t.Errorf("output differs from %s (go test -run TestHalyardGolden ./internal/migrate/ -update to accept):\n%s", file, got)
		}
	}
	if m := neverRE.FindAllString(string(hcl)+report, -1); len(m) > 0 {
		t.Errorf("secrets written out: %v", m)
	}
}

// TestHalyardFromSpinnakerService: a live SpinnakerService maps like a
// Halyard directory, its name, namespace and expose included.
func TestHalyardFromSpinnakerService(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "spinnakerservice.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var obj map[string]any
	if err := yaml.Unmarshal(raw, &obj); err != nil {
		t.Fatal(err)
	}
	h, err := FromSpinnakerService(obj)
	if err != nil {
		t.Fatal(err)
	}
	hcl, rep, err := HalyardToHCL(h, HalyardOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out, report := string(hcl), rep.String()
	for _, want := range []string{
		`resource "spinops_zone" "spinnaker"`, `name                 = "spinnaker"`, `namespace            = "spinnaker-prod"`,
		"gcs {", `bucket      = "acme-front50"`, `project     = "acme-spinnaker"`,
		"ldap {", `manager_password_wo         = var.ldap_manager_password`, `user_dn_pattern             = "uid={0},ou=people"`,
		`groupSearchBase = "ou=groups"`,
		"expose {", `type      = "service"`, `deck_host = "spinnaker.acme.example"`, `gate_host = "gate.acme.example"`,
		`"service.beta.kubernetes.io/aws-load-balancer-internal" = "true"`,
		// References stay as they are.
		`token   = "encrypted:k8s!n:spin-secrets!k:slack-token"`,
		`jsonPath = "encryptedFile:k8s!n:spin-secrets!k:gcs-key"`,
		`password = "encrypted:k8s!n:spinops-migrated-secrets!k:profiles.echo.rest.endpoints.0.password"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the Terraform lacks %q:\n%s", want, out)
		}
	}
	for _, want := range []string{"spinnakerConfig.files profiles__rosco__packer__aws-custom.json", "SpinnakerService spinnaker-prod/spinnaker",
		// Deck's and Gate's Service annotations did nothing beside an
		// expose of type service (the operator replaces them): reported,
		// not written, so the zone renders (spinnaker.Render refuses them).
		"service-settings.deck.kubernetes.serviceAnnotations (acme.example/ignored-by-the-operator)",
		"service-settings.gate.kubernetes.serviceAnnotations (acme.example/also-ignored)"} {
		if !strings.Contains(report, want) {
			t.Errorf("the report lacks %q:\n%s", want, report)
		}
	}
	for _, gone := range []string{"ignored-by-the-operator", "also-ignored"} {
		if strings.Contains(out, gone) {
			t.Errorf("the Terraform keeps %s, which the operator never applied and spinops refuses beside expose:\n%s", gone, out)
		}
	}
	for _, kept := range []string{`"prometheus.io/scrape" = "true"`, `API_HOST = "http://gate.acme.example:8084"`} {
		if !strings.Contains(out, kept) {
			t.Errorf("the Terraform lacks %s (a service setting the operator applies):\n%s", kept, out)
		}
	}
	if m := neverRE.FindAllString(out+report, -1); len(m) > 0 {
		t.Errorf("secrets written out: %v", m)
	}
}

// TestHalyardSecretsNeverWritten plants a secret in every place Halyard
// and Spring configuration keep one, in every spelling, at every depth,
// and in values whose key says nothing (URLs with passwords, password
// parameters): none may reach the Terraform or the report, and each must
// become a reference the report names.
func TestHalyardSecretsNeverWritten(t *testing.T) {
	masters := map[string]any{"name": "ci", "address": "https://jenkins.example"}
	files := map[string]any{"name": "files"}
	for f := range halSecretFields {
		masters[f] = "NEVER-hal-" + strings.ToLower(f)
	}
	for f := range halFileFields {
		files[f] = "/hal/local-files/" + f
	}
	profile := map[string]any{
		"dbPassword": "NEVER-camel", "DB_PASSWORD": "NEVER-upper", "db-password": "NEVER-dash", "Password": "NEVER-capital",
		"x_api_key": "NEVER-api-key", "authToken": "NEVER-token", "privateKey": "NEVER-private-key", "sshPassphrase": "NEVER-passphrase",
		"storageAccountKey": "NEVER-account-key", "awsCredentials": "NEVER-credentials", "kubeconfigContents": "NEVER-kubeconfig",
		"numericPassword": 987654321,
		"nested":          map[string]any{"list": []any{[]any{map[string]any{"secret": "NEVER-deep"}}}},
		"password":        map[string]any{"value": "NEVER-under-a-secret-key", "more": []any{"NEVER-in-a-list"}},
		"url":             "redis://:NEVER-redis-url@redis.example:6379",
		"jdbcUrl":         "jdbc:mysql://user:NEVER-jdbc-userinfo@db.example:3306/x",
		"query":           "jdbc:mysql://db.example:3306/x?user=u&password=NEVER-query",
		"semicolon":       "jdbc:sqlserver://db.example;user=u;password=NEVER-semicolon",
		"placeholder":     "${SQL_PASSWORD}",
	}
	h := &Halyard{
		Source: "test",
		Config: map[string]any{
			"version": "1.35.3",
			"persistentStorage": map[string]any{"persistentStoreType": "s3",
				"s3": map[string]any{"bucket": "b", "secretAccessKey": "NEVER-s3"}},
			"security": map[string]any{"authn": map[string]any{"enabled": true,
				"oauth2": map[string]any{"enabled": true, "provider": "GOOGLE", "client": map[string]any{"clientId": "id", "clientSecret": "NEVER-oauth2"}},
				"ldap":   map[string]any{"enabled": true, "url": "ldaps://l:636/dc=x", "managerPassword": "NEVER-ldap"},
				"saml": map[string]any{"enabled": true, "metadataRemote": "https://idp/metadata", "issuerId": "i", "keyStore": "/hal/saml.jks",
					"keyStorePassword": "NEVER-saml", "keyStoreAliasName": "saml"}}},
			"ci":        map[string]any{"jenkins": map[string]any{"enabled": true, "masters": []any{masters}}},
			"artifacts": map[string]any{"http": map[string]any{"enabled": true, "accounts": []any{files}}},
		},
		Profiles: map[string]any{"clouddriver": profile, "deck": map[string]any{"settings-local.js": "window.spinnakerSettings.apiKey = 'NEVER-js';"}},
		ServiceSettings: map[string]any{"gate": map[string]any{"env": map[string]any{"DB_PASSWORD": "NEVER-env"}},
			"redis": map[string]any{"overrideBaseUrl": "redis://:NEVER-redis-settings@redis:6379"}},
	}
	gen, rep, err := HalyardToHCL(h, HalyardOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out, report := string(gen), rep.String()
	if m := neverRE.FindAllString(out+report, -1); len(m) > 0 {
		t.Errorf("secrets written out: %v\n%s\n%s", m, out, report)
	}
	if strings.Contains(out+report, "987654321") {
		t.Error("a numeric password was written out")
	}
	if strings.Contains(out, "/hal/local-files/") || strings.Contains(out, "/hal/saml.jks") {
		t.Errorf("a local file path was written into the Terraform instead of a Secret reference:\n%s", out)
	}
	for f := range halFileFields {
		if !strings.Contains(report, "=/hal/local-files/"+f) {
			t.Errorf("the report does not say which Secret key takes the file of %s", f)
		}
	}
	for f := range halSecretFields {
		if !strings.Contains(report, "<the value of ci.jenkins.masters[ci]."+f+">") {
			t.Errorf("the report does not name the Secret key for %s:\n%s", f, report)
		}
	}
	for _, want := range []string{"client_secret_wo", "manager_password_wo", "keystore_password_wo", "secret_access_key_wo", `"${SQL_PASSWORD}"`[1:6]} {
		if !strings.Contains(out, want) {
			t.Errorf("the Terraform lacks %q", want)
		}
	}
	for _, want := range []string{"settings-local.js: it looks like it holds a secret", "redis.overrideBaseUrl: the URL carries a password"} {
		if !strings.Contains(report, want) {
			t.Errorf("the report lacks %q:\n%s", want, report)
		}
	}
	// Every variable is write-only material: ephemeral and sensitive.
	f, diags := hclsyntax.ParseConfig(gen, "out.tf", hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	for _, b := range f.Body.(*hclsyntax.Body).Blocks {
		if b.Type != "variable" {
			continue
		}
		for _, attr := range []string{"sensitive", "ephemeral"} {
			v, d := b.Body.Attributes[attr].Expr.Value(nil)
			if d.HasErrors() || !v.True() {
				t.Errorf("variable %s is not %s", b.Labels[0], attr)
			}
		}
	}
}

// TestHalyardValuesSurviveHCL: what the profiles hold reaches Terraform
// unchanged: template sequences (${...}, %{...}) are escaped, quotes,
// backslashes, newlines and unicode are kept, numbers stay numbers.
func TestHalyardValuesSurviveHCL(t *testing.T) {
	tricky := map[string]any{
		"placeholder": "${services.redis.baseUrl}", "directive": "%{ if x }y%{ endif }", "dollar": "$$ and $${",
		"quotes": `say "hi" \ back\slash`, "multi": "line one\nline two\n", "unicode": "naïve ☃", "int": int64(42), "float": 0.25,
		"bool": false, "null": nil, "list": []any{"a", int64(1), true}, "weird key: with spaces": "v", "emptyString": "",
	}
	h := &Halyard{Source: "test", Config: map[string]any{"version": "1.35.3"}, Profiles: map[string]any{"orca": tricky}}
	out, _, err := HalyardToHCL(h, HalyardOptions{})
	if err != nil {
		t.Fatal(err)
	}
	f, diags := hclsyntax.ParseConfig(out, "out.tf", hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatalf("%s\n%s", diags, out)
	}
	var got cty.Value
	for _, b := range f.Body.(*hclsyntax.Body).Blocks {
		if b.Type == "resource" && b.Labels[0] == "spinops_managed_spinnaker" {
			items := b.Body.Attributes["profiles"].Expr.(*hclsyntax.ObjectConsExpr).Items
			call := items[0].ValueExpr.(*hclsyntax.FunctionCallExpr)
			if call.Name != "yamlencode" {
				t.Fatalf("profiles.orca is %s(...), want yamlencode", call.Name)
			}
			if got, diags = call.Args[0].Value(nil); diags.HasErrors() {
				t.Fatal(diags)
			}
		}
	}
	for k, want := range tricky {
		if !got.Type().HasAttribute(k) {
			if want != nil {
				t.Errorf("%s is missing", k)
			}
			continue
		}
		v := got.GetAttr(k)
		switch w := want.(type) {
		case string:
			if v.AsString() != w {
				t.Errorf("%s = %q, want %q", k, v.AsString(), w)
			}
		case int64:
			if bf := v.AsBigFloat(); !bf.IsInt() || bf.String() != fmt.Sprint(w) {
				t.Errorf("%s = %s, want %d", k, bf, w)
			}
		case float64:
			if f, _ := v.AsBigFloat().Float64(); f != w {
				t.Errorf("%s = %v, want %v", k, f, w)
			}
		case bool:
			if v.True() != w {
				t.Errorf("%s = %v, want %v", k, v.True(), w)
			}
		case nil:
			t.Errorf("%s: a null setting is written (it is dropped: Halyard writes nulls for what is not set)", k)
		case []any:
			if v.LengthInt() != len(w) {
				t.Errorf("%s has %d elements, want %d", k, v.LengthInt(), len(w))
			}
		}
	}
}

// TestHalyardAgentAccounts: with AgentAccounts, each Kubernetes account
// becomes a spinops_agent_account in the zone's namespace and leaves
// config_overrides; Clouddriver-only settings are reported.
func TestHalyardAgentAccounts(t *testing.T) {
	h, err := ReadHalconfig(filepath.Join("testdata", "hal"), "")
	if err != nil {
		t.Fatal(err)
	}
	out, rep, err := HalyardToHCL(h, HalyardOptions{AgentAccounts: true, ZoneName: "blue"})
	if err != nil {
		t.Fatal(err)
	}
	hcl, report := string(out), rep.String()
	for _, want := range []string{
		`resource "spinops_agent_account" "prod_eu"`, `resource "spinops_agent_account" "staging"`,
		`mode            = "infrastructure"`, `omit_namespaces = ["kube-system"]`, "namespace = spinops_zone.blue.namespace",
	} {
		if !strings.Contains(hcl, want) {
			t.Errorf("the Terraform lacks %q:\n%s", want, hcl)
		}
	}
	if strings.Contains(hcl, "kubeconfigFile") || strings.Contains(hcl, "prod-eu.config") {
		t.Errorf("the accounts are still in config_overrides:\n%s", hcl)
	}
	for _, want := range []string{"providers.kubernetes.accounts[prod-eu].cacheThreads", "providers.kubernetes.accounts[prod-eu].dockerRegistries",
		"account prod-eu: the old Clouddriver reached it with /home/spinnaker/.kube/prod-eu.config (context prod-eu)"} {
		if !strings.Contains(report, want) {
			t.Errorf("the report lacks %q:\n%s", want, report)
		}
	}
	if m := neverRE.FindAllString(hcl+report, -1); len(m) > 0 {
		t.Errorf("secrets written out: %v", m)
	}
}

// TestHalyardAdoptInPlace: adopting a SpinnakerService in place writes the
// zone under its own name and namespace with an import block naming the
// operator's namespace, the installation with that operator left alone, and
// nothing that would plan a change on import (config_revision of an
// installation made in the same apply, promotion_override); the zone's
// expose and ha are the ones the import reads (spinnaker.AdoptedZone).
func TestHalyardAdoptInPlace(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "spinnakerservice.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var obj map[string]any
	if err := yaml.Unmarshal(raw, &obj); err != nil {
		t.Fatal(err)
	}
	h, err := FromSpinnakerService(obj)
	if err != nil {
		t.Fatal(err)
	}
	a := &Adoption{OperatorNamespace: "spinnaker-operator", ClusterWide: true, OperatorVersion: "1.3.1"}
	hcl, rep, err := HalyardToHCL(h, HalyardOptions{Adopt: a})
	if err != nil {
		t.Fatal(err)
	}
	out := string(hcl)
	for _, want := range []string{
		"operator {", `namespace    = "spinnaker-operator"`, "install      = false", "cluster_wide = true", `version      = "1.3.1"`,
		`resource "spinops_zone" "spinnaker"`, `name                 = "spinnaker"`, `namespace            = "spinnaker-prod"`, `tier                 = "production"`,
		"import {", "to = spinops_zone.spinnaker", `id = "spinnaker-operator/spinnaker-prod/spinnaker"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the Terraform lacks %q:\n%s", want, out)
		}
	}
	for _, never := range []string{"config_revision", "promotion_override"} {
		if strings.Contains(out, never) {
			t.Errorf("the adopted zone has %s, which plans a change on import:\n%s", never, out)
		}
	}
	if !strings.Contains(rep.String(), "adopted in place") || strings.Contains(rep.String(), "run the new zone beside it") {
		t.Errorf("the report does not say the SpinnakerService is adopted:\n%s", rep.String())
	}
	// Adopted in place, the same Orca and Redis go on: no word about
	// moving executions.
	if strings.Contains(rep.String(), "orca executions") {
		t.Errorf("the report of an adoption speaks of moving Orca's executions:\n%s", rep.String())
	}
	// The zone block carries what the import reads from the object.
	u := &unstructured.Unstructured{Object: obj}
	z, err := spinnaker.AdoptedZone(u)
	if err != nil {
		t.Fatal(err)
	}
	if z.Expose == nil || !strings.Contains(out, `deck_host = "`+z.Expose.DeckHost+`"`) || !strings.Contains(out, `gate_host = "`+z.Expose.GateHost+`"`) {
		t.Errorf("expose differs from what the import reads (%+v):\n%s", z.Expose, out)
	}
	for k, v := range z.Expose.Annotations {
		if !strings.Contains(out, fmt.Sprintf("%q = %q", k, v)) {
			t.Errorf("annotation %s=%s the import reads is not written:\n%s", k, v, out)
		}
	}

	for _, c := range []struct {
		o    HalyardOptions
		want string
	}{
		{HalyardOptions{Adopt: a, Namespace: "elsewhere"}, `keeps the SpinnakerService's namespace "spinnaker-prod"`},
		{HalyardOptions{Adopt: a, ZoneName: "green"}, `keeps the SpinnakerService's name "spinnaker"`},
		{HalyardOptions{Adopt: a, Tier: "sandbox"}, "production zone"},
		{HalyardOptions{Adopt: &Adoption{}}, "namespace of the Spinnaker Operator"},
	} {
		if _, _, err := HalyardToHCL(h, c.o); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: got %v, want an error with %q", c.o, err, c.want)
		}
	}
	hal, err := ReadHalconfig(filepath.Join("testdata", "hal"), "")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := HalyardToHCL(hal, HalyardOptions{Adopt: a}); err == nil || !strings.Contains(err.Error(), "needs a live SpinnakerService") {
		t.Errorf("adopting a Halyard config: %v", err)
	}
}

// TestAdoptionOf: the operator's version is its image's tag, when the tag
// is a version.
func TestAdoptionOf(t *testing.T) {
	for image, want := range map[string]string{
		"armory/spinnaker-operator:1.3.1":                         "1.3.1",
		"registry.example:5000/armory/spinnaker-operator:v1.4.0":  "1.4.0",
		"registry.example:5000/armory/spinnaker-operator":         "",
		"armory/spinnaker-operator:latest":                        "",
		"armory/spinnaker-operator@sha256:0123456789abcdef":       "",
		"armory/spinnaker-operator:1.3.1@sha256:0123456789abcdef": "1.3.1",
		"armory/spinnaker-operator:1.3.1-rc.1":                    "",
	} {
		a := AdoptionOf(spinnaker.OperatorInstance{Namespace: "op", Image: image})
		if a.OperatorVersion != want || a.OperatorNamespace != "op" || !a.ClusterWide {
			t.Errorf("%s: %+v, want version %q", image, a, want)
		}
	}
	if a := AdoptionOf(spinnaker.OperatorInstance{Namespace: "op", WatchNamespace: "op"}); a.ClusterWide {
		t.Errorf("an operator watching one namespace is not cluster-wide: %+v", a)
	}
}
