package provider

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	tfresource "github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/spinops/terraform-provider-spinops/internal/spinnaker"
	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

// TestAccZone_configRevisionUpdatesZonesInTheSameApply: a zone that passes
// the installation's config_revision is planned for update when the shared
// configuration changes, and its SpinnakerService carries the change after
// that one apply. A plan that changes nothing changes no revision.
func TestAccZone_configRevisionUpdatesZonesInTheSameApply(t *testing.T) {
	c := testenv.SharedCluster(t)
	opNS, redNS := c.Namespace(t), c.Namespace(t)
	config := func(marker string) string {
		return fmt.Sprintf(`
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
  profiles = {
    gate = yamlencode({ marker = %q })
  }
}

resource "spinops_zone" "red" {
  managed_spinnaker_id = spinops_managed_spinnaker.this.id
  config_revision      = spinops_managed_spinnaker.this.config_revision
  name                 = "red"
  tier                 = "sandbox"
  namespace            = %q
  wait                 = false
}
`, c.Kubeconfig, opNS, marker, redNS)
	}
	zoneHas := func(marker string) tfresource.TestCheckFunc {
		return func(*terraform.State) error {
			obj, err := mustKube(t, c).Get(t.Context(), spinnaker.SpinnakerServiceGVK, redNS, "red")
			if err != nil {
				return err
			}
			b, _ := json.Marshal(obj.Object["spec"])
			if !strings.Contains(string(b), marker) {
				return fmt.Errorf("the zone's SpinnakerService does not carry %q after the apply", marker)
			}
			return nil
		}
	}
	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []tfresource.TestStep{
			{Config: config("first-revision"), Check: zoneHas("first-revision")},
			{
				Config: config("second-revision"),
				ConfigPlanChecks: tfresource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("spinops_zone.red", plancheck.ResourceActionUpdate),
				}},
				Check: zoneHas("second-revision"),
			},
		},
	})
}
