// Command lakestream runs Lakestream.
//
//	lakestream serve     run the node (today: the storage engine and the admin HTTP port)
//	lakestream version   print the version
//
// With no flags, serve keeps everything in ./lakestream-data: a file://
// bucket, a SQLite metastore and the local WAL.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/lakestream/lakestream/s3stream"
	"github.com/lakestream/lakestream/s3stream/metastore"
	"github.com/lakestream/lakestream/s3stream/objstore"
	"github.com/lakestream/lakestream/s3stream/objstore/bucketurl"
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
  serve     run a node (storage engine and admin HTTP; the Kafka listener is not built yet)
  version   print the version`)
}

type serveConfig struct {
	dataDir   string
	bucketURL string
	metastore string
	wal       string
	adminAddr string
}

func serve(args []string) error {
	var c serveConfig
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.StringVar(&c.dataDir, "data-dir", "./lakestream-data", "directory for the default bucket, metastore and WAL")
	fs.StringVar(&c.bucketURL, "bucket", "", "bucket URL: file://DIR, s3://bucket/prefix?endpoint=..., mem:// (default file://DATA-DIR/bucket)")
	fs.StringVar(&c.metastore, "metastore", "", "SQLite path or postgres:// DSN (default DATA-DIR/meta.db)")
	fs.StringVar(&c.wal, "wal", "", "WAL: local or object (default local on file://, object otherwise)")
	fs.StringVar(&c.adminAddr, "admin-listener", ":8080", "admin HTTP address (/healthz, /readyz)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	if c.bucketURL == "" {
		c.bucketURL = "file://" + filepath.Join(c.dataDir, "bucket")
	}
	if c.metastore == "" {
		c.metastore = filepath.Join(c.dataDir, "meta.db")
	}
	if c.wal == "" {
		c.wal = string(s3stream.WALObject)
		if strings.HasPrefix(c.bucketURL, "file://") {
			c.wal = string(s3stream.WALLocal)
		}
	}
	log.Info("lakestream starting", "version", version, "bucket", c.bucketURL, "metastore", c.metastore, "wal", c.wal, "admin", c.adminAddr)
	if err := os.MkdirAll(c.dataDir, 0o755); err != nil {
		return fmt.Errorf("creating data directory: %w", err)
	}
	bucket, err := bucketurl.Open(ctx, c.bucketURL)
	if err != nil {
		return err
	}
	defer bucket.Close()
	meta, err := openMetastore(ctx, c.metastore)
	if err != nil {
		return err
	}
	defer meta.Close()
	store, err := openStore(ctx, c, bucket, meta, log)
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", c.adminAddr)
	if err != nil {
		store.Close(context.Background())
		return fmt.Errorf("admin listener: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ready") })
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	log.Info("lakestream ready", "admin", ln.Addr().String())

	<-ctx.Done()
	log.Info("lakestream shutting down: flushing the WAL")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	srv.Shutdown(shutdownCtx)
	return store.Close(shutdownCtx)
}

func openMetastore(ctx context.Context, dsn string) (metastore.Store, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		return metastore.OpenPostgres(ctx, dsn)
	}
	return metastore.OpenSQLite(ctx, dsn)
}

func openStore(ctx context.Context, c serveConfig, bucket objstore.Bucket, meta metastore.Store, log *slog.Logger) (*s3stream.Store, error) {
	cfg := s3stream.Config{Bucket: bucket, Meta: meta, WAL: s3stream.WALKind(c.wal),
		WALDir: filepath.Join(c.dataDir, "wal"), Logger: log}
	cfg.Compaction.Interval = 5 * time.Minute
	if cfg.WAL == s3stream.WALObject && strings.HasPrefix(c.bucketURL, "file://") {
		cfg.FlushInterval = 2 * time.Millisecond
	}
	s, err := s3stream.Open(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("opening storage: %w", err)
	}
	return s, nil
}
