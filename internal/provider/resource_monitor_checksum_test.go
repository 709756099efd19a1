package provider

import (
	"testing"

	"github.com/spinops/terraform-provider-spinops/internal/monitor"
)

// TestMonitorChecksumIsTheConfiguration: the pod's checksum annotation
// depends on the configuration's content only. Two equal configurations
// whose nested blocks (a zone's gate_auth, the canary) are separate
// pointers have one checksum; on the earlier %+v hashing, which printed
// the pointers' addresses, they had two, so every apply rolled the pod and
// a refresh would see the Deployment drifted. A changed value or secrets
// version still changes it.
func TestMonitorChecksumIsTheConfiguration(t *testing.T) {
	spec := func(slo float64) monitor.InstallSpec {
		return monitor.InstallSpec{Name: "spinops-monitor", Namespace: "spinnaker", Config: monitor.Config{
			Installation: "x", SLO: slo,
			Zones: []monitor.ZoneConfig{{Name: "green", Namespace: "spinnaker", Tier: "production",
				GateAuth: &monitor.GateAuthConfig{UsernameFile: "/etc/spinops-monitor/zone-green-gate-username"}}},
			CanaryPipeline: &monitor.CanaryConfig{Application: "spinops-canary", Pipeline: "noop"},
		}}
	}
	sum := func(s monitor.InstallSpec, version int64) string {
		t.Helper()
		c, err := monitorChecksum(s, version)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	a, b := sum(spec(0.999), 1), sum(spec(0.999), 1)
	if a != b {
		t.Errorf("the same configuration has checksums %s and %s", a, b)
	}
	if c := sum(spec(0.99), 1); c == a {
		t.Errorf("another slo has the same checksum %s", c)
	}
	if c := sum(spec(0.999), 2); c == a {
		t.Errorf("another secrets version has the same checksum %s", c)
	}
}
