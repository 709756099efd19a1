package provider

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/config"
	tfresource "github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

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

// TestAccMigrateHalyardApplies: what `spinops migrate plan --halconfig`
// writes is applied for real with the real terraform binary (the
// installation and the production zone, run by the operator stand-in and
// verified), and a second plan of the same files is empty. The references
// the migration put in place of secrets resolve from the Secret its report
// tells the user to create.
func TestAccMigrateHalyardApplies(t *testing.T) {
	zc := startZoneAccCluster(t, accOpNamespace)
	h, err := migrate.ReadHalconfig(filepath.Join("..", "migrate", "testdata", "hal"), "")
	if err != nil {
		t.Fatal(err)
	}
	out, rep, err := migrate.HalyardToHCL(h, migrate.HalyardOptions{Namespace: accGreenNS, ZoneName: "green"})
	if err != nil {
		t.Fatal(err)
	}
	// The Secret the report asks for, with a value for every key the
	// generated configuration references.
	keys := map[string][]byte{}
	for _, m := range regexp.MustCompile(`k8s!n:spinops-migrated-secrets!k:([^"!\s]+)`).FindAllStringSubmatch(string(out), -1) {
		keys[m[1]] = []byte("tf-acc-value-of-" + m[1])
	}
	if !strings.Contains(rep.String(), "create secret generic spinops-migrated-secrets") || len(keys) == 0 {
		t.Fatalf("the report does not say how to create the Secret, or nothing references it:\n%s", rep)
	}
	ctx := t.Context()
	if _, err := zc.cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: accGreenNS}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	if _, err := zc.cs.CoreV1().Secrets(accGreenNS).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "spinops-migrated-secrets"}, Data: keys}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	cfg := migratedConfig(zc, out)
	vars := config.Variables{
		"oauth2_client_secret": config.StringVariable("tf-acc-oauth2-secret"),
		"s3_secret_access_key": config.StringVariable("tf-acc-s3-secret"),
	}
	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []tfresource.TestStep{{
			Config:          cfg,
			ConfigVariables: vars,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("spinops_zone.green", tfjsonpath.New("status"), knownvalue.StringExact("OK")),
				statecheck.ExpectKnownValue("spinops_zone.green", tfjsonpath.New("deployed_version"), knownvalue.StringExact("1.35.3")),
			},
			Check: checkNoSecretInState("tf-acc-oauth2-secret", "tf-acc-s3-secret"),
		}, {
			// The same files again: nothing to do.
			Config:          cfg,
			ConfigVariables: vars,
			ConfigPlanChecks: tfresource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
				plancheck.ExpectEmptyPlan(),
			}},
		}, {
			// A production zone is deletion-protected: lifted so that the
			// test can destroy it.
			Config: strings.Replace(cfg, `resource "spinops_zone" "green" {`, `resource "spinops_zone" "green" {
  deletion_protection = false`, 1),
			ConfigVariables: vars,
		}},
	})
}

// migratedConfig is what `spinops migrate plan` wrote, run on zc: the
// provider pointed at its cluster, the installation's operator in
// accOpNamespace and green's verification and timeouts sized for the
// stand-ins.
func migratedConfig(zc *zoneAccCluster, gen []byte) string {
	return fmt.Sprintf(`
provider "spinops" {
  kubernetes {
    config_path = %q
  }
}
`, zc.kubeconfig) + strings.NewReplacer(
		`resource "spinops_managed_spinnaker" "this" {`, `resource "spinops_managed_spinnaker" "this" {
  operator {
    namespace = "`+accOpNamespace+`"
  }`,
		`resource "spinops_zone" "green" {`, `resource "spinops_zone" "green" {
  verification {
    attempts = 3
    interval = "300ms"
  }
  timeouts {
    create = "`+accZoneTimeout()+`"
    update = "`+accZoneTimeout()+`"
  }`).Replace(string(gen))
}
