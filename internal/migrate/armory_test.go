package migrate

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// TestArmoryAgentGolden: the Armory config in testdata becomes exactly the
// golden Terraform, and every setting it does not carry over is reported.
func TestArmoryAgentGolden(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "kubesvc.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	hcl, rep, err := ArmoryAgentToHCL(raw, ArmoryOptions{SpinnakerNamespace: "spinops_zone.green.namespace"})
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "kubesvc.tf.golden")
	if *update {
		if err := os.WriteFile(golden, hcl, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if string(hcl) != string(want) {
		t.Fatalf("generated Terraform differs from %s (go test -run TestArmoryAgentGolden ./internal/migrate/ -update to accept):\n%s", golden, hcl)
	}
	report := rep.String()
	for _, want := range []string{
		"kubernetes.accounts[].providerVersion", "kubernetes.accounts[].cacheThreads", "prometheus", "typoKey: not a key the Armory agent documents",
		"account prod-eu: the Armory agent ran in its cluster", "account staging-us: the Armory agent reached it with /kubeconfigfiles/staging (context staging-us)",
	} {
		if !strings.Contains(report, want) {
			t.Errorf("the report lacks %q:\n%s", want, report)
		}
	}
	for _, secret := range []string{"an-old-armory-token-never-copied"} {
		if strings.Contains(string(hcl), secret) || strings.Contains(report, secret) {
			t.Errorf("the Armory token was written out")
		}
	}
}

func TestArmoryAgentRefusals(t *testing.T) {
	if _, _, err := ArmoryAgentToHCL([]byte("clouddriver: {grpc: \"bridge:9091\"}\nkubernetes: {accounts: []}\n"), ArmoryOptions{}); err == nil || !strings.Contains(err.Error(), "nothing to migrate") {
		t.Errorf("no accounts: %v", err)
	}
	if _, _, err := ArmoryAgentToHCL([]byte("clouddriver: {grpc: \"bridge:9091\"}\nkubernetes: {accounts: [{kinds: [Pod]}]}\n"), ArmoryOptions{}); err == nil {
		t.Errorf("an account without a name was accepted")
	}
	hcl, _, err := ArmoryAgentToHCL([]byte("clouddriver: {grpc: \"bridge:9091\"}\nkubernetes: {accounts: [{name: a, serviceAccount: true}]}\n"), ArmoryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(hcl), `variable "spinnaker_namespace"`) || !strings.Contains(string(hcl), "namespace = var.spinnaker_namespace") {
		t.Errorf("without a namespace the file asks for it as a variable:\n%s", hcl)
	}
}
