package provider

import (
	"fmt"
	"testing"

	tfresource "github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/spinops/terraform-provider-spinops/internal/spinnaker"
	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

// TestAccZone_noWaitWithPromotionOverride is the shape of examples/local: a
// cluster where nothing runs (no kubelet, no operator), zones applied with
// wait = false, and a production zone let through by a recorded override.
func TestAccZone_noWaitWithPromotionOverride(t *testing.T) {
	c := testenv.SharedCluster(t)
	opNS := c.Namespace(t)
	redNS, greenNS := c.Namespace(t), c.Namespace(t)
	config := fmt.Sprintf(`
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
}

resource "spinops_zone" "red" {
  managed_spinnaker_id = spinops_managed_spinnaker.this.id
  name                 = "red"
  tier                 = "sandbox"
  namespace            = %q
  wait                 = false
}

resource "spinops_zone" "green" {
  managed_spinnaker_id = spinops_managed_spinnaker.this.id
  name                 = "green"
  tier                 = "production"
  namespace            = %q
  wait                 = false
  deletion_protection  = false
  promotion_override {
    reason = "acceptance test: nothing can be verified here"
  }
  depends_on = [spinops_zone.red]
}
`, c.Kubeconfig, opNS, redNS, greenNS)
	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: append([]tfresource.TestStep{{
			Config: config,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("spinops_zone.red", tfjsonpath.New("spinnaker_version"), knownvalue.StringExact("1.35.3")),
				statecheck.ExpectKnownValue("spinops_zone.red", tfjsonpath.New("status"), knownvalue.StringExact(spinnaker.StatusNA)),
				statecheck.ExpectKnownValue("spinops_zone.green", tfjsonpath.New("verified_version"), knownvalue.StringExact("")),
			},
			Check: func(*terraform.State) error {
				l, err := spinnaker.LoadLedger(t.Context(), c.Clientset(), opNS)
				if err != nil {
					return err
				}
				g := l.Zones["green"]
				if g == nil || len(g.Overrides) != 1 || g.Overrides[0].Version != "1.35.3" || g.Result != spinnaker.ResultSkipped {
					return fmt.Errorf("green's ledger record: %+v", g)
				}
				return nil
			},
		}},
			// A production zone let in by an override (also under
			// OpenTofu: this test is in its lane): the override is the
			// ledger's record of one apply, in no zone's object.
			importSteps("spinops_zone.green", greenNS+"/green", []string{"promotion_override"}, nil)...),
	})
}
