package monitor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// GateAuth is how the authenticated checks log in to Gate. Gate's
// gate-basic module (BasicAuthConfig.java) accepts HTTP Basic credentials;
// its OAuth2 module (ExternalAuthTokenFilter.java) accepts
// "Authorization: Bearer <token>". Either may be set, not both.
type GateAuth struct {
	Username string
	Password string
	Token    string
}

func (a GateAuth) apply(req *http.Request) {
	switch {
	case a.Token != "":
		req.Header.Set("Authorization", "Bearer "+a.Token)
	case a.Username != "":
		req.SetBasicAuth(a.Username, a.Password)
	}
}

// Check is one synthetic check of a zone.
type Check struct {
	// Name is stable: it labels metrics and alerts.
	Name string
	// Service is "gate" or "deck": which base URL the path is relative to.
	Service string
	Path    string
	// Auth sends the Gate credentials.
	Auth bool
	// Validate looks at a 200 response's body.
	Validate func(body []byte) error
	// Timeout, when set, replaces the monitor's check timeout.
	Timeout time.Duration
	// Custom, when set, runs the check instead of a GET of Path: it
	// returns the last HTTP status and a failure reason ("" for success).
	Custom func(ctx context.Context, client *http.Client, e *Endpoints) (httpCode int, reason string)
}

// The checks, with Gate's real paths (spinnaker/gate, gate-web controllers):
//   - Gate /health: Spring Boot's actuator health endpoint, the one path
//     AuthConfig.java permits without authentication; 200 {"status":"UP"}
//     when healthy, 503 when a health indicator is DOWN.
//   - Deck /: Deck's index.html, served by its web server.
//   - Gate GET /applications (ApplicationController.groovy,
//     @RequestMapping("/applications")): the application list Gate reads from
//     Front50, a JSON array.
//   - Gate GET /credentials (CredentialsController.groovy,
//     @RequestMapping("/credentials")): the accounts Gate reads from
//     Clouddriver, a JSON array.
//
// Every other Gate path is ".authenticated()" in AuthConfig.java; with
// gate-basic an unauthenticated call is redirected to /login
// (LoginUrlAuthenticationEntryPoint), so redirects are never followed: a 3xx
// is a failed check that says the credentials were refused.
func DefaultChecks() []Check {
	return []Check{
		{Name: "gate-health", Service: "gate", Path: "/health", Validate: validateHealth},
		{Name: "deck-index", Service: "deck", Path: "/", Validate: validateDeckIndex},
		{Name: "gate-applications", Service: "gate", Path: "/applications", Auth: true, Validate: validateJSONArray},
		{Name: "gate-credentials", Service: "gate", Path: "/credentials", Auth: true, Validate: validateJSONArray},
	}
}

func validateHealth(body []byte) error {
	var h struct {
		Status string `json:"status"`
	}
	if err := json.Unmarshal(body, &h); err != nil {
		return fmt.Errorf("the health body is not JSON: %w", err)
	}
	if h.Status != "UP" {
		return fmt.Errorf("health status is %q, not UP", h.Status)
	}
	return nil
}

func validateDeckIndex(body []byte) error {
	if !strings.Contains(strings.ToLower(string(body)), "<html") {
		return errors.New("the index is not an HTML page")
	}
	return nil
}

func validateJSONArray(body []byte) error {
	var v []json.RawMessage
	if err := json.Unmarshal(body, &v); err != nil {
		return fmt.Errorf("the body is not a JSON array: %w", err)
	}
	return nil
}

// Result is the outcome of one check.
type Result struct {
	Check    string        `json:"check"`
	OK       bool          `json:"ok"`
	Latency  time.Duration `json:"latency_ns"`
	Reason   string        `json:"reason,omitempty"`
	HTTPCode int           `json:"http_code,omitempty"`
}

// maxBody is how much of a response a check reads.
const maxBody = 4 << 20

// Run runs the check against a zone's endpoints with a timeout. Errors are
// reported without the request URL (it may carry a service-proxy path or
// credentials in user info).
func (c Check) Run(ctx context.Context, e *Endpoints, timeout time.Duration) (res Result) {
	res.Check = c.Name
	base := e.GateURL
	if c.Service == "deck" {
		base = e.DeckURL
	}
	if base == "" {
		res.Reason = c.Service + " is not exposed and no service proxy is configured"
		return res
	}
	if c.Timeout > 0 {
		timeout = c.Timeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	defer func() { res.Latency = time.Since(start) }()
	if c.Custom != nil {
		res.HTTPCode, res.Reason = c.Custom(ctx, e.client(), e)
		res.OK = res.Reason == ""
		return res
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(base, "/")+c.Path, nil)
	if err != nil {
		res.Reason = "building the request: " + scrubURLError(err).Error()
		return res
	}
	req.Header.Set("Accept", "application/json, text/html")
	if c.Auth {
		e.Auth.apply(req)
	}
	resp, err := e.client().Do(req)
	if err != nil {
		if ctx.Err() == context.DeadlineExceeded {
			res.Reason = fmt.Sprintf("no answer within %s", timeout)
		} else {
			res.Reason = scrubURLError(err).Error()
		}
		return res
	}
	defer func() { _ = resp.Body.Close() }()
	res.HTTPCode = resp.StatusCode
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		res.Reason = "reading the response: " + scrubURLError(err).Error()
		return res
	}
	switch {
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		res.Reason = fmt.Sprintf("HTTP %d redirect (to %s): Gate refused the credentials or needs them; set the monitor's Gate credentials", resp.StatusCode, redirectPath(resp))
		return res
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		res.Reason = fmt.Sprintf("HTTP %d: Gate refused the monitor's credentials", resp.StatusCode)
		return res
	case resp.StatusCode != http.StatusOK:
		res.Reason = fmt.Sprintf("HTTP %d", resp.StatusCode)
		return res
	}
	if c.Validate != nil {
		if err := c.Validate(body); err != nil {
			res.Reason = err.Error()
			return res
		}
	}
	res.OK = true
	return res
}

// redirectPath is the path of a redirect's Location, without host or query.
func redirectPath(resp *http.Response) string {
	u, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || u.Path == "" {
		return "?"
	}
	return u.Path
}

// scrubURLError drops the URL a net/http error carries: "Get <url>: <err>"
// becomes "GET: <err>".
func scrubURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", strings.ToUpper(ue.Op), ue.Err)
	}
	return err
}

// Endpoints is how a zone is reached.
type Endpoints struct {
	// GateURL and DeckURL are the base URLs: the exposed ones, or the API
	// server's service proxy (…/api/v1/namespaces/NS/services/spin-gate:8084/proxy).
	GateURL, DeckURL string
	Auth             GateAuth
	// Client is the HTTP client (for the service proxy: one authenticated to
	// the API server). Redirects are never followed whatever it says.
	Client *http.Client
}

func (e *Endpoints) client() *http.Client {
	c := http.Client{}
	if e.Client != nil {
		c = *e.Client
	}
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

// ServiceProxyURL is the API server's service-proxy base URL of a zone's
// service: spin-<service> on its port (OPERATOR-CONTRACT.md: the operator
// names Services spin-<service>; Gate listens on 8084, Deck on 9000).
func ServiceProxyURL(apiServer, namespace, service string, port int) string {
	return fmt.Sprintf("%s/api/v1/namespaces/%s/services/spin-%s:%d/proxy",
		strings.TrimSuffix(apiServer, "/"), url.PathEscape(namespace), url.PathEscape(service), port)
}
