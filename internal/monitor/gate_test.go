package monitor

import (
	"crypto/subtle"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
)

// gateStandIn is a Gate and a Deck for tests, behaving as the real ones do
// (spinnaker/gate):
//   - /health is Spring Boot's actuator endpoint, permitted without
//     authentication (gate-core AuthConfig.java: antMatchers("/health").permitAll());
//     200 {"status":"UP"}, or 503 {"status":"DOWN"} when a health indicator is down.
//   - every other path is authenticated (antMatchers("/**").authenticated());
//     with gate-basic (BasicAuthConfig.java: formLogin + httpBasic with a
//     LoginUrlAuthenticationEntryPoint("/login")) a request without valid
//     credentials is redirected to /login with 302.
//   - GET /applications (ApplicationController.groovy) and GET /credentials
//     (CredentialsController.groovy) answer JSON arrays.
//
// down makes every endpoint answer 503, as a Gate whose backends are gone
// or a load balancer with no healthy target does.
type gateStandIn struct {
	gate, deck     *httptest.Server
	user, password string
	down           atomic.Bool
	requests       atomic.Int64
}

func newGateStandIn(t *testing.T) *gateStandIn {
	g := &gateStandIn{user: "monitor", password: "s3cret-gate-password"}
	g.gate = httptest.NewServer(http.HandlerFunc(g.serveGate))
	g.deck = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.requests.Add(1)
		if g.down.Load() {
			http.Error(w, "no healthy upstream", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte("<!doctype html><html><head><title>Spinnaker</title></head><body></body></html>"))
	}))
	t.Cleanup(g.gate.Close)
	t.Cleanup(g.deck.Close)
	return g
}

func (g *gateStandIn) serveGate(w http.ResponseWriter, r *http.Request) {
	g.requests.Add(1)
	w.Header().Set("Content-Type", "application/json")
	if r.URL.Path == "/health" {
		if g.down.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(`{"status":"DOWN"}`))
			return
		}
		_, _ = w.Write([]byte(`{"status":"UP"}`))
		return
	}
	u, p, ok := r.BasicAuth()
	if !ok || subtle.ConstantTimeCompare([]byte(u+":"+p), []byte(g.user+":"+g.password)) != 1 {
		http.Redirect(w, r, "/login", http.StatusFound)
		return
	}
	if g.down.Load() {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	switch r.URL.Path {
	case "/applications":
		_, _ = w.Write([]byte(`[{"name":"demo","email":"ops@example.com","accounts":"green"}]`))
	case "/credentials":
		_, _ = w.Write([]byte(`[{"name":"green","type":"kubernetes","authorized":true}]`))
	default:
		w.WriteHeader(http.StatusNotFound)
	}
}

func (g *gateStandIn) endpoints() Endpoints {
	return Endpoints{GateURL: g.gate.URL, DeckURL: g.deck.URL, Auth: GateAuth{Username: g.user, Password: g.password}}
}

// Each copied behaviour of the stand-in has its test.
func TestGateStandInBehavesAsGate(t *testing.T) {
	g := newGateStandIn(t)
	get := func(path string, auth bool) *http.Response {
		req, _ := http.NewRequest(http.MethodGet, g.gate.URL+path, nil)
		if auth {
			req.SetBasicAuth(g.user, g.password)
		}
		c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		return resp
	}
	if r := get("/health", false); r.StatusCode != 200 {
		t.Errorf("/health without credentials: %d, want 200 (permitAll)", r.StatusCode)
	}
	if r := get("/applications", false); r.StatusCode != 302 || r.Header.Get("Location") != "/login" {
		t.Errorf("/applications without credentials: %d → %q, want 302 → /login", r.StatusCode, r.Header.Get("Location"))
	}
	if r := get("/credentials", true); r.StatusCode != 200 {
		t.Errorf("/credentials with credentials: %d", r.StatusCode)
	}
	g.down.Store(true)
	if r := get("/health", false); r.StatusCode != 503 {
		t.Errorf("/health when down: %d, want 503", r.StatusCode)
	}
}
