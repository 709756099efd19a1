package monitor

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/client-go/rest"
)

func TestConfigOptions(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "pd")
	_ = os.WriteFile(key, []byte("ROUTINGKEY\n"), 0o600)
	env := map[string]string{EnvGateUsername: "monitor", EnvGatePassword: "pw", EnvSlackURL: "https://hooks.slack.com/services/T/B/X"}
	c := &Config{Installation: "prod", Zones: []ZoneConfig{
		{Name: "green", Namespace: "spin-green", Tier: TierProduction, GateURL: "https://gate.example.com", DeckURL: "https://spinnaker.example.com"},
		{Name: "red", Namespace: "spin-red", Tier: TierSandbox, ServiceProxy: true, DeckPort: 80},
	}, Notify: []NotifyConfig{{Type: "pagerduty", SecretFile: key}, {Type: "slack"}}}
	o, err := c.Options(&rest.Config{Host: "https://10.0.0.1:6443", BearerToken: "t"}, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	green, red := o.Zones[0], o.Zones[1]
	if green.Endpoints.Auth != (GateAuth{Username: "monitor", Password: "pw"}) || green.Checks != nil {
		t.Errorf("green: %+v", green)
	}
	if red.Endpoints.GateURL != "https://10.0.0.1:6443/api/v1/namespaces/spin-red/services/spin-gate:8084/proxy" ||
		red.Endpoints.DeckURL != "https://10.0.0.1:6443/api/v1/namespaces/spin-red/services/spin-deck:80/proxy" || red.Endpoints.Client == nil {
		t.Errorf("red endpoints: %+v", red.Endpoints)
	}
	if len(red.Checks) != 2 || red.Checks[0].Auth || red.Checks[1].Auth {
		t.Errorf("through the proxy only the unauthenticated checks run: %+v", red.Checks)
	}
	if pd := o.Notifiers[0].(*PagerDuty); pd.RoutingKey != "ROUTINGKEY" {
		t.Errorf("routing key %q", pd.RoutingKey)
	}
	if s := o.Notifiers[1].(*Slack); s.URL != env[EnvSlackURL] {
		t.Errorf("slack url from the environment: %q", s.URL)
	}
	o.Store = &ConfigMapStore{}
	if err := o.CheckAndSetDefaults(); err != nil {
		t.Fatal(err)
	}
}

func TestConfigErrorsSayWhatToDo(t *testing.T) {
	none := func(string) string { return "" }
	for _, tc := range []struct {
		c    Config
		want string
	}{
		{Config{}, "installation is required"},
		{Config{Installation: "p", Zones: []ZoneConfig{{Name: "g", Namespace: "n", Tier: TierProduction}}}, "give gate_url and deck_url"},
		{Config{Installation: "p", Zones: []ZoneConfig{{Name: "g", Namespace: "n", Tier: TierProduction, ServiceProxy: true}}}, "service_proxy needs a Kubernetes connection"},
		{Config{Installation: "p", Notify: []NotifyConfig{{Type: "pagerduty"}}}, "no routing key: set secret_file or " + EnvPagerDutyRoutingKey},
		{Config{Installation: "p", Notify: []NotifyConfig{{Type: "webhook", SecretFile: "/nonexistent/x"}}}, "no URL: set secret_file"},
		{Config{Installation: "p", Notify: []NotifyConfig{{Type: "email"}}}, `type "email" is not webhook, slack or pagerduty`},
		{Config{Installation: "p", GateAuth: GateAuthConfig{PasswordFile: "/nonexistent/pw"}}, "gate_auth.password_file"},
	} {
		_, err := tc.c.Options(nil, none)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("got %v, want %q", err, tc.want)
		}
	}
	// A secret given where the file holds no secrets is refused, and the
	// error does not repeat it.
	env := map[string]string{EnvSlackURL: "https://hooks.slack.com/services/T/B/SECRETX"}
	_, err := (&Config{Installation: "p", Notify: []NotifyConfig{{Type: "slack", URL: "https://hooks.slack.com/services/T/B/SECRETY"}}}).Options(nil, func(k string) string { return env[k] })
	if err == nil || !strings.Contains(err.Error(), "put it in secret_file") || strings.Contains(err.Error(), "SECRET") {
		t.Errorf("slack url in the file: %v", err)
	}
}

