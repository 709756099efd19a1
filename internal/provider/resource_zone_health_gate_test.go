package provider

import (
	"fmt"
	"regexp"
	"testing"
	"time"

	tfresource "github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/spinops/terraform-provider-spinops/internal/monitor"
	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

// recordChecks writes checks of a zone into its monitor state now, as the
// spinops monitor records a round (monitor.ConfigMapStore, the ConfigMap
// spinops_zone_slo and the promotion gate read).
func recordChecks(t *testing.T, c *testenv.Cluster, ns, zone string, cnt monitor.Counts) {
	t.Helper()
	o := monitor.Options{Store: &monitor.ConfigMapStore{Client: c.Clientset()},
		Zones: []monitor.Zone{{Name: zone, Namespace: ns, Tier: monitor.TierSandbox}}}
	if err := o.CheckAndSetDefaults(); err != nil {
		t.Fatal(err)
	}
	var failed *monitor.Failure
	if cnt.Bad > 0 {
		failed = &monitor.Failure{At: time.Now(), Check: "gate-health", Reason: "HTTP 503"}
	}
	if _, err := o.Store.Update(t.Context(), monitor.ZoneRef{Name: zone, Namespace: ns}, o.Shape(), func(st *monitor.ZoneState) error {
		st.Record(time.Now(), cnt, failed, o.Rules, o.SLO, monitor.TierSandbox)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// TestAccZone_promotionDemandsSandboxHealth: with
// promotion.min_sandbox_availability, a production zone may take a version
// only when the sandbox that ran it kept that availability since, as the
// monitor measured it: unmeasured is refused, a burned budget is refused
// with the figures, a clean record passes.
func TestAccZone_promotionDemandsSandboxHealth(t *testing.T) {
	c := testenv.SharedCluster(t)
	opNS, redNS, greenNS := c.Namespace(t), c.Namespace(t), c.Namespace(t)
	base := fmt.Sprintf(`
provider "spinops" {
  kubernetes {
    config_path = %q
  }
}

resource "spinops_managed_spinnaker" "this" {
  spinnaker_version = "1.35.3"
  operator {
    namespace = %q
    wait      = false
  }
  promotion {
    soak                     = "1s"
    require_verification     = false
    min_sandbox_availability = 0.99
  }
}

resource "spinops_zone" "red" {
  managed_spinnaker_id = spinops_managed_spinnaker.this.id
  name                 = "red"
  tier                 = "sandbox"
  namespace            = %q
  wait                 = false
}
`, c.Kubeconfig, opNS, redNS)
	withGreen := base + fmt.Sprintf(`
resource "spinops_zone" "green" {
  managed_spinnaker_id = spinops_managed_spinnaker.this.id
  name                 = "green"
  tier                 = "production"
  namespace            = %q
  wait                 = false
  deletion_protection  = false
  depends_on           = [spinops_zone.red]
}
`, greenNS)
	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []tfresource.TestStep{
			{
				Config: base,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("spinops_managed_spinnaker.this", tfjsonpath.New("promotion").AtMapKey("min_sandbox_availability"), knownvalue.Float64Exact(0.99)),
				},
			},
			{
				PreConfig:   func() { time.Sleep(1500 * time.Millisecond) }, // the soak
				Config:      withGreen,
				ExpectError: regexp.MustCompile(`(?s)min_sandbox_availability.*red \(namespace ` + redNS + `\): not measured since`),
			},
			{
				PreConfig:   func() { recordChecks(t, c, redNS, "red", monitor.Counts{Good: 90, Bad: 10}) },
				Config:      withGreen,
				ExpectError: regexp.MustCompile(`(?s)90\.000% since .* \(90 of 100 checks good\), below the\s+minimum`),
			},
			{
				PreConfig: func() { recordChecks(t, c, redNS, "red", monitor.Counts{Good: 10000}) },
				Config:    withGreen,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("spinops_zone.green", tfjsonpath.New("spinnaker_version"), knownvalue.StringExact("1.35.3")),
				},
			},
		},
	})
}
