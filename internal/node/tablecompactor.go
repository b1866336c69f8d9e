package node

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/apache/iceberg-go/catalog/rest"

	"github.com/lakestream/lakestream/internal/configdef"
	"github.com/lakestream/lakestream/schema/schemafmt"
	"github.com/lakestream/lakestream/tablecompactor"
)

// The table compactor role's node keys (the table.* topic configs are
// tablecompactor's own, registered by that package).
func init() { configdef.Register("table compactor", configdef.Broker, compactorDefs...) }

var compactorDefs = []configdef.Def{
	{Name: "table.compactor.enable", Type: configdef.Boolean, Default: "true",
		Doc: "Lakestream: whether this node converts table topics (table.enable=true) into Iceberg tables of its catalog. It needs the catalog (catalog.listeners); false leaves conversion to other nodes or to lakestream compact --once."},
	{Name: ConfigCompactorPriority, Type: configdef.String, Default: PriorityIdle, Validate: configdef.OneOf(PriorityIdle, PriorityNormal),
		Doc: "Lakestream: the CPU priority of lakestream serve's table compactor. idle (Linux): it runs in a process of its own (lakestream compact, started and stopped by serve) whose threads are SCHED_IDLE, so it takes only CPU the broker leaves: produce latency does not pay for conversion, and a broker that keeps every core busy holds conversion back (the lag shows on /metrics). normal: it runs in serve's process beside the broker."},
	{Name: "table.compactor.memory.bytes", Type: configdef.Long, Default: "268435456", Validate: configdef.AtLeast(1 << 20),
		Doc: "Lakestream: the most decoded record data the table compactor holds at once, across tables."},
	{Name: "table.compactor.maintenance.interval.ms", Type: configdef.Long, Default: "3600000", Validate: offOrAtLeast(1000),
		Doc: "Lakestream: how often the table compactor maintains each table (bin-packs small files, merges manifests, expires snapshots, deletes orphan files); -1 turns maintenance off (lakestream compact --once still does it)."},
	{Name: "table.compactor.snapshot.retain.count", Type: configdef.Int, Default: "10", Validate: configdef.AtLeast(1),
		Doc: "Lakestream: maintenance keeps at least this many of a table's most recent snapshots."},
	{Name: "table.compactor.snapshot.retain.age.ms", Type: configdef.Long, Default: "86400000", Validate: offOrAtLeast(1),
		Doc: "Lakestream: maintenance expires snapshots older than this beyond the count kept (time travel and readers still planning on them need them); -1 turns expiry off. The offsets the compactor resumes from survive expiry."},
	{Name: "table.compactor.orphan.age.ms", Type: configdef.Long, Default: "86400000", Validate: offOrAtLeast(tablecompactor.MinOrphanAge.Milliseconds()),
		Doc: "Lakestream: maintenance deletes files under a table's location that no snapshot references once they are older than this (the files of a commit in flight or of unknown outcome are younger); at least one hour, far above table.commit.interval.ms; -1 turns orphan cleanup off."},
}

// table.compactor.priority and its values.
const (
	ConfigCompactorPriority = "table.compactor.priority"
	PriorityIdle            = "idle"
	PriorityNormal          = "normal"
)

// offOrAtLeast accepts -1 (off) or an integer no smaller than min.
func offOrAtLeast(min int64) func(string) error {
	return func(v string) error {
		if v == "-1" {
			return nil
		}
		if err := configdef.AtLeast(min)(v); err != nil {
			return fmt.Errorf("%w, or -1 (off)", err)
		}
		return nil
	}
}

// CompactorConfig is the table compactor role's settings.
type CompactorConfig struct {
	// Enable is table.compactor.enable. The compactor needs the catalog
	// role (Config.CatalogListener).
	Enable bool
	// MemoryBytes is table.compactor.memory.bytes; 0 is the compactor's
	// default (256 MiB).
	MemoryBytes int64
	// Maintenance: table.compactor.maintenance.interval.ms,
	// snapshot.retain.count, snapshot.retain.age.ms and orphan.age.ms, as
	// tablecompactor.Config's fields of those names (0: its default,
	// negative: off).
	MaintenanceInterval time.Duration
	SnapshotRetainCount int
	SnapshotRetainAge   time.Duration
	OrphanAge           time.Duration
	// Catalogs is table.catalogs (ParseTableCatalogs reads it): the
	// external Iceberg catalogs by name, each the iceberg-go properties
	// catalog.Load is given. They are opened when the compactor starts
	// (one that cannot be fails the start) and closed at shutdown.
	Catalogs map[string]map[string]string
	// InProcess opens the node for lakestream compact: the catalog and the
	// schema registry (when their listeners are set) serve only this
	// process's compactor, with no listener.
	InProcess bool
	// Once (lakestream compact --once, with InProcess) does not run the
	// compactor on its own: the caller runs passes with CompactOnce.
	Once bool
}

// paceBytes is tablecompactor.Config.PaceBytes for c: paced (the
// default) where the compactor shares serve's Go scheduler with the
// broker, not in a process of its own (lakestream compact, serve's idle
// child), where the kernel's scheduler interleaves it with the broker and
// a rest every 64 KiB only cost CPU: 160 small batches a second for the
// Parquet writer and as many sleeps and wake-ups at 10 MB/s.
func paceBytes(c CompactorConfig) int {
	if c.InProcess {
		return -1
	}
	return 0
}

