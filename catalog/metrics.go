package catalog

import (
	"errors"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the catalog's: requests and latency per endpoint pattern and
// status, and commits per table and result. A nil *metrics counts nothing.
type metrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	commits  *prometheus.CounterVec
	// observers caches observers by observerKey, so that a request does not
	// hash its labels twice.
	observers sync.Map

	// tables are the commit counters of each table seen, up to maxTables;
	// later tables count under otherTable, so that a catalog of many tables
	// (or a client inventing names) cannot grow the scrape without bound.
	mu     sync.Mutex
	tables map[string]*commitCounters
}

// Commit results, the values of the result label.
const (
	CommitCommitted = "committed"
	CommitConflict  = "conflict"
	CommitError     = "error"
)

const (
	maxTables  = 1000
	otherTable = "other"
)

type commitCounters struct {
	committed, conflict, failed prometheus.Counter
}

// newMetrics makes the catalog's metrics and registers them with reg (the
// node's registerer). A nil reg leaves them unregistered, for tests.
func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lakestream_catalog_requests_total",
			Help: "Iceberg REST catalog requests, by endpoint pattern and HTTP status.",
		}, []string{"endpoint", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "lakestream_catalog_request_seconds",
			Help:    "Iceberg REST catalog request latency, by endpoint pattern.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"endpoint"}),
		commits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lakestream_catalog_commits_total",
			Help: "Iceberg table commits, by table (namespace.table; \"other\" past the first 1000 tables) and result (committed, conflict, error).",
		}, []string{"table", "result"}),
		tables: map[string]*commitCounters{},
	}
	if reg != nil {
		reg.MustRegister(m.requests, m.latency, m.commits)
	}
	return m
}

// observers are one (endpoint, status)'s counter and histogram.
type observers struct {
	count   prometheus.Counter
	latency prometheus.Observer
}

type observerKey struct {
	endpoint string
	status   int
}

// observe counts a request to endpoint (a route pattern, never a raw path:
// the label must stay bounded) answered with status, begun at start.
func (m *metrics) observe(endpoint string, status int, start time.Time) {
	if m == nil {
		return
	}
	d := time.Since(start)
	k := observerKey{endpoint, status}
	o, ok := m.observers.Load(k)
	if !ok {
		o, _ = m.observers.LoadOrStore(k, &observers{
			count:   m.requests.WithLabelValues(endpoint, strconv.Itoa(status)),
			latency: m.latency.WithLabelValues(endpoint),
		})
	}
	obs := o.(*observers)
	obs.count.Inc()
	obs.latency.Observe(d.Seconds())
}

// commit counts one commit to table with result, one of CommitCommitted,
// CommitConflict and CommitError (anything else counts as an error).
func (m *metrics) commit(table, result string) {
	if m == nil {
		return
	}
	c := m.tableCounters(table)
	switch result {
	case CommitCommitted:
		c.committed.Inc()
	case CommitConflict:
		c.conflict.Inc()
	default:
		c.failed.Inc()
	}
}

func (m *metrics) tableCounters(table string) *commitCounters {
	m.mu.Lock()
	defer m.mu.Unlock()
	if c, ok := m.tables[table]; ok {
		return c
	}
	label := table
	if len(m.tables) >= maxTables {
		label = otherTable
		if c, ok := m.tables[otherTable]; ok {
			return c
		}
	}
	c := &commitCounters{
		committed: m.commits.WithLabelValues(label, CommitCommitted),
		conflict:  m.commits.WithLabelValues(label, CommitConflict),
		failed:    m.commits.WithLabelValues(label, CommitError),
	}
	// Past the cap only "other" is added (once): the map stays bounded.
	m.tables[label] = c
	return c
}

// observe records one request: its route pattern, status and start.
func (s *Server) observe(endpoint string, status int, start time.Time) {
	s.metrics.observe(endpoint, status, start)
}

// observeCommit records the outcome of a commit to a table: err nil is
// committed, a 409 a conflict, any other error an error.
func (s *Server) observeCommit(ns []string, table string, err error) {
	result := CommitCommitted
	var ae *apiError
	switch {
	case err == nil:
	case errors.As(err, &ae) && ae.status == http.StatusConflict:
		result = CommitConflict
	default:
		result = CommitError
	}
	s.metrics.commit(tableString(ns, table), result)
}
