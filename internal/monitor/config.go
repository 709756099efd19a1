package monitor

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// Environment variables that may hold the secrets instead of files.
const (
	EnvGateUsername        = "SPINOPS_MONITOR_GATE_USERNAME"
	EnvGatePassword        = "SPINOPS_MONITOR_GATE_PASSWORD"
	EnvGateToken           = "SPINOPS_MONITOR_GATE_TOKEN"
	EnvWebhookURL          = "SPINOPS_MONITOR_WEBHOOK_URL"
	EnvSlackURL            = "SPINOPS_MONITOR_SLACK_URL"
	EnvPagerDutyRoutingKey = "SPINOPS_MONITOR_PAGERDUTY_ROUTING_KEY"
)

// Config is the file of `spinops monitor --config` (a ConfigMap). It holds no
// secret: the Gate credentials, webhook URLs and the PagerDuty routing key
// are read from files (a mounted Secret) or the environment.
type Config struct {
	Installation string              `json:"installation"`
	SLO          float64             `json:"slo,omitempty"`
	Interval     Duration            `json:"interval,omitempty"`
	CheckTimeout Duration            `json:"check_timeout,omitempty"`
	Bucket       Duration            `json:"bucket,omitempty"`
	Zones        []ZoneConfig        `json:"zones"`
	Maintenance  []MaintenanceConfig `json:"maintenance_windows,omitempty"`
	GateAuth     GateAuthConfig      `json:"gate_auth,omitempty"`
	Notify       []NotifyConfig      `json:"notify,omitempty"`
	// CanaryPipeline adds the canary-pipeline check to the zones checked
	// with Gate credentials.
	CanaryPipeline *CanaryConfig `json:"canary_pipeline,omitempty"`
}

// CanaryConfig names the no-op pipeline the canary check starts.
type CanaryConfig struct {
	Application string   `json:"application"`
	Pipeline    string   `json:"pipeline"`
	Timeout     Duration `json:"timeout,omitempty"`
	// Create: create the pipeline (and its application) through Gate when
	// Gate does not know it.
	Create bool `json:"create,omitempty"`
}

// ZoneConfig is one zone: its exposed URLs, or the API server's service
// proxy when it is not exposed.
type ZoneConfig struct {
	Name         string `json:"name"`
	Namespace    string `json:"namespace"`
	Tier         Tier   `json:"tier"`
	GateURL      string `json:"gate_url,omitempty"`
	DeckURL      string `json:"deck_url,omitempty"`
	ServiceProxy bool   `json:"service_proxy,omitempty"`
	// GatePort and DeckPort are the Services' ports for the service proxy
	// (default 8084 and 9000; 443 or 80 when the operator exposes them).
	GatePort int `json:"gate_port,omitempty"`
	DeckPort int `json:"deck_port,omitempty"`
	// GateAuth, when set, are this zone's own Gate credentials (files
	// only), instead of the shared gate_auth.
	GateAuth *GateAuthConfig `json:"gate_auth,omitempty"`
	// Kubeconfig is a kubeconfig file (from a mounted Secret) of the zone's
	// own cluster, when it is not the monitor's: its state ConfigMap and its
	// service proxy are there.
	Kubeconfig string `json:"kubeconfig,omitempty"`
}

