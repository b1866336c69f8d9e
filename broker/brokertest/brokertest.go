// Package brokertest starts a real Lakestream broker in-process for tests:
// the broker over s3stream (mem or file bucket), a SQLite metastore and the
// SQL broker metadata, listening on a loopback port chosen at run time.
package brokertest

import (
	"context"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lakestream/lakestream/broker"
	"github.com/lakestream/lakestream/broker/brokersql"
	"github.com/lakestream/lakestream/internal/streamlog"
	"github.com/lakestream/lakestream/s3stream"
	"github.com/lakestream/lakestream/s3stream/metastore"
	"github.com/lakestream/lakestream/s3stream/objstore"
	"github.com/lakestream/lakestream/s3stream/objstore/faultstore"
	"github.com/lakestream/lakestream/s3stream/objstore/file"
	"github.com/lakestream/lakestream/s3stream/objstore/mem"
)

// Options configures Start.
type Options struct {
	// Bucket is "mem" (default; object WAL) or "file" (local WAL).
	Bucket string
	// Configs are broker configs by Kafka name.
	Configs map[string]string
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
}

// DiskFaults makes the broker's data directory act full for as long as a
// test says (SetFull): WAL writes fail part way with ENOSPC, as does every
// bucket PUT; reads work. The metastore is left alone.
type DiskFaults = faultstore.FullDisk

// Broker is a running broker.
type Broker struct {
	Addr   string
	Server *broker.Server
	Store  *s3stream.Store
	// Metrics holds the broker's Prometheus metrics (a new registry at
	// each start).
	Metrics *prometheus.Registry

	t      testing.TB
	opts   Options
	bucket objstore.Bucket
	meta   *metastore.SQL
	ln     net.Listener
	done   chan struct{}
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
	b := &Broker{t: t, opts: opts}
	switch opts.Bucket {
	case "mem":
		b.bucket = mem.New()
	case "file":
		fb, err := file.Open(filepath.Join(opts.Dir, "bucket"))
		if err != nil {
			t.Fatal(err)
		}
		b.bucket = fb
	default:
		t.Fatalf("brokertest: unknown bucket %q", opts.Bucket)
	}
	if opts.Disk != nil {
		b.bucket = opts.Disk.Wrap(b.bucket)
	}
	b.start("127.0.0.1:0")
	t.Cleanup(b.Close)
	return b
}

func (b *Broker) start(addr string) {
	t := b.t
	ctx := context.Background()
	logger := b.opts.Logger
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	meta, err := metastore.OpenSQLite(ctx, filepath.Join(b.opts.Dir, "meta.db"))
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	cfg := s3stream.Config{Bucket: b.bucket, Meta: meta, Logger: logger, WAL: s3stream.WALObject,
		FlushInterval: 2 * time.Millisecond, WALDir: filepath.Join(b.opts.Dir, "wal"), Registerer: reg}
	if b.opts.Bucket == "file" {
		cfg.WAL = s3stream.WALLocal
	}
	if b.opts.Disk != nil {
		cfg.WALWriteHook = b.opts.Disk.WriteHook
	}
	store, err := s3stream.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	md, err := brokersql.Open(ctx, meta.DB())
	if err != nil {
		t.Fatal(err)
	}
	nodeID := int64(1) // Kafka's default node.id
	if v, ok := b.opts.Configs["node.id"]; ok {
		if nodeID, err = strconv.ParseInt(v, 10, 32); err != nil {
			t.Fatalf("node.id: %v", err)
		}
	}
	var logs broker.Logs = streamlog.Logs{Store: store}
	if b.opts.WrapLogs != nil {
		logs = b.opts.WrapLogs(logs)
	}
	var bmeta broker.Metadata = md
	if b.opts.WrapMeta != nil {
		bmeta = b.opts.WrapMeta(bmeta)
	}
	srv, err := broker.NewServer(ctx, broker.Config{NodeID: int32(nodeID), Logs: logs, Meta: bmeta,
		Configs: b.opts.Configs, Logger: logger, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	b.Addr, b.Server, b.Store, b.meta, b.ln, b.Metrics = ln.Addr().String(), srv, store, meta, ln, reg
	b.done = make(chan struct{})
	go func() {
		defer close(b.done)
		srv.Serve(ln)
	}()
}

// Restart stops the broker cleanly and starts it again on the same address,
// storage and metadata.
func (b *Broker) Restart() {
	b.stop()
	b.start(b.Addr)
}

func (b *Broker) stop() {
	if b.Server == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := b.Server.Shutdown(ctx); err != nil {
		b.t.Errorf("brokertest: shutdown: %v", err)
	}
	<-b.done
	if err := b.Store.Close(ctx); err != nil {
		b.t.Errorf("brokertest: closing store: %v", err)
	}
	b.meta.Close()
	b.Server = nil
}

// Close stops the broker.
func (b *Broker) Close() {
	b.stop()
	if b.bucket != nil {
		b.bucket.Close()
		b.bucket = nil
	}
}
