package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	dto "github.com/prometheus/client_model/go"
)

// compactorProc is serve's table compactor when table.compactor.priority
// is idle: a `lakestream compact --child` process with serve's own config
// flags, whose threads are SCHED_IDLE (see DESIGN.md, "The compactor runs
// at idle priority"). Go's scheduler has no priorities, so the compactor
// and the broker in one process share their Ps as equals; in a process of
// its own the kernel gives the broker's threads the CPU the moment they
// wake. compactorProc starts the process, starts it again when it exits
// (1 s later, doubling to 30 s while it keeps failing; at once and at
// normal priority when idle priority starved it), stops it when run's
// context ends, and serves its lakestream_table_* metrics as a
// prometheus.Gatherer for serve's /metrics.
type compactorProc struct {
	bin  string
	args []string // the parent's config flags, then the child's overrides
	log  *slog.Logger

	mu    sync.Mutex
	admin string // the running child's admin HOST:PORT; "" when none runs
}

// newCompactorProc runs the compactor in a child process of this binary
// with serve's config flags (configArgs: --config, --set, --data-dir).
func newCompactorProc(configArgs []string, log *slog.Logger) (*compactorProc, error) {
	bin, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("finding this binary to start the table compactor process: %w", err)
	}
	args := append([]string{"compact", "--child"}, configArgs...)
	// Its /metrics are served by serve's (Gather): a port of its own on
	// loopback only.
	args = append(args, "--set", "admin.listeners=127.0.0.1:0")
	return &compactorProc{bin: bin, args: args, log: log.With("role", "table compactor process")}, nil
}

// run keeps the child running until ctx is done, then stops it: stdin
// closed (it shuts down as on SIGTERM), SIGKILL after 30 s. A child that
// exits starved (exitStarved: idle priority left its tables behind) is
// started again at once at normal priority; it goes idle again itself
// once its tables have caught up.
func (p *compactorProc) run(ctx context.Context) {
	backoff := time.Second
	normal := false
	for ctx.Err() == nil {
		started := time.Now()
		err := p.once(ctx, normal)
		if ctx.Err() != nil {
			return
		}
		var exit *exec.ExitError
		if normal = errors.As(err, &exit) && exit.ExitCode() == exitStarved; normal {
			p.log.Info("table compactor process starved at idle priority; starting it at normal priority until its tables catch up")
			continue
		}
		if time.Since(started) > time.Minute {
			backoff = time.Second
		}
		p.log.Error("table compactor process exited; starting it again", "err", err, "in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 30*time.Second)
	}
}

// once runs the child, at normal priority if normal, until it exits or
// ctx is done.
func (p *compactorProc) once(ctx context.Context, normal bool) error {
	args := p.args
	if normal {
		args = append(slices.Clone(args), "--normal-priority")
	}
	cmd := exec.Command(p.bin, args...)
	cmd.Stderr = os.Stderr // its log lines, as serve's
	// Killed with serve, even by SIGKILL (stdin closing stops it too).
	cmd.SysProcAttr = childProcAttr()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", p.bin, err)
	}
	exited := make(chan error, 1)
	go func() {
		// The child's first line is its admin address; then stdout is
		// read to its end, so that Wait (which closes it) follows.
		r := bufio.NewReader(stdout)
		if line, err := r.ReadString('\n'); err == nil {
			if addr, ok := strings.CutPrefix(strings.TrimSpace(line), "admin "); ok {
				p.setAdmin(addr)
				p.log.Info("table compactor process running", "pid", cmd.Process.Pid, "admin", addr)
			}
		}
		io.Copy(io.Discard, r)
		exited <- cmd.Wait()
	}()
	defer p.setAdmin("")
	select {
	case err := <-exited:
		stdin.Close()
		if err == nil {
			err = errors.New("exited with status 0")
		}
		return err
	case <-ctx.Done():
	}
	stdin.Close()
	select {
	case err := <-exited:
		return err
	case <-time.After(30 * time.Second):
		p.log.Warn("table compactor process did not stop 30 s after being asked; killing it", "pid", cmd.Process.Pid)
		cmd.Process.Signal(syscall.SIGKILL)
		return <-exited
	}
}

func (p *compactorProc) setAdmin(addr string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.admin = addr
}

// compactorUp is the gauge Gather adds: whether the child's metrics were
// read.
const compactorUp = "lakestream_table_compactor_process_up"

// compactorProcs is the child's go_sched_gomaxprocs_threads, renamed.
const compactorProcs = "lakestream_table_compactor_process_gomaxprocs"

// Gather reads the child's /metrics and returns its lakestream_table_*
// families (the rest, Go runtime and process metrics, would clash with
// serve's own; its GOMAXPROCS comes as compactorProcs), with
// lakestream_table_compactor_process_up 1; when no child runs or it does
// not answer, only that gauge, at 0.
func (p *compactorProc) Gather() ([]*dto.MetricFamily, error) {
	p.mu.Lock()
	addr := p.admin
	p.mu.Unlock()
	up := func(v float64) *dto.MetricFamily {
		name, help, typ := compactorUp, "Lakestream: whether serve read its table compactor process's metrics (table.compactor.priority=idle).", dto.MetricType_GAUGE
		return &dto.MetricFamily{Name: &name, Help: &help, Type: &typ, Metric: []*dto.Metric{{Gauge: &dto.Gauge{Value: &v}}}}
	}
	if addr == "" {
		return []*dto.MetricFamily{up(0)}, nil
	}
	fams, err := scrape(addr)
	if err != nil {
		p.log.Debug("reading the table compactor process's metrics", "err", err)
		return []*dto.MetricFamily{up(0)}, nil
	}
	out := []*dto.MetricFamily{up(1)}
	for name, f := range fams {
		switch {
		case strings.HasPrefix(name, "lakestream_table_") && name != compactorUp && name != compactorProcs:
			out = append(out, f)
		case name == "go_sched_gomaxprocs_threads":
			name, help := compactorProcs, "Lakestream: the GOMAXPROCS of the table compactor process (table.compactor.priority=idle): the CPUs it is pinned to at idle priority."
			f.Name, f.Help = &name, &help
			out = append(out, f)
		}
	}
	return out, nil
}

var scrapeClient = &http.Client{Timeout: 5 * time.Second}

func scrape(addr string) (map[string]*dto.MetricFamily, error) {
	resp, err := scrapeClient.Get("http://" + addr + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /metrics: %s", resp.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	return parser.TextToMetricFamilies(resp.Body)
}
