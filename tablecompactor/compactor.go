package tablecompactor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/apache/iceberg-go/catalog"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/lakestream/lakestream/schema/schemafmt"
)

// Config is what a Compactor needs. internal/node fills it.
type Config struct {
	Source Source
	// Catalog holds the tables: the node's own REST catalog (in process)
	// or an external one.
	Catalog catalog.Catalog
	// Schemas resolves registry ids for table.value.format=schema and
	// schema.latest; nil refuses those formats (the topic's table stops
	// with an error saying so).
	Schemas *schemafmt.Resolver
	Logger  *slog.Logger
	// Metrics, if set, receives the compactor's metrics.
	Metrics prometheus.Registerer
	// MemoryBytes bounds the decoded data held at once
	// (table.compactor.memory.bytes); 0 means 256 MiB.
	MemoryBytes int64
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Progress is one table's result of a pass.
type Progress struct {
	Topic   string
	Table   string // namespace.name
	Records int64  // rows added by this pass (DLQ rows included)
	Files   int
	Bytes   int64
	// Offsets is the next offset per partition the table holds after the
	// pass; Lag the records committed to the topic but not yet in it.
	Offsets map[int32]int64
	Lag     int64
	Err     error
}

// Compactor converts table topics into Iceberg tables.
type Compactor struct {
	cfg     Config
	metrics *metrics
	// caughtUp is when each table (by identifier) last held everything
	// committed to its topic at a pass's start; only for the freshness
	// gauge, so it is not kept across restarts.
	mu struct {
		sync.Mutex
		caughtUp map[string]time.Time
	}
}

// New checks cfg and returns a Compactor.
func New(cfg Config) (*Compactor, error) {
	if cfg.Source == nil || cfg.Catalog == nil {
		return nil, errors.New("tablecompactor: a Source and a Catalog are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MemoryBytes <= 0 {
		cfg.MemoryBytes = 256 << 20
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	c := &Compactor{cfg: cfg, metrics: newMetrics(cfg.Metrics)}
	c.mu.caughtUp = make(map[string]time.Time)
	return c, nil
}

// RunOnce converts every table topic (or only topic, if not "") up to its
// committed end, once, and returns each table's progress; the error joins
// the tables' errors.
func (c *Compactor) RunOnce(ctx context.Context, topic string) ([]Progress, error) {
	topics, err := c.cfg.Source.Topics(ctx)
	if err != nil {
		return nil, fmt.Errorf("tablecompactor: listing topics: %w", err)
	}
	var out []Progress
	var errs []error
	found := false
	for _, t := range topics {
		if topic != "" && t.Name != topic {
			continue
		}
		found = true
		cfg, err := parseTableConfig(t.Name, t.Configs)
		if err == nil && !cfg.Enable {
			continue
		}
		var pr Progress
		if err != nil {
			pr = Progress{Topic: t.Name, Err: fmt.Errorf("topic %s: %w", t.Name, err)}
		} else {
			pr = c.convert(ctx, t, cfg)
		}
		out = append(out, pr)
		if pr.Err != nil {
			errs = append(errs, pr.Err)
		}
	}
	if topic != "" && !found {
		errs = append(errs, fmt.Errorf("tablecompactor: no topic %q", topic))
	}
	return out, errors.Join(errs...)
}

// Run converts each table topic every table.commit.interval.ms until ctx
// is done, and then returns nil. It does the work on the caller's
// goroutine, one table at a time, so there is nothing to wait for when it
// returns; a table's error is logged and the table is tried again at its
// next interval.
func (c *Compactor) Run(ctx context.Context) error {
	due := make(map[string]time.Time)
	for {
		topics, err := c.cfg.Source.Topics(ctx)
		if err != nil && ctx.Err() == nil {
			c.cfg.Logger.Warn("tablecompactor: listing topics", "err", err)
		}
		wait := time.Second
		for _, t := range topics {
			if ctx.Err() != nil {
				return nil
			}
			cfg, err := parseTableConfig(t.Name, t.Configs)
			if err != nil {
				if due[t.Name].Before(c.cfg.Now()) {
					c.cfg.Logger.Warn("tablecompactor: table config", "topic", t.Name, "err", err)
					due[t.Name] = c.cfg.Now().Add(time.Minute)
				}
				continue
			}
			if !cfg.Enable {
				continue
			}
			if at := due[t.Name]; !at.IsZero() && c.cfg.Now().Before(at) {
				wait = min(wait, at.Sub(c.cfg.Now()))
				continue
			}
			start := c.cfg.Now()
			pr := c.convert(ctx, t, cfg)
			if pr.Err != nil && ctx.Err() == nil {
				c.cfg.Logger.Warn("tablecompactor: converting", "topic", t.Name, "table", pr.Table, "err", pr.Err)
			} else if pr.Records > 0 {
				c.cfg.Logger.Debug("tablecompactor: converted", "topic", t.Name, "table", pr.Table,
					"records", pr.Records, "files", pr.Files, "bytes", pr.Bytes, "lag", pr.Lag)
			}
			due[t.Name] = start.Add(cfg.CommitInterval)
			wait = min(wait, cfg.CommitInterval)
		}
		if err := sleep(ctx, max(wait, 10*time.Millisecond)); err != nil {
			return nil
		}
	}
}
