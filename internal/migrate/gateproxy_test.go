package migrate

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// gateRecorder is an upstream that records what reaches it. On an Upgrade
// it answers 101 as Tomcat does for h2c and then records every request read
// from the tunnel: what a client smuggled past the proxy.
type gateRecorder struct {
	mu   sync.Mutex
	seen []string
	hdr  []http.Header
	host []string
}

func (g *gateRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.add(r)
	if r.Header.Get("Upgrade") != "" {
		conn, rw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		_, _ = rw.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: " + r.Header.Get("Upgrade") + "\r\n\r\n")
		_ = rw.Flush()
		_ = conn.SetReadDeadline(time.Now().Add(2 * time.Second))
		for {
			req, err := http.ReadRequest(rw.Reader)
			if err != nil {
				return
			}
			g.add(req)
			_, _ = rw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
			_ = rw.Flush()
		}
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"gate":true}`)
}

func (g *gateRecorder) add(r *http.Request) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.seen = append(g.seen, r.Method+" "+r.URL.RequestURI())
	g.hdr = append(g.hdr, r.Header.Clone())
	g.host = append(g.host, r.Host)
}

func (g *gateRecorder) requests() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.seen...)
}

func startProxy(t *testing.T, allowPost ...string) (*gateRecorder, string, time.Time) {
	t.Helper()
	rec := &gateRecorder{}
	up := httptest.NewServer(rec)
	t.Cleanup(up.Close)
	u, _ := url.Parse(up.URL)
	since := time.Date(2026, 12, 5, 9, 30, 0, 0, time.UTC)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- ServeReadOnlyGate(ctx, l, ReadOnlyGate{Upstream: u, Since: since, AllowPost: allowPost})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("ServeReadOnlyGate: %v", err)
		}
	})
	return rec, l.Addr().String(), since
}

// rawRequest sends req as written (no client normalises the path or the
// method) and returns the status and body of the answer.
func rawRequest(t *testing.T, addr, req string) (int, http.Header, string) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("reading the answer to %q: %v", strings.SplitN(req, "\r\n", 2)[0], err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// TestReadOnlyGateRefusesChanges: every way of asking for a change — other
// methods, another case, override headers and parameters, a login path that
// Tomcat would normalise into another, an h2c upgrade that would tunnel
// requests past the proxy — is answered 503 with Spring's error body, and
// Gate never sees it. Reads and the login POSTs pass, with the Host and the
// load balancer's X-Forwarded-* headers unchanged.
func TestReadOnlyGateRefusesChanges(t *testing.T) {
	rec, addr, since := startProxy(t, "/sso/callback")
	refusals := []string{
		"POST /pipelines/shop/deploy HTTP/1.1\r\nHost: gate\r\nContent-Length: 2\r\n\r\n{}",
		"PUT /pipelines/01J/cancel HTTP/1.1\r\nHost: gate\r\nContent-Length: 0\r\n\r\n",
		"PATCH /applications/shop HTTP/1.1\r\nHost: gate\r\nContent-Length: 0\r\n\r\n",
		"DELETE /pipelines/shop/deploy HTTP/1.1\r\nHost: gate\r\n\r\n",
		"TRACE / HTTP/1.1\r\nHost: gate\r\n\r\n",
		"PROPFIND / HTTP/1.1\r\nHost: gate\r\n\r\n",
		"get /applications HTTP/1.1\r\nHost: gate\r\n\r\n",
		"post /login HTTP/1.1\r\nHost: gate\r\nContent-Length: 0\r\n\r\n",
		"GET /applications HTTP/1.1\r\nHost: gate\r\nX-HTTP-Method-Override: DELETE\r\n\r\n",
		"GET /applications HTTP/1.1\r\nHost: gate\r\nx-http-method: DELETE\r\n\r\n",
		"GET /applications HTTP/1.1\r\nHost: gate\r\nX-Method-Override: PUT\r\n\r\n",
		"GET /applications?_method=DELETE HTTP/1.1\r\nHost: gate\r\n\r\n",
		"GET /applications?%5Fmethod=DELETE HTTP/1.1\r\nHost: gate\r\n\r\n",
		"POST /login?_method=DELETE HTTP/1.1\r\nHost: gate\r\nContent-Length: 0\r\n\r\n",
		"POST /login/../pipelines/shop/deploy HTTP/1.1\r\nHost: gate\r\nContent-Length: 0\r\n\r\n",
		"POST /login/%2e%2e/pipelines/shop/deploy HTTP/1.1\r\nHost: gate\r\nContent-Length: 0\r\n\r\n",
		"POST /login;jsessionid=x/../pipelines HTTP/1.1\r\nHost: gate\r\nContent-Length: 0\r\n\r\n",
		"POST /login;x HTTP/1.1\r\nHost: gate\r\nContent-Length: 0\r\n\r\n",
		"POST /login/ HTTP/1.1\r\nHost: gate\r\nContent-Length: 0\r\n\r\n",
		"POST //login HTTP/1.1\r\nHost: gate\r\nContent-Length: 0\r\n\r\n",
		"POST /%6cogin HTTP/1.1\r\nHost: gate\r\nContent-Length: 0\r\n\r\n",
		"POST /LOGIN HTTP/1.1\r\nHost: gate\r\nContent-Length: 0\r\n\r\n",
		"POST /saml/.. HTTP/1.1\r\nHost: gate\r\nContent-Length: 0\r\n\r\n",
		"POST /saml/okta/../../pipelines HTTP/1.1\r\nHost: gate\r\nContent-Length: 0\r\n\r\n",
		"POST /saml/okta%2F..%2F..%2Fpipelines HTTP/1.1\r\nHost: gate\r\nContent-Length: 0\r\n\r\n",
		"POST /sso/callback/../../pipelines HTTP/1.1\r\nHost: gate\r\nContent-Length: 0\r\n\r\n",
		"POST http://gate/pipelines/shop/deploy HTTP/1.1\r\nHost: gate\r\nContent-Length: 0\r\n\r\n",
		"POST /webhooks/git/github HTTP/1.1\r\nHost: gate\r\nContent-Length: 2\r\n\r\n{}",
		"POST /.spinops/frozen HTTP/1.1\r\nHost: gate\r\nContent-Length: 0\r\n\r\n",
		"POST /login HTTP/1.1\r\nHost: gate\r\nUpgrade: h2c\r\nConnection: Upgrade, HTTP2-Settings\r\nHTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\nContent-Length: 0\r\n\r\n",
	}
	for _, req := range refusals {
		line := strings.SplitN(req, "\r\n", 2)[0]
		code, h, body := rawRequest(t, addr, req)
		if code != http.StatusServiceUnavailable {
			t.Errorf("%s (%q): %d, want 503: %s", line, req, code, body)
			continue
		}
		var e struct {
			Status  int    `json:"status"`
			Error   string `json:"error"`
			Message string `json:"message"`
			Path    string `json:"path"`
		}
		if err := json.Unmarshal([]byte(body), &e); err != nil || e.Status != 503 || e.Error != "Service Unavailable" || e.Message == "" || e.Path == "" {
			t.Errorf("%s: not Spring's error body: %s (%v)", line, body, err)
		}
		if h.Get(ReadOnlyGateHeader) != since.Format(time.RFC3339) {
			t.Errorf("%s: %s = %q", line, ReadOnlyGateHeader, h.Get(ReadOnlyGateHeader))
		}
	}
	// The smuggling attempt proper: an upgrade (with the right method and
	// path) and then a change sent through the tunnel it would open.
	code, _, _ := rawRequest(t, addr, "GET /health HTTP/1.1\r\nHost: gate\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n"+
		"DELETE /pipelines/shop/deploy HTTP/1.1\r\nHost: gate\r\n\r\n")
	if code != http.StatusServiceUnavailable {
		t.Errorf("GET with Upgrade: h2c: %d, want 503", code)
	}
	if got := rec.requests(); len(got) != 0 {
		t.Fatalf("refused requests reached Gate: %q", got)
	}

	message := "This Spinnaker is frozen for its migration since 2026-12-05T09:30:00Z: it can be read, not changed."
	_, _, body := rawRequest(t, addr, "DELETE /applications/shop HTTP/1.1\r\nHost: gate\r\n\r\n")
	if !strings.Contains(body, message) {
		t.Errorf("refusal %s does not say %q", body, message)
	}
	// A cross-origin refusal is readable by Deck (and says nothing more).
	_, h, _ := rawRequest(t, addr, "POST /pipelines/shop/deploy HTTP/1.1\r\nHost: gate\r\nOrigin: https://deck.acme.example\r\nContent-Length: 0\r\n\r\n")
	if h.Get("Access-Control-Allow-Origin") != "https://deck.acme.example" || h.Get("Access-Control-Allow-Credentials") != "true" {
		t.Errorf("cross-origin refusal without CORS headers: %v", h)
	}

	// The proxy's own status, which the freeze reads through Gate's Service.
	if code, _, body := rawRequest(t, addr, "GET /.spinops/frozen HTTP/1.1\r\nHost: gate\r\n\r\n"); code != 200 || !strings.Contains(body, `"frozen_since":"2026-12-05T09:30:00Z"`) {
		t.Errorf("GET %s: %d %s", ReadOnlyGateStatusPath, code, body)
	}
	passes := []string{
		"GET /applications/shop/pipelines?statuses=RUNNING HTTP/1.1\r\nHost: gate.acme.example\r\nX-Forwarded-Proto: https\r\nX-Forwarded-For: 203.0.113.7\r\nX-Forwarded-Host: gate.acme.example\r\n\r\n",
		"HEAD /health HTTP/1.1\r\nHost: gate\r\n\r\n",
		"OPTIONS /pipelines/shop/deploy HTTP/1.1\r\nHost: gate\r\nOrigin: https://deck.acme.example\r\nAccess-Control-Request-Method: POST\r\n\r\n",
		"POST /login HTTP/1.1\r\nHost: gate\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 27\r\n\r\nusername=ada&password=x%21x",
		"POST /saml/okta HTTP/1.1\r\nHost: gate\r\nContent-Length: 0\r\n\r\n",
		"POST /auth/logout HTTP/1.1\r\nHost: gate\r\nContent-Length: 0\r\n\r\n",
		"GET /auth/logout HTTP/1.1\r\nHost: gate\r\n\r\n",
		"POST /sso/callback HTTP/1.1\r\nHost: gate\r\nContent-Length: 0\r\n\r\n",
	}
	for _, req := range passes {
		line := strings.SplitN(req, "\r\n", 2)[0]
		if code, h, body := rawRequest(t, addr, req); code != http.StatusOK || h.Get(ReadOnlyGateHeader) == "" {
			t.Errorf("%s: %d %s (%s = %q), want Gate's 200", line, code, body, ReadOnlyGateHeader, h.Get(ReadOnlyGateHeader))
		}
	}
	want := []string{"GET /applications/shop/pipelines?statuses=RUNNING", "HEAD /health", "OPTIONS /pipelines/shop/deploy", "POST /login",
		"POST /saml/okta", "POST /auth/logout", "GET /auth/logout", "POST /sso/callback"}
	if got := rec.requests(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("Gate saw %q, want %q", got, want)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if h := rec.hdr[0]; rec.host[0] != "gate.acme.example" || h.Get("X-Forwarded-Proto") != "https" || h.Get("X-Forwarded-For") != "203.0.113.7" ||
		h.Get("X-Forwarded-Host") != "gate.acme.example" {
		t.Errorf("the read reached Gate with Host %q and %v: the load balancer's headers were changed", rec.host[0], h)
	}
}

// TestReadOnlyGateUpstreamDown: when Gate does not answer, the proxy says
// so (502, Spring's body) instead of a bare connection reset, without
// naming Gate's address inside the cluster.
func TestReadOnlyGateUpstreamDown(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := l.Addr().String()
	_ = l.Close()
	h := ReadOnlyGate{Upstream: &url.URL{Scheme: "http", Host: dead}, Since: time.Now()}.Handler()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/applications", nil))
	if w.Code != http.StatusBadGateway || !strings.Contains(w.Body.String(), "the old Gate did not answer") {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	// Gate's address inside the cluster is not told to the client.
	if strings.Contains(w.Body.String(), dead) || strings.Contains(w.Body.String(), "127.0.0.1") {
		t.Errorf("the answer names Gate's address: %s", w.Body)
	}
}

func TestParseGateProxyRoute(t *testing.T) {
	port, u, err := ParseGateProxyRoute("8084=http://spinops-gate-upstream.spinnaker.svc:8084")
	if err != nil || port != "8084" || u.Host != "spinops-gate-upstream.spinnaker.svc:8084" {
		t.Fatalf("%q %v %v", port, u, err)
	}
	for _, bad := range []string{"8084", "=http://x", "8084=", "8084=ftp://x", "8084=http://", "8084=spin-gate:8084"} {
		if _, _, err := ParseGateProxyRoute(bad); err == nil || !strings.Contains(err.Error(), "--listen") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}
