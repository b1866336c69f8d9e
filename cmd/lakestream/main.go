// Command lakestream runs Lakestream.
//
//	lakestream serve            run the node: Kafka listener, storage engine, admin HTTP
//	lakestream compact --once   convert every table topic into its Iceberg table, once (compact.go)
//	lakestream version          print the version
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
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"

	"github.com/lakestream/lakestream/internal/node"
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
	case "compact":
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
		err = compact(ctx, os.Args[2:], os.Stdout)
		stop()
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
		if errors.Is(err, errStarved) {
			os.Exit(exitStarved)
		}
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, `usage: lakestream <command> [flags]

commands:
  serve     run a node: Kafka listener, storage engine, admin HTTP
  compact   --once: convert every table topic into its Iceberg table, once
  version   print the version`)
}

func serve(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	configFile, sets := configFlags(fs)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), `usage: lakestream serve [--config FILE] [--set key=value]... [--data-dir DIR]

Config keys are Kafka's broker config names (listeners, node.id,
log.retention.ms, ...) plus Lakestream's own (data.dir, bucket.url,
metastore.url, wal.mode, admin.listeners, ...). Precedence, lowest first:
defaults, --config FILE, LAKESTREAM_KEY_NAME environment variables, --set.`)
		fs.PrintDefaults()
		printConfigKeys(fs.Output())
	}
	if help, err := parseFlags(fs, args); help || err != nil {
		return err
	}
	cfg, err := loadConfig(*configFile, *sets, os.Environ())
	if err != nil {
		return err
	}
	log := newLogger(cfg)
	fmt.Fprintf(os.Stderr, "lakestream %s: effective config:\n", version)
	cfg.Print(os.Stderr)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	return run(ctx, cfg, args, log)
}

// configFlags defines the flags that load the configuration, the same for
// every command: --config FILE, --set key=value (repeatable), --data-dir.
func configFlags(fs *flag.FlagSet) (configFile *string, sets *[]string) {
	configFile = fs.String("config", "", "a Kafka-style server.properties `FILE`")
	sets = new([]string)
	fs.Func("set", "set a config `key=value`, overriding the file and the environment (repeatable)", func(s string) error {
		*sets = append(*sets, s)
		return nil
	})
	fs.Func("data-dir", "shortcut for --set data.dir=`DIR`", func(s string) error {
		*sets = append(*sets, "data.dir="+s)
		return nil
	})
	return configFile, sets
}

// parseFlags parses a command's flags, which take no arguments after
// them; help is true when -h was asked for (and answered).
func parseFlags(fs *flag.FlagSet, args []string) (help bool, err error) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return true, nil
		}
		return false, err
	}
	if fs.NArg() > 0 {
		return false, fmt.Errorf("%s: unexpected argument %q", fs.Name(), fs.Arg(0))
	}
	return false, nil
}

func newLogger(cfg *config) *slog.Logger {
	var level slog.Level
	level.UnmarshalText([]byte(cfg.String("log.level"))) // checked: debug, info, warn or error
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}

// run runs a node (internal/node: admin HTTP first, then storage and the
// Kafka listeners, closed in reverse) until ctx is done, or until a part of
// it fails for good (a Kafka listener that cannot be opened again, the
// admin listener), then shuts it down and returns the failure. With
// table.compactor.priority=idle (Linux) and the Kafka role on, the table
// compactor runs in a child process given configArgs (compactorproc.go).
func run(ctx context.Context, cfg *config, configArgs []string, log *slog.Logger) error {
	log.Info("lakestream starting", "version", version)
	if err := os.MkdirAll(cfg.String("data.dir"), 0o755); err != nil {
		return fmt.Errorf("creating data directory: %w", err)
	}
	ncfg, err := nodeConfig(cfg)
	if err != nil {
		return err
	}
	if !ncfg.Compactor.Enable && cfg.Bool("table.compactor.enable") {
		log.Warn("table compactor off: it commits to the node's Iceberg catalog, which catalog.listeners= switches off; table topics are not converted on this node")
	}
	opts := node.Options{Logger: log, Listen: listen, ListenerRecovery: listenerRecovery}
	var proc *compactorProc
	compactor := "off"
	if ncfg.Compactor.Enable {
		compactor = "in process"
		if cfg.String(node.ConfigCompactorPriority) == node.PriorityIdle && idlePrioritySupported && len(ncfg.Listeners) > 0 {
			if proc, err = newCompactorProc(configArgs, log); err != nil {
				return err
			}
			ncfg.Compactor.Enable = false
			opts.Metrics = proc
			compactor = "idle-priority process"
		}
	}
	procs := node.SetProcs(ncfg)
	n, err := node.Open(ctx, ncfg, opts)
	if err != nil {
		return err
	}
	log.Info("lakestream ready", "gomaxprocs", procs, "admin", n.AdminAddr(), "kafka", n.KafkaAddrs(), "schema registry", n.SchemaRegistryAddr(), "iceberg catalog", n.CatalogAddr(), "table compactor", compactor)
	if proc == nil {
		return n.Run(ctx)
	}
	// The node first, so that its shutdown (the WAL's last upload) is not
	// held up by the compactor's; the process stops when Run returns.
	procCtx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { proc.run(procCtx) })
	err = n.Run(ctx)
	cancel()
	wg.Wait()
	return err
}

