package spinnaker

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// renderedSettings renders z of the test installation and returns its
// service-settings as JSON per service.
func renderedSettings(t *testing.T, z *Zone) map[string]string {
	t.Helper()
	r := mustRender(t, testInstallation(), z)
	settings, _ := nestedValue(r.Service.Object, "spec", "spinnakerConfig", "service-settings").(map[string]any)
	out := map[string]string{}
	for k, v := range settings {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		out[k] = string(b)
	}
	return out
}

const tokensVolume = `{"id":"spinops-account-tokens","mountPath":"/var/run/spinops/account-tokens","type":"secret"}`

// TestRender_clouddriverKeepsItsOwnVolumes: the agent accounts' tokens
// volume is added after the volumes the user gave Clouddriver (the
// installation's or the zone's), in the unsplit Clouddriver and in each of
// the HA split's; before, it replaced them.
func TestRender_clouddriverKeepsItsOwnVolumes(t *testing.T) {
	own := "kubernetes:\n  volumes:\n  - id: corp-ca\n    type: configMap\n    mountPath: /etc/corp-ca\n"
	got := renderedSettings(t, &Zone{Name: "red", Namespace: "spinnaker-red", Tier: TierSandbox, ServiceSettings: map[string]string{"clouddriver": own}})
	want := `{"kubernetes":{"volumes":[{"id":"corp-ca","mountPath":"/etc/corp-ca","type":"configMap"},` + tokensVolume + `]}}`
	if got["clouddriver"] != want {
		t.Errorf("clouddriver settings %s, want %s", got["clouddriver"], want)
	}
	// The tokens volume given as spinops renders it (a spec carried over
	// from another installation) is not added twice.
	got = renderedSettings(t, &Zone{Name: "red", Namespace: "spinnaker-red", Tier: TierSandbox, ServiceSettings: map[string]string{
		"clouddriver": own + "  - {id: spinops-account-tokens, mountPath: /var/run/spinops/account-tokens}\n"}})
	if w := `{"kubernetes":{"volumes":[{"id":"corp-ca","mountPath":"/etc/corp-ca","type":"configMap"},{"id":"spinops-account-tokens","mountPath":"/var/run/spinops/account-tokens"}]}}`; got["clouddriver"] != w {
		t.Errorf("clouddriver settings with the tokens volume given: %s, want %s", got["clouddriver"], w)
	}
	split := &Zone{Name: "green", Namespace: "spinnaker-green", Tier: TierProduction, HA: &HA{Enabled: true, ClouddriverSplit: true, Replicas: 2},
		ServiceSettings: map[string]string{"clouddriver-rw": own, "clouddriver-caching": "kubernetes:\n  serviceType: ClusterIP\n"}}
	got = renderedSettings(t, split)
	if got["clouddriver-rw"] != want {
		t.Errorf("clouddriver-rw settings %s, want %s", got["clouddriver-rw"], want)
	}
	if w := `{"kubernetes":{"serviceType":"ClusterIP","volumes":[` + tokensVolume + `]}}`; got["clouddriver-caching"] != w {
		t.Errorf("clouddriver-caching settings %s, want %s", got["clouddriver-caching"], w)
	}
}

