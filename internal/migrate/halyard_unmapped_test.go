package migrate

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestHalyardReportsWhatItCannotMap: every branch that leaves a Halyard
// setting out of the arguments says so in the report (the golden file
// reaches only some of them), and what is carried over in config_overrides
// is there.
func TestHalyardReportsWhatItCannotMap(t *testing.T) {
	base := func() *Halyard {
		return &Halyard{Source: "test", Config: map[string]any{
			"version": "1.35.3",
			"persistentStorage": map[string]any{"persistentStoreType": "s3",
				"s3": map[string]any{"bucket": "front50", "region": "us-east-1"}},
		}}
	}
	for _, tc := range []struct {
		name      string
		change    func(h *Halyard)
		report    string
		overrides string // in the generated HCL, when carried over
	}{
		{"bootstrap only", func(h *Halyard) {
			h.Config["deploymentEnvironment"] = map[string]any{"bootstrapOnly": true}
		}, "deploymentEnvironment.bootstrapOnly: Halyard's bootstrap deployments do not exist under the operator", ""},
		{"consul", func(h *Halyard) {
			h.Config["deploymentEnvironment"] = map[string]any{"consul": map[string]any{"enabled": true, "address": "consul:8500"}}
		}, "deploymentEnvironment.consul: Halyard's Consul integration", ""},
		{"vault", func(h *Halyard) {
			h.Config["deploymentEnvironment"] = map[string]any{"vault": map[string]any{"enabled": true, "address": "https://vault:8200"}}
		}, "deploymentEnvironment.vault: Halyard's Vault integration", ""},
		{"unknown persistence", func(h *Halyard) {
			h.Config["persistentStorage"] = map[string]any{"persistentStoreType": "azs", "azs": map[string]any{"storageAccountName": "acct", "storageContainerName": "front50"}}
		}, "persistentStorage: azs has no persistence block in spinops; it is carried over in config_overrides", "storageContainerName"},
		{"unknown oauth2 provider", func(h *Halyard) {
			h.Config["security"] = map[string]any{"authn": map[string]any{"enabled": true,
				"oauth2": map[string]any{"enabled": true, "provider": "OTHER", "client": map[string]any{"clientId": "id", "accessTokenUri": "https://idp.example/token"}}}}
		}, `security.authn.oauth2: provider "OTHER" has no oauth2.provider in spinops; carried over in config_overrides`, "accessTokenUri"},
		{"saml without metadata", func(h *Halyard) {
			h.Config["security"] = map[string]any{"authn": map[string]any{"enabled": true,
				"saml": map[string]any{"enabled": true, "issuerId": "spinnaker", "metadataLocal": "/hal/idp.xml"}}}
		}, "security.authn.saml: spinops' saml block needs metadataRemote and a keyStore file; carried over in config_overrides", "issuerId"},
		{"a feature that is not a boolean", func(h *Halyard) {
			h.Config["features"] = map[string]any{"fiat": "sometimes"}
		}, "features.fiat: sometimes is not a boolean", ""},
		{"clouddriver-ro-deck turned off", func(h *Halyard) {
			h.Config["deploymentEnvironment"] = map[string]any{"haServices": map[string]any{
				"clouddriver": map[string]any{"enabled": true, "disableClouddriverRoDeck": true},
				"echo":        map[string]any{"enabled": true}}}
		}, "disableClouddriverRoDeck: spinops always runs clouddriver-ro-deck with a split Clouddriver", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := base()
			tc.change(h)
			gen, rep, err := HalyardToHCL(h, HalyardOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(rep.String(), tc.report) {
				t.Errorf("the report does not say %q:\n%s", tc.report, rep)
			}
			if tc.overrides != "" && !strings.Contains(string(gen), tc.overrides) {
				t.Errorf("config_overrides lacks %q:\n%s", tc.overrides, gen)
			}
		})
	}

	// What reading the directory skips: a directory under profiles/ and a
	// file under service-settings/ that is not <service>.yml.
	dir := t.TempDir()
	for p, body := range map[string]string{
		"config":                          "currentDeployment: prod\ndeploymentConfigurations:\n- name: prod\n  version: 1.35.3\n",
		"prod/profiles/certs/ca.pem":      "-----BEGIN CERTIFICATE-----\n",
		"prod/service-settings/README.md": "notes\n",
		"prod/service-settings/gate.yml":  "env:\n  JAVA_OPTS: -Xmx2g\n",
	} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, p), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	h, err := ReadHalconfig(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	_, rep, err := HalyardToHCL(h, HalyardOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"profiles/certs/: a directory of custom files", "service-settings/README.md: not a <service>.yml file"} {
		if !strings.Contains(rep.String(), want) {
			t.Errorf("the report does not say %q:\n%s", want, rep)
		}
	}
}
