// Package monitor is `spinops monitor`: synthetic checks of every zone's
// Gate and Deck, the availability SLI over rolling windows, the error budget,
// the SRE workbook's multi-window multi-burn-rate alerts sent to webhooks,
// and Prometheus figures.
//
// One check round of a zone is one SLI event: it is good when every check of
// the round passed. Rounds inside a maintenance window are counted apart
// (Excluded) and never enter good/all. Counts are kept in a ring of
// fixed-width time buckets (Ring), persisted after every round in a
// ConfigMap of the zone's namespace (ConfigMapStore), so a restart or a crash
// loses at most the round that was being checked when it happened.
//
// Time comes from an injected k8s.io/utils/clock.PassiveClock: windows,
// rules and timestamps are exact under a fake clock. Check latency is
// measured with the process's monotonic clock.
package monitor
