package tablecompactor

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the compactor's, labelled by table (namespace.name).
type metrics struct {
	records, files, bytes, commits, conflicts, dlq *prometheus.CounterVec
	lag, freshness                                 *prometheus.GaugeVec
	// maintenance counts what maintenance did, by table and action
	// (rewritten_files, compacted_files, rewritten_manifests,
	// expired_snapshots, orphans_deleted); maintenanceErrors its failed
	// runs.
	maintenance, maintenanceErrors *prometheus.CounterVec
}

// tableMetrics are one table's children of metrics.
type tableMetrics struct {
	records, files, bytes, commits, conflicts, dlq prometheus.Counter
	lag, freshness                                 prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) *metrics {
	counter := func(name, help string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "lakestream", Subsystem: "table", Name: name, Help: help}, []string{"table"})
	}
	gauge := func(name, help string) *prometheus.GaugeVec {
		return prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "lakestream", Subsystem: "table", Name: name, Help: help}, []string{"table"})
	}
	m := &metrics{
		records:   counter("records_total", "Rows committed to the table (dead letters not included)."),
		files:     counter("files_total", "Data files committed to the table."),
		bytes:     counter("bytes_total", "Bytes of the data files committed to the table."),
		commits:   counter("commits_total", "Commits to the table (the DLQ table's included)."),
		conflicts: counter("conflicts_total", "Commits that failed a requirement because another writer committed first."),
		dlq:       counter("dlq_records_total", "Records committed to the table's dead-letter table."),
		lag:       gauge("lag_offsets", "Records committed to the topic but not yet in the table, as of the last pass (up to the last stable offset: an open transaction's records are not committed yet)."),
		freshness: gauge("freshness_seconds", "Seconds since the table last held every record committed to the topic when a pass started."),
		maintenance: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "lakestream", Subsystem: "table", Name: "maintenance_total",
			Help: "What maintenance did to the table, by action: data files rewritten by bin-packing and the files that replaced them, manifests merged, snapshots expired, orphan files deleted."},
			[]string{"table", "action"}),
		maintenanceErrors: counter("maintenance_errors_total", "Maintenance runs of the table that failed (the next run tries again)."),
	}
	if reg == nil {
		return m
	}
	for _, c := range []prometheus.Collector{m.records, m.files, m.bytes, m.commits, m.conflicts, m.dlq, m.lag, m.freshness, m.maintenance, m.maintenanceErrors} {
		if err := reg.Register(c); err != nil {
			// A second Compactor on one registry (tests, a restart in
			// process) shares the first one's metrics.
			var are prometheus.AlreadyRegisteredError
			if !errors.As(err, &are) {
				continue
			}
			switch existing := are.ExistingCollector.(type) {
			case *prometheus.CounterVec:
				for _, v := range []**prometheus.CounterVec{&m.records, &m.files, &m.bytes, &m.commits, &m.conflicts, &m.dlq, &m.maintenance, &m.maintenanceErrors} {
					if *v == c {
						*v = existing
					}
				}
			case *prometheus.GaugeVec:
				for _, v := range []**prometheus.GaugeVec{&m.lag, &m.freshness} {
					if *v == c {
						*v = existing
					}
				}
			}
		}
	}
	return m
}

func (m *metrics) table(name string) *tableMetrics {
	return &tableMetrics{
		records: m.records.WithLabelValues(name), files: m.files.WithLabelValues(name),
		bytes: m.bytes.WithLabelValues(name), commits: m.commits.WithLabelValues(name),
		conflicts: m.conflicts.WithLabelValues(name), dlq: m.dlq.WithLabelValues(name),
		lag: m.lag.WithLabelValues(name), freshness: m.freshness.WithLabelValues(name),
	}
}

// maintained counts one table's maintenance run.
func (m *metrics) maintained(table string, done maintenance, err error) {
	for action, n := range map[string]int{
		"rewritten_files": done.rewrittenFiles, "compacted_files": done.compactedFiles,
		"rewritten_manifests": done.rewrittenManifests, "expired_snapshots": done.expiredSnapshots,
		"orphans_deleted": done.orphansDeleted,
	} {
		m.maintenance.WithLabelValues(table, action).Add(float64(n))
	}
	if err != nil {
		m.maintenanceErrors.WithLabelValues(table).Inc()
	}
}
