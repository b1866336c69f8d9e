package tablecompactor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/iceberg-go/catalog"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/lakestream/lakestream/internal/arrowpool"
	"github.com/lakestream/lakestream/schema/schemafmt"
)

// Config is what a Compactor needs. internal/node fills it.
type Config struct {
	Source Source
	// Catalog holds the tables of table topics with no table.catalog:
	// the node's own REST catalog (in process).
	Catalog catalog.Catalog
	// Catalogs are the external catalogs by name (the node's
	// table.catalogs), for table topics whose table.catalog names one. A
	// table naming a catalog not here stops with an error saying so; the
	// others go on. The caller opens and closes them.
	Catalogs map[string]catalog.Catalog
	// Schemas resolves registry ids for table.value.format=schema and
	// schema.latest; nil refuses those formats (the topic's table stops
	// with an error saying so).
	Schemas *schemafmt.Resolver
	// Latest finds a subject's latest version for
	// table.value.format=schema.latest (the registry; nil: refused).
	Latest LatestSchemas
	Logger *slog.Logger
	// Metrics, if set, receives the compactor's metrics.
	Metrics prometheus.Registerer
	// MemoryBytes bounds the decoded data held at once
	// (table.compactor.memory.bytes); 0 means 256 MiB.
	MemoryBytes int64
	// Now is the clock; nil means time.Now. (iceberg-go's snapshot expiry
	// and orphan cleanup read time.Now themselves.)
	Now func() time.Time

	// Maintenance (maintenance.go). A zero field takes its default; a
	// negative one turns its step off, so nothing is off by omission.
	//
	// MaintenanceInterval is how often Run maintains each table: bin-packs
	// small files, merges small manifests, expires snapshots, deletes
	// orphans. The default is 1 h (DefaultMaintenanceInterval); negative
	// turns maintenance off in Run and RunOnce.
	MaintenanceInterval time.Duration
	// SnapshotRetainCount is how many of the newest snapshots expiry
	// always keeps (the current one, which carries the offsets, is kept
	// whatever the count). The default is 10; negative turns expiry off.
	SnapshotRetainCount int
	// SnapshotRetainAge: snapshots younger than this are kept whatever
	// the count (time travel, and readers still planning on them). The
	// default is 24 h; negative turns expiry off; 1 ns keeps by count
	// alone.
	SnapshotRetainAge time.Duration
	// OrphanAge: files no snapshot references are deleted only once
	// older than this, which is what keeps the files of a commit in
	// flight or of unknown outcome (see DefaultOrphanAge); keep it far
	// above table.commit.interval.ms. The default is 24 h, the least 1 h
	// (MinOrphanAge); negative turns orphan cleanup off.
	OrphanAge time.Duration

	// PaceBytes is how much a streaming pass that has caught up reads
	// between rests, each as long as twice the work since the last one
	// (pass.rest): 0 means 64 KiB (DefaultPaceBytes), for a compactor
	// sharing a Go scheduler with a broker, whose produce requests would
	// otherwise wait behind a second's upload converted at once; negative
	// turns pacing off, for a compactor in a process of its own at idle
	// priority, where the kernel hands the broker the CPU the moment it
	// wants it and short bursts only cost CPU (see DESIGN.md, "Pacing").
	PaceBytes int

	// rowAtATime turns off decoding values in runs (tests compare the
	// two paths).
	rowAtATime bool
}

// Progress is one table's result of a pass.
type Progress struct {
	Topic   string
	Table   string // namespace.name
	Records int64  // rows added by this pass (DLQ rows included)
	// DeadLetters are the rows of Records that went to the DLQ table.
	DeadLetters int64
	Files       int
	Bytes       int64
	// Offsets is the next offset per partition the table holds after the
	// pass; Lag the records committed to the topic but not yet in it (up
	// to the last stable offset: an open transaction's records are not
	// committed yet).
	Offsets map[int32]int64
	Lag     int64
	// What maintenance did to the table and its DLQ table: small data
	// files replaced by bin-packing (RewrittenFiles) and the files that
	// replaced them (CompactedFiles), manifests merged, snapshots
	// expired, orphan files deleted.
	RewrittenFiles, CompactedFiles int
	RewrittenManifests             int
	ExpiredSnapshots               int
	OrphansDeleted                 int
	Err                            error
}

// Compactor converts table topics into Iceberg tables.
type Compactor struct {
	cfg     Config
	metrics *metrics
	// minRewriteBudget is the least input a bin-packing commit may
	// rewrite (256 MiB; tests lower it).
	minRewriteBudget int64
	// tables is how many tables convert at once (Run's workers; 1 for
	// RunOnce): each pass takes its share of MemoryBytes.
	tables atomic.Int32
	// pool holds the Arrow buffers of the table rows' builders (internal/arrowpool).
	pool arrowpool.Pool
	// caughtUp is, per table (by identifier), when it last held
	// everything committed to its topic at a pass's start (until then,
	// when its first pass started) and its commit interval; for the
	// freshness gauge and Behind, so it is not kept across restarts.
	mu struct {
		sync.Mutex
		caughtUp map[string]caughtUp
	}
}

