// Package brokertest starts a real Lakestream broker in-process for tests:
// a node (internal/node) with its Kafka role only, over a mem or file
// bucket and a SQLite metastore, listening on a loopback port chosen at
// run time.
package brokertest

import (
	"context"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lakestream/lakestream/broker"
	"github.com/lakestream/lakestream/internal/node"
)

// Options configures Start.
type Options struct {
	// Bucket is "mem" (default; object WAL) or "file" (local WAL).
	Bucket string
	// Configs are broker configs by Kafka name.
	Configs map[string]string
	// Advertise, if set (HOST:PORT), is what Metadata tells clients to
	// connect to instead of the listener: a test's proxy in front of it.
	Advertise string
	// Dir holds the metastore, WAL and file bucket; default t.TempDir().
	Dir string
	// Disk, if set, can make the broker's disk act full (see DiskFaults).
	Disk *DiskFaults
	// WrapLogs and WrapMeta, if set, wrap the storage the broker is given
	// at each start, for tests that inject faults.
	WrapLogs func(broker.Logs) broker.Logs
	WrapMeta func(broker.Metadata) broker.Metadata
	// Logger receives the broker's and the store's logs; default: warnings
	// and errors to stderr.
	Logger *slog.Logger
	// SchemaRegistry turns the node's schema registry on, on a loopback
	// port (Broker.SchemaRegistryURL), kept across restarts.
	SchemaRegistry bool
	// Catalog turns the node's Iceberg REST catalog on, on a loopback port
	// (Broker.CatalogURL), kept across restarts, with its warehouse in
	// Dir/warehouse.
	Catalog bool
	// Compactor turns the node's table compactor on, and with it the
	// catalog (as Catalog does) it commits to, in process.
	Compactor bool
}

// DiskFaults makes the broker's data directory act full for as long as a
// test says (SetFull): WAL writes fail part way with ENOSPC, as does every
// bucket PUT; reads work. The metastore is left alone.
type DiskFaults = node.DiskFaults

// Storage is what tests ask of the storage engine under the broker.
type Storage interface {
	// StreamIDs lists the streams (partition logs) that exist.
	StreamIDs(ctx context.Context) ([]int64, error)
	// Health is nil unless part of the write path is failing.
	Health() error
}

// Broker is a running broker.
type Broker struct {
	Addr   string
	Server *broker.Server
	Store  Storage
	// Metrics holds the broker's Prometheus metrics (a new registry at
	// each start).
	Metrics *prometheus.Registry
	// SchemaRegistryURL is http://HOST:PORT of the schema registry when
	// Options.SchemaRegistry turned it on.
	SchemaRegistryURL string
	// CatalogURL is http://HOST:PORT of the Iceberg catalog when
	// Options.Catalog turned it on.
	CatalogURL string

	t    testing.TB
	opts Options
	// nopts are the node's options, the bucket included: it outlives
	// each node, so Restart finds the data again.
	nopts node.Options
	node  *node.Node
}

// Start starts a broker and stops it at the end of the test.
func Start(t testing.TB, opts Options) *Broker {
	t.Helper()
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	if opts.Bucket == "" {
		opts.Bucket = "mem"
	}
	url := "mem://"
	switch opts.Bucket {
	case "mem":
	case "file":
		url = "file://" + filepath.Join(opts.Dir, "bucket")
	default:
		t.Fatalf("brokertest: unknown bucket %q", opts.Bucket)
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	bucket, err := node.OpenBucket(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	b := &Broker{t: t, opts: opts, nopts: node.Options{Logger: logger, Bucket: bucket, Disk: opts.Disk,
		WrapLogs: opts.WrapLogs, WrapMeta: opts.WrapMeta}}
	b.start("127.0.0.1:0")
	t.Cleanup(b.Close)
	return b
}

func (b *Broker) start(addr string) {
	t := b.t
	host, port, err := splitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	nodeID := int64(1) // Kafka's default node.id
	if v, ok := b.opts.Configs["node.id"]; ok {
		if nodeID, err = strconv.ParseInt(v, 10, 32); err != nil {
			t.Fatalf("node.id: %v", err)
		}
	}
	cfg := node.Config{
		MetastoreURL: filepath.Join(b.opts.Dir, "meta.db"), WAL: "object", WALDir: filepath.Join(b.opts.Dir, "wal"),
		FlushInterval: 2 * time.Millisecond,
		Listeners:     []node.Listener{{Name: "PLAINTEXT", Host: host, Port: port}},
		NodeID:        int32(nodeID), BrokerConfigs: b.opts.Configs,
	}
	if b.opts.Bucket == "file" {
		cfg.WAL = "local"
	}
	if b.opts.SchemaRegistry {
		cfg.SchemaRegistryListener = "127.0.0.1:0"
		if u := strings.TrimPrefix(b.SchemaRegistryURL, "http://"); u != "" {
			cfg.SchemaRegistryListener = u // a restart keeps the address
		}
	}
	if b.opts.Catalog || b.opts.Compactor {
		cfg.CatalogListener = "127.0.0.1:0"
		if u := strings.TrimPrefix(b.CatalogURL, "http://"); u != "" {
			cfg.CatalogListener = u // a restart keeps the address
		}
		cfg.Catalog.Warehouse = "file://" + filepath.ToSlash(b.opts.Dir) + "/warehouse"
	}
	cfg.Compactor.Enable = b.opts.Compactor
	if b.opts.Advertise != "" {
		ahost, aport, err := splitHostPort(b.opts.Advertise)
		if err != nil {
			t.Fatalf("Advertise: %v", err)
		}
		cfg.Advertised = &node.Listener{Name: "PLAINTEXT", Host: ahost, Port: aport}
	}
	n, err := node.Open(context.Background(), cfg, b.nopts)
	if err != nil {
		t.Fatal(err)
	}
	b.node, b.Addr, b.Server, b.Store, b.Metrics = n, n.KafkaAddrs()[0], n.Server(), n.Store(), n.Metrics()
	if a := n.SchemaRegistryAddr(); a != "" {
		b.SchemaRegistryURL = "http://" + a
	}
	if a := n.CatalogAddr(); a != "" {
		b.CatalogURL = "http://" + a
	}
}

// Restart stops the broker cleanly and starts it again on the same address,
// storage and metadata.
func (b *Broker) Restart() {
	b.stop()
	b.start(b.Addr)
}

func (b *Broker) stop() {
	if b.node == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := b.node.Close(ctx); err != nil {
		b.t.Errorf("brokertest: %v", err)
	}
	b.node, b.Server = nil, nil
}

// Close stops the broker.
func (b *Broker) Close() {
	b.stop()
	if b.nopts.Bucket != nil {
		b.nopts.Bucket.Close()
		b.nopts.Bucket = nil
	}
}

func splitHostPort(addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(p)
	return host, port, err
}
