package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	tfresource "github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/spinops/terraform-provider-spinops/internal/spinnaker"
)

// clockProvider is the provider with an injected clock, so that tests can
// let a promotion soak pass without waiting for it.
type clockProvider struct {
	provider.Provider
	now func() time.Time
}

func (p *clockProvider) Configure(ctx context.Context, req provider.ConfigureRequest, resp *provider.ConfigureResponse) {
	p.Provider.Configure(ctx, req, resp)
	if d, ok := resp.ResourceData.(*providerData); ok {
		d.now = p.now
	}
}

// newWithClock is New with the provider's clock replaced by now.
func newWithClock(version string, now func() time.Time) func() provider.Provider {
	return func() provider.Provider { return &clockProvider{Provider: New(version)(), now: now} }
}

// clockedFactories are provider factories whose clock starts at
// 2026-03-01 09:00 UTC and moves only by advance.
func clockedFactories() (factories map[string]func() (tfprotov6.ProviderServer, error), advance func(time.Duration)) {
	var clock atomic.Int64
	clock.Store(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC).UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()).UTC() }
	return map[string]func() (tfprotov6.ProviderServer, error){
		"spinops": providerserver.NewProtocol6WithError(newWithClock("test", now)()),
	}, func(d time.Duration) { clock.Add(int64(d)) }
}

func TestZoneAndManagedSpinnakerSchemasAreValid(t *testing.T) {
	ctx := context.Background()
	for _, r := range []resource.Resource{newManagedSpinnakerResource(), newZoneResource()} {
		var resp resource.SchemaResponse
		r.Schema(ctx, resource.SchemaRequest{}, &resp)
		if resp.Diagnostics.HasError() {
			t.Fatalf("%T schema: %v", r, resp.Diagnostics)
		}
		if diags := resp.Schema.ValidateImplementation(ctx); diags.HasError() {
			t.Fatalf("%T schema implementation: %v", r, diags)
		}
	}
}

const (
	accSQLPassword = "tf-acc-sql-Pa55word-do-not-store"
	accS3Secret    = "tf-acc-minio-S3cret-do-not-store"
	accOpNamespace = "tf-acc-test-spinops"
	accRedNS       = "tf-acc-test-red"
	accGreenNS     = "tf-acc-test-green"
)

type zoneAccConfig struct {
	redVersion              string
	green                   bool
	greenVersion            string
	greenDeletionProtection *bool
	// redSettings are more service_settings entries of red's.
	redSettings string
}

func (c zoneAccConfig) render(kubeconfig string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `
provider "spinops" {
  kubernetes {
    config_path = %q
  }
}

resource "spinops_managed_spinnaker" "this" {
  spinnaker_version = "1.35.3"
  operator {
    namespace = %q
  }
  persistence {
    s3 {
      bucket                       = "spin-front50"
      endpoint                     = "http://minio.minio:9000"
      path_style                   = true
      access_key_id                = "spinnaker"
      secret_access_key_wo         = %q
      secret_access_key_wo_version = 1
    }
  }
  sql {
    endpoint            = "primary.db.internal"
    reader_endpoint     = "reader.db.internal"
    databases           = { clouddriver = "clouddriver", orca = "orca", front50 = "front50" }
    user                = "spinnaker"
    password_wo         = %q
    password_wo_version = 1
  }
  redis {
    endpoint = "redis.internal:6379"
  }
  promotion {
    soak = "24h"
  }
}

resource "spinops_zone" "red" {
  managed_spinnaker_id = spinops_managed_spinnaker.this.id
  name                 = "red"
  tier                 = "sandbox"
  namespace            = %q
  spinnaker_version    = %q
  rollback_on_failure  = true
  ha {
    replicas = 2
  }
  # Halyard deploys Igor only with a CI system or a Docker registry, or
  # when its service settings turn it on.
  service_settings = {
    igor = "enabled: true"
    %s
  }
  verification {
    attempts = 3
    interval = "300ms"
  }
  timeouts {
    create = "`+accZoneTimeout()+`"
    update = "`+accZoneTimeout()+`"
  }
}
`, kubeconfig, accOpNamespace, accS3Secret, accSQLPassword, accRedNS, c.redVersion, c.redSettings)
	if c.green {
		dp := ""
		if c.greenDeletionProtection != nil {
			dp = fmt.Sprintf("deletion_protection = %v", *c.greenDeletionProtection)
		}
		fmt.Fprintf(&b, `
resource "spinops_zone" "green" {
  managed_spinnaker_id = spinops_managed_spinnaker.this.id
  name                 = "green"
  tier                 = "production"
  namespace            = %q
  spinnaker_version    = %q
  %s
  expose {
    type      = "ingress"
    deck_host = "spinnaker.example.com"
    gate_host = "api.spinnaker.example.com"
  }
  verification {
    attempts = 3
    interval = "300ms"
  }
  timeouts {
    create = "`+accZoneTimeout()+`"
    update = "`+accZoneTimeout()+`"
  }
}
`, accGreenNS, c.greenVersion, dp)
	}
	return b.String()
}

