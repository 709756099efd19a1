package operatortest

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
)

// Backends are the HTTP servers standing in for Spinnaker's containers: one
// answers every request with 200, the other with 503. They listen on a
// non-loopback address (the API server's service proxy refuses loopback),
// which the kubelet stand-in reports as every pod's IP.
type Backends struct {
	IP      string
	Healthy int
	Broken  int
	// Requests counts requests to each server.
	HealthyRequests, BrokenRequests atomic.Int64
}

// StartBackends starts the two servers, stopped when the test ends. It fails
// the test when the machine has no non-loopback IPv4 address.
func StartBackends(t testing.TB) *Backends {
	t.Helper()
	ip := NonLoopbackIPv4(t)
	b := &Backends{IP: ip}
	start := func(status int, counter *atomic.Int64) int {
		l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
		if err != nil {
			t.Fatalf("listening on %s: %v", ip, err)
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

// NonLoopbackIPv4 returns an IPv4 address of this machine that is not
// loopback or link-local.
func NonLoopbackIPv4(t testing.TB) string {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatalf("listing interface addresses: %v", err)
	}
	for _, a := range addrs {
		n, ok := a.(*net.IPNet)
		if !ok || n.IP.To4() == nil || n.IP.IsLoopback() || n.IP.IsLinkLocalUnicast() {
			continue
		}
		return n.IP.String()
	}
	t.Fatal("this machine has no non-loopback IPv4 address; the API server's service proxy (used by zone verification) refuses loopback pod IPs")
	return ""
}
