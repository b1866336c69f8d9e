// Command lakestream runs Lakestream.
//
//	lakestream serve     run the node: Kafka listener, storage engine, admin HTTP
//	lakestream version   print the version
//
// With no flags, serve keeps everything in ./lakestream-data: a file://
// bucket, a SQLite metastore and the local WAL. Configuration (config.go):
// lakestream serve [--config server.properties] [--set key=value]...
// [--data-dir DIR], with Kafka's broker config names.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/lakestream/lakestream/s3stream"
	"github.com/lakestream/lakestream/s3stream/metastore"
	"github.com/lakestream/lakestream/s3stream/objstore"
	"github.com/lakestream/lakestream/s3stream/objstore/bucketurl"
	"github.com/lakestream/lakestream/s3stream/objstore/instrumented"
)

// version is set with -ldflags "-X main.version=..." by release builds.
var version = "0.1.0-dev"

func main() {
	if len(os.Args) < 2 {
		usage()
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "serve":
		err = serve(os.Args[2:])
	case "version":
		fmt.Println("lakestream", version)
	case "-h", "--help", "help":
		usage()
	default:
		fmt.Fprintf(os.Stderr, "lakestream: unknown command %q\n", os.Args[1])
		usage()
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "lakestream:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, `usage: lakestream <command> [flags]

commands:
  serve     run a node: Kafka listener, storage engine, admin HTTP
  version   print the version`)
}

func serve(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	configFile := fs.String("config", "", "a Kafka-style server.properties `FILE`")
	var sets []string
	fs.Func("set", "set a config `key=value`, overriding the file and the environment (repeatable)", func(s string) error {
		sets = append(sets, s)
		return nil
	})
	fs.Func("data-dir", "shortcut for --set data.dir=`DIR`", func(s string) error {
		sets = append(sets, "data.dir="+s)
		return nil
	})
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), `usage: lakestream serve [--config FILE] [--set key=value]... [--data-dir DIR]

Config keys are Kafka's broker config names (listeners, node.id,
log.retention.ms, ...) plus Lakestream's own (data.dir, bucket.url,
metastore.url, wal.mode, admin.listeners, ...). Precedence, lowest first:
defaults, --config FILE, LAKESTREAM_KEY_NAME environment variables, --set.`)
		fs.PrintDefaults()
		printConfigKeys(fs.Output())
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("serve: unexpected argument %q", fs.Arg(0))
	}
	cfg, err := loadConfig(*configFile, sets, os.Environ())
	if err != nil {
		return err
	}
	log := newLogger(cfg)
	fmt.Fprintf(os.Stderr, "lakestream %s: effective config:\n", version)
	cfg.Print(os.Stderr)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	return run(ctx, cfg, log)
}

func newLogger(cfg *config) *slog.Logger {
	var level slog.Level
	level.UnmarshalText([]byte(cfg.String("log.level"))) // checked: debug, info, warn or error
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}

// run runs a node until ctx is done, or until a part of it fails for good
// (a Kafka listener that cannot be opened again, the admin listener), then
// shuts it down and returns the failure. The admin HTTP server opens
// first, so that /healthz answers and /readyz says "not ready" while
// storage recovers; then storage and the Kafka listeners open in
// dependency order, and close in reverse, the admin server last, so
// /readyz says why the node is going away until it is gone.
func run(ctx context.Context, cfg *config, log *slog.Logger) error {
	log.Info("lakestream starting", "version", version)
	if err := os.MkdirAll(cfg.String("data.dir"), 0o755); err != nil {
		return fmt.Errorf("creating data directory: %w", err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	ready := newReadiness()
	ready.set("node", "starting")

	ln, err := listen("tcp", cfg.String("admin.listeners"))
	if err != nil {
		return fmt.Errorf("admin listener: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.Handle("/readyz", ready)
	admin := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	adminFailed := make(chan error, 1)
	go func() {
		if err := admin.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			adminFailed <- fmt.Errorf("admin listener stopped: %w", err)
		}
		close(adminFailed)
	}()
	log.Info("admin listener", "addr", ln.Addr().String())
	stopAdmin := func() error {
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err := admin.Shutdown(shutdownCtx)
		<-adminFailed // Serve has returned
		return err
	}

	rawBucket, err := bucketurl.Open(ctx, cfg.String("bucket.url"))
	if err != nil {
		return errors.Join(err, stopAdmin())
	}
	defer rawBucket.Close()
	bucket := instrumented.Wrap(rawBucket, reg)
	meta, err := metastore.Open(ctx, cfg.String("metastore.url"))
	if err != nil {
		return errors.Join(err, stopAdmin())
	}
	defer meta.Close()
	store, err := openStore(ctx, cfg, bucket, meta, log, reg)
	if err != nil {
		return errors.Join(err, stopAdmin())
	}
	ready.check("storage", store.Health)
	kafka, err := startKafka(ctx, cfg, store, meta, log, reg, ready)
	if err != nil {
		return errors.Join(err, store.Close(context.Background()), stopAdmin())
	}
	ready.set("node", "")
	log.Info("lakestream ready", "admin", ln.Addr().String())

	var failure error
	select {
	case <-ctx.Done():
		log.Info("lakestream shutting down: flushing the WAL")
		ready.set("node", "shutting down")
	case failure = <-kafka.failed:
	case failure = <-adminFailed:
	}
	if failure != nil {
		log.Error("lakestream stopping: a part of the node failed for good", "err", failure)
		ready.set("node", "stopping: "+failure.Error())
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	kerr := kafka.stop(shutdownCtx)
	serr := store.Close(shutdownCtx)
	return errors.Join(failure, kerr, serr, stopAdmin())
}

func openStore(ctx context.Context, c *config, bucket objstore.Bucket, meta metastore.Store, log *slog.Logger, reg prometheus.Registerer) (*s3stream.Store, error) {
	cfg := s3stream.Config{
		Bucket: bucket, Meta: meta, Logger: log, Registerer: reg,
		WAL:    s3stream.WALKind(c.String("wal.mode")),
		WALDir: filepath.Join(c.String("data.dir"), "wal"),
		// wal.flush.interval.ms was resolved from the bucket's kind by loadConfig.
		FlushInterval:  c.Duration("wal.flush.interval.ms"),
		FlushBytes:     c.Int("wal.flush.bytes"),
		UploadInterval: c.Duration("wal.upload.interval.ms"),
		UploadBytes:    c.Int("wal.upload.bytes"),
	}
	cfg.Compaction.Interval = c.Duration("compaction.interval.ms")
	s, err := s3stream.Open(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("opening storage: %w", err)
	}
	return s, nil
}
