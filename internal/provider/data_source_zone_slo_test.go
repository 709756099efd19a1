package provider

import (
	"fmt"
	"regexp"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/spinops/terraform-provider-spinops/internal/monitor"
	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

// seedZoneSLO records rounds of a zone as `spinops monitor` does: 16 good
// then 4 failed rounds, 30 s apart, ending a minute ago.
func seedZoneSLO(t *testing.T, c *testenv.Cluster, ns, zone string) time.Time {
	t.Helper()
	o := monitor.Options{Store: &monitor.ConfigMapStore{Client: c.Clientset()},
		Zones: []monitor.Zone{{Name: zone, Namespace: ns, Tier: monitor.TierProduction}}}
	if err := o.CheckAndSetDefaults(); err != nil {
		t.Fatal(err)
	}
	start := time.Now().Add(-11 * time.Minute).Truncate(time.Minute)
	var failedAt time.Time
	for i := range 20 {
		at := start.Add(time.Duration(i) * 30 * time.Second)
		cnt, failed := monitor.Counts{Good: 1}, (*monitor.Failure)(nil)
		if i >= 16 {
			cnt = monitor.Counts{Bad: 1}
			failed = &monitor.Failure{At: at, Check: "gate-health", Reason: "HTTP 503"}
			failedAt = at
		}
		if _, err := o.Store.Update(t.Context(), monitor.ZoneRef{Name: zone, Namespace: ns}, o.Shape(), func(st *monitor.ZoneState) error {
			st.Record(at, cnt, failed, o.Rules, o.SLO, monitor.TierProduction)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	return failedAt
}

func TestAccZoneSLODataSource_basic(t *testing.T) {
	c := testenv.SharedCluster(t)
	ns := c.Namespace(t)
	failedAt := seedZoneSLO(t, c, ns, "green")
	const addr = "data.spinops_zone_slo.green"
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: fmt.Sprintf(`
provider "spinops" {
  kubernetes {
    config_path = %q
  }
}
data "spinops_zone_slo" "green" {
  zone_id = "%s/green"
}
data "spinops_zone_slo" "blue" {
  zone_id = "%s/blue"
}
`, c.Kubeconfig, ns, ns),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(addr, tfjsonpath.New("measured"), knownvalue.Bool(true)),
				statecheck.ExpectKnownValue(addr, tfjsonpath.New("slo"), knownvalue.Float64Exact(0.999)),
				statecheck.ExpectKnownValue(addr, tfjsonpath.New("availability"), knownvalue.MapExact(map[string]knownvalue.Check{
					"1h": knownvalue.Float64Exact(0.8), "6h": knownvalue.Float64Exact(0.8), "1d": knownvalue.Float64Exact(0.8), "30d": knownvalue.Float64Exact(0.8)})),
				statecheck.ExpectKnownValue(addr, tfjsonpath.New("bad_rounds").AtMapKey("30d"), knownvalue.Int64Exact(4)),
				statecheck.ExpectKnownValue(addr, tfjsonpath.New("error_budget_remaining"), knownvalue.Float64Exact(monitor.ErrorBudgetRemaining(monitor.Counts{Good: 16, Bad: 4}, 0.999))),
				statecheck.ExpectKnownValue(addr, tfjsonpath.New("alerts").AtSliceIndex(0).AtMapKey("rule"), knownvalue.StringExact("burn-rate-1h")),
				statecheck.ExpectKnownValue(addr, tfjsonpath.New("alerts").AtSliceIndex(0).AtMapKey("severity"), knownvalue.StringExact("page")),
				statecheck.ExpectKnownValue(addr, tfjsonpath.New("alerts"), knownvalue.ListSizeExact(3)),
				statecheck.ExpectKnownValue(addr, tfjsonpath.New("last_failure").AtMapKey("reason"), knownvalue.StringExact("HTTP 503")),
				statecheck.ExpectKnownValue(addr, tfjsonpath.New("last_failure").AtMapKey("at"), knownvalue.StringExact(failedAt.UTC().Format(time.RFC3339))),
				statecheck.ExpectKnownValue(addr, tfjsonpath.New("last_round"), knownvalue.StringExact(failedAt.UTC().Format(time.RFC3339))),
				// A zone the monitor has not recorded: measured = false, not an error.
				statecheck.ExpectKnownValue("data.spinops_zone_slo.blue", tfjsonpath.New("measured"), knownvalue.Bool(false)),
				statecheck.ExpectKnownValue("data.spinops_zone_slo.blue", tfjsonpath.New("availability"), knownvalue.MapSizeExact(0)),
				statecheck.ExpectKnownValue("data.spinops_zone_slo.blue", tfjsonpath.New("error_budget_remaining"), knownvalue.Float64Exact(1)),
				statecheck.ExpectKnownValue("data.spinops_zone_slo.blue", tfjsonpath.New("last_failure"), knownvalue.Null()),
			},
		}},
	})
}

func TestAccZoneSLODataSource_invalidZoneID(t *testing.T) {
	c := testenv.SharedCluster(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: fmt.Sprintf(`
provider "spinops" {
  kubernetes {
    config_path = %q
  }
}
data "spinops_zone_slo" "x" {
  zone_id = "green"
}
`, c.Kubeconfig),
			ExpectError: regexp.MustCompile(`(?s)is not <namespace>/<name>.*spinops_zone.green.id`),
		}},
	})
}
