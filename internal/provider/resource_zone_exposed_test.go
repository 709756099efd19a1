package provider

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	tfresource "github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/spinops/terraform-provider-spinops/internal/spinnaker/operatortest"
	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

// edgeHost stands in for the load balancers in front of Deck (port 80) and
// Gate (port 8084): a test host whose servers answer every path with
// status, counting the requests.
type edgeHost struct {
	IP       string
	requests atomic.Int64
	paths    chan string
}

func startEdge(t *testing.T, status int) *edgeHost {
	t.Helper()
	host := testenv.StartTestHost(t)
	e := &edgeHost{IP: host.IP, paths: make(chan string, 64)}
	for _, port := range []int{80, 8084} {
		l, err := host.Listen(port)
		if err != nil {
			t.Fatalf("listening on %s:%d: %v", host.IP, port, err)
		}
		s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			e.requests.Add(1)
			select {
			case e.paths <- fmt.Sprintf("%d%s", port, r.URL.Path):
			default:
			}
			w.WriteHeader(status)
		}))
		_ = s.Listener.Close()
		s.Listener = l
		s.Start()
		t.Cleanup(s.Close)
	}
	return e
}

// TestAccZone_verifiedThroughExposedURLs: with verification.via = "exposed"
// the zone is verified through the URLs users reach (Gate /health on 8084
// and Deck / behind expose's service hosts), not through the API server's
// service proxy; a failing Gate behind them fails the upgrade with the URL
// and status.
func TestAccZone_verifiedThroughExposedURLs(t *testing.T) {
	if testing.Short() {
		t.Skip("acceptance test")
	}
	if realOperator() {
		t.Skipf("%s is set: this test needs the stand-ins (its Gate and Deck are test servers behind fake expose hosts); it runs only locally", envRealOperator)
	}
	c := testenv.StartCluster(t, testenv.WithControllerManager())
	backends := operatortest.StartBackends(t)
	operatortest.StartOperator(t, c.RESTConfig(), operatortest.OperatorOptions{Backend: backends.Backend, Namespace: "tf-acc-exposed-op", Host: backends.Host})
	operatortest.StartKubelet(t, c.RESTConfig(), backends.IP)
	healthy, broken := startEdge(t, http.StatusOK), startEdge(t, http.StatusServiceUnavailable)
	// The upgrade is announced through a monitor's webhook: started,
	// verifying (once the new version is ready), finished.
	// The monitor's Role goes into the zone's namespace, and the zone
	// refers to the monitor: the namespace exists first.
	monNS := c.Namespace(t)
	if _, err := c.Clientset().CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "tf-acc-exposed-red"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var phases []string
	hook := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		var m map[string]any
		_ = json.NewDecoder(r.Body).Decode(&m)
		mu.Lock()
		phases = append(phases, fmt.Sprintf("%v %v→%v %v", m["phase"], m["from_version"], m["to_version"], m["result"]))
		mu.Unlock()
	}))
	t.Cleanup(hook.Close)

	config := func(version, gateHost string) string {
		return fmt.Sprintf(`
provider "spinops" {
  kubernetes {
    config_path = %[1]q
  }
}

resource "spinops_managed_spinnaker" "this" {
  spinnaker_version = "1.35.3"
  operator {
    namespace = "tf-acc-exposed-op"
  }
}

resource "spinops_monitor" "this" {
  namespace          = %[5]q
  installation       = "tf-acc-exposed"
  wait               = false
  secrets_wo_version = 1
  zone {
    name      = "red"
    namespace = "tf-acc-exposed-red"
    tier      = "sandbox"
  }
  notify {
    webhook_url_wo = %[6]q
  }
}

resource "spinops_zone" "red" {
  managed_spinnaker_id = spinops_managed_spinnaker.this.id
  name                 = "red"
  tier                 = "sandbox"
  namespace            = "tf-acc-exposed-red"
  spinnaker_version    = %[2]q
  upgrade_notifications {
    monitor_id = spinops_monitor.this.id
  }
  expose {
    type      = "service"
    deck_host = %[3]q
    gate_host = %[4]q
  }
  verification {
    via      = "exposed"
    attempts = 2
    interval = "200ms"
  }
  timeouts {
    create = "3m"
    update = "3m"
  }
}
`, c.Kubeconfig, version, healthy.IP, gateHost, monNS, hook.URL+"/hook")
	}
	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []tfresource.TestStep{
			{
				Config: config("1.35.3", healthy.IP),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("spinops_zone.red", tfjsonpath.New("verified_version"), knownvalue.StringExact("1.35.3")),
					// The exposed Services' public ports (what a monitor's
					// service proxy must ask).
					statecheck.ExpectKnownValue("spinops_zone.red", tfjsonpath.New("service_ports"),
						knownvalue.MapExact(map[string]knownvalue.Check{"deck": knownvalue.Int64Exact(80), "gate": knownvalue.Int64Exact(8084)})),
				},
				Check: func(*terraform.State) error {
					seen := map[string]bool{}
					for len(healthy.paths) > 0 {
						seen[<-healthy.paths] = true
					}
					if !seen["8084/health"] || !seen["80/"] {
						return fmt.Errorf("the exposed URLs were not checked: the edge saw %v", seen)
					}
					return nil
				},
			},
			{
				Config:      config("1.36.0", broken.IP),
				ExpectError: regexp.MustCompile(`(?s)1\.36\.0 failed post-upgrade.*gate /health: HTTP 503.*` + regexp.QuoteMeta(broken.IP+":8084")),
			},
		},
	})
	if broken.requests.Load() == 0 {
		t.Fatal("the failing Gate was never asked")
	}
	mu.Lock()
	defer mu.Unlock()
	want := []string{"started 1.35.3→1.36.0 <nil>", "verifying 1.35.3→1.36.0 <nil>", "finished 1.35.3→1.36.0 failed"}
	if strings.Join(phases, "; ") != strings.Join(want, "; ") {
		t.Errorf("the upgrade was announced as %q, want %q", phases, want)
	}
}
