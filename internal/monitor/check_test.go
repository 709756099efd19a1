package monitor

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func runAll(t *testing.T, e Endpoints, timeout time.Duration) map[string]Result {
	out := map[string]Result{}
	for _, c := range DefaultChecks() {
		out[c.Name] = c.Run(t.Context(), &e, timeout)
	}
	return out
}

func TestChecksAgainstGateAndDeck(t *testing.T) {
	g := newGateStandIn(t)
	for name, r := range runAll(t, g.endpoints(), 2*time.Second) {
		if !r.OK || r.HTTPCode != 200 || r.Latency <= 0 {
			t.Errorf("%s: %+v", name, r)
		}
	}
	g.down.Store(true)
	for name, r := range runAll(t, g.endpoints(), 2*time.Second) {
		if r.OK || r.HTTPCode != 503 || r.Reason != "HTTP 503" {
			t.Errorf("%s while down: %+v", name, r)
		}
	}
}

func TestAuthenticatedChecksSayWhenCredentialsAreRefused(t *testing.T) {
	g := newGateStandIn(t)
	e := g.endpoints()
	e.Auth.Password = "wrong"
	res := runAll(t, e, 2*time.Second)
	if !res["gate-health"].OK || !res["deck-index"].OK {
		t.Errorf("unauthenticated checks failed: %+v", res)
	}
	for _, name := range []string{"gate-applications", "gate-credentials"} {
		r := res[name]
		if r.OK || r.HTTPCode != 302 || !strings.Contains(r.Reason, "redirect (to /login)") || !strings.Contains(r.Reason, "credentials") {
			t.Errorf("%s with a wrong password: %+v", name, r)
		}
	}
}

func TestCheckFailures(t *testing.T) {
	hang := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/health":
			_, _ = w.Write([]byte(`{"status":"DOWN"}`)) // 200 but DOWN
		case "/applications":
			_, _ = w.Write([]byte(`<html>login</html>`)) // a login page, not JSON
		case "/credentials":
			<-hang
		case "/":
			_, _ = w.Write([]byte(`{}`))
		}
	}))
	defer srv.Close()
	defer close(hang) // before srv.Close, which waits for the handler
	res := runAll(t, Endpoints{GateURL: srv.URL, DeckURL: srv.URL}, 200*time.Millisecond)
	for name, want := range map[string]string{
		"gate-health":       `health status is "DOWN", not UP`,
		"gate-applications": "not a JSON array",
		"gate-credentials":  "no answer within 200ms",
		"deck-index":        "not an HTML page",
	} {
		if r := res[name]; r.OK || !strings.Contains(r.Reason, want) {
			t.Errorf("%s: %+v, want a reason with %q", name, r, want)
		}
	}
	// Not exposed and no proxy: the reason says so.
	r := DefaultChecks()[1].Run(t.Context(), &Endpoints{GateURL: srv.URL}, time.Second)
	if r.OK || r.Reason != "deck is not exposed and no service proxy is configured" {
		t.Errorf("no deck URL: %+v", r)
	}
}

// A check's reason is stored in the ConfigMap and sent in notifications: it
// never carries the URL (user info, tokens in a query).
func TestCheckReasonsCarryNoURL(t *testing.T) {
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	base := "http://monitor:gatepass0rd@" + strings.TrimPrefix(closed.URL, "http://") + "/p?token=TOKEN0SECRET"
	res := runAll(t, Endpoints{GateURL: base, DeckURL: base, Auth: GateAuth{Token: "BEARER0SECRET"}}, time.Second)
	for name, r := range res {
		if r.OK || !strings.Contains(r.Reason, "connection refused") {
			t.Errorf("%s: %+v", name, r)
		}
		for _, s := range []string{"gatepass0rd", "TOKEN0SECRET", "BEARER0SECRET"} {
			if strings.Contains(r.Reason, s) {
				t.Errorf("%s: reason %q holds %q", name, r.Reason, s)
			}
		}
	}
}

func TestBearerTokenAuth(t *testing.T) {
	var got string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Get("Authorization")
		_, _ = w.Write([]byte(`[]`))
	}))
	defer srv.Close()
	r := DefaultChecks()[2].Run(t.Context(), &Endpoints{GateURL: srv.URL, Auth: GateAuth{Token: "tok"}}, time.Second)
	if !r.OK || got != "Bearer tok" {
		t.Fatalf("%+v, Authorization %q", r, got)
	}
}

func TestServiceProxyURL(t *testing.T) {
	got := ServiceProxyURL("https://10.0.0.1:6443/", "spinnaker-green", "gate", 8084)
	if want := "https://10.0.0.1:6443/api/v1/namespaces/spinnaker-green/services/spin-gate:8084/proxy"; got != want {
		t.Fatalf("%s, want %s", got, want)
	}
}
