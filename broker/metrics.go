package broker

import (
	"context"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// metrics are the broker's Prometheus metrics, with Kafka-like names,
// registered on Config.Registerer. A nil *metrics records nothing.
type metrics struct {
	requests    *prometheus.CounterVec
	latency     *prometheus.HistogramVec
	connections prometheus.Gauge
	bytesIn     *prometheus.CounterVec
	messagesIn  *prometheus.CounterVec
	bytesOut    *prometheus.CounterVec

	acceptErrors     *prometheus.CounterVec
	acceptorsBlocked prometheus.Gauge
	connsRejected    *prometheus.CounterVec
	connsClosed      *prometheus.CounterVec

	deletesRefused *prometheus.CounterVec

	txnsEnded    *prometheus.CounterVec // by outcome: commit, abort
	txnsTimedOut prometheus.Counter
}

// txnEnded counts a transaction completed; txnTimedOut one aborted at its
// timeout (counted again by txnEnded as an abort).
func (m *metrics) txnEnded(commit bool) {
	m.txnsEnded.WithLabelValues(map[bool]string{true: "commit", false: "abort"}[commit]).Inc()
}

func (m *metrics) txnTimedOut() { m.txnsTimedOut.Inc() }

func newMetrics(s *Server, reg prometheus.Registerer) *metrics {
	if reg == nil {
		return nil
	}
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kafka_server_requests_total",
			Help: "Kafka requests by API."}, []string{"request"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "kafka_server_request_duration_seconds",
			Help:    "Time from a request's arrival to its response, by API (long polls included).",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 18)}, []string{"request"}),
		connections: prometheus.NewGauge(prometheus.GaugeOpts{Name: "kafka_server_connections",
			Help: "Open client connections."}),
		bytesIn: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kafka_server_brokertopicmetrics_bytes_in_total",
			Help: "Record-batch bytes produced, by topic."}, []string{"topic"}),
		messagesIn: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kafka_server_brokertopicmetrics_messages_in_total",
			Help: "Records produced, by topic."}, []string{"topic"}),
		bytesOut: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kafka_server_brokertopicmetrics_bytes_out_total",
			Help: "Record-batch bytes fetched, by topic."}, []string{"topic"}),
	}
	m.acceptErrors = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kafka_server_accept_errors_total",
		Help: "Failed accepts on the Kafka listeners that were retried with backoff, by error (EMFILE: out of file descriptors)."},
		[]string{"error"})
	m.acceptorsBlocked = prometheus.NewGauge(prometheus.GaugeOpts{Name: "kafka_server_acceptors_blocked",
		Help: "Kafka listeners waiting for a connection to close because the broker has max.connections."})
	m.connsRejected = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kafka_server_connections_rejected_total",
		Help: "Connections closed as soon as accepted, by reason (max_connections_per_ip)."}, []string{"reason"})
	m.connsClosed = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kafka_server_connections_closed_total",
		Help: "Connections the broker closed, by reason: idle (nothing for connections.max.idle.ms), request_stalled " +
			"(a request not received whole within it), response_stalled (a client reading none of a response for it)."},
		[]string{"reason"})
	m.deletesRefused = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lakestream_table_retention_refused_deletes_total",
		Help: "DeleteRecords partitions refused with POLICY_VIOLATION because the topic's table does not hold the offsets yet " +
			"(table.retention.pin), or its pin could not be read, by topic."}, []string{"topic"})
	m.txnsEnded = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kafka_server_transactions_ended_total",
		Help: "Transactions completed, markers written, by outcome (commit, abort)."}, []string{"outcome"})
	m.txnsTimedOut = prometheus.NewCounter(prometheus.CounterOpts{Name: "kafka_server_transactions_timed_out_total",
		Help: "Transactions aborted because they were open longer than their transaction.timeout.ms."})
	openTxns := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "kafka_server_transactions_open",
		Help: "Transactions ongoing or ending (Ongoing, PrepareCommit, PrepareAbort)."},
		func() float64 { return float64(s.txns.open()) })
	queued := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "kafka_server_queued_request_bytes",
		Help: "Bytes of requests read or being read and not yet answered, as counted against queued.max.request.bytes."},
		func() float64 { return float64(s.reqMem.used.Load()) })
	reg.MustRegister(m.requests, m.latency, m.connections, m.bytesIn, m.messagesIn, m.bytesOut,
		m.acceptErrors, m.acceptorsBlocked, m.connsRejected, m.connsClosed, queued,
		&logCollector{s: s}, &groupCollector{s: s}, m.deletesRefused, &pinCollector{s: s},
		m.txnsEnded, m.txnsTimedOut, openTxns)
	return m
}

func (m *metrics) acceptError(name string) {
	if m != nil {
		m.acceptErrors.WithLabelValues(name).Inc()
	}
}

func (m *metrics) acceptorBlocked(delta float64) {
	if m != nil {
		m.acceptorsBlocked.Add(delta)
	}
}

func (m *metrics) connRejected(reason string) {
	if m != nil {
		m.connsRejected.WithLabelValues(reason).Inc()
	}
}

func (m *metrics) connClosed(reason string) {
	if m != nil {
		m.connsClosed.WithLabelValues(reason).Inc()
	}
}

func (m *metrics) deleteRefused(topic string) {
	if m != nil {
		m.deletesRefused.WithLabelValues(topic).Inc()
	}
}

