package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"dongting/index"
	"dongting/index/alerts"
)

// Metrics are the service's Prometheus metrics, on registries of their
// own (so tests can run several servers in one process): reg holds the
// process's and the service's operation (requests, index lag, webhook
// deliveries), open to any scraper; business holds what the records say
// (records ingested, their severities, alerts raised), for admin keys
// over the whole group only.
type Metrics struct {
	reg      *prometheus.Registry
	business *prometheus.Registry
	requests *prometheus.HistogramVec
	ingested *prometheus.CounterVec
	severity *prometheus.CounterVec
	indexed  prometheus.Counter
	lagSecs  prometheus.Gauge
}

// NewMetrics registers the metrics and the Go runtime's.
func NewMetrics() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(), business: prometheus.NewRegistry(),
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "dongting_http_request_duration_seconds", Help: "HTTP request latency by route and status.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10},
		}, []string{"method", "route", "status"}),
		ingested: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dongting_ingest_records_total", Help: "Records received, by result (stored, replaced, failed).",
		}, []string{"result"}),
		severity: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dongting_ingest_severity_total", Help: "Stored records by severity (P1 red line, P2, P3).",
		}, []string{"severity"}),
		indexed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "dongting_index_entries_total", Help: "Store entries applied to the search index.",
		}),
		lagSecs: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "dongting_index_lag_seconds", Help: "Age of the oldest entry in the last index batch when it was applied.",
		}),
	}
	m.reg.MustRegister(m.requests, m.indexed, m.lagSecs,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.business.MustRegister(m.ingested, m.severity)
	return m
}

// OnIndexed is the corpus's callback after each index batch.
func (m *Metrics) OnIndexed(n int, lag time.Duration) {
	m.indexed.Add(float64(n))
	m.lagSecs.Set(lag.Seconds())
}

// watch exports the corpus's current index lag and the write watchdog.
func (m *Metrics) watch(c *index.Corpus) {
	_ = m.reg.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "dongting_index_lag_entries", Help: "Committed store entries not yet searchable.",
	}, func() float64 { return float64(c.Lag()) }))
	_ = m.reg.Register(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "dongting_store_write_stalls_total", Help: "Times a write transaction held the store's writer lock longer than -write-stall.",
	}, func() float64 { return float64(c.WriteWatch().Stalls) }))
	for _, f := range []string{"rollups", "alerts"} {
		_ = m.reg.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "dongting_feed_lag_commits", Help: "Committed writes a derived store (rollups, alerts) has not applied yet.",
			ConstLabels: prometheus.Labels{"follower": f},
		}, func() float64 { return float64(c.Store().FeedLag(f)) }))
	}
	_ = m.reg.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "dongting_store_write_wait_seconds", Help: "How long the write watchdog's probe has been waiting for the writer lock (0: free).",
	}, func() float64 { return c.WriteWatch().Waiting.Seconds() }))
}

func (m *Metrics) observe(method, route string, status int, d time.Duration) {
	m.requests.WithLabelValues(method, route, strconv.Itoa(status)).Observe(d.Seconds())
}

func (m *Metrics) countIngest(res []index.Result, failed int) {
	for _, r := range res {
		switch {
		case r.Err != nil:
			m.ingested.WithLabelValues("failed").Inc()
		case r.Replaced:
			m.ingested.WithLabelValues("replaced").Inc()
		default:
			m.ingested.WithLabelValues("stored").Inc()
		}
		if r.Err == nil && r.Analysis != nil && r.Analysis.Severity != "none" {
			m.severity.WithLabelValues(r.Analysis.Severity).Inc()
		}
	}
	if failed > 0 {
		m.ingested.WithLabelValues("failed").Add(float64(failed))
	}
}

// Handler serves the operational metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// AllHandler serves the operational and the business metrics.
func (m *Metrics) AllHandler() http.Handler {
	return promhttp.HandlerFor(prometheus.Gatherers{m.reg, m.business}, promhttp.HandlerOpts{})
}

// alertCollector exports the alert engine's counters at scrape time:
// alerts raised (business), or webhook deliveries and the outbox.
type alertCollector struct {
	e                                    *alerts.Engine
	business                             bool
	raised, delivered, pending, unrouted *prometheus.Desc
}

func (m *Metrics) watchAlerts(e *alerts.Engine) {
	descs := alertCollector{e: e,
		raised:    prometheus.NewDesc("dongting_alerts_raised_total", "Alerts opened since start, by source.", []string{"source"}, nil),
		delivered: prometheus.NewDesc("dongting_webhook_deliveries_total", "Webhook calls since start, by result.", []string{"result"}, nil),
		pending:   prometheus.NewDesc("dongting_webhook_outbox", "Notifications in the outbox, by state (pending, dead).", []string{"state"}, nil),
		unrouted:  prometheus.NewDesc("dongting_alerts_unrouted_total", "Notifications since start for an org node no receiver manages.", nil, nil),
	}
	ops, biz := descs, descs
	biz.business = true
	_ = m.reg.Register(&ops)
	_ = m.business.Register(&biz)
}

func (a *alertCollector) Describe(ch chan<- *prometheus.Desc) {
	if a.business {
		ch <- a.raised
		return
	}
	ch <- a.delivered
	ch <- a.pending
	ch <- a.unrouted
}

func (a *alertCollector) Collect(ch chan<- prometheus.Metric) {
	st := a.e.Stats()
	if a.business {
		for _, s := range alerts.Sources {
			ch <- prometheus.MustNewConstMetric(a.raised, prometheus.CounterValue, float64(st.Raised[s]), s)
		}
		return
	}
	ch <- prometheus.MustNewConstMetric(a.delivered, prometheus.CounterValue, float64(st.Delivered), "ok")
	ch <- prometheus.MustNewConstMetric(a.delivered, prometheus.CounterValue, float64(st.Failed), "failed")
	ch <- prometheus.MustNewConstMetric(a.unrouted, prometheus.CounterValue, float64(st.Unrouted))
	if ob, err := a.e.Outbox(); err == nil {
		ch <- prometheus.MustNewConstMetric(a.pending, prometheus.GaugeValue, float64(ob.Pending), "pending")
		ch <- prometheus.MustNewConstMetric(a.pending, prometheus.GaugeValue, float64(ob.Dead), "dead")
	}
}
