package migrate

// This file: the read-only Gate of a scheduled migration's freeze
// (`--old-gate read-only`). Gate has no read-only mode of its own (see
// freeze.go), so `spinops migrate gate-proxy` runs in front of it: the old
// Gate Service's selector is pointed at the proxy's pods, which pass reads
// on to the Gate pods (through a second Service with Gate's own selector)
// and refuse every change with an answer Deck shows.
//
// What passes, read from Gate at spinnaker/gate
// c0c8d1d774e2dd1df28a024196d7fd85ebcfd9c5:
//
//   - GET, HEAD and OPTIONS (CORS preflights are answered by Gate itself:
//     gate-core/.../config/AuthConfig.java permits OPTIONS /**). Gate's GET
//     endpoints read; the nearest to a change, PipelineController's
//     GET {id}/evaluateExpression, evaluates an expression and stores nothing.
//   - The POSTs that log a user in or out, so that an installation with
//     authentication stays readable: Spring Security's form login (POST
//     /login, gate-basic BasicAuthConfig.java and gate-ldap
//     LdapSsoConfig.groovy use formLogin() with its default processing
//     URL), SAML's assertion consumer (POST /saml/{registrationId},
//     gate-saml SecuritySamlProperties.loginProcessingUrl's default) and
//     the logout (/auth/logout, AuthConfig.java; CSRF is disabled, so any
//     method). OAuth2's callback is a GET. A login processing URL changed
//     in Gate's configuration is given with --allow-post.
//
// Everything else (POST, PUT, PATCH, DELETE, any other method, a method
// spelled in another case) is refused with 503 and Spring's error body
// ({"timestamp", "status", "error", "message", "path"}, Spring Boot's
// DefaultErrorAttributes), whose message Deck shows. The allowed POSTs are
// compared with the path exactly as it was sent (no decoding, no cleaning):
// what Gate's Tomcat would normalise (/login/../pipelines, /login;x,
// %2e%2e, a doubled slash) never equals an allowed path, so it is refused.
// A request naming another method in a header or parameter (X-HTTP-Method-
// Override and its variants, _method) is refused too, whatever its method:
// Gate does not honour them today (Spring Boot leaves HiddenHttpMethodFilter
// off), and the proxy does not depend on that staying so. So is any
// protocol upgrade (Upgrade: h2c or websocket): through the tunnel it opens,
// requests would reach Gate unread.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
)

// ReadOnlyGateHeader is set on every answer of the read-only proxy (passed
// on or refused): the time the freeze began.
const ReadOnlyGateHeader = "X-Spinops-Frozen-Since"

// ReadOnlyGateStatusPath is answered by the proxy itself, not passed to
// Gate (which has no such path): {"frozen_since": TIME}. The freeze reads
// it through Gate's Service to prove that what reaches the Service reaches
// the proxy.
const ReadOnlyGateStatusPath = "/.spinops/frozen"

// methodOverrides are the headers with which some frameworks let a request
// stand for another method.
var methodOverrides = []string{"X-HTTP-Method-Override", "X-HTTP-Method", "X-Method-Override"}

// samlLogin is Gate's SAML assertion consumer, /saml/{registrationId}.
var samlLogin = regexp.MustCompile(`^/saml/[A-Za-z0-9_-][A-Za-z0-9_.-]*$`)

// ReadOnlyGate is the read-only proxy's configuration.
type ReadOnlyGate struct {
	// Upstream is Gate (the Service selecting its pods).
	Upstream *url.URL
	// Since is when the freeze began; Message what a refused change is told.
	Since   time.Time
	Message string
	// AllowPost are further paths a POST may go to (a login processing URL
	// changed in Gate's configuration), compared exactly.
	AllowPost []string
	// Transport reaches Gate (default http.DefaultTransport).
	Transport http.RoundTripper
	// Log, when set, gets one line per refused request: method, path (not
	// the query, which may carry a webhook's token), why, and the client as
	// the load balancer reported it.
	Log *slog.Logger
}

// Handler returns the proxy's handler.
func (g ReadOnlyGate) Handler() http.Handler {
	up := *g.Upstream
	rp := &httputil.ReverseProxy{
		Transport: g.Transport,
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(&up)
			// Transparent to Gate: the Host and the X-Forwarded-* headers
			// the load balancer set (Gate builds its redirects, OAuth2's
			// redirect_uri among them, from them).
			r.Out.Host = r.In.Host
			for _, h := range []string{"X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "X-Forwarded-Port", "X-Forwarded-Prefix", "Forwarded"} {
				if v, ok := r.In.Header[h]; ok {
					r.Out.Header[h] = v
				}
			}
		},
		ModifyResponse: func(resp *http.Response) error {
			resp.Header.Set(ReadOnlyGateHeader, g.since())
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			// The cause names Gate's address inside the cluster: logged,
			// not told to the client.
			if g.Log != nil {
				g.Log.Warn("the old Gate did not answer", "method", r.Method, "path", r.URL.EscapedPath(), "error", err)
			}
			g.refuse(w, r, http.StatusBadGateway, "the old Gate did not answer the read-only proxy")
		},
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == ReadOnlyGateStatusPath && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
			g.answer(w, http.StatusOK, map[string]string{"frozen_since": g.since()})
			return
		}
		if why := g.refused(r); why != "" {
			g.refuse(w, r, http.StatusServiceUnavailable, why)
			return
		}
		rp.ServeHTTP(w, r)
	})
}

