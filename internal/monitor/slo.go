package monitor

import (
	"fmt"
	"math"
	"time"
)

// Window is a rolling SLI window.
type Window struct {
	Name     string
	Duration time.Duration
}

// DefaultWindows are the SLI windows of the issue: 1 h, 6 h, 1 d and 30 d.
// The last one is the SLO window the error budget is computed over.
func DefaultWindows() []Window {
	return []Window{
		{Name: "1h", Duration: time.Hour},
		{Name: "6h", Duration: 6 * time.Hour},
		{Name: "1d", Duration: 24 * time.Hour},
		{Name: "30d", Duration: 30 * 24 * time.Hour},
	}
}

// Availability is good/all rounds; ok is false when the window holds no
// counted round (then availability is reported as 1: nothing failed).
func Availability(c Counts) (ratio float64, ok bool) {
	if c.Total() == 0 {
		return 1, false
	}
	return float64(c.Good) / float64(c.Total()), true
}

// BurnRate is how fast the window's failures consume the error budget of
// an SLO (0.999 for 99.9%): the failed fraction divided by 1-slo. A burn
// rate of 1 spends exactly the budget over the SLO window.
func BurnRate(c Counts, slo float64) float64 {
	if c.Total() == 0 {
		return 0
	}
	return (float64(c.Bad) / float64(c.Total())) / errorBudget(slo)
}

// errorBudget is 1-slo without the float64 subtraction's residue
// (1-0.999 is 0.0010000000000000009, which made a wholly failed window's
// budget -998.9999999999991 instead of -999 in zone_slo and /metrics; the
// PrometheusRule's expressions use it too): rounded to 12 decimals, beyond
// any SLO anyone writes.
func errorBudget(slo float64) float64 {
	return math.Round((1-slo)*1e12) / 1e12
}

// ErrorBudgetRemaining is the fraction of the SLO window's error budget not
// yet spent: 1 - BurnRate over that window. It goes below 0 when the budget is
// overspent (reported as is, as the SRE workbook's budget reports do).
func ErrorBudgetRemaining(c Counts, slo float64) float64 {
	return 1 - BurnRate(c, slo)
}

// Severity is what an alert asks of people.
type Severity string

const (
	// SeverityPage wakes someone up.
	SeverityPage Severity = "page"
	// SeverityTicket is looked at in working hours.
	SeverityTicket Severity = "ticket"
)

// Rule is one multi-window burn-rate alert: it fires while the burn rate
// over Long AND over Short both exceed BurnRate (the long window proves the
// budget is really spent, the short one that it is still being spent, so the
// alert resets soon after recovery).
type Rule struct {
	Name     string
	Severity Severity
	BurnRate float64
	Long     time.Duration
	Short    time.Duration
}

// WorkbookRules are the SRE workbook's recommended multiwindow,
// multi-burn-rate alerts (The Site Reliability Workbook, chapter 5
// "Alerting on SLOs", table 5-8): 2% of a 30-day budget in 1 h (14.4×, short
// window 5 m) and 5% in 6 h (6×, 30 m) page; 10% in 3 days (1×, short window
// 6 h) opens a ticket.
func WorkbookRules() []Rule {
	return []Rule{
		{Name: "burn-rate-1h", Severity: SeverityPage, BurnRate: 14.4, Long: time.Hour, Short: 5 * time.Minute},
		{Name: "burn-rate-6h", Severity: SeverityPage, BurnRate: 6, Long: 6 * time.Hour, Short: 30 * time.Minute},
		{Name: "burn-rate-3d", Severity: SeverityTicket, BurnRate: 1, Long: 3 * 24 * time.Hour, Short: 6 * time.Hour},
	}
}

// Validate says what is wrong with a rule.
func (r Rule) Validate() error {
	switch {
	case r.Name == "":
		return fmt.Errorf("a rule needs a name")
	case r.Severity != SeverityPage && r.Severity != SeverityTicket:
		return fmt.Errorf("rule %s: severity %q is neither %q nor %q", r.Name, r.Severity, SeverityPage, SeverityTicket)
	case r.BurnRate <= 0:
		return fmt.Errorf("rule %s: burn rate must be positive, got %v", r.Name, r.BurnRate)
	case r.Short <= 0 || r.Long <= r.Short:
		return fmt.Errorf("rule %s: the short window (%s) must be positive and shorter than the long window (%s)", r.Name, r.Short, r.Long)
	}
	return nil
}

// RuleResult is a rule evaluated at one instant.
type RuleResult struct {
	Rule      Rule
	Firing    bool
	LongBurn  float64
	ShortBurn float64
}

// Evaluate evaluates the rule over the ring at now for an SLO.
func (r Rule) Evaluate(ring *Ring, now time.Time, slo float64) RuleResult {
	long := BurnRate(ring.Sum(now, r.Long), slo)
	short := BurnRate(ring.Sum(now, r.Short), slo)
	return RuleResult{Rule: r, Firing: long > r.BurnRate && short > r.BurnRate, LongBurn: long, ShortBurn: short}
}

// Tier is a zone's tier: production (green) zones page, sandbox (red) zones
// only open tickets, as the managed service watched only production 24x7.
type Tier string

const (
	TierProduction Tier = "production"
	TierSandbox    Tier = "sandbox"
)

// SeverityFor is the severity a rule's alert has in a zone of tier t.
func SeverityFor(r Rule, t Tier) Severity {
	if t != TierProduction {
		return SeverityTicket
	}
	return r.Severity
}
