package provider

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	tfresource "github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	"github.com/hashicorp/terraform-plugin-testing/tfversion"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/spinops/terraform-provider-spinops/internal/monitor"
	"github.com/spinops/terraform-provider-spinops/internal/testenv"
	"github.com/spinops/terraform-provider-spinops/internal/testenv/podstandin"
)

// TestAccMonitor_deployedMonitorMeasuresAZone deploys the monitor with
// Terraform, runs what was deployed (the real `spinops monitor`, started by
// the pod stand-in from the Deployment, its ConfigMap, its Secret and its
// ServiceAccount's RBAC), lets it check a zone whose Gate goes down, and
// reads the SLI it recorded with spinops_zone_slo: the page reached the
// webhook, the availability is below 1, and no secret is in state.
func TestAccMonitor_deployedMonitorMeasuresAZone(t *testing.T) {
	c := testenv.SharedCluster(t)
	monNS, zoneNS := c.Namespace(t), c.Namespace(t)
	const password, hookToken = "gate-pw-SECRET-0451", "HOOK-SECRET-7319"
	var down atomic.Bool
	gate := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		if r.URL.Path == "/health" {
			_, _ = w.Write([]byte(`{"status":"UP"}`))
			return
		}
		if u, p, ok := r.BasicAuth(); !ok || u != "monitor" || p != password {
			http.Redirect(w, r, "/login", http.StatusFound)
			return
		}
		_, _ = w.Write([]byte(`[]`))
	}))
	t.Cleanup(gate.Close)
	deck := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(`<html></html>`)) }))
	t.Cleanup(deck.Close)
	var hooks testenv.SyncBuffer
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/"+hookToken {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		b, _ := io.ReadAll(r.Body)
		_, _ = hooks.Write(append(b, '\n'))
	}))
	t.Cleanup(hook.Close)
	podstandin.StartDeploymentPod(t, c, monNS, "spinops-monitor", map[string]int{"--metrics-addr": freePort(t)}, "--kubeconfig", "")

	base := fmt.Sprintf(`
provider "spinops" {
  kubernetes {
    config_path = %[1]q
  }
}

resource "spinops_monitor" "this" {
  namespace          = %[2]q
  installation       = "tf-acc-test"
  image              = "ghcr.io/spinops/spinops:test"
  interval           = "1s"
  check_timeout      = "800ms"
  wait               = false
  secrets_wo_version = 1

  zone {
    name      = "green"
    namespace = %[3]q
    tier      = "production"
    gate_url  = %[4]q
    deck_url  = %[5]q

    # green's own credentials (the top-level gate_auth would serve every zone).
    gate_auth {
      username    = "monitor"
      password_wo = %[6]q
    }
  }

  # Not exposed: checked through the API server's service proxy (no Gate
  # runs there, so its checks fail; nothing is asserted of it but that the
  # monitor runs with it).
  zone {
    name      = "red"
    namespace = %[3]q
    tier      = "sandbox"
    # Its Services' ports (spinops_zone.red.service_ports): exposed as a
    # Service, Deck listens on 80.
    gate_port = 8084
    deck_port = 80
  }

  notify {
    webhook_url_wo = "%[7]s/%[8]s"
  }
}
`, c.Kubeconfig, monNS, zoneNS, gate.URL, deck.URL, password, hook.URL, hookToken)
	notify := fmt.Sprintf("  notify {\n    webhook_url_wo = \"%s/%s\"\n  }\n", hook.URL, hookToken)
	if !strings.Contains(base, notify) {
		t.Fatal("the test's notify block is not where the steps edit it")
	}
	withoutNotify := strings.Replace(base, notify, "", 1)
	withSlack := strings.Replace(strings.Replace(base, notify, strings.Replace(notify, "  }\n", "    slack_url_wo = \"https://hooks.slack.com/services/T0/B0/x\"\n  }\n", 1), 1),
		`interval           = "1s"`, `interval           = "2s"`, 1)
	withSLO := base + fmt.Sprintf(`
data "spinops_zone_slo" "green" {
  zone_id = "%s/green"
}
`, zoneNS)
	cms := c.Clientset().CoreV1().ConfigMaps(zoneNS)
	waitFor := func(what string, cond func() bool) error {
		deadline := time.Now().Add(60 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				return fmt.Errorf("timed out waiting for %s", what)
			}
			time.Sleep(200 * time.Millisecond)
		}
		return nil
	}
	secrets := func() []string { return []string{password, hookToken} }
	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		TerraformVersionChecks:   []tfversion.TerraformVersionCheck{tfversion.SkipBelow(tfversion.Version1_11_0)},
		Steps: append([]tfresource.TestStep{
			{
				Config: base,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("spinops_monitor.this", tfjsonpath.New("id"), knownvalue.StringExact(monNS+"/spinops-monitor")),
					statecheck.ExpectKnownValue("spinops_monitor.this", tfjsonpath.New("prometheus_rule_installed"), knownvalue.Bool(false)),
				},
				Check: tfresource.ComposeTestCheckFunc(stateHoldsNo(secrets), func(*terraform.State) error {
					sec, err := c.Clientset().CoreV1().Secrets(monNS).Get(t.Context(), "spinops-monitor", metav1.GetOptions{})
					if err != nil {
						return err
					}
					if string(sec.Data["zone-green-gate-password"]) != password || !strings.HasSuffix(string(sec.Data["webhook-url"]), hookToken) {
						return fmt.Errorf("the monitor's Secret does not hold the write-only values: keys %v", keysOf(sec.Data))
					}
					cm, err := c.Clientset().CoreV1().ConfigMaps(monNS).Get(t.Context(), "spinops-monitor", metav1.GetOptions{})
					if err != nil {
						return err
					}
					if strings.Contains(cm.Data["config.json"], password) || strings.Contains(cm.Data["config.json"], hookToken) {
						return fmt.Errorf("a secret is in the monitor's ConfigMap")
					}
					// red's checks go through the service proxy, to the
					// ports given, and the Role allows those alone.
					role, err := c.Clientset().RbacV1().Roles(zoneNS).Get(t.Context(), "spinops-monitor", metav1.GetOptions{})
					if err != nil {
						return err
					}
					var proxied []string
					for _, r := range role.Rules {
						if slices.Contains(r.Resources, "services/proxy") {
							proxied = append(proxied, r.ResourceNames...)
						}
					}
					if want := []string{"spin-gate:8084", "spin-deck:80"}; !slices.Equal(proxied, want) {
						return fmt.Errorf("the monitor may proxy to %v in the zone's namespace, want %v", proxied, want)
					}
					// The deployed monitor checks the zone, then Gate goes down.
					if err := waitFor("recorded rounds", func() bool {
						cm, err := cms.Get(t.Context(), monitor.ConfigMapName("green"), metav1.GetOptions{})
						return err == nil && strings.Contains(cm.Data["state.json"], "last_round") && time.Since(cm.CreationTimestamp.Time) > 2*time.Second
					}); err != nil {
						return err
					}
					// Every round so far was good: the authenticated checks
					// passed with green's own credentials.
					st, err := (&monitor.ConfigMapStore{Client: c.Clientset()}).Load(t.Context(), monitor.ZoneRef{Name: "green", Namespace: zoneNS})
					if err != nil || st == nil {
						return fmt.Errorf("green's state: %v", err)
					}
					if n := st.Ring.Sum(time.Now(), time.Hour); n.Bad != 0 || n.Good == 0 {
						return fmt.Errorf("before the outage green had %+v: the authenticated checks failed (its gate_auth not used?); last failure %+v", n, st.LastFailure)
					}
					down.Store(true)
					err = waitFor("green's page at the webhook", func() bool {
						for _, line := range strings.Split(hooks.String(), "\n") {
							if strings.Contains(line, `"action":"trigger"`) && strings.Contains(line, `"green"`) && strings.Contains(line, `"page"`) {
								return true
							}
						}
						return false
					})
					down.Store(false)
					return err
				}),
			},
			{
				Config: withSLO,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("data.spinops_zone_slo.green", tfjsonpath.New("measured"), knownvalue.Bool(true)),
				},
				Check: tfresource.ComposeTestCheckFunc(stateHoldsNo(secrets), func(s *terraform.State) error {
					a := s.RootModule().Resources["data.spinops_zone_slo.green"].Primary.Attributes
					if a["availability.1h"] == "" || a["availability.1h"] == "1" || a["bad_rounds.1h"] == "0" {
						return fmt.Errorf("the outage is not in the recorded SLI: availability.1h=%q bad_rounds.1h=%q", a["availability.1h"], a["bad_rounds.1h"])
					}
					return nil
				}),
			},
			{
				// Every setting is read back from the monitor's ConfigMap
				// and Secret (the write-only values' presence, the Gate
				// usernames and secrets_wo_version); wait is in no cluster.
				ResourceName:            "spinops_monitor.this",
				ImportState:             true,
				ImportStateId:           monNS + "/spinops-monitor",
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"timeouts", "wait"},
			},
			{
				// A write-only value dropped, or one added, without a new
				// secrets_wo_version: the apply would keep the Secret as
				// it is while the monitor's configuration names what the
				// configuration sets (a notifier silently gone; a file the
				// monitor cannot read at start). Refused at plan time.
				Config:      withoutNotify,
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)Write-only values differ from the monitor's Secret.*The monitor's Secret holds\s+notify.webhook_url_wo,\s+which\s+the\s+configuration\s+does\s+not\s+set.*stays\s+1`),
			},
			{
				Config:      withSlack,
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)Write-only values differ from the monitor's Secret.*The\s+configuration\s+sets\s+notify.slack_url_wo,\s+which\s+the\s+Secret\s+does\s+not\s+hold`),
			},
			{
				// With a new version the Secret is written as the
				// configuration says.
				Config:             strings.Replace(withSlack, "secrets_wo_version = 1", "secrets_wo_version = 2", 1),
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
			// The applied configuration again, which the import steps use.
			{Config: withSLO, PlanOnly: true},
		}, importSteps("spinops_monitor.this", monNS+"/spinops-monitor", []string{"wait"},
			regexp.MustCompile(`(?s)Incomplete Gate credentials.*a username needs password_wo`))...),
	})
}

