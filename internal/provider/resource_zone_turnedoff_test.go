package provider

import (
	"strings"
	"testing"

	"github.com/spinops/terraform-provider-spinops/internal/spinnaker"
)

// TestTurnedOffWarning: the plan's warning names the Deployments missing,
// the settings that turn them off, and both ways out.
func TestTurnedOffWarning(t *testing.T) {
	summary, detail := turnedOffWarning("green", []string{"gate", "orca"})
	if summary != "Zone green runs without spin-gate, spin-orca" {
		t.Errorf("summary %q", summary)
	}
	for _, want := range []string{"`enabled: false` for gate, orca", "global `spinnaker` key", "passes verification", "Remove the setting", "`skipLifeCycleManagement: true`"} {
		if !strings.Contains(detail, want) {
			t.Errorf("detail %q lacks %q", detail, want)
		}
	}
}

// TestLeftRunningWarning: an apply without waiting names the services the
// zone no longer runs that still run, why, and both ways out.
func TestLeftRunningWarning(t *testing.T) {
	summary, detail := leftRunningWarning("red", []string{"spin-echo-scheduler", "spin-echo-worker"})
	if summary != "Zone red still runs spin-echo-scheduler, spin-echo-worker" {
		t.Errorf("summary %q", summary)
	}
	for _, want := range []string{"never removes a service", "did not wait (wait = false)", "Apply with wait = true", "delete their Deployments"} {
		if !strings.Contains(detail, want) {
			t.Errorf("detail %q lacks %q", detail, want)
		}
	}
}

// TestSettingsMissedWarning: a plan names the HA services the global
// service-settings, or their base service's, do not reach, with the
// settings, and what to do.
func TestSettingsMissedWarning(t *testing.T) {
	summary, detail := settingsMissedWarning("green", spinnaker.MissedSettings{Key: "spinnaker",
		Services: []string{"clouddriver-rw", "echo-worker"}, Settings: []string{"kubernetes.imagePullSecrets", "targetSize"}})
	if summary != `Zone green: service_settings "spinnaker" do not reach clouddriver-rw, echo-worker` {
		t.Errorf("summary %q", summary)
	}
	for _, want := range []string{"its BOM", "not the HA services clouddriver-rw, echo-worker", "(kubernetes.imagePullSecrets, targetSize)", "under each of their names"} {
		if !strings.Contains(detail, want) {
			t.Errorf("detail %q lacks %q", detail, want)
		}
	}
	summary, detail = settingsMissedWarning("green", spinnaker.MissedSettings{Key: "clouddriver",
		Services: []string{"clouddriver-caching", "clouddriver-rw"}, Settings: []string{"kubernetes.volumes"}})
	if summary != `Zone green: service_settings "clouddriver" do not reach clouddriver-caching, clouddriver-rw` {
		t.Errorf("summary %q", summary)
	}
	for _, want := range []string{`under their own names only, not under "clouddriver" (kubernetes.volumes)`, "under each of their names"} {
		if !strings.Contains(detail, want) {
			t.Errorf("detail %q lacks %q", detail, want)
		}
	}
}

// TestRecreatedWarning names the HA services a recreate strategy takes
// down at each rollout, and why their disruption budgets do not help.
func TestRecreatedWarning(t *testing.T) {
	summary, detail := recreatedWarning("green", []string{"front50", "gate"})
	if summary != "Zone green stops spin-front50, spin-gate entirely at every rollout" {
		t.Errorf("summary %q", summary)
	}
	for _, want := range []string{"give front50, gate kubernetes.deploymentStrategy type recreate", "not a Deployment's own rollout", "Use rollingUpdate"} {
		if !strings.Contains(detail, want) {
			t.Errorf("detail %q lacks %q", detail, want)
		}
	}
}
