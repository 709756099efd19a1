package provider

import (
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	tfresource "github.com/hashicorp/terraform-plugin-testing/helper/resource"
)

// TestZone_zoneSpreadValidatedAtPlanTime: an unknown ha.zone_spread is
// refused at plan time, naming the attribute and the values it takes. No
// cluster is reached.
func TestZone_zoneSpreadValidatedAtPlanTime(t *testing.T) {
	factories := map[string]func() (tfprotov6.ProviderServer, error){"spinops": providerserver.NewProtocol6WithError(New("test")())}
	tfresource.UnitTest(t, tfresource.TestCase{
		ProtoV6ProviderFactories: factories,
		Steps: []tfresource.TestStep{{
			Config: `
provider "spinops" {
  kubernetes {
    host  = "https://127.0.0.1:1"
    token = "unused"
  }
}

resource "spinops_zone" "green" {
  managed_spinnaker_id = "spinnaker-operator"
  name                 = "green"
  tier                 = "production"
  namespace            = "spinnaker-green"
  ha {
    zone_spread = "everywhere"
  }
}
`, PlanOnly: true, ExpectError: wrappedRe(`(?s)ha\.zone_spread.*must be one of.*"required".*"preferred".*got: "everywhere"`)}},
	})
}
