package bridge

import (
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are the bridge's Prometheus figures, on their own registry so
// several bridges can run in one process (tests).
type metrics struct {
	registry           *prometheus.Registry
	connectedAgents    prometheus.Gauge
	events             *prometheus.CounterVec
	propagationLatency prometheus.Histogram
	operationLatency   *prometheus.HistogramVec
	refusals           *prometheus.CounterVec
	upserts, deletes   prometheus.Counter
	forwarded          prometheus.Counter
	slowReaders        prometheus.Counter
	limitRefusals      *prometheus.CounterVec
	revocations        *prometheus.CounterVec
	fenced             prometheus.Counter
	historyEvicted     prometheus.Counter

	// SpinnakerAccounts switched on and off (withdraw.go).
	spinnakerAccountSwitches *prometheus.CounterVec
	spinnakerAccountErrors   *prometheus.CounterVec
	spinnakerAccountSkipped  *prometheus.CounterVec

	// Pushes to Clouddriver (refresh.go).
	refreshRequests  *prometheus.CounterVec
	refreshCoalesced prometheus.Counter
	refreshDropped   *prometheus.CounterVec
	refreshFailures  prometheus.Counter
	refreshUnhandled prometheus.Counter
	refreshLag       prometheus.Histogram
}

func newMetrics(s *Server) *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		connectedAgents: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "spinops_bridge_connected_agents",
			Help: "Agent streams currently connected.",
		}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "spinops_bridge_events_total",
			Help: "Watch events applied to the cache (rate() gives events/s).",
		}, []string{"type"}),
		propagationLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "spinops_bridge_propagation_latency_seconds",
			Help:    "From the agent's informer seeing a change to the change being in the bridge cache.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}),
		operationLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "spinops_bridge_operation_latency_seconds",
			Help:    "Requests of the per-account Kubernetes endpoint, by how they were answered (cache or agent).",
			Buckets: prometheus.DefBuckets,
		}, []string{"source", "verb"}),
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "spinops_bridge_agent_refusals_total",
			Help: "Accounts an agent offered that the bridge refused, by gRPC code.",
		}, []string{"code"}),
		forwarded: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "spinops_bridge_forwarded_requests_total",
			Help: "Endpoint requests forwarded to the bridge replica whose agent serves the account.",
		}),
		slowReaders: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "spinops_bridge_slow_reader_operations_total",
			Help: "Forwarded operations ended because their HTTP caller stopped reading (the agent's other requests never wait for one).",
		}),
		limitRefusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "spinops_bridge_limit_refusals_total",
			Help: "Refusals because an account reached a per-account limit, by limit (objects, kinds, watches).",
		}, []string{"limit"}),
		revocations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "spinops_bridge_revocations_total",
			Help: "Accounts cut from their agent stream, by reason (rotated, deregistered, lease, objects).",
		}, []string{"reason"}),
		historyEvicted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "spinops_bridge_watch_history_evicted_events_total",
			Help: "Watch-history events forgotten to keep an account within --max-history-bytes-per-account (a watch from before them gets 410 Expired and relists).",
		}),
		fenced: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "spinops_bridge_lease_fenced_total",
			Help: "Accounts this replica stopped serving because it could not renew their lease in time.",
		}),
	}
	m.refreshRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "spinops_bridge_clouddriver_refresh_requests_total",
		Help: "On-demand re-cache requests sent to Clouddriver, by answer: accepted (202, re-cached), ok (200), error (no answer or an error status; retried).",
	}, []string{"result"})
	m.refreshCoalesced = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "spinops_bridge_clouddriver_refresh_coalesced_total",
		Help: "Changes of Spinnaker-managed objects folded into a re-cache request already waiting for the same object.",
	})
	m.refreshDropped = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "spinops_bridge_clouddriver_refresh_dropped_total",
		Help: "Changes not pushed to Clouddriver (it sees them on its caching cycle), by reason: queue_full, paused (Clouddriver re-caches nothing on demand).",
	}, []string{"reason"})
	m.refreshFailures = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "spinops_bridge_clouddriver_refresh_failures_total",
		Help: "Re-cache requests given up after every retry failed.",
	})
	m.refreshUnhandled = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "spinops_bridge_clouddriver_refresh_unhandled_total",
		Help: "Re-cache requests for an existing object that Clouddriver answered without caching anything (200, no cached identifiers).",
	})
	m.refreshLag = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "spinops_bridge_clouddriver_refresh_lag_seconds",
		Help:    "From the agent seeing a change of a Spinnaker-managed object to Clouddriver having re-cached it.",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
	})
	refreshPending := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "spinops_bridge_clouddriver_refresh_pending",
		Help: "Objects waiting for a re-cache request to Clouddriver (bounded by the refresh queue size).",
	}, func() float64 {
		if s.refresh == nil {
			return 0
		}
		return float64(s.refresh.pending())
	})
	m.registry.MustRegister(refreshPending, m.refreshRequests, m.refreshCoalesced, m.refreshDropped, m.refreshFailures, m.refreshUnhandled, m.refreshLag)
	m.spinnakerAccountSwitches = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "spinops_bridge_spinnaker_account_switches_total",
		Help: "SpinnakerAccounts the bridge set to spec.enabled=false (agent gone past the grace period) or true (agent back), by enabled.",
	}, []string{"enabled"})
	m.spinnakerAccountErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "spinops_bridge_spinnaker_account_errors_total",
		Help: "Failed attempts to read or switch a SpinnakerAccount (retried with backoff), by reason: forbidden (the bridge lacks get or patch on spinnakeraccounts), error.",
	}, []string{"reason"})
	m.spinnakerAccountSkipped = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "spinops_bridge_spinnaker_account_skipped_total",
		Help: "SpinnakerAccounts left alone, by reason: foreign (named like a registration of this bridge but not attached for it: no managed-by label or another registration id), " +
			"held (a withdrawal found the account's lease held: its agent is back through another replica).",
	}, []string{"reason"})
	m.registry.MustRegister(m.spinnakerAccountSwitches, m.spinnakerAccountErrors, m.spinnakerAccountSkipped)
	m.upserts = m.events.WithLabelValues("upsert")
	m.deletes = m.events.WithLabelValues("delete")
	cached := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "spinops_bridge_cached_objects",
		Help: "Objects in the bridge cache over all accounts.",
	}, func() float64 { return float64(s.cache.ObjectCount()) })
	historyBytes := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "spinops_bridge_watch_history_bytes",
		Help: "Bytes of watch history the cache keeps over all accounts (each account is bounded by --max-history-bytes-per-account).",
	}, func() float64 { return float64(s.cache.HistoryBytes()) })
	m.registry.MustRegister(historyBytes, m.historyEvicted)
	m.registry.MustRegister(m.connectedAgents, m.events, m.propagationLatency, m.operationLatency, m.refusals, m.forwarded, cached,
		m.slowReaders, m.limitRefusals, m.revocations, m.fenced,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// methodLabel maps an HTTP method to the fixed set of label values, so a
// client cannot grow the metrics without bound by inventing methods.
func methodLabel(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions:
		return strings.ToLower(method)
	}
	return "other"
}
