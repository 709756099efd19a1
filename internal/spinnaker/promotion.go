package spinnaker

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// PromotionError is the promotion gate's refusal: it names the version,
// what each sandbox zone verified and when, and how long remains.
type PromotionError struct {
	Zone    string
	Version string
	Policy  Promotion
	// Evidence describes each sandbox zone, one line each.
	Evidence []string
	// Remaining is how long until the version has soaked; 0 when no sandbox
	// zone has the evidence at all.
	Remaining time.Duration
	// EligibleAt is when the version will have soaked (zero if never).
	EligibleAt time.Time
}

func (e *PromotionError) Error() string {
	var b strings.Builder
	what := "verified"
	if !e.Policy.RequireVerification {
		what = "applied"
	}
	fmt.Fprintf(&b, "Production zone %q may not take Spinnaker %s: the installation's promotion policy requires a sandbox zone to have %s it at least %s ago (soak).\n",
		e.Zone, e.Version, what, time.Duration(e.Policy.Soak))
	if e.Remaining > 0 {
		fmt.Fprintf(&b, "%s was %s in a sandbox zone but has not soaked yet: %s remaining (eligible at %s).\n",
			e.Version, what, e.Remaining.Round(time.Second), e.EligibleAt.UTC().Format(time.RFC3339))
	} else {
		fmt.Fprintf(&b, "No sandbox zone has %s %s: apply it to a sandbox (red) zone first.\n", what, e.Version)
	}
	if len(e.Evidence) == 0 {
		b.WriteString("The installation has no sandbox zone yet.\n")
	} else {
		b.WriteString("Sandbox zones:\n")
		for _, l := range e.Evidence {
			b.WriteString("  - " + l + "\n")
		}
	}
	b.WriteString("For an emergency, set promotion_override { reason = \"...\" } on the zone; the override is recorded in the promotion ledger.")
	return b.String()
}

// CheckPromotion is the promotion gate: nil when a sandbox zone of the
// ledger verified version (or applied it, when the policy does not require
// verification) at least policy.Soak before now.
func CheckPromotion(l *Ledger, zone, version string, policy Promotion, now time.Time) *PromotionError {
	soak := time.Duration(policy.Soak)
	var earliest time.Time
	var evidence []string
	for _, r := range l.sandboxes() {
		times := r.Verified
		if !policy.RequireVerification {
			times = r.Applied
		}
		if t, ok := times[version]; ok && (earliest.IsZero() || t.Before(earliest)) {
			earliest = t
		}
		evidence = append(evidence, describeSandbox(r))
	}
	if !earliest.IsZero() && !now.Before(earliest.Add(soak)) {
		return nil
	}
	e := &PromotionError{Zone: zone, Version: version, Policy: policy, Evidence: evidence}
	if !earliest.IsZero() {
		e.EligibleAt = earliest.Add(soak)
		e.Remaining = e.EligibleAt.Sub(now)
	}
	return e
}

func describeSandbox(r *ZoneRecord) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (namespace %s): ", r.Zone, r.Namespace)
	if len(r.Verified) == 0 {
		b.WriteString("verified nothing yet")
	} else {
		versions := make([]string, 0, len(r.Verified))
		for v := range r.Verified {
			versions = append(versions, v)
		}
		sort.Slice(versions, func(i, j int) bool { return r.Verified[versions[i]].Before(r.Verified[versions[j]]) })
		parts := make([]string, 0, len(versions))
		for _, v := range versions {
			parts = append(parts, fmt.Sprintf("%s at %s", v, r.Verified[v].UTC().Format(time.RFC3339)))
		}
		b.WriteString("verified " + strings.Join(parts, ", "))
	}
	fmt.Fprintf(&b, "; now runs %s", r.Version)
	if r.Result != "" {
		fmt.Fprintf(&b, " (last verification: %s)", r.Result)
	}
	if r.DeletedAt != nil {
		b.WriteString("; zone deleted")
	}
	return b.String()
}
