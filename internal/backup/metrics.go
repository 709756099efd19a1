package backup

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the backup figures exported for Prometheus. The archiver
// Deployment serves them: it is the one long-running process of a policy.
type Metrics struct {
	lastSuccess, windowSeconds, windowLatest, windowGap prometheus.Gauge
	drillRecovery, drillLastSuccess, drillOK            prometheus.Gauge
	archivedUntil, behindBytes, heartbeat               prometheus.Gauge
}

// NewMetrics registers the backup metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	g := func(name, help string) prometheus.Gauge {
		x := prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help})
		reg.MustRegister(x)
		return x
	}
	return &Metrics{
		lastSuccess:      g("spinops_backup_last_success_timestamp", "Unix time the newest complete backup was completed."),
		windowSeconds:    g("spinops_backup_restore_window_seconds", "Length of the restore window: oldest snapshot to the newest time a restore can provably reach."),
		windowLatest:     g("spinops_backup_restore_window_latest_timestamp", "Unix time of the newest point a restore can provably reach (stops advancing when the binlog archive stalls or has a gap)."),
		windowGap:        g("spinops_backup_binlog_gap", "1 when the binlog archive after the newest backup has a gap (the window ends there)."),
		drillRecovery:    g("spinops_backup_drill_recovery_seconds", "Seconds the newest restore drill took from start to a verified restore."),
		drillLastSuccess: g("spinops_backup_drill_last_success_timestamp", "Unix time the newest successful restore drill started."),
		drillOK:          g("spinops_backup_drill_ok", "1 when the newest restore drill passed."),
		archivedUntil:    g("spinops_backup_binlog_archived_until_timestamp", "Unix time the archiver last proved the archive caught up with the server (or of the last archived event)."),
		behindBytes:      g("spinops_backup_binlog_behind_bytes", "Bytes of the server's binary log the archive lacked at the last flush."),
		heartbeat:        g("spinops_backup_binlog_heartbeat_timestamp", "Unix time of the archiver's last flush."),
	}
}

func unix(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return float64(t.UnixNano()) / 1e9
}

// ObserveListing sets the figures read from the destination.
func (m *Metrics) ObserveListing(l *Listing) {
	if m == nil {
		return
	}
	if latest := l.Latest(); latest != nil {
		m.lastSuccess.Set(unix(latest.CompletedAt))
	}
	if w, ok := l.RestoreWindow(); ok {
		m.windowSeconds.Set(w.Latest.Sub(w.Earliest).Seconds())
		m.windowLatest.Set(unix(w.Latest))
		if w.Gap != nil {
			m.windowGap.Set(1)
		} else {
			m.windowGap.Set(0)
		}
	}
	if d := l.LastDrill(); d != nil {
		m.drillRecovery.Set(d.RecoverySeconds)
		if d.OK {
			m.drillOK.Set(1)
		} else {
			m.drillOK.Set(0)
		}
	}
	for i := len(l.Drills) - 1; i >= 0; i-- {
		if l.Drills[i].OK {
			m.drillLastSuccess.Set(unix(l.Drills[i].StartedAt))
			break
		}
	}
}

func (m *Metrics) archiverFlushed(st ArchiveStatus, lastEvent time.Time) {
	until := st.CaughtUpAt
	if lastEvent.After(until) {
		until = lastEvent
	}
	m.archivedUntil.Set(unix(until))
	m.behindBytes.Set(float64(st.BehindBytes))
	m.heartbeat.Set(unix(st.HeartbeatAt))
}