// A zone on its own cluster keeps its state there and is proxied through
// that cluster's API server.
func TestConfigZoneOnItsOwnCluster(t *testing.T) {
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	_ = os.WriteFile(kc, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://zone-cluster.example:6443"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`), 0o600)
	c := &Config{Installation: "prod", Zones: []ZoneConfig{
		{Name: "green", Namespace: "spin-green", Tier: TierProduction, ServiceProxy: true, Kubeconfig: kc},
		{Name: "red", Namespace: "spin-red", Tier: TierSandbox, ServiceProxy: true},
	}}
	o, err := c.Options(&rest.Config{Host: "https://home.example:6443"}, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if o.Zones[0].Store == nil || !strings.HasPrefix(o.Zones[0].Endpoints.GateURL, "https://zone-cluster.example:6443/api/v1/namespaces/spin-green/") {
		t.Errorf("green: store %v, gate %s", o.Zones[0].Store, o.Zones[0].Endpoints.GateURL)
	}
	if o.Zones[1].Store != nil || !strings.HasPrefix(o.Zones[1].Endpoints.GateURL, "https://home.example:6443/") {
		t.Errorf("red: store %v, gate %s", o.Zones[1].Store, o.Zones[1].Endpoints.GateURL)
	}
	if _, err := (&Config{Installation: "p", Zones: []ZoneConfig{{Name: "g", Namespace: "n", Tier: TierProduction, ServiceProxy: true, Kubeconfig: "/nonexistent"}}}).Options(nil, func(string) string { return "" }); err == nil || !strings.Contains(err.Error(), "zone g: kubeconfig") {
		t.Errorf("missing kubeconfig: %v", err)
	}
}

// TestConfigPerZoneGateAuth: a zone with its own gate_auth is checked with
// those credentials (read from its files only, never the environment);
// the other zones keep the shared ones; a half-given zone credential is
// refused naming the zone.
func TestConfigPerZoneGateAuth(t *testing.T) {
	dir := t.TempDir()
	write := func(name, v string) string {
		p := filepath.Join(dir, name)
		_ = os.WriteFile(p, []byte(v+"\n"), 0o600)
		return p
	}
	env := map[string]string{EnvGateToken: "env-token-must-not-leak-into-a-zone"}
	c := &Config{Installation: "prod", Zones: []ZoneConfig{
		{Name: "green", Namespace: "g", Tier: TierProduction, GateURL: "https://gate.example.com", DeckURL: "https://deck.example.com"},
		{Name: "eu", Namespace: "e", Tier: TierProduction, GateURL: "https://gate.eu.example.com", DeckURL: "https://deck.eu.example.com",
			GateAuth: &GateAuthConfig{UsernameFile: write("eu-user", "eu-monitor"), PasswordFile: write("eu-pw", "eu-pw")}},
	}}
	o, err := c.Options(nil, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if a := o.Zones[0].Endpoints.Auth; a != (GateAuth{Token: "env-token-must-not-leak-into-a-zone"}) {
		t.Errorf("green keeps the shared credentials: %+v", a)
	}
	if a := o.Zones[1].Endpoints.Auth; a != (GateAuth{Username: "eu-monitor", Password: "eu-pw"}) {
		t.Errorf("eu uses its own credentials, and only them: %+v", a)
	}
	c.Zones[1].GateAuth = &GateAuthConfig{UsernameFile: write("eu-user", "eu-monitor")}
	if _, err := c.Options(nil, func(k string) string { return "" }); err == nil || !strings.Contains(err.Error(), "zone eu: gate_auth: a username needs a password") {
		t.Errorf("half a zone credential: %v", err)
	}
}
