package provider

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types"
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

// TestMonitorSettingsRoundTrip: what an apply renders (the configuration
// and the Secret's data) reads back, on import, as the arguments it was
// rendered from, every write-only value null: each kind of block (a zone
// through the service proxy, a zone with its own token, top-level Gate
// credentials, maintenance windows, notifiers, the canary pipeline) and the
// spellings Terraform compares (durations without zero units, the canary's
// create left null for its default).
func TestMonitorSettingsRoundTrip(t *testing.T) {
	s := types.StringValue
	null := types.StringNull()
	model := func(wo func(string) types.String) *monitorModel {
		return &monitorModel{
			Name: s("spinops-monitor"), Namespace: s("spinnaker"), Image: s("ghcr.io/spinops/spinops:test"),
			Installation: s("prod"), SLO: types.Float64Value(0.995), Interval: s("1m30s"), CheckTimeout: s("10s"),
			PrometheusRule: types.BoolValue(true),
			Zones: []monitorZoneModel{
				{Name: s("green"), Namespace: s("spin-green"), Tier: s("production"), GateURL: s("https://api.example.com"), DeckURL: s("https://spinnaker.example.com"),
					GateAuth: &monitorGateAuth{Username: null, PasswordWO: null, TokenWO: wo("green-token")}},
				{Name: s("red"), Namespace: s("spin-red"), Tier: s("sandbox"), GateURL: null, DeckURL: null, GatePort: types.Int64Value(8085), DeckPort: types.Int64Value(80)},
			},
			Maintenance:    []monitorMaintenance{{Zone: s("green"), Start: s("2026-12-24T20:00:00Z"), End: s("2026-12-24T22:00:00Z")}, {Zone: null, Start: s("2027-01-01T00:00:00Z"), End: s("2027-01-01T01:00:00Z")}},
			GateAuth:       &monitorGateAuth{Username: s("monitor"), PasswordWO: wo("pw"), TokenWO: null},
			Notify:         &monitorNotify{WebhookURLWO: null, SlackURLWO: wo("https://hooks.slack.com/services/T/B/x"), PagerDutyRoutingKeyWO: wo("R0UTING")},
			CanaryPipeline: &monitorCanary{Application: s("spinops-canary"), Pipeline: s("noop"), Timeout: s("45s"), Create: types.BoolNull()},
		}
	}
	given := model(func(v string) types.String { return types.StringValue(v) })
	var diags diag.Diagnostics
	spec := given.spec(t.Context(), given, &diags)
	if diags.HasError() {
		t.Fatal(diags)
	}
	b, err := json.Marshal(spec.Config)
	if err != nil {
		t.Fatal(err)
	}
	var stored monitor.Config // as the ConfigMap holds it
	if err := json.Unmarshal(b, &stored); err != nil {
		t.Fatal(err)
	}
	data := map[string][]byte{}
	for k, v := range spec.Secrets {
		data[k] = []byte(v)
	}
	got := &monitorModel{Name: given.Name, Namespace: given.Namespace, Image: given.Image}
	got.settingsFrom(stored, data)
	want := model(func(string) types.String { return types.StringNull() })
	if !reflect.DeepEqual(got, want) {
		t.Errorf("read back\n %+v\nwant\n %+v", got, want)
	}
	for _, v := range spec.Secrets {
		if strings.Contains(fmt.Sprintf("%+v %+v %+v", got, *got.GateAuth, *got.Notify), v) && v != "monitor" {
			t.Errorf("a write-only value (%q) was read back", v)
		}
	}
}