// TestRender_globalListsMergedForTheOperator: the lists of the global
// "spinnaker" service-settings are merged into each service the operator
// gives them, as inspect.Merge means to (the global items first), and left
// out of the global settings, where inspect.Merge would drop them for
// every service whose own settings hold the map above them (Clouddriver
// always does: the tokens volume). Deck and the HA services are not given
// them (the operator gives them no global settings); a service's own
// non-list value (or null) there wins; the global scalars and maps stay
// global.
func TestRender_globalListsMergedForTheOperator(t *testing.T) {
	z := &Zone{Name: "red", Namespace: "spinnaker-red", Tier: TierSandbox, ServiceSettings: map[string]string{
		"spinnaker": "targetSize: 2\nkubernetes:\n  imagePullSecrets: [regcred]\n  nodeSelector: {pool: spinnaker}\n" +
			"  volumes:\n  - {id: corp-ca, type: configMap, mountPath: /etc/corp-ca}\n",
		"orca":    "kubernetes:\n  serviceAnnotations: {team: pipelines}\n",
		"rosco":   "kubernetes:\n  imagePullSecrets: [rosco-pull]\n",
		"echo":    "kubernetes:\n  imagePullSecrets: null\n",
		"kayenta": "kubernetes: none\n",
		"deck":    "kubernetes:\n  serviceType: ClusterIP\n",
	}}
	got := renderedSettings(t, z)
	corpCA := `{"id":"corp-ca","mountPath":"/etc/corp-ca","type":"configMap"}`
	for svc, want := range map[string]string{
		"spinnaker":   `{"kubernetes":{"nodeSelector":{"pool":"spinnaker"}},"targetSize":2}`,
		"clouddriver": `{"kubernetes":{"imagePullSecrets":["regcred"],"volumes":[` + corpCA + `,` + tokensVolume + `]}}`,
		"orca":        `{"kubernetes":{"imagePullSecrets":["regcred"],"serviceAnnotations":{"team":"pipelines"},"volumes":[` + corpCA + `]}}`,
		"rosco":       `{"kubernetes":{"imagePullSecrets":["regcred","rosco-pull"],"volumes":[` + corpCA + `]}}`,
		"echo":        `{"kubernetes":{"imagePullSecrets":null,"volumes":[` + corpCA + `]}}`,
		"kayenta":     `{"kubernetes":"none"}`,
		"front50":     `{"kubernetes":{"imagePullSecrets":["regcred"],"volumes":[` + corpCA + `]}}`,
		"deck":        `{"kubernetes":{"serviceType":"ClusterIP"}}`,
	} {
		if got[svc] != want {
			t.Errorf("%s settings %s, want %s", svc, got[svc], want)
		}
	}
	// Nothing left in the global settings: the key goes.
	got = renderedSettings(t, &Zone{Name: "red", Namespace: "spinnaker-red", Tier: TierSandbox, ServiceSettings: map[string]string{
		"spinnaker": "kubernetes:\n  imagePullSecrets: [regcred]\n"}})
	if g, found := got["spinnaker"]; found {
		t.Errorf("global settings %s left with nothing but its list, want the key removed", g)
	}
	if got["gate"] != `{"kubernetes":{"imagePullSecrets":["regcred"]}}` {
		t.Errorf("gate settings %s", got["gate"])
	}
}

// TestRender_volumesRefusedAtPlanTime: what Halyard could not make a volume
// of, or would mount twice, is refused with the service and the entry.
func TestRender_volumesRefusedAtPlanTime(t *testing.T) {
	for name, c := range map[string]struct {
		settings map[string]string
		want     string
	}{
		"an id global and own": {map[string]string{
			"spinnaker": "kubernetes:\n  volumes:\n  - {id: corp-ca, type: configMap, mountPath: /etc/corp-ca}\n",
			"gate":      "kubernetes:\n  volumes:\n  - {id: corp-ca, type: configMap, mountPath: /etc/corp-ca}\n"},
			`service_settings for gate: two kubernetes.volumes have the id "corp-ca"`},
		"spinops' id": {map[string]string{"clouddriver": "kubernetes:\n  volumes:\n  - {id: spinops-account-tokens, mountPath: /etc/x}\n"},
			`volume id "spinops-account-tokens" is spinops' own`},
		"no mountPath":       {map[string]string{"orca": "kubernetes:\n  volumes:\n  - {id: x}\n"}, "kubernetes.volumes[0] needs an id"},
		"no id":              {map[string]string{"orca": "kubernetes:\n  volumes:\n  - {mountPath: /x}\n"}, "kubernetes.volumes[0] needs an id"},
		"an unknown type":    {map[string]string{"orca": "kubernetes:\n  volumes:\n  - {id: x, type: hostPath, mountPath: /x}\n"}, "(x) has type hostPath; Halyard knows configMap, emptyDir"},
		"not a list":         {map[string]string{"orca": "kubernetes:\n  volumes: {id: x}\n"}, "service_settings for orca: kubernetes.volumes must be a list"},
		"clouddriver's flat": {map[string]string{"clouddriver": "kubernetes: flat\n"}, "service_settings for clouddriver: kubernetes must be a mapping"},
	} {
		_, err := Render(testInstallation(), &Zone{Name: "red", Namespace: "spinnaker-red", Tier: TierSandbox, ServiceSettings: c.settings}, testCredentials)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want one containing %q", name, err, c.want)
		}
	}
}