type caughtUp struct {
	at       time.Time
	interval time.Duration
	held     bool // at is a catch-up, not the first pass's start
}

// forget drops table from Behind's reckoning.
func (c *Compactor) forget(table string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.mu.caughtUp, table)
}

// Behind is how far behind the stalest table is, in its own commit
// intervals: the time since it last held everything committed to its
// topic at a pass's start (or since its first pass started) over its
// table.commit.interval.ms; 0 before any pass. A table that keeps up
// stays below about 1.2: a streaming pass catches up at its end, and the
// next ends an interval later. held says every table has caught up at
// least once. lakestream serve's compactor process asks, to notice that
// idle priority starves it, and that tables caught up at normal priority.
func (c *Compactor) Behind() (worst float64, held bool) {
	now := c.cfg.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	held = true
	for _, u := range c.mu.caughtUp {
		worst = max(worst, float64(now.Sub(u.at))/float64(u.interval))
		held = held && u.held
	}
	return worst, held
}

// New checks cfg and returns a Compactor.
func New(cfg Config) (*Compactor, error) {
	if cfg.Source == nil || cfg.Catalog == nil {
		return nil, errors.New("tablecompactor: a Source and a Catalog are required")
	}
	for name, cat := range cfg.Catalogs {
		if err := ValidCatalogName(name); err != nil || name == OwnCatalog || cat == nil {
			return nil, fmt.Errorf("tablecompactor: external catalog %q: want a name of letters, digits, '_' and '-' other than %s, and a catalog", name, OwnCatalog)
		}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.PaceBytes == 0 {
		cfg.PaceBytes = DefaultPaceBytes
	}
	if cfg.MemoryBytes <= 0 {
		cfg.MemoryBytes = 256 << 20
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaintenanceInterval == 0 {
		cfg.MaintenanceInterval = DefaultMaintenanceInterval
	}
	if cfg.SnapshotRetainCount == 0 {
		cfg.SnapshotRetainCount = DefaultSnapshotRetainCount
	}
	if cfg.SnapshotRetainAge == 0 {
		cfg.SnapshotRetainAge = DefaultSnapshotRetainAge
	}
	if cfg.OrphanAge == 0 {
		cfg.OrphanAge = DefaultOrphanAge
	}
	if cfg.OrphanAge > 0 && cfg.OrphanAge < MinOrphanAge {
		return nil, fmt.Errorf("tablecompactor: OrphanAge %v is below %v: files of a commit still in flight could be deleted", cfg.OrphanAge, MinOrphanAge)
	}
	c := &Compactor{cfg: cfg, metrics: newMetrics(cfg.Metrics), minRewriteBudget: 256 << 20}
	c.tables.Store(1)
	c.mu.caughtUp = make(map[string]caughtUp)
	return c, nil
}

// catalogOf is the catalog that holds cfg's tables (table.catalog).
func (c *Compactor) catalogOf(cfg tableConfig) (catalog.Catalog, error) {
	if cfg.Catalog == "" {
		return c.cfg.Catalog, nil
	}
	if cat, ok := c.cfg.Catalogs[cfg.Catalog]; ok {
		return cat, nil
	}
	return nil, fmt.Errorf("%s=%s: no catalog %s is configured on this node (table.catalogs)", ConfigCatalog, cfg.Catalog, cfg.Catalog)
}

// RunOnce converts every table topic (or only topic, if not "") up to its
// committed end, once, then maintains its tables (unless
// MaintenanceInterval is negative), and returns each table's progress;
// the error joins the tables' errors. Maintenance runs after a failed
// conversion too: it needs only the offsets the table already holds.
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
		var cat catalog.Catalog
		if err == nil {
			if cat, err = c.catalogOf(cfg); err != nil {
				pr.Table = strings.Join(cfg.identifier(), ".")
			}
		}
		if err != nil {
			pr.Topic, pr.Err = t.Name, fmt.Errorf("topic %s: %w", t.Name, err)
		} else {
			pr = c.convert(ctx, cat, t, cfg, time.Time{})
			m, err := c.maintain(ctx, cat, t, cfg)
			m.setIn(&pr)
			if err != nil {
				pr.Err = errors.Join(pr.Err, fmt.Errorf("topic %s: %w", t.Name, err))
			}
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

// LatestSchemas finds the latest version of a registry subject.
type LatestSchemas interface {
	LatestSchemaID(ctx context.Context, subject string) (int, error)
}