// TestAccZone_redGreenPromotion is the acceptance scenario: install,
// a red zone created and verified, a green zone refused by the promotion
// gate until the soak has passed, a broken upgrade of red rolled back,
// import, drift, and deletion protection.
func TestAccZone_redGreenPromotion(t *testing.T) {
	if testing.Short() {
		t.Skip("acceptance test")
	}
	zc := startZoneAccCluster(t, accOpNamespace)
	c := zc.cs

	factories, advance := clockedFactories()
	cfg := func(c2 zoneAccConfig) string { return c2.render(zc.kubeconfig) }
	off := false
	var greenRecord string

	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: factories,
		// Destroying a zone removes its disruption budgets.
		CheckDestroy: func(*terraform.State) error {
			l, err := c.PolicyV1().PodDisruptionBudgets(accRedNS).List(t.Context(), metav1.ListOptions{})
			if err == nil && len(l.Items) > 0 {
				err = fmt.Errorf("%d PodDisruptionBudgets left in %s after destroy", len(l.Items), accRedNS)
			}
			return err
		},
		Steps: append([]tfresource.TestStep{
			{
				// Install, and a red zone created and verified.
				Config: cfg(zoneAccConfig{redVersion: "1.35.3"}),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("spinops_managed_spinnaker.this", tfjsonpath.New("id"), knownvalue.StringExact(accOpNamespace)),
					statecheck.ExpectKnownValue("spinops_zone.red", tfjsonpath.New("status"), knownvalue.StringExact("OK")),
					statecheck.ExpectKnownValue("spinops_zone.red", tfjsonpath.New("deployed_version"), knownvalue.StringExact("1.35.3")),
					statecheck.ExpectKnownValue("spinops_zone.red", tfjsonpath.New("verified_version"), knownvalue.StringExact("1.35.3")),
					statecheck.ExpectKnownValue("spinops_zone.red", tfjsonpath.New("verified_at"), knownvalue.StringExact("2026-03-01T09:00:00Z")),
					statecheck.ExpectKnownValue("spinops_zone.red", tfjsonpath.New("deletion_protection"), knownvalue.Bool(false)),
					statecheck.ExpectKnownValue("spinops_zone.red", tfjsonpath.New("services").AtMapKey("clouddriver-ro").AtMapKey("ready_replicas"), knownvalue.Int64Exact(2)),
					statecheck.ExpectKnownValue("spinops_zone.red", tfjsonpath.New("services").AtMapKey("echo-scheduler").AtMapKey("replicas"), knownvalue.Int64Exact(1)),
					statecheck.ExpectKnownValue("spinops_zone.red", tfjsonpath.New("services").AtMapKey("igor").AtMapKey("replicas"), knownvalue.Int64Exact(1)),
					statecheck.ExpectKnownValue("spinops_zone.red", tfjsonpath.New("ha").AtMapKey("zone_spread"), knownvalue.StringExact(spinnaker.ZoneSpreadRequired)),
					statecheck.ExpectKnownValue("spinops_zone.red", tfjsonpath.New("service_ports"),
						knownvalue.MapExact(map[string]knownvalue.Check{"deck": knownvalue.Int64Exact(9000), "gate": knownvalue.Int64Exact(8084)})),
				},
				Check: tfresource.ComposeTestCheckFunc(
					checkNoSecretInState(accSQLPassword, accS3Secret),
					checkSecretsInCluster(t, c),
					checkDisruptionBudgets(t, c, "spinops_zone.red", accRedNS),
				),
			},
			{
				// A volume id the global service-settings and Clouddriver's
				// both give: Halyard would mount it twice. Refused at plan
				// time, naming the service and the id.
				Config: cfg(zoneAccConfig{redVersion: "1.35.3", redSettings: `
    spinnaker   = yamlencode({ kubernetes = { volumes = [{ id = "corp-ca", type = "configMap", mountPath = "/etc/corp-ca" }] } })
    clouddriver = yamlencode({ kubernetes = { volumes = [{ id = "corp-ca", type = "configMap", mountPath = "/etc/corp-ca" }] } })`}),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)service_settings\s+for\s+clouddriver:\s+two\s+kubernetes\.volumes\s+have\s+the\s+id\s+"corp-ca"`),
			},
			{
				// A global podLabel app.kubernetes.io/name: Halyard would
				// write it over its own on every pod, and the operator
				// would find none of them. Refused at plan time.
				Config: cfg(zoneAccConfig{redVersion: "1.35.3", redSettings: `
    spinnaker = yamlencode({ kubernetes = { podLabels = { "app.kubernetes.io/name" = "spinnaker" } } })`}),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)kubernetes\.podLabels\s+sets\s+app\.kubernetes\.io/name:\s+spinnaker,\s+but\s+Halyard\s+labels\s+spin-[a-z0-9-]+'s\s+pods\s+app\.kubernetes\.io/name`),
			},
			{
				// Green asks for a version red never verified: refused at plan time.
				Config:      cfg(zoneAccConfig{redVersion: "1.35.3", green: true, greenVersion: "1.36.0"}),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)Spinnaker version not promoted.*Production zone "green" may not take\s+Spinnaker 1\.36\.0.*No sandbox zone has verified 1\.36\.0.*red \(namespace\s+tf-acc-test-red\): verified 1\.35\.3 at\s+2026-03-01T09:00:00Z`),
			},
			{
				// Green asks for what red verified, but before the soak is over.
				Config:      cfg(zoneAccConfig{redVersion: "1.35.3", green: true, greenVersion: "1.35.3"}),
				PlanOnly:    true,
				PreConfig:   func() { advance(20 * time.Hour) },
				ExpectError: regexp.MustCompile(`(?s)has not soaked yet: 4h0m0s\s+remaining \(eligible at 2026-03-02T09:00:00Z\)`),
			},
			{
				// After the soak, green is accepted.
				Config:    cfg(zoneAccConfig{redVersion: "1.35.3", green: true, greenVersion: "1.35.3"}),
				PreConfig: func() { advance(5 * time.Hour) },
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("spinops_zone.green", tfjsonpath.New("status"), knownvalue.StringExact("OK")),
					statecheck.ExpectKnownValue("spinops_zone.green", tfjsonpath.New("verified_version"), knownvalue.StringExact("1.35.3")),
					statecheck.ExpectKnownValue("spinops_zone.green", tfjsonpath.New("deletion_protection"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue("spinops_zone.green", tfjsonpath.New("rollback_on_failure"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue("spinops_zone.green", tfjsonpath.New("ui_url"), knownvalue.StringExact("http://spinnaker.example.com")),
					// The operator reports no URL without spec.expose (only its
					// type-service transformer writes status.uiUrl); red has no
					// expose block, green's ingress hosts are rendered.
					statecheck.ExpectKnownValue("spinops_zone.red", tfjsonpath.New("ui_url"), knownvalue.StringExact("")),
					statecheck.ExpectKnownValue("spinops_zone.green", tfjsonpath.New("api_url"), knownvalue.StringExact("http://api.spinnaker.example.com")),
				},
				// Green has no ha block: one replica each, no budget. Nor a
				// CI system: Halyard deploys no Igor, and green is ready
				// without one.
				Check: tfresource.ComposeTestCheckFunc(checkDisruptionBudgets(t, c, "spinops_zone.green", accGreenNS),
					tfresource.TestCheckNoResourceAttr("spinops_zone.green", "services.igor.replicas")),
			},
			{
				// Red upgraded to a broken version: verification fails and,
				// with rollback_on_failure, red goes back to 1.35.3.
				Config:      cfg(zoneAccConfig{redVersion: "1.36.0-broken", green: true, greenVersion: "1.35.3"}),
				PreConfig:   func() { advance(time.Hour) },
				SkipFunc:    zc.skipWithRealOperator(t, "a broken version is the stand-in's test server answering 503"),
				ExpectError: regexp.MustCompile(`(?s)updating zone \(red\).*Spinnaker 1\.36\.0-broken failed post-upgrade.*gate /health: HTTP 503.*Rolled back to 1\.35\.3`),
			},
			{
				// The ledger shows the failure and the rollback; red runs
				// 1.35.3 and the state says so, so nothing is planned.
				Config: cfg(zoneAccConfig{redVersion: "1.35.3", green: true, greenVersion: "1.35.3"}),
				ConfigPlanChecks: tfresource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("spinops_zone.red", plancheck.ResourceActionNoop),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("spinops_zone.red", tfjsonpath.New("deployed_version"), knownvalue.StringExact("1.35.3")),
					statecheck.ExpectKnownValue("spinops_managed_spinnaker.this", tfjsonpath.New("verified_versions"),
						knownvalue.MapExact(map[string]knownvalue.Check{"1.35.3": knownvalue.StringExact("2026-03-01T09:00:00Z")})),
				},
				Check: checkLedgerRollback(t, c, zc.real),
			},
			{
				ResourceName:            "spinops_zone.red",
				ImportState:             true,
				ImportStateId:           accRedNS + "/red",
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"verification", "timeouts"},
			},
			{
				// Drift: the SpinnakerService edited out of band is put back.
				Config:    cfg(zoneAccConfig{redVersion: "1.35.3", green: true, greenVersion: "1.35.3"}),
				PreConfig: func() { editOutOfBand(t, c) },
				ConfigPlanChecks: tfresource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("spinops_zone.red", plancheck.ResourceActionUpdate),
				}},
				Check: checkOutOfBandEditReverted(t, c),
			},
			{
				// A disruption budget deleted out of band is a planned
				// change, and the apply puts it back.
				Config: cfg(zoneAccConfig{redVersion: "1.35.3", green: true, greenVersion: "1.35.3"}),
				PreConfig: func() {
					l, err := c.PolicyV1().PodDisruptionBudgets(accRedNS).List(t.Context(), metav1.ListOptions{})
					if err != nil || len(l.Items) == 0 {
						t.Fatalf("no disruption budget to delete in %s: %v", accRedNS, err)
					}
					if err := c.PolicyV1().PodDisruptionBudgets(accRedNS).Delete(t.Context(), l.Items[0].Name, metav1.DeleteOptions{}); err != nil {
						t.Fatal(err)
					}
				},
				ConfigPlanChecks: tfresource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("spinops_zone.red", plancheck.ResourceActionUpdate),
					plancheck.ExpectResourceAction("spinops_zone.green", plancheck.ResourceActionNoop),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("spinops_zone.red", tfjsonpath.New("disruption_budgets"),
						knownvalue.ListPartial(map[int]knownvalue.Check{0: knownvalue.StringRegexp(regexp.MustCompile(`^spin-`))})),
					statecheck.ExpectKnownValue("spinops_zone.green", tfjsonpath.New("disruption_budgets"), knownvalue.ListSizeExact(0)),
				},
				Check: checkDisruptionBudgets(t, c, "spinops_zone.red", accRedNS),
			},
			{
				// Destroying green is refused by deletion protection ...
				Config:      cfg(zoneAccConfig{redVersion: "1.35.3"}),
				ExpectError: regexp.MustCompile(`(?s)Zone green is deletion-protected.*deletion_protection = false`),
			},
			{
				// ... until it is turned off: a change no cluster holds,
				// recorded in state without deploying green again (its
				// ledger record, verification included, stays as it was).
				Config:    cfg(zoneAccConfig{redVersion: "1.35.3", green: true, greenVersion: "1.35.3", greenDeletionProtection: &off}),
				PreConfig: func() { greenRecord = ledgerRecord(t, c, "green") },
				ConfigPlanChecks: tfresource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("spinops_zone.green", plancheck.ResourceActionUpdate),
					plancheck.ExpectKnownValue("spinops_zone.green", tfjsonpath.New("status"), knownvalue.StringExact("OK")),
					plancheck.ExpectKnownValue("spinops_zone.green", tfjsonpath.New("verified_at"), knownvalue.NotNull()),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("spinops_zone.green", tfjsonpath.New("deletion_protection"), knownvalue.Bool(false)),
				},
				Check: func(*terraform.State) error {
					if got := ledgerRecord(t, c, "green"); got != greenRecord {
						return fmt.Errorf("green was deployed again for a change no cluster holds: its ledger record went from\n%s\nto\n%s", greenRecord, got)
					}
					return nil
				},
			},
			{
				Config: cfg(zoneAccConfig{redVersion: "1.35.3"}),
			},
		}, importSteps("spinops_zone.red", accRedNS+"/red", []string{"timeouts", "verification"}, nil)...),
	})
}

// checkDisruptionBudgets checks, from the zone's services attribute (what
// the operator reports), that every service with two or more replicas has a
// PodDisruptionBudget spin-<service> with maxUnavailable 1 selecting its
// pods, and that no other budget is in the zone's namespace.
func checkDisruptionBudgets(t *testing.T, c kubernetes.Interface, addr, namespace string) tfresource.TestCheckFunc {
	return func(s *terraform.State) error {
		rs, ok := s.RootModule().Resources[addr]
		if !ok {
			return fmt.Errorf("%s not in the state", addr)
		}
		want := map[string]bool{}
		for k, v := range rs.Primary.Attributes {
			name, ok := strings.CutSuffix(strings.TrimPrefix(k, "services."), ".replicas")
			if ok && strings.HasPrefix(k, "services.") && v != "0" && v != "1" {
				want["spin-"+name] = true
			}
		}
		list, err := c.PolicyV1().PodDisruptionBudgets(namespace).List(t.Context(), metav1.ListOptions{})
		if err != nil {
			return err
		}
		for _, p := range list.Items {
			if !want[p.Name] {
				return fmt.Errorf("PodDisruptionBudget %s/%s for a service without two replicas (want %v)", namespace, p.Name, want)
			}
			delete(want, p.Name)
			if p.Spec.MaxUnavailable == nil || p.Spec.MaxUnavailable.IntValue() != 1 || p.Spec.Selector == nil || p.Spec.Selector.MatchLabels["cluster"] != p.Name {
				return fmt.Errorf("PodDisruptionBudget %s/%s: maxUnavailable %v selector %v", namespace, p.Name, p.Spec.MaxUnavailable, p.Spec.Selector)
			}
		}
		if len(want) > 0 {
			return fmt.Errorf("no PodDisruptionBudget in %s for %v", namespace, want)
		}
		return nil
	}
}

// checkNoSecretInState fails when any attribute of any resource in the
// state holds one of the secrets.
func checkNoSecretInState(secrets ...string) tfresource.TestCheckFunc {
	return func(s *terraform.State) error {
		for _, m := range s.Modules {
			for addr, rs := range m.Resources {
				for k, v := range rs.Primary.Attributes {
					for _, secret := range secrets {
						if strings.Contains(v, secret) {
							return fmt.Errorf("the state of %s holds a secret in %s", addr, k)
						}
					}
				}
			}
		}
		return nil
	}
}

// checkSecretsInCluster checks that the write-only secrets reached the
// installation's and the zone's Secrets, and not the SpinnakerService.
func checkSecretsInCluster(t *testing.T, c kubernetes.Interface) tfresource.TestCheckFunc {
	return func(*terraform.State) error {
		ctx := t.Context()
		inst, err := c.CoreV1().Secrets(accOpNamespace).Get(ctx, spinnaker.InstallationCredentials, metav1.GetOptions{})
		if err != nil {
			return err
		}
		zone, err := c.CoreV1().Secrets(accRedNS).Get(ctx, "red-spinops-credentials", metav1.GetOptions{})
		if err != nil {
			return err
		}
		for _, s := range []map[string][]byte{inst.Data, zone.Data} {
			if string(s[spinnaker.KeySQLPassword]) != accSQLPassword || string(s[spinnaker.KeyS3SecretAccessKey]) != accS3Secret {
				return fmt.Errorf("credentials Secret lacks the write-only values: keys %v", keys(s))
			}
		}
		raw, err := c.CoreV1().RESTClient().Get().AbsPath("/apis/spinnaker.io/v1alpha2/namespaces", accRedNS, "spinnakerservices", "red").DoRaw(ctx)
		if err != nil {
			return err
		}
		if strings.Contains(string(raw), accSQLPassword) || strings.Contains(string(raw), accS3Secret) {
			return fmt.Errorf("the SpinnakerService holds a secret value")
		}
		if !strings.Contains(string(raw), "encrypted:k8s!n:red-spinops-credentials!k:sql-password") {
			return fmt.Errorf("the SpinnakerService does not reference the SQL password Secret")
		}
		return nil
	}
}

func keys(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// ledgerRecord is zone's record in the installation's ledger, as JSON.
func ledgerRecord(t *testing.T, c kubernetes.Interface, zone string) string {
	t.Helper()
	l, err := spinnaker.LoadLedger(t.Context(), c, accOpNamespace)
	if err != nil {
		t.Fatalf("reading the ledger: %v", err)
	}
	b, err := json.Marshal(l.Zones[zone])
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func checkLedgerRollback(t *testing.T, c kubernetes.Interface, real bool) tfresource.TestCheckFunc {
	return func(*terraform.State) error {
		if real {
			return nil // the broken upgrade was skipped
		}
		l, err := spinnaker.LoadLedger(t.Context(), c, accOpNamespace)
		if err != nil {
			return err
		}
		red, green := l.Zones["red"], l.Zones["green"]
		if red == nil || green == nil {
			return fmt.Errorf("ledger zones: %v", l.Zones)
		}
		if red.Version != "1.35.3" || red.Result != spinnaker.ResultFailed || len(red.Failures) == 0 {
			return fmt.Errorf("red record: version %s result %s failures %v", red.Version, red.Result, red.Failures)
		}
		if len(red.Rollbacks) != 1 || red.Rollbacks[0].From != "1.36.0-broken" || red.Rollbacks[0].To != "1.35.3" || !red.Rollbacks[0].Complete {
			return fmt.Errorf("red rollbacks: %+v", red.Rollbacks)
		}
		if _, ok := red.Verified["1.36.0-broken"]; ok {
			return fmt.Errorf("the broken version is recorded as verified")
		}
		if green.Tier != spinnaker.TierProduction || green.Result != spinnaker.ResultPassed || green.VerifiedAt == nil {
			return fmt.Errorf("green record: %+v", green)
		}
		return nil
	}
}

// oobField is a real Halyard feature flag the test configuration never sets:
// the operator's webhook refuses any other key under features.
const oobField = "chaos"

func editOutOfBand(t *testing.T, c kubernetes.Interface) {
	patch, _ := json.Marshal(map[string]any{"spec": map[string]any{"spinnakerConfig": map[string]any{"config": map[string]any{"features": map[string]any{oobField: true}}}}})
	_, err := c.CoreV1().RESTClient().Patch(types.MergePatchType).
		AbsPath("/apis/spinnaker.io/v1alpha2/namespaces", accRedNS, "spinnakerservices", "red").
		Param("fieldManager", "kubectl-edit").Body(patch).DoRaw(t.Context())
	if err != nil {
		t.Fatalf("editing the SpinnakerService out of band: %v", err)
	}
}

func checkOutOfBandEditReverted(t *testing.T, c kubernetes.Interface) tfresource.TestCheckFunc {
	return func(*terraform.State) error {
		raw, err := c.CoreV1().RESTClient().Get().AbsPath("/apis/spinnaker.io/v1alpha2/namespaces", accRedNS, "spinnakerservices", "red").DoRaw(t.Context())
		if err != nil {
			return err
		}
		if strings.Contains(string(raw), oobField) {
			return fmt.Errorf("the out-of-band edit survived the apply")
		}
		return nil
	}
}