// TestRender_settingsMissed: with HA, the global service-settings and
// Clouddriver's and Echo's name the HA services Halyard deploys that they
// do not reach, with the settings' keys; nothing without HA, nothing for a
// key without settings (spinops' own tokens volume does not count).
func TestRender_settingsMissed(t *testing.T) {
	settings := map[string]string{
		"spinnaker":   "targetSize: 2\nkubernetes:\n  imagePullSecrets: [regcred]\n  nodeSelector: {pool: spinnaker}\n",
		"clouddriver": "kubernetes:\n  volumes:\n  - {id: corp-ca, type: configMap, mountPath: /etc/corp-ca}\n",
		"orca":        "kubernetes:\n  serviceType: ClusterIP\n",
	}
	ha := &HA{Enabled: true, ClouddriverSplit: true, Replicas: 2}
	r := mustRender(t, testInstallation(), &Zone{Name: "green", Namespace: "spinnaker-green", Tier: TierProduction, HA: ha, ServiceSettings: settings})
	var haServices, clouddrivers []string
	for _, s := range r.Services {
		if s.Name != "deck" && !slices.Contains(globalSettingsServices, s.Name) {
			haServices = append(haServices, s.Name)
			if baseService(s.Name) == "clouddriver" {
				clouddrivers = append(clouddrivers, s.Name)
			}
		}
	}
	want := []MissedSettings{
		{Key: "spinnaker", Settings: []string{"kubernetes.imagePullSecrets", "kubernetes.nodeSelector", "targetSize"}, Services: haServices},
		{Key: "clouddriver", Settings: []string{"kubernetes.volumes"}, Services: clouddrivers},
	}
	if len(clouddrivers) == 0 || len(haServices) == len(clouddrivers) || !reflect.DeepEqual(r.SettingsMissed, want) {
		t.Errorf("SettingsMissed %+v, want %+v", r.SettingsMissed, want)
	}
	// HA services that set every key themselves are not named.
	pull := "kubernetes:\n  imagePullSecrets: [regcred]\n"
	given := map[string]string{"spinnaker": pull, "clouddriver": pull}
	for _, s := range haServices {
		given[s] = pull
	}
	given[haServices[0]] = "targetSize: 1\n"
	r = mustRender(t, testInstallation(), &Zone{Name: "green", Namespace: "spinnaker-green", Tier: TierProduction, HA: ha, ServiceSettings: given})
	missed := []string{haServices[0]}
	want = []MissedSettings{{Key: "spinnaker", Settings: []string{"kubernetes.imagePullSecrets"}, Services: missed}}
	if baseService(haServices[0]) == "clouddriver" {
		want = append(want, MissedSettings{Key: "clouddriver", Settings: []string{"kubernetes.imagePullSecrets"}, Services: missed})
	}
	if !reflect.DeepEqual(r.SettingsMissed, want) {
		t.Errorf("with the HA services' own pull secret (but %s's): SettingsMissed %+v, want %+v", haServices[0], r.SettingsMissed, want)
	}
	for what, z := range map[string]*Zone{
		"no HA":       {Name: "red", Namespace: "spinnaker-red", Tier: TierSandbox, ServiceSettings: settings},
		"no settings": {Name: "green", Namespace: "spinnaker-green", Tier: TierProduction, HA: ha},
	} {
		if r := mustRender(t, testInstallation(), z); r.SettingsMissed != nil {
			t.Errorf("%s: SettingsMissed %+v, want none", what, r.SettingsMissed)
		}
	}
}