func keysOf(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestAccMonitor_refusals: what the monitor would refuse to start with is
// refused at plan time.
func TestAccMonitor_refusals(t *testing.T) {
	c := testenv.SharedCluster(t)
	ns := c.Namespace(t)
	cfg := func(extra string) string {
		return fmt.Sprintf(`
provider "spinops" {
  kubernetes {
    config_path = %q
  }
}
resource "spinops_monitor" "this" {
  namespace    = %q
  installation = "x"
  wait         = false
  zone {
    name      = "green"
    namespace = %q
    tier      = "production"
  }
  %s
}
`, c.Kubeconfig, ns, ns, extra)
	}
	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		TerraformVersionChecks:   []tfversion.TerraformVersionCheck{tfversion.SkipBelow(tfversion.Version1_11_0)},
		Steps: []tfresource.TestStep{
			{Config: cfg(`gate_auth {
    username = "monitor"
  }`), PlanOnly: true, ExpectError: regexp.MustCompile(`a username needs password_wo`)},
			{Config: cfg(`canary_pipeline {
    application = "spinops-canary"
    pipeline    = "noop"
  }`), PlanOnly: true, ExpectError: regexp.MustCompile(`add gate_auth`)},
			{Config: cfg(`maintenance_window {
    start = "2026-03-01 02:00"
    end   = "2026-03-01T03:00:00Z"
  }`), PlanOnly: true, ExpectError: regexp.MustCompile(`is not an RFC 3339 time`)},
			{Config: cfg(`interval = "5s"`), PlanOnly: true, ExpectError: regexp.MustCompile(`check timeout \(10s\) must be shorter than the interval \(5s\)`)},
			{Config: strings.Replace(cfg(""), `tier      = "production"`, `tier      = "production"
    gate_url  = "https://user:pw@gate.example.com"`, 1), PlanOnly: true, ExpectError: regexp.MustCompile(`without credentials, query or fragment`)},
			{Config: strings.Replace(cfg(""), `tier      = "production"`, `tier      = "production"
    gate_url  = "https://gate.example.com"
    deck_url  = "https://deck.example.com"
    gate_port = 8085`, 1), PlanOnly: true, ExpectError: regexp.MustCompile(`(?s)Service ports beside URLs.*service\s+proxy`)},
			{Config: strings.Replace(cfg(""), `tier      = "production"`, `tier      = "production"
    deck_port = 0`, 1), PlanOnly: true, ExpectError: regexp.MustCompile(`(?s)deck_port.*between 1 and 65535`)},
		},
	})
}
