package spinnaker

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestCheckSandboxAvailability(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	verified := now.Add(-26 * time.Hour)
	ledger := func() *Ledger {
		return &Ledger{Zones: map[string]*ZoneRecord{
			"red":   {Zone: "red", Tier: TierSandbox, Namespace: "spin-red", Verified: map[string]time.Time{"1.36.0": verified}, Applied: map[string]time.Time{"1.36.0": verified}},
			"blue":  {Zone: "blue", Tier: TierSandbox, Namespace: "spin-blue", Verified: map[string]time.Time{"1.35.0": verified}},
			"green": {Zone: "green", Tier: TierProduction, Namespace: "spin-green"},
		}}
	}
	policy := Promotion{Soak: Duration(24 * time.Hour), RequireVerification: true, MinSandboxAvailability: 0.999}
	reader := func(m map[string]Measured) AvailabilityReader {
		return func(_ context.Context, zone, _ string, since, _ time.Time) (Measured, bool, error) {
			if !since.Equal(verified) {
				t.Errorf("%s read since %s, want since it verified the version (%s)", zone, since, verified)
			}
			v, ok := m[zone]
			return v, ok, nil
		}
	}
	for name, c := range map[string]struct {
		policy   Promotion
		measured map[string]Measured
		want     string
	}{
		"no minimum":          {policy: Promotion{Soak: policy.Soak, RequireVerification: true}, measured: nil},
		"clean":               {policy: policy, measured: map[string]Measured{"red": {Good: 2880}}},
		"exactly the minimum": {policy: policy, measured: map[string]Measured{"red": {Good: 999, Bad: 1}}},
		"burned":              {policy: policy, measured: map[string]Measured{"red": {Good: 2870, Bad: 10}}, want: "red (namespace spin-red): 99.653% since 2026-11-30T10:00:00Z (2870 of 2880 checks good), below the minimum"},
		"not measured":        {policy: policy, measured: map[string]Measured{}, want: "not measured since 2026-11-30T10:00:00Z (is a spinops_monitor checking it?)"},
		"no checks recorded":  {policy: policy, measured: map[string]Measured{"red": {}}, want: "not measured"},
	} {
		t.Run(name, func(t *testing.T) {
			err := CheckSandboxAvailability(context.Background(), ledger(), "green", "1.36.0", c.policy, now, reader(c.measured))
			if c.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var ae *AvailabilityError
			if !errors.As(err, &ae) || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "promotion_override") {
				t.Fatalf("got %v, want an AvailabilityError containing %q", err, c.want)
			}
		})
	}
	// The sandbox that never ran the version is not asked.
	err := CheckSandboxAvailability(context.Background(), ledger(), "green", "1.36.0", policy, now, func(_ context.Context, zone, _ string, _, _ time.Time) (Measured, bool, error) {
		if zone == "blue" {
			t.Errorf("blue never ran 1.36.0 but was read")
		}
		return Measured{Good: 10}, true, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// A reader error is an error, not a pass.
	if err := CheckSandboxAvailability(context.Background(), ledger(), "green", "1.36.0", policy, now, func(context.Context, string, string, time.Time, time.Time) (Measured, bool, error) {
		return Measured{}, false, errors.New("forbidden")
	}); err == nil || !strings.Contains(err.Error(), "forbidden") {
		t.Fatalf("got %v", err)
	}
}