// MaintenanceConfig is a maintenance window in RFC 3339 times.
type MaintenanceConfig struct {
	Zone  string    `json:"zone,omitempty"`
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// GateAuthConfig names the files holding the Gate credentials.
type GateAuthConfig struct {
	UsernameFile string `json:"username_file,omitempty"`
	PasswordFile string `json:"password_file,omitempty"`
	TokenFile    string `json:"token_file,omitempty"`
}

// NotifyConfig is one notifier. SecretFile holds the webhook or Slack URL,
// or the PagerDuty routing key; without it the environment variable of the
// type is read. URL is only for PagerDuty (the Events API endpoint, default
// PagerDutyEventsURL) and is not secret.
type NotifyConfig struct {
	Type       string `json:"type"`
	ID         string `json:"id,omitempty"`
	SecretFile string `json:"secret_file,omitempty"`
	URL        string `json:"url,omitempty"`
}

// Duration is a time.Duration written as "30s" in JSON.
type Duration time.Duration

// UnmarshalJSON implements json.Unmarshaler.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("a duration is a string such as \"30s\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// MarshalJSON implements json.Marshaler.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// readGateAuth reads Gate credentials from their files (and, with env,
// the environment variables when a file is not named).
func readGateAuth(what string, c GateAuthConfig, getenv Env, env bool) (GateAuth, []error) {
	var errs []error
	var a GateAuth
	var err error
	name := func(e string) string {
		if env {
			return e
		}
		return ""
	}
	if a.Username, err = readSecret(c.UsernameFile, name(EnvGateUsername), getenv); err != nil {
		errs = append(errs, fmt.Errorf("%s.username_file: %w", what, err))
	}
	if a.Password, err = readSecret(c.PasswordFile, name(EnvGatePassword), getenv); err != nil {
		errs = append(errs, fmt.Errorf("%s.password_file: %w", what, err))
	}
	if a.Token, err = readSecret(c.TokenFile, name(EnvGateToken), getenv); err != nil {
		errs = append(errs, fmt.Errorf("%s.token_file: %w", what, err))
	}
	if a.Token != "" && a.Username != "" {
		errs = append(errs, fmt.Errorf("%s: give a token or a username and password, not both", what))
	}
	if (a.Username == "") != (a.Password == "") {
		errs = append(errs, fmt.Errorf("%s: a username needs a password and a password a username", what))
	}
	return a, errs
}

// LoadConfig reads and decodes the configuration file; unknown keys are an
// error (a typo would silently disable a check or a notifier).
func LoadConfig(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the monitor configuration: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var c Config
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("decoding the monitor configuration %s: %w", path, err)
	}
	return &c, nil
}

// Env reads an environment variable; tests replace it.
type Env func(string) string

