package operatortest

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

// Backends are the HTTP servers standing in for Spinnaker's containers: one
// answers every request with 200, the other with 503. The API server's
// service proxy refuses loopback pod IPs, so they listen in a test host (a
// network namespace the test makes, testenv.StartTestHost) whose address the
// kubelet stand-in reports as every pod's IP.
type Backends struct {
	// Host is the test host the servers listen in; the operator stand-in
	// serves its admission webhook there too (OperatorOptions.Host).
	Host    *testenv.TestHost
	IP      string
	Healthy int
	Broken  int
	// Requests counts requests to each server.
	HealthyRequests, BrokenRequests atomic.Int64
}

// StartBackends starts the two servers in a new test host, stopped when the
// test ends.
func StartBackends(t testing.TB) *Backends {
	t.Helper()
	host := testenv.StartTestHost(t)
	b := &Backends{Host: host, IP: host.IP}
	start := func(status int, counter *atomic.Int64) int {
		l, err := host.Listen(0)
		if err != nil {
			t.Fatalf("listening in test host %s: %v", host.Name, err)
		}
		s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			counter.Add(1)
			w.WriteHeader(status)
			_, _ = w.Write([]byte(`{"status":"` + http.StatusText(status) + `"}`))
		}))
		s.Listener.Close()
		s.Listener = l
		s.Start()
		t.Cleanup(s.Close)
		return l.Addr().(*net.TCPAddr).Port
	}
	b.Healthy = start(http.StatusOK, &b.HealthyRequests)
	b.Broken = start(http.StatusServiceUnavailable, &b.BrokenRequests)
	return b
}

// Backend is an OperatorOptions.Backend: versions containing "broken" are
// served by the failing server.
func (b *Backends) Backend(_ string, version string) int {
	if strings.Contains(version, "broken") {
		return b.Broken
	}
	return b.Healthy
}

// URL of a server, e.g. for exposed-URL checks.
func (b *Backends) URL(port int) string {
	return "http://" + net.JoinHostPort(b.IP, strconv.Itoa(port))
}