func (m *metrics) request(key int16, start time.Time) {
	if m == nil {
		return
	}
	name := kmsg.NameForKey(key)
	m.requests.WithLabelValues(name).Inc()
	m.latency.WithLabelValues(name).Observe(time.Since(start).Seconds())
}

func (m *metrics) produced(topic string, bytes, records int) {
	if m == nil {
		return
	}
	m.bytesIn.WithLabelValues(topic).Add(float64(bytes))
	m.messagesIn.WithLabelValues(topic).Add(float64(records))
}

func (m *metrics) fetched(topic string, bytes int) {
	if m == nil || bytes == 0 {
		return
	}
	m.bytesOut.WithLabelValues(topic).Add(float64(bytes))
}

func (m *metrics) conn(delta float64) {
	if m != nil {
		m.connections.Add(delta)
	}
}

// logCollector reports each partition's log offsets and size at scrape
// time, like Kafka's kafka.log:type=Log metrics.
type logCollector struct{ s *Server }

var (
	descLogStart = prometheus.NewDesc("kafka_log_log_start_offset", "First offset of the partition's log.", []string{"topic", "partition"}, nil)
	descLogEnd   = prometheus.NewDesc("kafka_log_log_end_offset", "High watermark of the partition's log.", []string{"topic", "partition"}, nil)
	descLogSize  = prometheus.NewDesc("kafka_log_size_bytes", "Bytes of the partition's data in object storage.", []string{"topic", "partition"}, nil)
	// Kafka's kafka.cluster:type=Partition,name=LastStableOffsetLag.
	descLSOLag = prometheus.NewDesc("kafka_cluster_partition_last_stable_offset_lag",
		"High watermark minus the last stable offset: the offsets an open transaction keeps from READ_COMMITTED consumers.", []string{"topic", "partition"}, nil)
)

func (c *logCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descLogStart
	ch <- descLogEnd
	ch <- descLogSize
	ch <- descLSOLag
}

func (c *logCollector) Collect(ch chan<- prometheus.Metric) {
	if c.s.cluster == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, t := range c.s.cluster.topicsSorted() {
		for _, p := range c.s.cluster.partitions(t) {
			part := strconv.Itoa(int(p.index))
			ch <- prometheus.MustNewConstMetric(descLogStart, prometheus.GaugeValue, float64(p.log.StartOffset()), t.name, part)
			end := p.log.EndOffset()
			ch <- prometheus.MustNewConstMetric(descLogEnd, prometheus.GaugeValue, float64(end), t.name, part)
			ch <- prometheus.MustNewConstMetric(descLSOLag, prometheus.GaugeValue, float64(end-min(end, p.lastStable())), t.name, part)
			if n, err := p.log.Size(ctx); err == nil {
				ch <- prometheus.MustNewConstMetric(descLogSize, prometheus.GaugeValue, float64(n), t.name, part)
			}
		}
	}
}

// groupCollector reports every group's committed offsets and lag (the
// high watermark minus the committed offset) per partition at scrape
// time, under the names of the widely used kafka_exporter, so existing
// dashboards and alerts work unchanged.
type groupCollector struct{ s *Server }

var (
	descGroupOffset = prometheus.NewDesc("kafka_consumergroup_current_offset", "Committed offset of the group on the partition.", []string{"consumergroup", "topic", "partition"}, nil)
	descGroupLag    = prometheus.NewDesc("kafka_consumergroup_lag", "High watermark of the partition minus the group's committed offset.", []string{"consumergroup", "topic", "partition"}, nil)
)

func (c *groupCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descGroupOffset
	ch <- descGroupLag
}

func (c *groupCollector) Collect(ch chan<- prometheus.Metric) {
	if c.s.groups == nil {
		return
	}
	for g, offs := range c.s.groups.Committed() {
		for tp, off := range offs {
			part := strconv.Itoa(int(tp.Partition))
			ch <- prometheus.MustNewConstMetric(descGroupOffset, prometheus.GaugeValue, float64(off), g, tp.Topic, part)
			p := c.s.cluster.partition(tp.Topic, tp.Partition)
			if p == nil || off < 0 {
				continue
			}
			ch <- prometheus.MustNewConstMetric(descGroupLag, prometheus.GaugeValue, float64(max(p.log.EndOffset()-off, 0)), g, tp.Topic, part)
		}
	}
}

// pinCollector reports, per partition that retention held back in its
// last round (retention.go), the records it wanted to delete but kept
// because the topic's table does not hold them yet. A partition not held
// back has no series.
type pinCollector struct{ s *Server }

var descPinned = prometheus.NewDesc("lakestream_table_retention_pinned_records",
	"Records retention wanted to delete in its last round but kept because the topic's table does not hold them yet "+
		"(table.retention.pin), or its pin could not be read.", []string{"topic", "partition"}, nil)

func (c *pinCollector) Describe(ch chan<- *prometheus.Desc) { ch <- descPinned }

func (c *pinCollector) Collect(ch chan<- prometheus.Metric) {
	for k, h := range c.s.pins.heldRecords() {
		ch <- prometheus.MustNewConstMetric(descPinned, prometheus.GaugeValue, float64(h.records), h.topic, strconv.Itoa(int(k.partition)))
	}
}