// TestRender_servicePorts: a service's own port in service-settings (or the
// global one, for the operator's BOM services) is the port of its Service:
// what readiness and verification use, and where the zone's Ingress and
// TargetGroupBindings send Deck's and Gate's traffic. A port that is not
// a whole number in 1-65535 is refused.
func TestRender_servicePorts(t *testing.T) {
	settings := map[string]string{"gate": "port: 8085\n", "deck": "port: 9001\n"}
	ingress := mustRender(t, testInstallation(), &Zone{Name: "red", Namespace: "spinnaker-red", Tier: TierSandbox, ServiceSettings: settings,
		Expose: &Expose{Type: ExposeIngress, DeckHost: "deck.example", GateHost: "gate.example"}})
	ports := map[string]int{}
	for _, s := range ingress.Services {
		ports[s.Name] = s.Port
	}
	if ports["gate"] != 8085 || ports["deck"] != 9001 || ports["orca"] != 8083 {
		t.Errorf("service ports %v", ports)
	}
	rules, _ := nestedValue(ingress.Ingress.Object, "spec", "rules").([]any)
	var backends []string
	for _, r := range rules {
		paths, _ := nestedValue(r.(map[string]any), "http", "paths").([]any)
		svc, _ := nestedValue(paths[0].(map[string]any), "backend", "service").(map[string]any)
		backends = append(backends, fmt.Sprintf("%v:%v", svc["name"], nestedValue(svc, "port", "number")))
	}
	if want := []string{"spin-deck:9001", "spin-gate:8085"}; !slices.Equal(backends, want) {
		t.Errorf("Ingress backends %v, want %v", backends, want)
	}
	tgs := mustRender(t, testInstallation(), &Zone{Name: "red", Namespace: "spinnaker-red", Tier: TierSandbox, ServiceSettings: settings,
		Expose: &Expose{Type: ExposeAWSTargetGroups, TargetGroups: &TargetGroups{
			Deck: deckTG, Gate: gateTG}}})
	var refs []string
	for _, b := range tgs.TargetGroupBindings {
		ref, _ := nestedValue(b.Object, "spec", "serviceRef").(map[string]any)
		refs = append(refs, fmt.Sprintf("%v:%v", ref["name"], ref["port"]))
	}
	if want := []string{"spin-deck:9001", "spin-gate:8085"}; !slices.Equal(refs, want) {
		t.Errorf("TargetGroupBindings %v, want %v", refs, want)
	}
	// The global port reaches the BOM's services, not Deck.
	global := mustRender(t, testInstallation(), &Zone{Name: "red", Namespace: "spinnaker-red", Tier: TierSandbox, ServiceSettings: map[string]string{"spinnaker": "port: 7000\n"}})
	for _, s := range global.Services {
		if want := map[bool]int{true: PortOf("deck"), false: 7000}[s.Name == "deck"]; s.Port != want {
			t.Errorf("%s on %d with a global port 7000, want %d", s.Name, s.Port, want)
		}
	}
	for _, bad := range []string{"port: 0", "port: 70000", "port: eighty", "port: 80.5"} {
		_, err := Render(testInstallation(), &Zone{Name: "red", Namespace: "spinnaker-red", Tier: TierSandbox, ServiceSettings: map[string]string{"gate": bad}}, testCredentials)
		if err == nil || !strings.Contains(err.Error(), "service_settings for gate: port must be a whole number from 1 to 65535") {
			t.Errorf("%s: err = %v", bad, err)
		}
	}
}

// TestServicePortsOf: the ports of spin-deck's and spin-gate's Services for
// a SpinnakerService's spec: Halyard's (the settings' port, else the
// default) without expose of type service; with it, the operator's
// GetDesiredExposePort: the overrideBaseUrl's port (80 for http, 443 for
// https, else 80), then the service's override's publicPort when it has an
// override, else expose's publicPort.
func TestServicePortsOf(t *testing.T) {
	obj := func(spec string) *unstructured.Unstructured {
		m, err := parseYAMLObject(spec)
		if err != nil {
			t.Fatal(err)
		}
		return &unstructured.Unstructured{Object: map[string]any{"spec": m}}
	}
	for what, c := range map[string]struct {
		spec       string
		deck, gate int64
	}{
		"defaults":        {"spinnakerConfig: {config: {}}", 9000, 8084},
		"settings' ports": {"spinnakerConfig: {service-settings: {gate: {port: 8085}, deck: {port: 9001}}}", 9001, 8085},
		"the global port": {"spinnakerConfig: {service-settings: {spinnaker: {port: 7000}}}", 9000, 7000},
		"spinops' expose": {"expose: {type: service, service: {publicPort: 80, overrides: {gate: {publicPort: 8084}}}}", 80, 8084},
		"expose with TLS": {"expose: {type: service, service: {publicPort: 443, overrides: {gate: {publicPort: 443}}}}", 443, 443},
		"an ingress":      {"expose: {type: ingress}\nspinnakerConfig: {service-settings: {gate: {port: 8085}}}", 9000, 8085},
		"no public ports": {"expose: {type: service, service: {}}", 80, 80},
		"base URLs": {"expose: {type: service, service: {}}\nspinnakerConfig: {config: {security: {uiSecurity: {overrideBaseUrl: 'https://deck.example'}, " +
			"apiSecurity: {overrideBaseUrl: 'http://gate.example:8090'}}}}", 443, 8090},
		"an override without a port": {"expose: {type: service, service: {publicPort: 8443, overrides: {gate: {type: LoadBalancer}}}}", 8443, 80},
	} {
		got := ServicePortsOf(obj(c.spec))
		if got["deck"] != c.deck || got["gate"] != c.gate || len(got) != 2 {
			t.Errorf("%s: %v, want deck %d, gate %d", what, got, c.deck, c.gate)
		}
	}
}

