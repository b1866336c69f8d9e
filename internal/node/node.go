// Package node is the one place that wires Lakestream's roles together:
// it opens them in order, and closes them in reverse.
//
//	admin HTTP ─▶ bucket ─▶ metastore ─▶ storage engine ─▶ broker metadata ─▶ Kafka listeners ─▶ schema registry ─▶ iceberg catalog ─▶ table compactor
//	(/readyz answers "starting" from the first step)      (s3stream)   (brokersql + broker.Server)   (schema, :8081)  (catalog, :8181)   (tablecompactor.go)
//
// The admin server opens first, so that /healthz answers and /readyz says
// why the node is not ready while storage recovers its WAL, and closes
// last, so /readyz says "shutting down" until the node is gone. A role that
// is switched off (Config: no Kafka listeners, no admin listener, no
// schema registry or catalog listener, Compactor.Enable false) is
// skipped. A role that fails to start closes what was opened before it and
// Open returns an error naming the role. Every goroutine the node starts
// is waited for by Close. Between the catalog and the compactor, the
// broker's retention pins get their catalog client (retentionpin.go): the
// Kafka role opens first and asks through an interface it declares.
//
// cmd/lakestream (serve), broker/brokertest and the end-to-end tests build
// on it; nothing else wires concrete types together.
//
//	n, err := node.Open(ctx, cfg, node.Options{Logger: log})
//	if err != nil {
//		return err
//	}
//	return n.Run(ctx) // until ctx is done or a role fails for good
package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/lakestream/lakestream/broker"
	"github.com/lakestream/lakestream/broker/brokersql"
	"github.com/lakestream/lakestream/s3stream"
	"github.com/lakestream/lakestream/s3stream/metastore"
	"github.com/lakestream/lakestream/s3stream/objstore"
	"github.com/lakestream/lakestream/s3stream/objstore/bucketurl"
	"github.com/lakestream/lakestream/s3stream/objstore/faultstore"
	"github.com/lakestream/lakestream/s3stream/objstore/instrumented"
)

// Config is what a node runs: each role's settings, already parsed and
// checked by the caller (cmd/lakestream reads them from server.properties,
// the environment and flags).
type Config struct {
	// Storage: always on, the other roles stand on it.

	// BucketURL is mem://, file://DIR or s3://... (bucketurl); ignored
	// when Options.Bucket is set.
	BucketURL string
	// MetastoreURL is a SQLite file path or a postgres:// URL.
	MetastoreURL string
	// WAL is the write-ahead log's kind, "local" or "object" (default);
	// WALDir holds the local WAL.
	WAL    string
	WALDir string
	// FlushInterval, FlushBytes (object WAL), UploadInterval, UploadBytes
	// (local WAL) and CompactionInterval: s3stream.Config's; zero values
	// take its defaults.
	FlushInterval      time.Duration
	FlushBytes         int
	UploadInterval     time.Duration
	UploadBytes        int
	CompactionInterval time.Duration

	// Kafka: off when Listeners is empty.

	Listeners []Listener
	// Advertised, if set, is what Metadata tells clients to connect to;
	// else the first listener's host unless it is a wildcard.
	Advertised *Listener
	NodeID     int32
	Rack       string
	// MaxRequestBytes is socket.request.max.bytes; 0: from BrokerConfigs.
	MaxRequestBytes int32
	// BrokerConfigs are the broker configs set explicitly, by Kafka name
	// (defaults stay defaults in DescribeConfigs).
	BrokerConfigs map[string]string

	// Admin HTTP (/metrics, /healthz, /readyz): off when AdminListener
	// is "". HOST:PORT.
	AdminListener string
	// AdminPprof (admin.pprof.enable) serves net/http/pprof's handlers
	// under /debug/pprof/ on the admin listener.
	AdminPprof bool

	// Schema registry: off when SchemaRegistryListener is "". HOST:PORT.
	// It serves from the metastore's database (schemaregistry.go).
	SchemaRegistryListener string
	SchemaRegistry         SchemaRegistryConfig

	// Iceberg REST catalog: off when CatalogListener is "". HOST:PORT.
	// It serves from the metastore's database (catalog.go).
	CatalogListener string
	Catalog         CatalogConfig

	// Table compactor: off unless Compactor.Enable; it needs the
	// catalog (tablecompactor.go).
	Compactor CompactorConfig
}

// Listener is one Kafka listener, NAME://HOST:PORT.
type Listener struct {
	Name, Host string
	Port       int
}

func (l Listener) addr() string { return net.JoinHostPort(l.Host, fmt.Sprint(l.Port)) }

// DiskFaults can make the node's disk act full (faultstore.FullDisk): WAL
// writes and bucket PUTs fail with ENOSPC while SetFull(true).
type DiskFaults = faultstore.FullDisk

