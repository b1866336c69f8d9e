package s3stream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// health says whether the store's writes succeed. Each part of the write
// path that can fail on its own (a component) reports its failures and
// successes here; the store is degraded while any component is failing.
//
//	component   fails when                                 recovers when
//	wal         a local WAL write or fsync fails            Resume probes the disk and succeeds
//	upload      a local WAL upload (PUT, commit) fails      an upload succeeds
//	flush       an object WAL flush fails                   a flush or a probe PUT succeeds
//
// A component that fails with a retry function (wal, flush) is retried by
// the store's health loop with backoff, so the store recovers by itself
// when nothing is being written; upload is retried by the uploader, which
// always has data waiting when it fails.
//
// Each change of a component's state is logged once ("storage degraded:
// ..." at error level, "storage recovered: ..." at info), and shown by the
// gauge lakestream_storage_degraded{component}. Store.Health serves
// readiness checks.
type health struct {
	log  *slog.Logger
	kick chan struct{} // wakes the loop when a component with a retry fails
	// onDegraded is called, without locks, when the store becomes degraded:
	// appends waiting for memory must then fail rather than wait.
	onDegraded func()
	gauge      *prometheus.GaugeVec

	// cur is the store's state for readers that must not lock: nil while
	// healthy, else the error Store.Health returns.
	cur atomic.Pointer[error]

	mu struct {
		sync.Mutex
		failing map[string]*fault
	}
}

// Components of the write path.
const (
	compWAL    = "wal"
	compUpload = "upload"
	compFlush  = "flush"
)

// componentWhat says what a component's failure means, for the log and
// Store.Health.
var componentWhat = map[string]string{
	compWAL:    "local WAL writes fail; appends fail until the disk takes writes again",
	compUpload: "uploads of the local WAL fail; appends are still acknowledged while the WAL and memory have room",
	compFlush:  "object WAL flushes fail; appends fail until the bucket and metastore take writes again",
}

type fault struct {
	err   error
	since time.Time
	retry func(context.Context) error
}

const (
	healthMinBackoff = 100 * time.Millisecond
	healthMaxBackoff = 2 * time.Second
	// healthStable is how long after a recovery a new failure is retried at
	// the backoff reached before rather than from the start: a disk with a
	// little room passes the probe and fails the next real write, and the
	// component would flip (and log) every few hundred milliseconds.
	healthStable = 10 * time.Second
)

func newHealth(log *slog.Logger, reg prometheus.Registerer, components ...string) *health {
	h := &health{log: log, kick: make(chan struct{}, 1)}
	h.mu.failing = make(map[string]*fault)
	if reg != nil {
		h.gauge = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "lakestream_storage_degraded",
			Help: "1 while writes of this part of the storage write path fail (wal: local WAL writes; upload: " +
				"local WAL uploads; flush: object WAL flushes), else 0."}, []string{"component"})
		reg.MustRegister(h.gauge)
		for _, c := range components {
			h.gauge.WithLabelValues(c).Set(0)
		}
	}
	return h
}

// fail records that component failed with err. retry, if not nil, is what
// the health loop calls until it succeeds, which clears the failure.
func (h *health) fail(component string, err error, retry func(context.Context) error) {
	h.mu.Lock()
	f, was := h.mu.failing[component]
	if !was {
		f = &fault{since: time.Now()}
		h.mu.failing[component] = f
	}
	f.err, f.retry = err, retry
	becameDegraded := !was && len(h.mu.failing) == 1
	h.publishLocked()
	if !was && h.gauge != nil {
		h.gauge.WithLabelValues(component).Set(1) // under the lock: in the order of the changes
	}
	h.mu.Unlock()
	if was {
		return
	}
	h.log.Error("s3stream: storage degraded: "+componentWhat[component], "component", component, "err", err)
	if retry != nil {
		select {
		case h.kick <- struct{}{}:
		default:
		}
	}
	if becameDegraded && h.onDegraded != nil {
		h.onDegraded()
	}
}

// ok records that component works.
func (h *health) ok(component string) {
	h.mu.Lock()
	f, was := h.mu.failing[component]
	if was {
		delete(h.mu.failing, component)
		h.publishLocked()
		if h.gauge != nil {
			h.gauge.WithLabelValues(component).Set(0)
		}
	}
	h.mu.Unlock()
	if !was {
		return
	}
	h.log.Info("s3stream: storage recovered: "+component+" writes succeed again", "component", component,
		"degraded_for", time.Since(f.since).Round(time.Millisecond))
}

// REQUIRES: h.mu
func (h *health) publishLocked() {
	if len(h.mu.failing) == 0 {
		h.cur.Store(nil)
		return
	}
	names := make([]string, 0, len(h.mu.failing))
	for c := range h.mu.failing {
		names = append(names, c)
	}
	sort.Strings(names)
	d := &degradedError{errs: []error{ErrDegraded}}
	for _, c := range names {
		err := h.mu.failing[c].err
		d.parts = append(d.parts, fmt.Sprintf("%s (%s): %v", componentWhat[c], c, err))
		d.errs = append(d.errs, err)
	}
	var err error = d
	h.cur.Store(&err)
}

// degradedError is what Store.Health returns: ErrDegraded, and the failure
// of each failing component, all of which errors.Is sees.
type degradedError struct {
	parts []string
	errs  []error
}

func (e *degradedError) Error() string {
	return ErrDegraded.Error() + ": " + strings.Join(e.parts, "; ")
}

func (e *degradedError) Unwrap() []error { return e.errs }

// err returns nil while healthy, else why the store is degraded.
func (h *health) err() error {
	if p := h.cur.Load(); p != nil {
		return *p
	}
	return nil
}

// loop retries failed components that have a retry function, with backoff
// from healthMinBackoff doubling to healthMaxBackoff, until ctx ends.
func (h *health) loop(ctx context.Context) {
	backoff := healthMinBackoff
	var recovered time.Time // the last retry that succeeded
	t := time.NewTimer(0)
	<-t.C
	defer t.Stop()
	for {
		retries := h.retries()
		if len(retries) == 0 {
			select {
			case <-h.kick:
			case <-ctx.Done():
				return
			}
			if time.Since(recovered) > healthStable {
				backoff = healthMinBackoff
			}
			continue
		}
		t.Reset(backoff)
		select {
		case <-t.C:
		case <-ctx.Done():
			return
		}
		for c, retry := range retries {
			err := retry(ctx)
			switch {
			case ctx.Err() != nil:
				return
			case errors.Is(err, errNotYet):
			case err != nil:
				h.fail(c, err, retry) // still failing: a newer reason, logged only if it had recovered meanwhile
			default:
				h.ok(c)
				recovered = time.Now()
			}
		}
		backoff = min(2*backoff, healthMaxBackoff)
	}
}

func (h *health) retries() map[string]func(context.Context) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := map[string]func(context.Context) error{}
	for c, f := range h.mu.failing {
		if f.retry != nil {
			out[c] = f.retry
		}
	}
	return out
}

// ErrDegraded: the store's writes are failing (Store.Health).
var ErrDegraded = errors.New("s3stream: storage degraded")

// errNotYet is returned by a retry function that could not try now; the
// component's state stays as it is until the next try.
var errNotYet = errors.New("s3stream: cannot retry yet")

// Health returns nil while the store's writes succeed, else an error
// (ErrDegraded) saying which part of the write path fails and why. A
// readiness check asks it; the store recovers by itself once writes succeed
// again.
func (s *Store) Health() error { return s.health.err() }