// TestRender_serverPortRefused: a profile's server.port that is not the
// service's port is refused (the Service would send traffic where nothing
// listens), naming the service-settings port to set instead; the same port,
// and Gate exposed as a Service (whose targetPort the operator moves), pass.
func TestRender_serverPortRefused(t *testing.T) {
	render := func(profiles, settings map[string]string, e *Expose) error {
		_, err := Render(testInstallation(), &Zone{Name: "red", Namespace: "spinnaker-red", Tier: TierSandbox, Profiles: profiles, ServiceSettings: settings, Expose: e}, testCredentials)
		return err
	}
	gate := map[string]string{"gate": "server:\n  port: 8085\n"}
	if err := render(gate, nil, nil); err == nil || !strings.Contains(err.Error(), `profiles for gate set server.port 8085, but Halyard's spin-gate Service sends traffic to port 8084`) ||
		!strings.Contains(err.Error(), `(gate = "port: 8085")`) {
		t.Errorf("server.port alone: err = %v", err)
	}
	if err := render(map[string]string{"orca": "server:\n  port: '9999'\n"}, nil, nil); err == nil || !strings.Contains(err.Error(), "profiles for orca set server.port 9999") {
		t.Errorf("a string server.port: err = %v", err)
	}
	// The key spelled "server.port", which Spring and the operator
	// (inspect.GetObjectProp) read as the same property.
	if err := render(map[string]string{"gate": "server.port: 8085\n"}, nil, nil); err == nil ||
		!strings.Contains(err.Error(), `profiles for gate set server.port 8085, but Halyard's spin-gate Service sends traffic to port 8084`) {
		t.Errorf("a flat server.port: err = %v", err)
	}
	// Any server.port, even one let through above, where Halyard's
	// readiness probe is not an exec probe: the operator's server-port
	// transformer would dereference nil.
	for what, c := range map[string]struct {
		profiles, settings map[string]string
		e                  *Expose
		want               string
	}{
		"Gate exposed, a TCP probe": {gate, map[string]string{"gate": "kubernetes:\n  useTcpProbe: true\n"}, &Expose{Type: ExposeService},
			"profiles for gate set server.port 8085, and Halyard gives spin-gate a TCP readiness probe (kubernetes.useTcpProbe: true)"},
		"the default port, a global HTTP probe": {map[string]string{"orca": "server.port: 8083\n"}, map[string]string{"spinnaker": "kubernetes:\n  useExecHealthCheck: false\n"}, nil,
			"profiles for orca set server.port 8083, and Halyard gives spin-orca an HTTP readiness probe (kubernetes.useExecHealthCheck: false)"},
		"Deck's default TCP probe": {map[string]string{"deck": "server:\n  port: 9000\n"}, nil, nil,
			"Halyard gives spin-deck a TCP readiness probe (Deck has no healthEndpoint unless its service settings give one)"},
		"no health endpoint": {map[string]string{"front50": "server:\n  port: 8080\n"}, map[string]string{"front50": "healthEndpoint: ''\n"}, nil,
			"Halyard gives spin-front50 a TCP readiness probe (healthEndpoint is empty): the Spinnaker Operator's server-port transformer"},
	} {
		if err := render(c.profiles, c.settings, c.e); err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "would crash") {
			t.Errorf("%s: err = %v, want one containing %q", what, err, c.want)
		}
	}
	for what, err := range map[string]error{
		"with the settings' port":     render(gate, map[string]string{"gate": "port: 8085"}, nil),
		"the default port":            render(map[string]string{"orca": "server:\n  port: 8083\n"}, nil, nil),
		"Gate exposed as a Service":   render(gate, nil, &Expose{Type: ExposeService}),
		"another server setting only": render(map[string]string{"gate": "server:\n  tomcat:\n    protocolHeader: X-Forwarded-Proto\n"}, nil, nil),
		"a TCP probe without server.port": render(map[string]string{"gate": "server:\n  tomcat:\n    protocolHeader: X-Forwarded-Proto\n"},
			map[string]string{"spinnaker": "kubernetes:\n  useTcpProbe: true\n"}, nil),
		"Deck given a health endpoint": render(map[string]string{"deck": "server:\n  port: 9000\n"}, map[string]string{"deck": "healthEndpoint: /\n"}, nil),
		"the exec probe asked for":     render(map[string]string{"orca": "server.port: 8083\n"}, map[string]string{"orca": "kubernetes:\n  useExecHealthCheck: true\n"}, nil),
		"a global TCP probe the service overrides": render(map[string]string{"orca": "server.port: 8083\n"},
			map[string]string{"spinnaker": "kubernetes:\n  useTcpProbe: true\n", "orca": "kubernetes:\n  useTcpProbe: false\n"}, nil),
	} {
		if err != nil {
			t.Errorf("%s: %v", what, err)
		}
	}
}