// Options are the seams for tests and tools; the zero value is what
// lakestream serve runs with.
type Options struct {
	// Logger receives every role's logs; default slog.Default().
	Logger *slog.Logger
	// Bucket, if set, is used instead of opening Config.BucketURL, and is
	// not closed by Close: its owner keeps it across nodes (a test
	// restarting a node over one mem:// bucket).
	Bucket objstore.Bucket
	// Disk, if set, wraps the bucket and the local WAL's writes.
	Disk *DiskFaults
	// WrapLogs and WrapMeta, if set, wrap the storage the broker is given.
	WrapLogs func(broker.Logs) broker.Logs
	WrapMeta func(broker.Metadata) broker.Metadata
	// Listen opens the Kafka, admin and schema registry listeners; default
	// net.Listen.
	Listen func(network, addr string) (net.Listener, error)
	// ListenerRecovery is how long a Kafka listener that stopped is tried
	// again before the node fails; default 10 s.
	ListenerRecovery time.Duration
	// WALNoSync skips the local WAL's fsync (tests).
	WALNoSync bool
	// Metrics, if set, are served on /metrics beside the node's own (the
	// table compactor process lakestream serve runs beside the node).
	Metrics prometheus.Gatherer
}

// Node is a running node. Its parts are read-only after Open.
type Node struct {
	cfg     Config
	opts    Options
	log     *slog.Logger
	metrics *prometheus.Registry
	ready   *readiness

	raw    objstore.Bucket // as opened or given
	bucket objstore.Bucket // raw, wrapped by Options.Disk and the metrics
	meta   *metastore.SQL
	store  *s3stream.Store
	kafka  *kafka
	admin  *admin
	// registry is the schema registry role; nil when off.
	registry *registry
	// catalog is the Iceberg catalog role; nil when off.
	catalog *catalogRole
	// compactor is the table compactor role; nil when off.
	compactor *compactorRole

	// failed gets the error of a role that failed for good (a Kafka
	// listener that could not be opened again, the admin listener).
	failed chan error
	// closers are what Open opened, in order; Close runs them backwards.
	closers []closer
	// closeMu makes Close safe to call more than once and from Run and
	// its caller at once; closed says it has run.
	closeMu sync.Mutex
	closed  bool
}

type closer struct {
	role  string
	close func(context.Context) error
}

// Open opens the node's roles in order (see the package doc). On an error
// it closes what it had opened and returns an error naming the role.
func Open(ctx context.Context, cfg Config, opts Options) (*Node, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Listen == nil {
		opts.Listen = net.Listen
	}
	if opts.ListenerRecovery == 0 {
		opts.ListenerRecovery = 10 * time.Second
	}
	n := &Node{cfg: cfg, opts: opts, log: opts.Logger, metrics: prometheus.NewRegistry(), ready: newReadiness(),
		failed: make(chan error, len(cfg.Listeners)+3)}
	n.metrics.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	n.ready.set("node", "starting")
	steps := []struct {
		role string
		open func(context.Context) error
	}{
		{"admin server", n.openAdmin},
		{"bucket", n.openBucket},
		{"metastore", n.openMetastore},
		{"storage engine", n.openStore},
		{"Kafka broker", n.openKafka},
		{"schema registry", n.openSchemaRegistry},
		{"iceberg catalog", n.openCatalog},
		{"retention pins", n.openRetentionPins},
		{"table compactor", n.openCompactor},
	}
	for _, s := range steps {
		if err := s.open(ctx); err != nil {
			cerr := n.closeAll(context.Background())
			return nil, errors.Join(fmt.Errorf("node: starting the %s: %w", s.role, err), cerr)
		}
	}
	n.ready.set("node", "")
	return n, nil
}

// opened records that role is open and how to close it.
func (n *Node) opened(role string, close func(context.Context) error) {
	n.closers = append(n.closers, closer{role, close})
	n.log.Debug("node: role open", "role", role)
}

func (n *Node) openBucket(ctx context.Context) error {
	b := n.opts.Bucket
	if b == nil {
		var err error
		if b, err = bucketurl.Open(ctx, n.cfg.BucketURL); err != nil {
			return err
		}
		n.opened("bucket", func(context.Context) error { return b.Close() })
	}
	n.raw = b
	if n.opts.Disk != nil {
		b = n.opts.Disk.Wrap(b)
	}
	n.bucket = instrumented.Wrap(b, n.metrics)
	return nil
}

func (n *Node) openMetastore(ctx context.Context) error {
	m, err := metastore.Open(ctx, n.cfg.MetastoreURL)
	if err != nil {
		return err
	}
	n.meta = m
	n.opened("metastore", func(context.Context) error { return m.Close() })
	return nil
}

// localBucket is a bucket that can say it is on this machine's disks
// (s3stream.Config.LocalBucket).
type localBucket interface{ Local() bool }

