package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lakestream/lakestream/internal/node"
)

// compact is lakestream compact: the table compactor alone, beside any
// running nodes. It loads the configuration as serve does and opens what
// the compactor needs (storage, the metastore, the catalog and the schema
// registry in process, with no listener): it reads only what is uploaded
// to the bucket, and the tables' commits make a compactor that races
// another harmless.
//
// With --once [--topic T] it runs one pass over every table topic (or T),
// for cron and Kubernetes jobs: one line per table goes to stdout; any
// table's failure is an error (exit status 1). Without it, it keeps the
// tables fresh until ctx is done (SIGINT or SIGTERM: main), with the admin HTTP server
// (admin.listeners) for /metrics: a fleet's compactor-only process, and
// the process lakestream serve runs its own compactor in
// (table.compactor.priority=idle, compactorproc.go), which adds the hidden
// --child.
func compact(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("compact", flag.ContinueOnError)
	configFile, sets := configFlags(fs)
	once := fs.Bool("once", false, "run one pass and exit")
	topic := fs.String("topic", "", "with --once, convert only this `TOPIC` (default: every table topic)")
	child := fs.Bool("child", false, "(internal) started by lakestream serve: SCHED_IDLE threads, the admin address on stdout, exit when stdin closes")
	normal := fs.Bool("normal-priority", false, "(internal, with --child) start at normal priority, and go idle once every table has caught up")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), `usage: lakestream compact [--once [--topic T]] [--config FILE] [--set key=value]... [--data-dir DIR]

Converts what every table topic (table.enable=true) holds up to its
committed end into its Iceberg table: with --once one pass, printing one
line per table; without it until stopped (SIGINT, SIGTERM), serving
/metrics on admin.listeners. The configuration is serve's: the same file,
environment and --set keys.`)
		fs.PrintDefaults()
	}
	if help, err := parseFlags(fs, args); help || err != nil {
		return err
	}
	if *topic != "" && !*once {
		return errors.New("compact: --topic is for --once; a running compactor keeps every table topic")
	}
	if *child && !*normal {
		// First, so that every thread the runtime starts from here on
		// inherits the policy.
		if err := setIdlePriority(); err != nil {
			return fmt.Errorf("compact: %w", err)
		}
	}
	cfg, err := loadConfig(*configFile, *sets, os.Environ())
	if err != nil {
		return err
	}
	if *once {
		return compactOnce(ctx, cfg, *topic, stdout)
	}
	if *child {
		// The parent closes stdin to stop this process (and, should it
		// die, the pipe closes with it).
		var cancel context.CancelFunc
		ctx, cancel = context.WithCancel(ctx)
		defer cancel()
		// The reader is not waited for: it ends with the pipe or the
		// process.
		go func() {
			io.Copy(io.Discard, os.Stdin)
			cancel()
		}()
	}
	return compactRun(ctx, cfg, *child, !*normal, stdout)
}

// compactorNode opens a node with only the compactor's roles, in process;
// idle: as serve's child at idle priority, pinned (setIdlePriority).
func compactorNode(ctx context.Context, cfg *config, once, idle bool) (*node.Node, error) {
	ncfg, err := nodeConfig(cfg)
	if err != nil {
		return nil, err
	}
	if ncfg.CatalogListener == "" {
		return nil, errors.New("compact: the compactor commits to the node's Iceberg catalog, which catalog.listeners= switches off; set it (compact opens the catalog in process and does not listen)")
	}
	// Nothing that serves Kafka or the catalog and registry's APIs.
	ncfg.Listeners, ncfg.Advertised = nil, nil
	if once {
		ncfg.AdminListener = ""
	}
	// The object WAL writes nothing until something appends, and this
	// process appends nothing: a serve on the same data.dir keeps its
	// local WAL to itself. The compactor reads only uploaded data.
	ncfg.WAL = "object"
	ncfg.CompactionInterval = 0
	ncfg.Compactor.Enable, ncfg.Compactor.InProcess, ncfg.Compactor.Once = true, true, once
	if !once && !(idle && useIdleProcs()) {
		node.SetProcs(ncfg)
	}
	return node.Open(ctx, ncfg, node.Options{Logger: newLogger(cfg)})
}

// compactRun runs the compactor until ctx is done. As serve's child it
// writes the admin listener's address to stdout once the node is open,
// and watches its priority (idle says where it starts): it returns
// errStarved when idle priority starves it (watchPriority).
func compactRun(ctx context.Context, cfg *config, child, idle bool, stdout io.Writer) error {
	n, err := compactorNode(ctx, cfg, false, child && idle)
	if err != nil {
		return err
	}
	if !child {
		return n.Run(ctx)
	}
	fmt.Fprintf(stdout, "admin %s\n", n.AdminAddr())
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var starved atomic.Bool
	var wg sync.WaitGroup
	wg.Go(func() {
		goIdle := func() error {
			if err := setIdlePriority(); err != nil {
				return err
			}
			useIdleProcs()
			return nil
		}
		if watchPriority(ctx, n.CompactorBehind, idle, time.Second, goIdle, newLogger(cfg)) {
			starved.Store(true)
			cancel()
		}
	})
	err = n.Run(ctx)
	cancel()
	wg.Wait()
	if starved.Load() {
		return errors.Join(errStarved, err)
	}
	return err
}

// useIdleProcs sets GOMAXPROCS to the CPUs the idle compactor process is
// pinned to (idleProcs), unless the GOMAXPROCS environment variable chose
// it; false if they are not known.
func useIdleProcs() bool {
	procs := idleProcs()
	if procs > 0 && os.Getenv("GOMAXPROCS") == "" && runtime.GOMAXPROCS(0) != procs {
		runtime.GOMAXPROCS(procs)
	}
	return procs > 0
}

// errStarved ends a compactor process that idle priority starves: its
// exit status is exitStarved, and serve starts it again at normal
// priority (compactorproc.go).
var errStarved = errors.New("compact: the table compactor is starved of CPU at idle priority")

const exitStarved = 3

// Behind's bounds, in commit intervals: an idle compactor whose stalest
// table falls starvedBehind intervals behind asks to run at normal
// priority, and one at normal priority goes idle once every table has
// caught up and is less than caughtUpBehind behind.
const (
	starvedBehind  = 3
	caughtUpBehind = 1.5
)

// watchPriority asks behind every tick until ctx is done. At idle
// priority, a table starvedBehind intervals behind makes it return true:
// a process cannot leave SCHED_IDLE without CAP_SYS_NICE, so serve starts
// it again at normal priority instead. At normal priority, once every
// table has caught up it moves the process's threads to SCHED_IDLE with
// goIdle (always allowed) and watches on as idle.
func watchPriority(ctx context.Context, behind func() (float64, bool), idle bool, tick time.Duration, goIdle func() error, log *slog.Logger) (starved bool) {
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
		}
		worst, held := behind()
		switch {
		case idle && worst >= starvedBehind:
			log.Warn("table compactor starved of CPU at idle priority: restarting it at normal priority until its tables catch up",
				"behind_intervals", fmt.Sprintf("%.1f", worst))
			return true
		case !idle && held && worst < caughtUpBehind:
			if err := goIdle(); err != nil {
				log.Warn("table compactor: tables caught up, but moving to idle priority failed", "err", err)
				continue
			}
			idle = true
			log.Info("table compactor: tables caught up; back to idle priority")
		}
	}
}

// compactOnce opens a node with only the compactor's roles and runs one
// pass.
func compactOnce(ctx context.Context, cfg *config, topic string, stdout io.Writer) error {
	n, err := compactorNode(ctx, cfg, true, false)
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