func readSecret(file, env string, getenv Env) (string, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("reading the secret file: %w", err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	return strings.TrimSpace(getenv(env)), nil
}

// Options turns the configuration into monitor options: secrets are read,
// service-proxy zones get base URLs and the HTTP client of kube (the API
// server's; nil when no zone uses the proxy). Store, Clock, Metrics and Log
// are the caller's.
func (c *Config) Options(kube *rest.Config, getenv Env) (Options, error) {
	o := Options{Installation: c.Installation, SLO: c.SLO, Interval: time.Duration(c.Interval),
		CheckTimeout: time.Duration(c.CheckTimeout), Bucket: time.Duration(c.Bucket)}
	var errs []error
	if c.Installation == "" {
		errs = append(errs, errors.New("installation is required: it names the alerts"))
	}
	auth, authErrs := readGateAuth("gate_auth", c.GateAuth, getenv, true)
	errs = append(errs, authErrs...)
	var err error
	if cp := c.CanaryPipeline; cp != nil {
		if cp.Application == "" || cp.Pipeline == "" {
			errs = append(errs, errors.New("canary_pipeline needs an application and a pipeline (name or id)"))
		} else {
			o.Checks = append(DefaultChecks(), CanaryCheck(cp.Application, cp.Pipeline, cp.Create, time.Duration(cp.Timeout), 0))
		}
	}
	var proxyClient *http.Client
	for _, zc := range c.Zones {
		z := Zone{Name: zc.Name, Namespace: zc.Namespace, Tier: zc.Tier,
			Endpoints: Endpoints{GateURL: zc.GateURL, DeckURL: zc.DeckURL, Auth: auth}}
		if zc.GateAuth != nil {
			// This zone's own Gate credentials (its own Fiat, its own
			// identity provider) instead of the shared ones; files only.
			za, zerrs := readGateAuth("zone "+zc.Name+": gate_auth", *zc.GateAuth, getenv, false)
			errs = append(errs, zerrs...)
			z.Endpoints.Auth = za
		}
		zoneKube, zoneProxy := kube, proxyClient
		if zc.Kubeconfig != "" {
			kc, err := clientcmd.BuildConfigFromFlags("", zc.Kubeconfig)
			if err != nil {
				errs = append(errs, fmt.Errorf("zone %s: kubeconfig: %w", zc.Name, err))
				continue
			}
			cs, err := kubernetes.NewForConfig(kc)
			if err != nil {
				errs = append(errs, fmt.Errorf("zone %s: connecting to its cluster: %w", zc.Name, err))
				continue
			}
			z.Store = &ConfigMapStore{Client: cs}
			zoneKube, zoneProxy = kc, nil
		}
		if zc.ServiceProxy {
			kube, proxyClient := zoneKube, zoneProxy
			if kube == nil {
				errs = append(errs, fmt.Errorf("zone %s: service_proxy needs a Kubernetes connection (in-cluster or --kubeconfig)", zc.Name))
				continue
			}
			if proxyClient == nil {
				if proxyClient, err = rest.HTTPClientFor(kube); err != nil {
					errs = append(errs, fmt.Errorf("building the API server client for the service proxy: %w", err))
					continue
				}
			}
			gp, dp := zc.GatePort, zc.DeckPort
			if gp == 0 {
				gp = 8084
			}
			if dp == 0 {
				dp = 9000
			}
			if z.Endpoints.GateURL == "" {
				z.Endpoints.GateURL = ServiceProxyURL(kube.Host, zc.Namespace, "gate", gp)
			}
			if z.Endpoints.DeckURL == "" {
				z.Endpoints.DeckURL = ServiceProxyURL(kube.Host, zc.Namespace, "deck", dp)
			}
			z.Endpoints.Client = proxyClient
			// The API server authenticates the proxied request with the
			// Authorization header, so Gate credentials cannot ride along:
			// through the proxy only the unauthenticated checks run.
			for _, ch := range DefaultChecks() {
				if !ch.Auth {
					z.Checks = append(z.Checks, ch)
				}
			}
		} else if zc.GateURL == "" && zc.DeckURL == "" {
			errs = append(errs, fmt.Errorf("zone %s: give gate_url and deck_url (the exposed URLs), or service_proxy = true when the zone is not exposed", zc.Name))
		}
		o.Zones = append(o.Zones, z)
	}
	for _, mw := range c.Maintenance {
		o.Maintenance = append(o.Maintenance, MaintenanceWindow(mw))
	}
	ids := map[string]bool{}
	for i, nc := range c.Notify {
		var n Notifier
		switch nc.Type {
		case "webhook":
			u, err := readSecret(nc.SecretFile, EnvWebhookURL, getenv)
			if err != nil || u == "" {
				errs = append(errs, fmt.Errorf("notify[%d] (webhook): no URL: set secret_file or %s%s", i, EnvWebhookURL, because(err)))
				continue
			}
			id := nc.ID
			if id == "" {
				id = fmt.Sprint(i)
			}
			n = &Webhook{ID: id, URL: u}
		case "slack":
			u, err := readSecret(nc.SecretFile, EnvSlackURL, getenv)
			if err != nil || u == "" {
				errs = append(errs, fmt.Errorf("notify[%d] (slack): no incoming-webhook URL: set secret_file or %s%s", i, EnvSlackURL, because(err)))
				continue
			}
			n = &Slack{URL: u}
		case "pagerduty":
			k, err := readSecret(nc.SecretFile, EnvPagerDutyRoutingKey, getenv)
			if err != nil || k == "" {
				errs = append(errs, fmt.Errorf("notify[%d] (pagerduty): no routing key: set secret_file or %s%s", i, EnvPagerDutyRoutingKey, because(err)))
				continue
			}
			n = &PagerDuty{URL: nc.URL, RoutingKey: k}
		default:
			errs = append(errs, fmt.Errorf("notify[%d]: type %q is not webhook, slack or pagerduty", i, nc.Type))
			continue
		}
		if nc.URL != "" && nc.Type != "pagerduty" {
			errs = append(errs, fmt.Errorf("notify[%d] (%s): url is only for pagerduty; a %s URL is a secret: put it in secret_file", i, nc.Type, nc.Type))
		}
		if ids[n.Name()] {
			errs = append(errs, fmt.Errorf("notify[%d]: a second %s notifier: give each an id", i, n.Name()))
		}
		ids[n.Name()] = true
		o.Notifiers = append(o.Notifiers, n)
	}
	return o, errors.Join(errs...)
}

func because(err error) string {
	if err == nil {
		return ""
	}
	return " (" + err.Error() + ")"
}
