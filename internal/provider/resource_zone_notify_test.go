package provider

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	tfresource "github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfversion"

	"github.com/spinops/terraform-provider-spinops/internal/monitor"
	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

// TestAccZone_upgradeNotifications: an upgrade of a zone with
// upgrade_notifications is announced to the monitor's webhook when it
// starts and when it finished, with both versions and the result; a change
// that is not an upgrade announces nothing; the webhook URL (a secret) is
// in no state.
func TestAccZone_upgradeNotifications(t *testing.T) {
	c := testenv.SharedCluster(t)
	opNS, redNS, monNS := c.Namespace(t), c.Namespace(t), c.Namespace(t)
	const hookToken = "UPGRADE-HOOK-SECRET-9931"
	var mu sync.Mutex
	var got []map[string]any
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/"+hookToken {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		b, _ := io.ReadAll(r.Body)
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		mu.Lock()
		got = append(got, m)
		mu.Unlock()
	}))
	t.Cleanup(hook.Close)
	config := func(version, extra string) string {
		return fmt.Sprintf(`
provider "spinops" {
  kubernetes {
    config_path = %[1]q
  }
}

resource "spinops_managed_spinnaker" "this" {
  spinnaker_version = "1.35.3"
  operator {
    namespace = %[2]q
    wait      = false
  }
}

resource "spinops_monitor" "this" {
  namespace          = %[4]q
  installation       = "tf-acc-test"
  wait               = false
  secrets_wo_version = 1
  zone {
    name      = "red"
    namespace = %[3]q
    tier      = "sandbox"
  }
  notify {
    webhook_url_wo = "%[5]s/%[6]s"
  }
}

resource "spinops_zone" "red" {
  managed_spinnaker_id = spinops_managed_spinnaker.this.id
  name                 = "red"
  tier                 = "sandbox"
  namespace            = %[3]q
  spinnaker_version    = %[7]q
  wait                 = false
  upgrade_notifications {
    monitor_id           = spinops_monitor.this.id
    count_as_maintenance = true
  }
  %[8]s
}
`, c.Kubeconfig, opNS, redNS, monNS, hook.URL, hookToken, version, extra)
	}
	announced := func(want ...string) tfresource.TestCheckFunc {
		return func(*terraform.State) error {
			mu.Lock()
			defer mu.Unlock()
			var phases []string
			for _, m := range got {
				phases = append(phases, fmt.Sprintf("%v %v→%v %v", m["phase"], m["from_version"], m["to_version"], m["result"]))
				if m["kind"] != "change" || m["zone"] != "red" || m["tier"] != "sandbox" {
					return fmt.Errorf("announcement %v is not a change of zone red", m)
				}
			}
			if strings.Join(phases, "; ") != strings.Join(want, "; ") {
				return fmt.Errorf("announced %q, want %q", phases, want)
			}
			return nil
		}
	}
	secrets := func() []string { return []string{hookToken} }
	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		TerraformVersionChecks:   []tfversion.TerraformVersionCheck{tfversion.SkipBelow(tfversion.Version1_11_0)},
		Steps: []tfresource.TestStep{
			{Config: config("1.35.3", ""), Check: tfresource.ComposeTestCheckFunc(announced(), stateHoldsNo(secrets))},
			{Config: config("1.36.1", ""), Check: tfresource.ComposeTestCheckFunc(
				announced("started 1.35.3→1.36.1 <nil>", "finished 1.35.3→1.36.1 applied"), stateHoldsNo(secrets),
				func(*terraform.State) error {
					// The upgrade is a closed maintenance window in red's SLI.
					st, err := (&monitor.ConfigMapStore{Client: c.Clientset()}).Load(t.Context(), monitor.ZoneRef{Name: "red", Namespace: redNS})
					if err != nil || st == nil {
						return fmt.Errorf("red's monitor state: %v", err)
					}
					if len(st.Maintenance) != 1 || st.Maintenance[0].Reason != "upgrade 1.35.3 → 1.36.1 (spinops_zone)" ||
						!st.Maintenance[0].End.After(st.Maintenance[0].Start) || st.Maintenance[0].End.After(time.Now()) {
						return fmt.Errorf("maintenance recorded: %+v; want one closed window for the upgrade", st.Maintenance)
					}
					return nil
				})},
			{Config: config("1.36.1", `profiles = { gate = "server:\n  port: 8084\n" }`),
				Check: announced("started 1.35.3→1.36.1 <nil>", "finished 1.35.3→1.36.1 applied")},
		},
	})
}
