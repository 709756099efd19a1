package spinnaker

import (
	"strings"
	"testing"
	"time"
)

func TestCheckPromotion(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	l := &Ledger{Zones: map[string]*ZoneRecord{
		"red": {Zone: "red", Tier: TierSandbox, Namespace: "spin-red", Version: "1.35.3", Result: ResultPassed,
			Verified: map[string]time.Time{"1.35.3": t0}, Applied: map[string]time.Time{"1.35.3": t0, "1.36.0": t0}},
		"green": {Zone: "green", Tier: TierProduction, Version: "1.35.2",
			Verified: map[string]time.Time{"1.36.0": t0.Add(-100 * time.Hour)}},
	}}
	policy := Promotion{Soak: Duration(24 * time.Hour), RequireVerification: true}

	if e := CheckPromotion(l, "green", "1.35.3", policy, t0.Add(25*time.Hour)); e != nil {
		t.Errorf("soaked version refused: %v", e)
	}
	e := CheckPromotion(l, "green", "1.35.3", policy, t0.Add(20*time.Hour))
	if e == nil || e.Remaining != 4*time.Hour {
		t.Fatalf("unsoaked version: %+v, want 4h remaining", e)
	}
	if msg := e.Error(); !strings.Contains(msg, "4h0m0s remaining") || !strings.Contains(msg, "red (namespace spin-red): verified 1.35.3 at 2026-03-01T12:00:00Z") {
		t.Errorf("message lacks remaining time or evidence:\n%s", msg)
	}
	// A production zone's verification is no evidence.
	e = CheckPromotion(l, "green", "1.36.0", policy, t0.Add(100*time.Hour))
	if e == nil || !strings.Contains(e.Error(), "No sandbox zone has verified 1.36.0") {
		t.Fatalf("unverified version: %v", e)
	}
	// Without required verification, having been applied is enough.
	if e := CheckPromotion(l, "green", "1.36.0", Promotion{Soak: Duration(time.Hour)}, t0.Add(2*time.Hour)); e != nil {
		t.Errorf("applied version refused without require_verification: %v", e)
	}
	if got := l.VerifiedVersions(); len(got) != 1 || !got["1.35.3"].Equal(t0) {
		t.Errorf("VerifiedVersions = %v", got)
	}
}

// TestReady_realStatusNames is issue 12 point 2: the real operator reports
// status.services[].name as the Deployment's name (spin-gate), never the
// bare service name (OPERATOR-CONTRACT.md, "Status the operator writes").
func TestReady_realStatusNames(t *testing.T) {
	want := []Service{{Name: "gate", Replicas: 2}, {Name: "deck", Replicas: 1}}
	st := Status{Status: StatusOK, Version: "1.35.3", Services: []ServiceStatus{{Name: "spin-gate", Replicas: 2, ReadyReplicas: 1}, {Name: "spin-deck", Replicas: 1, ReadyReplicas: 1}}}
	if done, progress := Ready(st, "1.35.3", want); done || !strings.Contains(progress, "spin-gate (1/2 ready)") {
		t.Errorf("done=%v progress=%q", done, progress)
	}
	st.Services[0].ReadyReplicas = 2
	if done, _ := Ready(st, "1.35.4", want); done {
		t.Error("ready although the status reports another version")
	}
	if done, progress := Ready(st, "1.35.3", want); !done {
		t.Errorf("the operator's own status shape is never ready: %s", progress)
	}
	// The bare names an operator never reports are not accepted either.
	bare := Status{Status: StatusOK, Version: "1.35.3", Services: []ServiceStatus{{Name: "gate", Replicas: 2, ReadyReplicas: 2}, {Name: "deck", Replicas: 1, ReadyReplicas: 1}}}
	if done, _ := Ready(bare, "1.35.3", want); done {
		t.Error("ready on service names the operator does not report")
	}
	// Failure is waited through, not final (a pod Pending in image pull).
	st.Status = StatusFailure
	if done, progress := Ready(st, "1.35.3", want); done || !strings.Contains(progress, "Failure") {
		t.Errorf("Failure: done=%v progress=%q", done, progress)
	}
}
