package provider

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/config"
	tfresource "github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/spinops/terraform-provider-spinops/internal/migrate"
)

// TestAccMigrateHalyardPlans: what `spinops migrate plan --halconfig`
// writes for the Halyard directory in internal/migrate/testdata (every
// kind of setting, secrets in many places) is valid against the provider's
// real schema and plans with the real terraform binary against a real API
// server: the variables are ephemeral, the write-only arguments take them,
// the provider's plan-time checks and the zone's rendering accept the
// mapping (with the Kubernetes accounts as spinops_agent_accounts too), and
// a Spring placeholder in a profile reaches the state unchanged.
func TestAccMigrateHalyardPlans(t *testing.T) {
	spin, ns := spinnakerCluster(t)
	h, err := migrate.ReadHalconfig(filepath.Join("..", "migrate", "testdata", "hal"), "")
	if err != nil {
		t.Fatal(err)
	}
	hcl, _, err := migrate.HalyardToHCL(h, migrate.HalyardOptions{Namespace: ns})
	if err != nil {
		t.Fatal(err)
	}
	// A bridge in the provider block, for the agent accounts.
	providerBlock := startTestBridge(t).providerBlock(spin)
	withAccounts, _, err := migrate.HalyardToHCL(h, migrate.HalyardOptions{Namespace: ns, AgentAccounts: true})
	if err != nil {
		t.Fatal(err)
	}
	vars := config.Variables{
		"oauth2_client_secret": config.StringVariable("tf-acc-oauth2-secret"),
		"s3_secret_access_key": config.StringVariable("tf-acc-s3-secret"),
	}
	// The installation is applied (its operator left to the cluster's owner,
	// install = false), so the zone's plan renders the SpinnakerService from
	// it: the mapping passes the renderer's checks, not only the schema.
	opNS := spin.Namespace(t)
	full := strings.Replace(string(hcl), `resource "spinops_managed_spinnaker" "this" {`,
		`resource "spinops_managed_spinnaker" "this" {
  operator {
    namespace = "`+opNS+`"
    install   = false
  }`, 1)
	installation, _, _ := strings.Cut(full, `resource "spinops_zone"`)
	fullWithAccounts := strings.Replace(string(withAccounts), `resource "spinops_managed_spinnaker" "this" {`,
		`resource "spinops_managed_spinnaker" "this" {
  operator {
    namespace = "`+opNS+`"
    install   = false
  }`, 1)
	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []tfresource.TestStep{{
			// Without the secrets' values the plan stops, naming them.
			Config:      providerBlock + full,
			PlanOnly:    true,
			ExpectError: regexp.MustCompile(`oauth2_client_secret`),
		}, {
			Config:          providerBlock + installation,
			ConfigVariables: vars,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("spinops_managed_spinnaker.this", tfjsonpath.New("profiles").AtMapKey("clouddriver"),
					knownvalue.StringRegexp(regexp.MustCompile(`"defaultImage": "\$\{services\.docker\.image:busybox\}"`))),
			},
		}, {
			Config:             providerBlock + full,
			ConfigVariables:    vars,
			PlanOnly:           true,
			ExpectNonEmptyPlan: true,
		}, {
			// With --agent-accounts: the zone and one spinops_agent_account
			// per Kubernetes account.
			Config:             providerBlock + fullWithAccounts,
			ConfigVariables:    vars,
			PlanOnly:           true,
			ExpectNonEmptyPlan: true,
		}},
	})
}
