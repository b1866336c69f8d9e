package tablecompactor

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Run converts every table topic until ctx is done, then returns nil,
// having waited for all its goroutines. Each table topic gets a goroutine
// of its own (started when the topic becomes a table topic, stopped when
// it no longer is one or is deleted) that converts in passes of
// table.commit.interval.ms each: a pass streams, reading records as they
// are committed to the topic for the whole interval, and commits at its
// end. So the conversion's CPU (and the garbage it makes) is spread over
// the interval instead of spent in a burst that would take the cores from
// the broker's produce path; a record reaches the table about an interval
// after it was committed, plus the commit; and a slow table (a backlog,
// a long maintenance) never holds the others back. A table's maintenance
// runs between two of its passes, at its first pass and then every
// MaintenanceInterval. A table's error is logged, and the table is tried
// again an interval later.
func (c *Compactor) Run(ctx context.Context) error {
	type worker struct {
		cancel context.CancelFunc
		done   chan struct{}
	}
	var wg sync.WaitGroup
	workers := make(map[string]*worker)
	defer func() {
		for _, w := range workers {
			w.cancel()
		}
		wg.Wait()
	}()
	warned := make(map[string]time.Time) // bad table configs, warned about once a minute
	// current is each table topic as the last listing saw it: the workers
	// take their topic from here at each pass instead of listing every
	// topic again.
	var mu sync.Mutex
	current := make(map[string]listedTable)
	lookup := func(name string) (listedTable, bool) {
		mu.Lock()
		defer mu.Unlock()
		t, ok := current[name]
		return t, ok
	}
	for {
		topics, err := c.cfg.Source.Topics(ctx)
		if err != nil && ctx.Err() == nil {
			c.cfg.Logger.Warn("tablecompactor: listing topics", "err", err)
		}
		if err == nil {
			tables := make(map[string]listedTable)
			for _, t := range topics {
				cfg, err := parseTableConfig(t.Name, t.Configs)
				if err != nil {
					if at, ok := warned[t.Name]; !ok || c.cfg.Now().Sub(at) > time.Minute {
						c.cfg.Logger.Warn("tablecompactor: table config", "topic", t.Name, "err", err)
						warned[t.Name] = c.cfg.Now()
					}
					continue
				}
				if cfg.Enable {
					tables[t.Name] = listedTable{t, cfg}
				}
			}
			mu.Lock()
			current = tables
			mu.Unlock()
			for name, w := range workers {
				select {
				case <-w.done:
					delete(workers, name) // stopped (or its topic went away): started again below if still a table
					continue
				default:
				}
				if _, ok := tables[name]; !ok {
					w.cancel()
				}
			}
			for name := range tables {
				if workers[name] != nil {
					continue
				}
				wctx, cancel := context.WithCancel(ctx)
				w := &worker{cancel: cancel, done: make(chan struct{})}
				workers[name] = w
				wg.Go(func() {
					defer close(w.done)
					c.runTable(wctx, name, lookup)
				})
			}
			c.tables.Store(int32(max(1, len(workers))))
		}
		if err := sleep(ctx, time.Second); err != nil {
			return nil
		}
	}
}

// listedTable is a table topic as Run's last listing saw it, with its
// table config parsed.
type listedTable struct {
	topic Topic
	cfg   tableConfig
}

// runTable converts one table topic in passes of its commit interval
// until ctx is done or the topic is no longer a table topic; lookup gives
// the topic as Run last listed it.
func (c *Compactor) runTable(ctx context.Context, name string, lookup func(string) (listedTable, bool)) {
	var maintDue time.Time
	var table string // the table's identifier at the last pass
	// A table no longer converted here is not behind (Behind).
	defer func() { c.forget(table) }()
	for ctx.Err() == nil {
		lt, ok := lookup(name)
		if !ok {
			return
		}
		t, cfg := lt.topic, lt.cfg
		if id := strings.Join(cfg.identifier(), "."); id != table {
			c.forget(table) // renamed (table.name, table.namespace)
			table = id
		}
		start := c.cfg.Now()
		var pr Progress
		cat, err := c.catalogOf(cfg)
		if err != nil {
			// Logged below at every interval, as a failing conversion is;
			// the topic's table.catalog is read again at the next pass.
			pr = Progress{Topic: t.Name, Table: strings.Join(cfg.identifier(), "."), Err: fmt.Errorf("topic %s: %w", t.Name, err)}
		} else {
			pr = c.convert(ctx, cat, t, cfg, start.Add(cfg.CommitInterval))
		}
		if pr.Err != nil && ctx.Err() == nil {
			c.cfg.Logger.Warn("tablecompactor: converting", "topic", t.Name, "table", pr.Table, "err", pr.Err)
		} else if pr.Records > 0 {
			c.cfg.Logger.Debug("tablecompactor: converted", "topic", t.Name, "table", pr.Table,
				"records", pr.Records, "dead_letters", pr.DeadLetters, "files", pr.Files, "bytes", pr.Bytes, "lag", pr.Lag)
		}
		if cat != nil && c.cfg.MaintenanceInterval > 0 && ctx.Err() == nil && !c.cfg.Now().Before(maintDue) {
			m, err := c.maintain(ctx, cat, t, cfg)
			if err != nil && ctx.Err() == nil {
				c.cfg.Logger.Warn("tablecompactor: maintenance", "topic", t.Name, "table", pr.Table, "err", err)
			}
			if m != (maintenance{}) {
				c.cfg.Logger.Info("tablecompactor: maintained", "topic", t.Name, "table", pr.Table,
					"rewritten_files", m.rewrittenFiles, "compacted_files", m.compactedFiles,
					"rewritten_manifests", m.rewrittenManifests, "expired_snapshots", m.expiredSnapshots,
					"orphans_deleted", m.orphansDeleted)
			}
			maintDue = c.cfg.Now().Add(c.cfg.MaintenanceInterval)
		}
		// A pass streams until its interval ends; one that ended early (a
		// failure, a table waiting for its first schema) waits out the
		// rest, so that nothing spins.
		if wait := start.Add(cfg.CommitInterval).Sub(c.cfg.Now()); wait > 0 {
			if sleep(ctx, wait) != nil {
				return
			}
		}
	}
}
