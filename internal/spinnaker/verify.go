package spinnaker

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
)

// Check is one post-upgrade verification request: it passes when GET URL
// answers 2xx.
type Check struct {
	// Name says what is checked, e.g. "gate /health".
	Name string
	URL  string
}

// CheckResult is the outcome of one Check after its attempts.
type CheckResult struct {
	Check
	OK     bool
	Status int
	// Body is the start of the last answer's body, for diagnostics.
	Body     string
	Error    string
	Attempts int
}

// Describe is a one-line account of a failed check.
func (r CheckResult) Describe() string {
	if r.Error != "" {
		return fmt.Sprintf("%s: %s (after %d attempts; GET %s)", r.Name, r.Error, r.Attempts, r.URL)
	}
	msg := fmt.Sprintf("%s: HTTP %d (after %d attempts; GET %s)", r.Name, r.Status, r.Attempts, r.URL)
	if r.Body != "" {
		msg += ": " + r.Body
	}
	return msg
}

// Verification is the outcome of all checks.
type Verification struct {
	Results []CheckResult
}

// Passed reports whether every check passed.
func (v *Verification) Passed() bool {
	for _, r := range v.Results {
		if !r.OK {
			return false
		}
	}
	return true
}

// Failures describes each failed check.
func (v *Verification) Failures() []string {
	var out []string
	for _, r := range v.Results {
		if !r.OK {
			out = append(out, r.Describe())
		}
	}
	return out
}

// VerifyOptions tune Verify.
type VerifyOptions struct {
	// Attempts per check (at least 1).
	Attempts int
	// Interval between attempts.
	Interval time.Duration
	// RequestTimeout bounds each request.
	RequestTimeout time.Duration
}

// ServicePort is the port of a service's Kubernetes Service. With
// expose.type = service the operator rewrites spin-deck and spin-gate to
// the public port spec.expose asks for (pkg/deploy/spindeploy/
// expose_service/transform.go, applyPortChanges): Deck 80 (443 with TLS),
// Gate 8084 (443 with TLS), as renderServiceExpose renders them.
func ServicePort(s Service, e *Expose) int {
	if e == nil || e.Type != ExposeService {
		return s.Port
	}
	deck, gate := publicPorts(e)
	switch s.Name {
	case "deck":
		return int(deck)
	case "gate":
		return int(gate)
	}
	return s.Port
}

// ProxyChecks are the checks of a zone's services through the API server's
// service proxy: Gate /health, Deck /, and every other service's /health,
// each on its Service's port (see ServicePort).
func ProxyChecks(cfg *rest.Config, namespace string, services []Service, expose *Expose) []Check {
	base := strings.TrimSuffix(cfg.Host, "/")
	if cfg.APIPath != "" && cfg.APIPath != "/api" {
		base += strings.TrimSuffix(cfg.APIPath, "/api")
	}
	out := make([]Check, 0, len(services))
	for _, s := range services {
		u := fmt.Sprintf("%s/api/v1/namespaces/%s/services/%s:%d/proxy%s",
			base, url.PathEscape(namespace), s.ObjectName(), ServicePort(s, expose), s.HealthPath)
		out = append(out, Check{Name: s.Name + " " + s.HealthPath, URL: u})
	}
	return out
}

// ExposedChecks are the checks through the URLs users reach: Gate /health
// and Deck /.
func ExposedChecks(deckURL, gateURL string) []Check {
	var out []Check
	if gateURL != "" {
		out = append(out, Check{Name: "gate /health", URL: strings.TrimSuffix(gateURL, "/") + "/health"})
	}
	if deckURL != "" {
		out = append(out, Check{Name: "deck /", URL: strings.TrimSuffix(deckURL, "/") + "/"})
	}
	return out
}

