package spinnaker

import (
	"slices"
	"sort"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Service is one Spinnaker microservice as the operator deploys it: a
// Deployment and a Service named spin-<Name>.
type Service struct {
	Name string
	// Port is the port the service listens on (and its Service exposes).
	Port int
	// Replicas the zone asks for.
	Replicas int64
	// HealthPath is what verification requests: "/health", or "/" for Deck.
	HealthPath string
}

// ObjectName is the name of the service's Deployment and Service.
func (s Service) ObjectName() string { return "spin-" + s.Name }

// servicePorts are the ports Spinnaker's services listen on.
var servicePorts = map[string]int{
	"deck": 9000, "gate": 8084, "orca": 8083, "clouddriver": 7002, "front50": 8080,
	"rosco": 8087, "echo": 8089, "igor": 8088, "fiat": 7003, "kayenta": 8090,
}

// PortOf returns the port of a service, split ones (clouddriver-ro,
// echo-scheduler) included.
func PortOf(name string) int {
	if p, ok := servicePorts[name]; ok {
		return p
	}
	for base, p := range servicePorts {
		if len(name) > len(base) && name[:len(base)+1] == base+"-" {
			return p
		}
	}
	return 0
}

// singletons are the polling services that must run exactly one replica,
// or they would trigger pipelines and poll CI systems twice.
var singletons = map[string]bool{"echo-scheduler": true, "igor": true}

// IsSingleton reports whether a service must run exactly one replica.
func IsSingleton(name string) bool { return singletons[name] }

// Services lists the services spinops sizes for a zone, sorted by name:
// Clouddriver split into caching / rw / ro / ro-deck and Echo into
// scheduler / worker under HA, Fiat when authentication is configured,
// Kayenta when the canary feature is on, and Igor. Render narrows them to
// what Halyard deploys for the rendered config (halyardServices): Igor,
// for one, only with a CI system or a Docker registry.
func Services(inst *Installation, z *Zone) []Service {
	names := []string{"deck", "gate", "orca", "front50", "rosco", "igor"}
	ha := z.HA != nil && z.HA.Enabled
	if ha && z.HA.ClouddriverSplit {
		names = append(names, "clouddriver-caching", "clouddriver-rw", "clouddriver-ro", "clouddriver-ro-deck")
	} else {
		names = append(names, "clouddriver")
	}
	if ha {
		names = append(names, "echo-scheduler", "echo-worker")
	} else {
		names = append(names, "echo")
	}
	if inst.Auth != nil && (inst.Auth.OAuth2 != nil || inst.Auth.SAML != nil || inst.Auth.LDAP != nil) {
		names = append(names, "fiat")
	}
	if inst.Features["canary"] {
		names = append(names, "kayenta")
	}
	sort.Strings(names)

	out := make([]Service, 0, len(names))
	for _, n := range names {
		s := Service{Name: n, Port: PortOf(n), Replicas: 1, HealthPath: HealthPathOf(n)}
		if ha && !IsSingleton(n) && z.HA.Replicas > 0 {
			s.Replicas = z.HA.Replicas
		}
		out = append(out, s)
	}
	return out
}

// HealthPathOf is what verification requests of service name: Deck (a
// static site) serves "/", every other service Spring's "/health".
func HealthPathOf(name string) string {
	if name == "deck" {
		return "/"
	}
	return "/health"
}

// halyardEnabled reports whether Halyard deploys service name for a
// rendered spinnakerConfig (config and service-settings), as the Spinnaker
// Operator's Halyard decides it (spinnaker/halyard 23e66d69,
// halyard-deploy/.../kubernetes/v2/KubernetesV2*Service.java isEnabled;
// KubernetesV2Service.buildServiceSettings sets a service's `enabled` from
// it, and the service's own service-settings `enabled` overrides it, as
// Halyard's Jenkins guide has a user enable Igor in
// service-settings/igor.yml; settings are read as Halyard receives them,
// settingValue):
//
//   - clouddriver and echo run unless their haServices node is enabled;
//     clouddriver-caching/-rw/-ro and echo-scheduler/-worker only when it
//     is, clouddriver-ro-deck unless disableClouddriverRoDeck;
//   - fiat with security.authz.enabled, kayenta with canary.enabled;
//   - igor only with providers.dockerRegistry.enabled or a CI system
//     enabled (Cis.ciEnabled: any child of ci with enabled: true) —
//     without one Halyard deploys no Igor, and a wait for spin-igor would
//     never end;
//   - every other service always;
//
// and none whose service-settings set skipLifeCycleManagement, which
// Halyard leaves to the user (KubectlDeployer.deploy skips it; spinops
// relies on that to keep Halyard's Redis out when an endpoint is given).
func halyardEnabled(name string, config, settings map[string]any) bool {
	if skipLifeCycle(settings, name) {
		return false
	}
	if on, ok := settingValue(settings, name, "enabled").(bool); ok {
		return on
	}
	return halyardEnabledByConfig(name, config)
}

// halyardEnabledByConfig is a service's isEnabled: what Halyard decides
// from the config alone, before service-settings have their say.
func halyardEnabledByConfig(name string, config map[string]any) bool {
	on := func(path ...string) bool { b, _ := nestedValue(config, path...).(bool); return b }
	cdHA := on("deploymentEnvironment", "haServices", "clouddriver", "enabled")
	echoHA := on("deploymentEnvironment", "haServices", "echo", "enabled")
	switch name {
	case "clouddriver":
		return !cdHA
	case "clouddriver-caching", "clouddriver-rw", "clouddriver-ro":
		return cdHA
	case "clouddriver-ro-deck":
		return cdHA && !on("deploymentEnvironment", "haServices", "clouddriver", "disableClouddriverRoDeck")
	case "echo":
		return !echoHA
	case "echo-scheduler", "echo-worker":
		return echoHA
	case "fiat":
		return on("security", "authz", "enabled")
	case "kayenta":
		return on("canary", "enabled")
	case "igor":
		if on("providers", "dockerRegistry", "enabled") {
			return true
		}
		ci, _ := config["ci"].(map[string]any)
		for _, c := range ci {
			if m, ok := c.(map[string]any); ok && m["enabled"] == true {
				return true
			}
		}
		return false
	}
	return true
}

// specPart is part ("config", "service-settings", ...) of obj's
// spec.spinnakerConfig, not copied: callers only read it.
func specPart(obj *unstructured.Unstructured, part string) map[string]any {
	m, _ := nestedValue(obj.Object, "spec", "spinnakerConfig", part).(map[string]any)
	return m
}

// nestedValue is the value at path in m (nil when there is none).
func nestedValue(m map[string]any, path ...string) any {
	v, _, _ := unstructured.NestedFieldNoCopy(m, path...)
	return v
}

// zoneServiceNames are the services a zone can run (what Services chooses
// under any settings, TestOrphanCandidates_everyServiceAZoneCanRun), sorted
// by name; halyardServices keeps those Halyard deploys.
var zoneServiceNames = []string{"clouddriver", "clouddriver-caching", "clouddriver-ro", "clouddriver-ro-deck", "clouddriver-rw",
	"deck", "echo", "echo-scheduler", "echo-worker", "fiat", "front50", "gate", "igor", "kayenta", "orca", "rosco"}

// halyardServices are the services Halyard deploys for the rendered config
// and service-settings (halyardEnabled), sorted by name, each at the
// replicas Halyard gives it (KubernetesV2Service.getResourceYaml):
// deploymentEnvironment.customSizing["spin-<name>"].replicas, else the
// service-settings' targetSize, else 1. Readiness and verification wait
// for these, not for what spinops meant to run: config_overrides and
// service_settings have their say.
func halyardServices(config, settings map[string]any) []Service {
	var out []Service
	for _, n := range zoneServiceNames {
		if !halyardEnabled(n, config, settings) {
			continue
		}
		s := Service{Name: n, Port: settingsPort(settings, n), Replicas: 1, HealthPath: HealthPathOf(n)}
		if r := nestedValue(config, "deploymentEnvironment", "customSizing", s.ObjectName(), "replicas"); r != nil {
			s.Replicas = toInt(r)
		} else if r := settingValue(settings, n, "targetSize"); r != nil {
			s.Replicas = toInt(r)
		}
		out = append(out, s)
	}
	return out
}

// settingsPort is the port of service name's Kubernetes Service and
// container: its service-settings' port as Halyard receives them
// (settingValue; ServiceSettings.port, bound to the Service's port and
// targetPort in KubernetesV2Service.getServiceYaml, resources/kubernetes/
// manifests/service.yml), else Spinnaker's default (PortOf). checkPorts
// refuses a port that is not a whole number in 1-65535.
func settingsPort(settings map[string]any, name string) int {
	if p := toInt(settingValue(settings, name, "port")); p > 0 {
		return int(p)
	}
	return PortOf(name)
}

// optionalServices are the services Spinnaker works without (no
// authorization, canary analysis, CI triggers or baking); every other
// service a zone can run is needed for it to work at all.
var optionalServices = []string{"fiat", "igor", "kayenta", "rosco"}

// turnedOff are the services Spinnaker needs that Halyard would deploy for
// config but service-settings turn off (`enabled: false`, the service's own
// or the global one) without leaving them to the user
// (skipLifeCycleManagement), sorted by name: with them the zone becomes
// ready and passes verification, since both follow what Halyard deploys,
// but Spinnaker does not work.
func turnedOff(config, settings map[string]any) []string {
	var out []string
	for _, n := range zoneServiceNames {
		on, set := settingValue(settings, n, "enabled").(bool)
		if set && !on && halyardEnabledByConfig(n, config) && !skipLifeCycle(settings, n) && !slices.Contains(optionalServices, n) {
			out = append(out, n)
		}
	}
	return out
}

// skipLifeCycle reports whether service-settings leave name's life cycle
// to the user (skipLifeCycleManagement): Halyard neither deploys nor
// deletes it.
func skipLifeCycle(settings map[string]any, name string) bool {
	b, _ := settingValue(settings, name, "skipLifeCycleManagement").(bool)
	return b
}

// globalSettingsServices are the services the operator gives the global
// "spinnaker" service-settings: its BOM's (armory/spinnaker-operator
// d92e6804, pkg/bom/services.go) but Deck, which
// pkg/deploy/spindeploy/transformer/spinsvcsettings.go skips. The HA
// services (clouddriver-caching, echo-worker, ...) are not in the BOM, and
// Halyard reads their settings from their own file only
// (SpinnakerService.getDefaultServiceSettings: <canonical name>.yml).
var globalSettingsServices = []string{"clouddriver", "echo", "fiat", "front50", "gate", "igor", "kayenta", "orca", "rosco"}

// settingValue is the value at path in service name's service-settings as
// Halyard receives them (nil when there is none): the service's own, else
// for globalSettingsServices the global "spinnaker" service-settings',
// which the operator's last config transformer merges under each of them
// before Halyard runs (inspect.Merge: the service's own values win, maps
// merge). So `spinnaker: {targetSize: 2}` sizes Gate but not Deck, and
// `spinnaker: {skipLifeCycleManagement: true}` leaves every service of the
// list to the user.
func settingValue(settings map[string]any, name string, path ...string) any {
	if v := nestedValue(settings, append([]string{name}, path...)...); v != nil {
		return v
	}
	if !slices.Contains(globalSettingsServices, name) {
		return nil
	}
	return nestedValue(settings, append([]string{"spinnaker"}, path...)...)
}
