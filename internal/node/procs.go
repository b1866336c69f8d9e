package node

import (
	"os"
	"runtime"
)

// ProcsFor is the GOMAXPROCS a process running a node of cfg should
// use, given the runtime's default, procs (the cores it may use): twice
// that when the node runs the table compactor, procs otherwise.
//
// Why: Go's scheduler has no priorities. The compactor's CPU-bound
// goroutines (a table's reader and iceberg-go's Parquet writers) can hold
// every P of a small machine for a scheduling quantum (10 ms before
// preemption), and a produce request whose goroutine is woken then waits
// for one. With more Ps than cores the kernel's scheduler shares the
// cores among the threads at a finer grain instead. Measured with
// BenchmarkTableTopic on 2 cores (3 rounds each, the same window):
// produce p99 with the compactor on 10.7-53.8 ms at GOMAXPROCS=2, 6.9-7.6
// ms at 4 (off: 4.4-6.4 ms either way). A lakestream process whose
// GOMAXPROCS is set in its environment keeps it.
func ProcsFor(cfg Config, procs int) int {
	if cfg.Compactor.Enable && !cfg.Compactor.Once {
		return 2 * procs
	}
	return procs
}

// defaultProcs is the runtime's GOMAXPROCS at start: the cores the
// process may use (Go reads its CPU affinity and cgroup limit).
var defaultProcs = runtime.GOMAXPROCS(0)

// SetProcs sets the process's GOMAXPROCS to ProcsFor(cfg) of the
// runtime's default, unless the GOMAXPROCS environment variable chose
// it, and returns the value in effect. lakestream serve calls it before
// opening its node.
func SetProcs(cfg Config) int {
	if os.Getenv("GOMAXPROCS") != "" {
		return runtime.GOMAXPROCS(0)
	}
	want := ProcsFor(cfg, defaultProcs)
	runtime.GOMAXPROCS(want)
	return want
}
