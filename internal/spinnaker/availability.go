package spinnaker

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Measured is a sandbox zone's synthetic checks over a period, as the
// spinops monitor recorded them.
type Measured struct {
	Good, Bad int64
}

// AvailabilityReader reads what the monitor measured of a zone (name,
// namespace) between since and now; ok is false when it recorded nothing
// (no monitor checks the zone).
type AvailabilityReader func(ctx context.Context, zone, namespace string, since, now time.Time) (m Measured, ok bool, err error)

// AvailabilityError is the promotion gate refusing a version because a
// sandbox zone ran it with less availability than the policy demands.
type AvailabilityError struct {
	Zone, Version string
	Min           float64
	// Lines describe each sandbox zone that ran the version.
	Lines []string
}

func (e *AvailabilityError) Error() string {
	return fmt.Sprintf("Production zone %q may not take Spinnaker %s: the installation's promotion policy requires every sandbox zone that ran it to have "+
		"kept at least %s availability since (min_sandbox_availability), as the spinops monitor measured it:\n  - %s\n"+
		"Fix what failed in the sandbox and let it run clean, or, in an emergency, let it through with promotion_override (recorded in the ledger).",
		e.Zone, e.Version, percent(e.Min), strings.Join(e.Lines, "\n  - "))
}

func percent(r float64) string { return fmt.Sprintf("%.3f%%", r*100) }

// CheckSandboxAvailability is the promotion gate's health requirement:
// with policy.MinSandboxAvailability set, every sandbox zone that verified
// (or, without RequireVerification, applied) version must have kept that
// availability from then until now, and at least one of them must have
// been measured at all. It returns nil when the policy sets no minimum.
func CheckSandboxAvailability(ctx context.Context, l *Ledger, zone, version string, policy Promotion, now time.Time, read AvailabilityReader) error {
	if policy.MinSandboxAvailability <= 0 {
		return nil
	}
	e := &AvailabilityError{Zone: zone, Version: version, Min: policy.MinSandboxAvailability}
	failed, measured := false, 0
	for _, r := range l.sandboxes() {
		times := r.Verified
		if !policy.RequireVerification {
			times = r.Applied
		}
		since, ran := times[version]
		if !ran || r.DeletedAt != nil {
			continue
		}
		m, ok, err := read(ctx, r.Zone, r.Namespace, since, now)
		if err != nil {
			return fmt.Errorf("reading the measured availability of sandbox zone %s: %w", r.Zone, err)
		}
		if !ok || m.Good+m.Bad == 0 {
			e.Lines = append(e.Lines, fmt.Sprintf("%s (namespace %s): not measured since %s (is a spinops_monitor checking it?)", r.Zone, r.Namespace, since.UTC().Format(time.RFC3339)))
			continue
		}
		measured++
		ratio := float64(m.Good) / float64(m.Good+m.Bad)
		line := fmt.Sprintf("%s (namespace %s): %s since %s (%d of %d checks good)", r.Zone, r.Namespace, percent(ratio), since.UTC().Format(time.RFC3339), m.Good, m.Good+m.Bad)
		if ratio < policy.MinSandboxAvailability {
			failed = true
			line += ", below the minimum"
		}
		e.Lines = append(e.Lines, line)
	}
	if failed || measured == 0 {
		if len(e.Lines) == 0 {
			e.Lines = append(e.Lines, "no sandbox zone ran "+version)
		}
		return e
	}
	return nil
}
