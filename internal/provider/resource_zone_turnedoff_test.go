package provider

import (
	"strings"
	"testing"
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

// TestGlobalSettingsMissedWarning: a plan names the HA services the global
// service-settings do not reach, with the settings, and what to do.
func TestGlobalSettingsMissedWarning(t *testing.T) {
	summary, detail := globalSettingsMissedWarning("green", []string{"clouddriver-rw", "echo-worker"}, []string{"kubernetes.imagePullSecrets", "targetSize"})
	if summary != "Zone green: the global service-settings do not reach clouddriver-rw, echo-worker" {
		t.Errorf("summary %q", summary)
	}
	for _, want := range []string{"(kubernetes.imagePullSecrets, targetSize)", "not the HA services clouddriver-rw, echo-worker", "under each of their names"} {
		if !strings.Contains(detail, want) {
			t.Errorf("detail %q lacks %q", detail, want)
		}
	}
}
