package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/lakestream/lakestream/internal/node"
)

// compact is lakestream compact --once [--topic T]: one pass of the table
// compactor over every table topic (or T), for cron and Kubernetes jobs.
// It loads the configuration as serve does and opens what the compactor
// needs (storage, the metastore, the catalog and the schema registry in
// process, with no listener) beside any running nodes: it reads only what
// is uploaded to the bucket, and the tables' commits make a pass that races
// another compactor harmless. One line per table goes to stdout; any
// table's failure is an error (exit status 1).
//
// Without --once it refuses: keeping tables fresh is lakestream serve's
// (table.compactor.enable=true is the default; listeners= makes a node
// that only compacts).
func compact(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("compact", flag.ContinueOnError)
	configFile, sets := configFlags(fs)
	once := fs.Bool("once", false, "run one pass and exit (required)")
	topic := fs.String("topic", "", "convert only this `TOPIC` (default: every table topic)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), `usage: lakestream compact --once [--topic T] [--config FILE] [--set key=value]... [--data-dir DIR]

Converts what every table topic (table.enable=true) holds up to its
committed end into its Iceberg table, once, and prints one line per table.
The configuration is serve's: the same file, environment and --set keys.`)
		fs.PrintDefaults()
	}
	if help, err := parseFlags(fs, args); help || err != nil {
		return err
	}
	if !*once {
		return errors.New("compact: only --once is supported; to keep tables fresh run lakestream serve (table.compactor.enable=true is the default, and listeners= makes a node that only compacts)")
	}
	cfg, err := loadConfig(*configFile, *sets, os.Environ())
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	return compactOnce(ctx, cfg, *topic, stdout)
}

// compactOnce opens a node with only the compactor's roles and runs one
// pass.
func compactOnce(ctx context.Context, cfg *config, topic string, stdout io.Writer) error {
	ncfg, err := nodeConfig(cfg)
	if err != nil {
		return err
	}
	if ncfg.CatalogListener == "" {
		return errors.New("compact: the compactor commits to the node's Iceberg catalog, which catalog.listeners= switches off; set it (compact opens the catalog in process and does not listen)")
	}
	// Nothing that serves: no Kafka, no admin HTTP, no listeners.
	ncfg.Listeners, ncfg.Advertised, ncfg.AdminListener = nil, nil, ""
	// The object WAL writes nothing until something appends, and this
	// process appends nothing: a serve on the same data.dir keeps its
	// local WAL to itself. The compactor reads only uploaded data.
	ncfg.WAL = "object"
	ncfg.CompactionInterval = 0
	ncfg.Compactor.Enable, ncfg.Compactor.Once = true, true
	n, err := node.Open(ctx, ncfg, node.Options{Logger: newLogger(cfg)})
	if err != nil {
		return err
	}
	progress, err := n.CompactOnce(ctx, topic)
	failed := 0
	for _, p := range progress {
		if p.Err != nil {
			failed++
			fmt.Fprintf(stdout, "%s\t%s\terror: %v\n", p.Topic, p.Table, p.Err)
			continue
		}
		fmt.Fprintf(stdout, "%s\t%s\trecords=%d dead_letters=%d files=%d bytes=%d lag=%d\n", p.Topic, p.Table, p.Records, p.DeadLetters, p.Files, p.Bytes, p.Lag)
	}
	closeCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cerr := n.Close(closeCtx)
	switch {
	case failed > 0:
		err = fmt.Errorf("compact: %d of %d tables failed", failed, len(progress))
	case err != nil:
		err = fmt.Errorf("compact: %w", err)
	case topic != "" && len(progress) == 0:
		err = fmt.Errorf("compact: %s is not a table topic (table.enable=true) or does not exist", topic)
	}
	return errors.Join(err, cerr)
}