// refused says why r may not reach Gate, or "" when it may.
func (g ReadOnlyGate) refused(r *http.Request) string {
	// An upgrade would leave HTTP/1.1: the proxy passes a 101's stream on
	// unread (net/http/httputil), so through an h2c or WebSocket tunnel to
	// Gate's Tomcat any request could follow. Gate offers neither.
	if _, ok := r.Header["Upgrade"]; ok {
		return "Upgrade: a protocol upgrade is refused while the old installation is frozen"
	}
	for _, h := range methodOverrides {
		if _, ok := r.Header[http.CanonicalHeaderKey(h)]; ok {
			return fmt.Sprintf("%s: a request standing for another method is refused while the old installation is frozen", h)
		}
	}
	if _, ok := r.URL.Query()["_method"]; ok {
		return "_method: a request standing for another method is refused while the old installation is frozen"
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return ""
	case http.MethodPost:
		if p := r.URL.EscapedPath(); p == "/login" || p == "/auth/logout" || samlLogin.MatchString(p) || slices.Contains(g.AllowPost, p) {
			return ""
		}
	}
	return g.message()
}

func (g ReadOnlyGate) message() string {
	if g.Message != "" {
		return g.Message
	}
	return fmt.Sprintf("This Spinnaker is frozen for its migration since %s: it can be read, not changed.", g.since())
}

// since is when the freeze began, as every answer says it.
func (g ReadOnlyGate) since() string { return g.Since.UTC().Format(time.RFC3339) }

// answer writes the proxy's own JSON answer (a refusal, or its status).
func (g ReadOnlyGate) answer(w http.ResponseWriter, status int, body any) {
	h := w.Header()
	h.Set(ReadOnlyGateHeader, g.since())
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

// refuse answers as Spring Boot's error controller does, so that Deck shows
// the message. A browser reads a cross-origin answer only with CORS
// headers, so the request's Origin is echoed: the body says nothing but
// the message.
func (g ReadOnlyGate) refuse(w http.ResponseWriter, r *http.Request, status int, message string) {
	if g.Log != nil {
		g.Log.Info("refused", "method", r.Method, "path", r.URL.EscapedPath(), "status", status, "reason", message,
			"client", r.RemoteAddr, "forwarded_for", r.Header.Get("X-Forwarded-For"))
	}
	if o := r.Header.Get("Origin"); o != "" {
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", o)
		h.Set("Access-Control-Allow-Credentials", "true")
		h.Add("Vary", "Origin")
	}
	g.answer(w, status, map[string]any{
		"timestamp": time.Now().UTC().Format("2006-01-02T15:04:05.000+00:00"),
		"status":    status, "error": http.StatusText(status), "message": message, "path": r.URL.EscapedPath(),
	})
}

// ServeReadOnlyGate serves the proxy on l until ctx ends, then lets the
// requests under way finish (up to 20 s).
func ServeReadOnlyGate(ctx context.Context, l net.Listener, g ReadOnlyGate) error {
	s := &http.Server{Handler: g.Handler(), ReadHeaderTimeout: 30 * time.Second}
	done := make(chan error, 1)
	go func() { done <- s.Serve(l) }()
	select {
	case err := <-done:
		return fmt.Errorf("serving the read-only Gate on %s: %w", l.Addr(), err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 20*time.Second)
	defer cancel()
	if err := s.Shutdown(sctx); err != nil {
		return fmt.Errorf("stopping the read-only Gate on %s: %w", l.Addr(), err)
	}
	if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serving the read-only Gate on %s: %w", l.Addr(), err)
	}
	return nil
}

// ReadOnlyGateArgs are the arguments of `spinops migrate gate-proxy` in the
// proxy's pod: one --listen PORT=UPSTREAM per port of Gate's Service.
func ReadOnlyGateArgs(routes map[int32]string, since time.Time, allowPost []string) []string {
	args := []string{"migrate", "gate-proxy", "--since", since.UTC().Format(time.RFC3339)}
	ports := make([]int32, 0, len(routes))
	for p := range routes {
		ports = append(ports, p)
	}
	slices.Sort(ports)
	for _, p := range ports {
		args = append(args, "--listen", fmt.Sprintf("%d=%s", p, routes[p]))
	}
	for _, p := range allowPost {
		args = append(args, "--allow-post", p)
	}
	return args
}

// ParseGateProxyRoute parses one --listen PORT=URL of gate-proxy.
func ParseGateProxyRoute(s string) (port string, upstream *url.URL, err error) {
	port, raw, ok := strings.Cut(s, "=")
	if !ok || port == "" || raw == "" {
		return "", nil, fmt.Errorf("--listen %q: give PORT=URL, e.g. 8084=http://spinops-gate-upstream.spinnaker.svc:8084", s)
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", nil, fmt.Errorf("--listen %q: the upstream must be an http(s) URL with a host, e.g. http://spinops-gate-upstream.spinnaker.svc:8084", s)
	}
	return port, u, nil
}
