package bridge

import (
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
	}
	m.upserts = m.events.WithLabelValues("upsert")
	m.deletes = m.events.WithLabelValues("delete")
	cached := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "spinops_bridge_cached_objects",
		Help: "Objects in the bridge cache over all accounts.",
	}, func() float64 { return float64(s.cache.ObjectCount()) })
	m.registry.MustRegister(m.connectedAgents, m.events, m.propagationLatency, m.operationLatency, m.refusals, m.forwarded, cached,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}