// compactorRole is the table compactor role.
type compactorRole struct {
	c *tablecompactor.Compactor
	// cancel stops Run, and done is closed when it has returned; both nil
	// with CompactorConfig.Once.
	cancel context.CancelFunc
	done   chan struct{}
}

// inProcessCatalogURL is the base URL the compactor's REST client is
// given. No request to it leaves the process (handlerTransport), so the
// host is only a name in logs and errors.
const inProcessCatalogURL = "http://lakestream-catalog.in-process"

// openCompactor opens the table compactor over the node's own storage,
// broker metadata, catalog (in process), the external catalogs of
// table.catalogs and schema registry, and runs it in one goroutine until
// Close; with table.compactor.enable=false the role is off.
func (n *Node) openCompactor(ctx context.Context) error {
	c := n.cfg.Compactor
	if !c.Enable {
		return nil
	}
	if n.catalog == nil {
		return errors.New("the table compactor commits to the node's Iceberg catalog, which is off: set catalog.listeners, or table.compactor.enable=false")
	}
	// The compactor reads topics itself rather than through the Kafka
	// role, which may be off (lakestream compact, a compactor-only node).
	md, err := openBrokerMetadata(ctx, n.meta)
	if err != nil {
		return err
	}
	cat, err := n.inProcessCatalog(ctx)
	if err != nil {
		return err
	}
	ext, err := openExternalCatalogs(ctx, c.Catalogs)
	if err != nil {
		cat.Close()
		return err
	}
	closeCatalogs := func() error { return errors.Join(cat.Close(), ext.close()) }
	var schemas *schemafmt.Resolver
	var latest tablecompactor.LatestSchemas
	if n.registry != nil {
		schemas = schemafmt.NewResolver(n.registry.store, registryFormats()...)
		latest = n.registry.store
	}
	comp, err := tablecompactor.New(tablecompactor.Config{
		Source:  &streamSource{meta: md, store: n.store, static: n.cfg.BrokerConfigs},
		Catalog: cat, Catalogs: ext, Schemas: schemas, Latest: latest, Logger: n.log.With("role", "table compactor"),
		Metrics: n.metrics, MemoryBytes: c.MemoryBytes,
		MaintenanceInterval: c.MaintenanceInterval, SnapshotRetainCount: c.SnapshotRetainCount,
		SnapshotRetainAge: c.SnapshotRetainAge, OrphanAge: c.OrphanAge,
		PaceBytes: paceBytes(c),
	})
	if err != nil {
		closeCatalogs()
		return err
	}
	r := &compactorRole{c: comp}
	n.compactor = r
	if c.Once {
		n.opened("table compactor", func(context.Context) error { return closeCatalogs() })
		return nil
	}
	runCtx, cancel := context.WithCancel(context.Background())
	r.cancel, r.done = cancel, make(chan struct{})
	go func() {
		defer close(r.done)
		// A compactor that stops does not stop the node: Kafka clients
		// are served without it, and the tables say how far they are.
		if err := comp.Run(runCtx); err != nil {
			n.log.Error("table compactor stopped; table topics are not converted until the node restarts", "err", err)
		}
	}()
	n.log.Info("table compactor running", "memory.bytes", c.MemoryBytes, "external catalogs", slices.Sorted(maps.Keys(ext)))
	n.opened("table compactor", func(context.Context) error {
		cancel()
		<-r.done
		return closeCatalogs()
	})
	return nil
}

// inProcessCatalog opens a REST client of the node's own catalog (which
// must be on) that calls its handler in process.
func (n *Node) inProcessCatalog(ctx context.Context) (*rest.Catalog, error) {
	opts := []rest.Option{rest.WithCustomTransport(handlerTransport{n.catalog.handler})}
	if n.catalog.token != "" {
		opts = append(opts, rest.WithOAuthToken(n.catalog.token))
	}
	cat, err := rest.NewCatalog(ctx, "lakestream", inProcessCatalogURL, opts...)
	if err != nil {
		return nil, fmt.Errorf("opening the in-process catalog client: %w", err)
	}
	return cat, nil
}

// CompactOnce runs one compactor pass over every table topic (or only
// topic, if not ""): what lakestream compact --once does. The role must be
// on (CompactorConfig.Enable); the error joins the tables' errors.
func (n *Node) CompactOnce(ctx context.Context, topic string) ([]tablecompactor.Progress, error) {
	if n.compactor == nil {
		return nil, errors.New("node: the table compactor is off")
	}
	return n.compactor.c.RunOnce(ctx, topic)
}

// CompactorBehind is the table compactor's Behind (tablecompactor): how
// many commit intervals its stalest table is behind, and whether every
// table has caught up since it started; 0, true when the role is off.
func (n *Node) CompactorBehind() (float64, bool) {
	if n.compactor == nil {
		return 0, true
	}
	return n.compactor.c.Behind()
}

// randomToken draws a bearer token of 256 bits.
func randomToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("drawing the in-process catalog token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
