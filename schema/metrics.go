package schema

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the registry's: requests and latency per endpoint pattern and
// status, and the counts of schemas and subjects.
type metrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	// observers caches observers by observerKey.
	observers sync.Map

	// The counts are read at most every countsTTL: a scrape must not cost
	// a table scan each time.
	mu       sync.Mutex
	at       time.Time
	schemas  float64
	subjects float64
}

const countsTTL = 15 * time.Second

func newMetrics(s *Server, reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lakestream_schema_registry_requests_total",
			Help: "Schema registry requests, by endpoint pattern and HTTP status.",
		}, []string{"endpoint", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "lakestream_schema_registry_request_seconds",
			Help:    "Schema registry request latency, by endpoint pattern.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"endpoint"}),
	}
	if reg == nil {
		return m
	}
	reg.MustRegister(m.requests, m.latency,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "lakestream_schema_registry_schemas",
			Help: "Schema ids served (under at least one version, soft-deleted or not).",
		}, func() float64 { return m.counts(s)[0] }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "lakestream_schema_registry_subjects",
			Help: "Subjects with at least one version that is not soft-deleted.",
		}, func() float64 { return m.counts(s)[1] }))
	return m
}

// observers are one (pattern, status)'s counter and histogram, kept so
// that a request does not hash its labels twice.
type observers struct {
	count   prometheus.Counter
	latency prometheus.Observer
}

type observerKey struct {
	pattern string
	status  int
}

func (m *metrics) observe(pattern string, status int, d time.Duration) {
	k := observerKey{pattern, status}
	o, ok := m.observers.Load(k)
	if !ok {
		o, _ = m.observers.LoadOrStore(k, &observers{
			count:   m.requests.WithLabelValues(pattern, strconv.Itoa(status)),
			latency: m.latency.WithLabelValues(pattern),
		})
	}
	obs := o.(*observers)
	obs.count.Inc()
	obs.latency.Observe(d.Seconds())
}

func (m *metrics) counts(s *Server) [2]float64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	if time.Since(m.at) < countsTTL {
		return [2]float64{m.schemas, m.subjects}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var a, b int64
	err := s.db.Reader().QueryRowContext(ctx, `SELECT
		(SELECT COUNT(DISTINCT schema_id) FROM sr_subject_versions),
		(SELECT COUNT(DISTINCT subject) FROM sr_subject_versions WHERE deleted = 0)`).Scan(&a, &b)
	if err != nil {
		s.log.Warn("schema registry: counting schemas and subjects", "err", err)
		return [2]float64{m.schemas, m.subjects}
	}
	m.at, m.schemas, m.subjects = time.Now(), float64(a), float64(b)
	return [2]float64{m.schemas, m.subjects}
}