// Verify runs every check, each with up to opts.Attempts attempts, and
// returns every result (it does not stop at the first failure).
func Verify(ctx context.Context, client *http.Client, checks []Check, opts VerifyOptions) *Verification {
	if opts.Attempts < 1 {
		opts.Attempts = 1
	}
	if opts.RequestTimeout <= 0 {
		opts.RequestTimeout = 10 * time.Second
	}
	v := &Verification{}
	for _, c := range checks {
		v.Results = append(v.Results, runCheck(ctx, client, c, opts))
	}
	return v
}

func runCheck(ctx context.Context, client *http.Client, c Check, opts VerifyOptions) CheckResult {
	res := CheckResult{Check: c}
	for attempt := 1; attempt <= opts.Attempts; attempt++ {
		res.Attempts = attempt
		res.Status, res.Body, res.Error = get(ctx, client, c.URL, opts.RequestTimeout)
		if res.Error == "" && res.Status >= 200 && res.Status < 300 {
			res.OK = true
			return res
		}
		if attempt == opts.Attempts {
			break
		}
		select {
		case <-ctx.Done():
			res.Error = ctx.Err().Error()
			return res
		case <-time.After(opts.Interval):
		}
	}
	return res
}

// get requests u and returns the status and, for a failure, the start of
// the body on one line.
func get(ctx context.Context, client *http.Client, u string, timeout time.Duration) (status int, body, errMsg string) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, "", err.Error()
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp.StatusCode, "", ""
	}
	body = strings.Join(strings.Fields(string(b)), " ")
	if len(body) > 200 {
		body = body[:200] + "..."
	}
	return resp.StatusCode, body, ""
}

// ServicePortsOf are the ports of spin-deck's and spin-gate's Services for
// a SpinnakerService's spec (keys "deck" and "gate"): with spec.expose type
// service, the public ports the operator rewrites them to (its
// GetDesiredExposePort: the publicPort of the service's override when it
// has an override, else expose's publicPort, else the port of its
// overrideBaseUrl); otherwise the port Halyard gives them (the
// service-settings' port, else Spinnaker's default: settingsPort). What
// the service proxy and the monitor's Role name as spin-<service>:<port>.
func ServicePortsOf(obj *unstructured.Unstructured) map[string]int64 {
	settings := specPart(obj, "service-settings")
	exposed := nestedValue(obj.Object, "spec", "expose", "type") == ExposeService
	out := map[string]int64{}
	for _, name := range ExposedServices {
		port := int64(settingsPort(settings, name))
		if exposed {
			// GetDesiredExposePort (pkg/util/runtime.go): the
			// overrideBaseUrl's port, then the service's override's
			// publicPort when it has an override, else expose's.
			port = defaultPublicPort(specPart(obj, "config"), name)
			if ov, isMap := nestedValue(obj.Object, "spec", "expose", "service", "overrides", name).(map[string]any); isMap {
				if p := toInt(ov["publicPort"]); p != 0 {
					port = p
				}
			} else if p := toInt(nestedValue(obj.Object, "spec", "expose", "service", "publicPort")); p != 0 {
				port = p
			}
		}
		out[name] = port
	}
	return out
}

// defaultPublicPort is the operator's public port of an exposed service
// before spec.expose's (armory/spinnaker-operator d92e6804,
// pkg/util/runtime.go GetPort): the port of the service's overrideBaseUrl
// (security.uiSecurity for Deck, security.apiSecurity for Gate), else 80
// for http and 443 for https, else 80.
func defaultPublicPort(config map[string]any, name string) int64 {
	sec := map[string]string{"deck": "uiSecurity", "gate": "apiSecurity"}[name]
	raw, _ := nestedValue(config, "security", sec, "overrideBaseUrl").(string)
	u, err := url.Parse(raw)
	if raw == "" || err != nil {
		return 80
	}
	if s := u.Port(); s != "" {
		if p, err := strconv.ParseInt(s, 10, 32); err == nil {
			return p
		}
		return 80
	}
	if u.Scheme == "https" {
		return 443
	}
	return 80
}