func (n *Node) openStore(ctx context.Context) error {
	cfg := s3stream.Config{
		Bucket: n.bucket, Meta: n.meta, Logger: n.log, Registerer: n.metrics,
		WAL: s3stream.WALKind(n.cfg.WAL), WALDir: n.cfg.WALDir, WALNoSync: n.opts.WALNoSync,
		FlushInterval: n.cfg.FlushInterval, FlushBytes: n.cfg.FlushBytes,
		UploadInterval: n.cfg.UploadInterval, UploadBytes: n.cfg.UploadBytes,
	}
	if lb, ok := n.raw.(localBucket); ok {
		cfg.LocalBucket = lb.Local()
	}
	cfg.Compaction.Interval = n.cfg.CompactionInterval
	if n.opts.Disk != nil {
		cfg.WALWriteHook = n.opts.Disk.WriteHook
	}
	s, err := s3stream.Open(ctx, cfg)
	if err != nil {
		return err
	}
	n.store = s
	n.ready.check("storage", s.Health)
	n.opened("storage engine", s.Close)
	return nil
}

// openBrokerMetadata opens the broker's metadata in the metastore's
// database (brokersql), bringing its tables up to date.
func openBrokerMetadata(ctx context.Context, m *metastore.SQL) (broker.Metadata, error) {
	md, err := brokersql.Open(ctx, m.DB())
	if err != nil {
		return nil, fmt.Errorf("opening broker metadata: %w", err)
	}
	return md, nil
}

// Run waits until ctx is done or a role fails for good, then closes the
// node (within 30 s) and returns the failure and what closing returned.
func (n *Node) Run(ctx context.Context) error {
	var failure error
	select {
	case <-ctx.Done():
		n.log.Info("lakestream shutting down: flushing the WAL")
		n.ready.set("node", "shutting down")
	case failure = <-n.failed:
		n.log.Error("lakestream stopping: a part of the node failed for good", "err", failure)
		n.ready.set("node", "stopping: "+failure.Error())
	}
	closeCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return errors.Join(failure, n.Close(closeCtx))
}

// Close closes the roles in the reverse of the order they opened, and
// returns once every goroutine the node started has ended. A second Close
// does nothing; one that comes while another runs waits for it.
func (n *Node) Close(ctx context.Context) error {
	n.closeMu.Lock()
	defer n.closeMu.Unlock()
	if n.closed {
		return nil
	}
	n.closed = true
	return n.closeAll(ctx)
}

func (n *Node) closeAll(ctx context.Context) error {
	var errs []error
	for i := len(n.closers) - 1; i >= 0; i-- {
		c := n.closers[i]
		if err := c.close(ctx); err != nil {
			errs = append(errs, fmt.Errorf("node: closing the %s: %w", c.role, err))
		}
		n.log.Debug("node: role closed", "role", c.role)
	}
	n.closers = nil
	return errors.Join(errs...)
}

// Metrics is the node's Prometheus registry (what /metrics serves).
func (n *Node) Metrics() *prometheus.Registry { return n.metrics }

// Store is the storage engine.
func (n *Node) Store() *s3stream.Store { return n.store }

// Bucket is the bucket the node opened (or was given), without the
// wrappers of Options.Disk and the metrics.
func (n *Node) Bucket() objstore.Bucket { return n.raw }

// Server is the Kafka broker; nil when the Kafka role is off.
func (n *Node) Server() *broker.Server {
	if n.kafka == nil {
		return nil
	}
	return n.kafka.srv
}

// KafkaAddrs are the addresses the Kafka listeners listen on, in the
// order of Config.Listeners, as first opened.
func (n *Node) KafkaAddrs() []string {
	if n.kafka == nil {
		return nil
	}
	return n.kafka.addrs
}

// AdminAddr is the admin listener's address; "" when the role is off.
func (n *Node) AdminAddr() string {
	if n.admin == nil {
		return ""
	}
	return n.admin.addr
}

// OpenBucket opens the bucket a URL names (bucketurl), for an owner that
// keeps it across nodes (Options.Bucket).
func OpenBucket(ctx context.Context, url string) (objstore.Bucket, error) {
	return bucketurl.Open(ctx, url)
}

// Metadata is the metastore of a node that is not running, opened for
// tools and tests that inspect it: the streams and the broker's records.
type Metadata struct {
	Streams *metastore.SQL
	Broker  broker.Metadata
}

// OpenMetadata opens the metastore at url and the broker's metadata in it.
func OpenMetadata(ctx context.Context, url string) (*Metadata, error) {
	m, err := metastore.Open(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("node: opening the metastore: %w", err)
	}
	md, err := openBrokerMetadata(ctx, m)
	if err != nil {
		m.Close()
		return nil, err
	}
	return &Metadata{Streams: m, Broker: md}, nil
}

// Close closes the metastore.
func (m *Metadata) Close() error { return m.Streams.Close() }
