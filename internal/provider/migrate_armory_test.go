package provider

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	tfresource "github.com/hashicorp/terraform-plugin-testing/helper/resource"

	"github.com/spinops/terraform-provider-spinops/internal/migrate"
)

// TestAccMigrateArmoryAgentPlans: what `spinops migrate plan
// --armory-agent` writes for the documented Armory config in
// internal/migrate/testdata is valid against the provider's real schema
// and plans (Terraform parses it, the provider validates it and runs its
// plan-time checks against a real API server).
func TestAccMigrateArmoryAgentPlans(t *testing.T) {
	spin, spinNS := spinnakerCluster(t)
	tb := startTestBridge(t)
	raw, err := os.ReadFile(filepath.Join("..", "migrate", "testdata", "kubesvc.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	hcl, _, err := migrate.ArmoryAgentToHCL(raw, migrate.ArmoryOptions{SpinnakerNamespace: spinNS})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(hcl), `namespace = "`+spinNS+`"`) {
		t.Fatalf("the namespace given is not in the output:\n%s", hcl)
	}
	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []tfresource.TestStep{{
			Config:             tb.providerBlock(spin) + string(hcl),
			PlanOnly:           true,
			ExpectNonEmptyPlan: true,
		}, {
			// Without a namespace the file asks for one: a plan without it
			// fails naming the variable.
			Config:      tb.providerBlock(spin) + mustArmoryHCL(t, raw, ""),
			PlanOnly:    true,
			ExpectError: regexp.MustCompile(`spinnaker_namespace`),
		}},
	})
}

func mustArmoryHCL(t *testing.T, raw []byte, ns string) string {
	t.Helper()
	hcl, _, err := migrate.ArmoryAgentToHCL(raw, migrate.ArmoryOptions{SpinnakerNamespace: ns})
	if err != nil {
		t.Fatal(err)
	}
	return string(hcl)
}
