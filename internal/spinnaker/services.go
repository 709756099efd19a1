package spinnaker

import "sort"

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

// Services lists the services a zone runs, sorted by name: Clouddriver split
// into caching / rw / ro / ro-deck and Echo into scheduler / worker under HA,
// Fiat when authentication is configured, Kayenta when the canary feature is
// on.
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