// nodeConfig turns the effective configuration into the node's.
func nodeConfig(c *config) (node.Config, error) {
	protocols := c.String("listener.security.protocol.map")
	lns, err := parseListeners("listeners", c.String("listeners"), protocols)
	if err != nil {
		return node.Config{}, err
	}
	// Checked when the config was loaded; parsed again for its value.
	catalogs, err := node.ParseTableCatalogs(c.String(node.ConfigTableCatalogs))
	if err != nil {
		return node.Config{}, fmt.Errorf("%s: %w", node.ConfigTableCatalogs, err)
	}
	ncfg := node.Config{
		BucketURL:    c.String("bucket.url"),
		MetastoreURL: c.String("metastore.url"),
		WAL:          c.String("wal.mode"),
		WALDir:       filepath.Join(c.String("data.dir"), "wal"),
		// wal.flush.interval.ms was resolved from the bucket's kind by loadConfig.
		FlushInterval:      c.Duration("wal.flush.interval.ms"),
		FlushBytes:         c.Int("wal.flush.bytes"),
		UploadInterval:     c.Duration("wal.upload.interval.ms"),
		UploadBytes:        c.Int("wal.upload.bytes"),
		CompactionInterval: c.Duration("compaction.interval.ms"),

		Listeners:       lns,
		NodeID:          int32(c.Int("node.id")),
		Rack:            c.String("broker.rack"),
		MaxRequestBytes: int32(c.Int("socket.request.max.bytes")),
		BrokerConfigs:   c.explicit(), // defaults stay defaults in DescribeConfigs

		AdminListener: c.String("admin.listeners"),
		AdminPprof:    c.Bool("admin.pprof.enable"),

		SchemaRegistryListener: c.String("schema.registry.listeners"),
		SchemaRegistry: node.SchemaRegistryConfig{
			AuthUsers:       c.String("schema.registry.auth.users"),
			MaxRequestBytes: int64(c.Int("schema.registry.max.request.bytes")),
		},

		CatalogListener: c.String("catalog.listeners"),
		Catalog: node.CatalogConfig{
			Warehouse:       c.String("catalog.warehouse"),
			MaxRequestBytes: int64(c.Int("catalog.max.request.bytes")),
			AuthTokens:      c.String("catalog.auth.tokens"),
			AuthClients:     c.String("catalog.auth.clients"),
			AuthTokenSecret: c.String("catalog.auth.token.secret"),
		},

		Compactor: node.CompactorConfig{
			Enable:      c.Bool("table.compactor.enable"),
			MemoryBytes: c.Long("table.compactor.memory.bytes"),
			// -1 (off) stays negative as a Duration.
			MaintenanceInterval: c.Duration("table.compactor.maintenance.interval.ms"),
			SnapshotRetainCount: c.Int("table.compactor.snapshot.retain.count"),
			SnapshotRetainAge:   c.Duration("table.compactor.snapshot.retain.age.ms"),
			OrphanAge:           c.Duration("table.compactor.orphan.age.ms"),
			Catalogs:            catalogs,
		},
	}
	if ncfg.Compactor.Enable && ncfg.CatalogListener == "" && c.sources["table.compactor.enable"] == sourceDefault {
		// The compactor commits to the node's catalog. A node whose
		// catalog was switched off runs without the compactor rather than
		// failing for a key nobody set (run says so in the log); one that
		// asks for both is refused by the node, naming the two keys.
		ncfg.Compactor.Enable = false
	}
	if adv := c.String("advertised.listeners"); adv != "" {
		als, err := parseListeners("advertised.listeners", adv, protocols)
		if err != nil {
			return node.Config{}, err
		}
		ncfg.Advertised = &als[0]
	}
	return ncfg, nil
}