// TestRender_podLabelsRefusedAtPlanTime: a podLabel app, cluster or
// app.kubernetes.io/name other than Halyard's own for a service it deploys
// is refused, the service's own or the global settings' (for the services
// the operator merges them under); Halyard's own values, other keys, and
// the global labels under a service that sets the key itself pass.
func TestRender_podLabelsRefusedAtPlanTime(t *testing.T) {
	ha := &HA{Enabled: true, ClouddriverSplit: true, Replicas: 2}
	for name, c := range map[string]struct {
		settings map[string]string
		ha       *HA
		want     string
	}{
		"a service's own app": {map[string]string{"gate": "kubernetes:\n  podLabels: {app: web, team: edge}\n"}, nil,
			"service_settings for gate: kubernetes.podLabels sets app: web, but Halyard labels spin-gate's pods app: spin itself"},
		"a global cluster": {map[string]string{"spinnaker": "kubernetes:\n  podLabels: {cluster: spinnaker}\n"}, nil,
			"service_settings for spinnaker (the global settings, merged under clouddriver's): kubernetes.podLabels sets cluster: spinnaker, " +
				"but Halyard labels spin-clouddriver's pods cluster: spin-clouddriver itself"},
		"an HA service given its base service's cluster": {map[string]string{"clouddriver-rw": "kubernetes:\n  podLabels: {cluster: spin-clouddriver}\n"}, ha,
			"service_settings for clouddriver-rw: kubernetes.podLabels sets cluster: spin-clouddriver, but Halyard labels spin-clouddriver-rw's pods cluster: spin-clouddriver-rw"},
		"a global app.kubernetes.io/name": {map[string]string{"spinnaker": "kubernetes:\n  podLabels: {app.kubernetes.io/name: spinnaker}\n"}, nil,
			"kubernetes.podLabels sets app.kubernetes.io/name: spinnaker, but Halyard labels spin-clouddriver's pods app.kubernetes.io/name: clouddriver itself " +
				"and the operator finds a service's pods by it"},
		"a number": {map[string]string{"deck": "kubernetes:\n  podLabels: {app: 7}\n"}, nil, "sets app: 7"},
		"not a mapping": {map[string]string{"orca": "kubernetes:\n  podLabels: [app]\n"}, nil,
			"service_settings for orca: kubernetes.podLabels must be a mapping of label names to values, not []interface {}"},
	} {
		_, err := Render(testInstallation(), &Zone{Name: "red", Namespace: "spinnaker-red", Tier: TierSandbox, HA: c.ha, ServiceSettings: c.settings}, testCredentials)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want one containing %q", name, err, c.want)
		}
	}
	for name, settings := range map[string]map[string]string{
		"Halyard's own values": {"orca": "kubernetes:\n  podLabels: {app: spin, cluster: spin-orca, app.kubernetes.io/name: orca, team: pipelines}\n"},
		"other keys":           {"spinnaker": "kubernetes:\n  podLabels: {team: spinnaker, app.kubernetes.io/instance: green}\n"},
		// Deck is not given the global settings, and every other service
		// sets cluster itself (inspect.Merge: its own key wins).
		"global labels each service overrides": {
			"spinnaker": "kubernetes:\n  podLabels: {cluster: shared}\n", "deck": "kubernetes:\n  podLabels: {team: ui}\n",
			"clouddriver": "kubernetes:\n  podLabels: {cluster: spin-clouddriver}\n", "echo": "kubernetes:\n  podLabels: {cluster: spin-echo}\n",
			"fiat": "enabled: false\n", "front50": "kubernetes:\n  podLabels: {cluster: spin-front50}\n", "gate": "kubernetes:\n  podLabels: {cluster: spin-gate}\n",
			"igor": "enabled: false\n", "kayenta": "enabled: false\n", "orca": "kubernetes:\n  podLabels: {cluster: spin-orca}\n",
			"rosco": "kubernetes:\n  podLabels: {cluster: spin-rosco}\n"},
	} {
		if _, err := Render(testInstallation(), &Zone{Name: "red", Namespace: "spinnaker-red", Tier: TierSandbox, ServiceSettings: settings}, testCredentials); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestRender_deploymentStrategy: Halyard's own spelling of the strategy,
// strategySettings only with rollingUpdate and only the fields Kubernetes'
// rollingUpdate has, a global recreate merged with a service's own
// settings; and the HA services a recreate leaves without a pod at each
// rollout named for the plan's warning.
func TestRender_deploymentStrategy(t *testing.T) {
	ds := func(s string) string { return "kubernetes:\n  deploymentStrategy: " + s + "\n" }
	for name, c := range map[string]struct {
		settings map[string]string
		want     string
	}{
		"Kubernetes' spelling": {map[string]string{"orca": ds("{type: Recreate}")},
			"service_settings for orca: kubernetes.deploymentStrategy.type is Recreate, which Halyard does not know: it spells the strategies rollingUpdate and recreate"},
		"settings with recreate": {map[string]string{"gate": ds("{type: recreate, strategySettings: {maxSurge: 1}}")},
			"service_settings for gate: kubernetes.deploymentStrategy has strategySettings with type recreate"},
		"a field rollingUpdate lacks": {map[string]string{"spinnaker": ds("{strategySettings: {maxSurge: 1, minReadySeconds: 10}}")},
			`service_settings for spinnaker: kubernetes.deploymentStrategy.strategySettings has "minReadySeconds"`},
		"a global recreate, a service's settings": {map[string]string{"spinnaker": ds("{type: recreate}"), "front50": ds("{strategySettings: {maxUnavailable: 0}}")},
			`service_settings for front50 and the global "spinnaker" settings, merged under its own: kubernetes.deploymentStrategy has strategySettings with type recreate`},
		"not a mapping": {map[string]string{"echo": ds("recreate")}, "service_settings for echo: kubernetes.deploymentStrategy must be a mapping"},
	} {
		_, err := Render(testInstallation(), &Zone{Name: "red", Namespace: "spinnaker-red", Tier: TierSandbox, ServiceSettings: c.settings}, testCredentials)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want one containing %q", name, err, c.want)
		}
	}

	settings := map[string]string{
		"spinnaker":      ds("{type: recreate}"),
		"orca":           ds("{type: rollingUpdate, strategySettings: {maxSurge: '50%', maxUnavailable: 0}}"),
		"clouddriver-rw": ds("{type: recreate}"),
	}
	ha := &HA{Enabled: true, ClouddriverSplit: true, Replicas: 2}
	r := mustRender(t, testInstallation(), &Zone{Name: "green", Namespace: "spinnaker-green", Tier: TierProduction, HA: ha, ServiceSettings: settings})
	// The global recreate reaches the BOM's services with two replicas
	// (not Orca, which sets its own; not the HA split services, which
	// read their own settings only, of which clouddriver-rw sets it).
	var want []string
	for _, s := range HAServices(&Zone{HA: ha}, r.Services) {
		if slices.Contains(globalSettingsServices, s.Name) && s.Name != "orca" || s.Name == "clouddriver-rw" {
			want = append(want, s.Name)
		}
	}
	if !slices.Contains(want, "clouddriver-rw") || slices.Contains(want, "orca") || len(want) < 3 || !slices.Equal(r.Recreated, want) {
		t.Errorf("Recreated %v, want %v", r.Recreated, want)
	}
	if r := mustRender(t, testInstallation(), &Zone{Name: "red", Namespace: "spinnaker-red", Tier: TierSandbox, ServiceSettings: settings}); len(r.Recreated) > 0 {
		t.Errorf("without HA: Recreated %v, want none", r.Recreated)
	}
}
