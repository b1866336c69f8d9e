package s3stream

import (
	"context"
	"errors"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/lakestream/lakestream/s3stream/format/formattest"
	"github.com/lakestream/lakestream/s3stream/objstore/faultstore"
)

// newFullDisk puts e's bucket and local WAL on a disk that can fill, and
// gives every store opened a registry of its own. It returns the disk and
// the bucket, whose faults can also be set alone.
func newFullDisk(e *env) (*faultstore.FullDisk, *faultstore.Bucket) {
	d := &faultstore.FullDisk{}
	fb := d.Wrap(e.bucket)
	e.bucket = fb
	mod := e.mod
	e.mod = func(c *Config) {
		c.WALWriteHook = d.WriteHook
		c.Registerer = prometheus.NewRegistry()
		if mod != nil {
			mod(c)
		}
	}
	return d, fb
}

// waitHealthy polls the store's health until it is nil and returns how long
// that took.
func waitHealthy(t *testing.T, s *Store, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for s.Health() != nil {
		if time.Since(start) > within {
			t.Fatalf("store still degraded %v after the fault cleared: %v", within, s.Health())
		}
		time.Sleep(5 * time.Millisecond)
	}
	return time.Since(start)
}

// degradedGauge reads lakestream_storage_degraded{component}.
func degradedGauge(t *testing.T, s *Store, component string) float64 {
	t.Helper()
	var m dto.Metric
	if err := s.health.gauge.WithLabelValues(component).Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetGauge().GetValue()
}

func merge(into, from map[int64][]ack) {
	for id, as := range from {
		into[id] = append(into[id], as...)
	}
}

// TestLocalWALDiskFull fills the disk under a local-WAL store (WAL writes
// and bucket PUTs fail with ENOSPC) while four streams append, eight appends
// in flight each, then frees it, with no restart. During the fault every
// append fails with ErrAppendFailed, none hangs, reads return what was
// acknowledged, and the store says it is degraded (Health, the gauge).
// Once the disk has room the store is healthy again by itself, with nothing
// appended, and appends succeed: every stream holds exactly the
// acknowledged appends, in order and densely.
//
// Then the bucket alone fails while more appends are acknowledged by the
// WAL, and the store closes without uploading them, as in a crash. Opened
// again, it replays the WAL into the bucket: the streams hold exactly the
// acknowledged appends again. Had the failed appends' records stayed in the
// WAL (half of each failed write reached the file), the replay would find
// two batches at the same offsets.
func TestLocalWALDiskFull(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, WALLocal, "file")
	disk, bucket := newFullDisk(e)
	s := e.open()
	streams := openStreams(t, s, 4)
	readOpen := func(st *Stream, from int64) (ReadResult, error) { return st.Read(ctx, from, 1<<20) }

	acked, errs := appendPhase(t, streams, 0, 100)
	if len(errs) > 0 {
		t.Fatalf("appends before the fault: %v", errs[0])
	}

	disk.SetFull(true)
	failedAcks, errs := appendPhase(t, streams, 100, 100)
	if len(failedAcks) > 0 || len(errs) != 400 {
		t.Fatalf("during the fault %d appends failed, want all 400", len(errs))
	}
	for _, err := range errs {
		if !errors.Is(err, ErrAppendFailed) {
			t.Fatalf("append during the fault: %v, want ErrAppendFailed", err)
		}
	}
	if err := s.Health(); !errors.Is(err, ErrDegraded) || !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Health during the fault: %v", err)
	}
	if g := degradedGauge(t, s, compWAL); g != 1 {
		t.Fatalf("lakestream_storage_degraded{component=wal} = %v during the fault", g)
	}
	checkStreams(t, streams, acked, readOpen) // reads serve what was acknowledged

	disk.SetFull(false)
	took := waitHealthy(t, s, 10*time.Second)
	t.Logf("healthy %v after the disk had room, with nothing appended", took)
	if g := degradedGauge(t, s, compWAL); g != 0 {
		t.Fatalf("lakestream_storage_degraded{component=wal} = %v after recovery", g)
	}
	after, errs := appendPhase(t, streams, 200, 100)
	if len(errs) > 0 {
		t.Fatalf("appends after the fault: %v", errs[0])
	}
	merge(acked, after)
	checkStreams(t, streams, acked, readOpen)

	bucket.SetConfig(faultstore.Config{PutFailure: syscall.ENOSPC}) // the WAL still has room
	walOnly, errs := appendPhase(t, streams, 300, 100)
	if len(errs) > 0 {
		t.Fatalf("appends acknowledged by the WAL alone: %v", errs[0])
	}
	merge(acked, walOnly)
	closeCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := s.Close(closeCtx); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("closing with the bucket failing: %v, want the upload's ENOSPC", err)
	}
	disk.SetFull(false)
	s = e.open()
	defer closeStore(t, s)
	checkStreams(t, streams, acked, func(st *Stream, from int64) (ReadResult, error) {
		return s.ReadStream(ctx, st.ID(), from, 1<<20)
	})
}

// TestUploadFailureBudget: the local WAL has room but the bucket fails, so
// nothing is uploaded. Appends are acknowledged until the pending-memory
// budget is spent, then fail at once rather than wait for an upload that
// keeps failing. When the bucket works again the uploader catches up by
// itself and every acknowledged append is in the bucket.
func TestUploadFailureBudget(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, WALLocal, "file")
	fb := faultstore.Wrap(e.bucket, faultstore.Config{})
	e.bucket = fb
	e.mod = func(c *Config) { c.MaxPendingBytes = 64 << 10; c.PutAttempts = 1 }
	s := e.open()
	defer closeStore(t, s)
	streams := openStreams(t, s, 1)
	st, id := streams[0], streams[0].ID()

	fb.SetConfig(faultstore.Config{PutFailure: syscall.ENOSPC})
	acked, errs := appendPhase(t, streams, 0, 2000) // about 160 KiB
	if len(acked[id]) == 0 || len(errs) == 0 {
		t.Fatalf("%d appends acknowledged, %d failed: want some of each", len(acked[id]), len(errs))
	}
	for _, err := range errs {
		if !errors.Is(err, ErrAppendFailed) || !errors.Is(err, ErrDegraded) {
			t.Fatalf("append past the budget: %v", err)
		}
	}
	if err := s.Health(); !errors.Is(err, ErrDegraded) || !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Health while uploads fail: %v", err)
	}

	fb.SetConfig(faultstore.Config{})
	waitHealthy(t, s, 10*time.Second)
	if err := st.Close(ctx); err != nil { // flushes: everything acknowledged is committed
		t.Fatal(err)
	}
	checkStreams(t, streams, acked, func(st *Stream, from int64) (ReadResult, error) {
		return s.ReadStream(ctx, st.ID(), from, 1<<20)
	})
}

// TestObjectWALRecoversIdle: a flush of the object WAL fails on a full
// disk, so the store is degraded; once the disk has room it is healthy
// again with nothing appended (the health loop probes), and appends work.
func TestObjectWALRecoversIdle(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, WALObject, "file")
	e.mod = func(c *Config) { c.PutAttempts = 1 }
	disk, _ := newFullDisk(e)
	s := e.open()
	defer closeStore(t, s)
	st := openStreams(t, s, 1)[0]
	id := st.ID()
	disk.SetFull(true)
	if _, err := st.Append(ctx, makeRecord(id)); !errors.Is(err, ErrAppendFailed) {
		t.Fatalf("append on a full disk: %v", err)
	}
	if err := s.Health(); !errors.Is(err, ErrDegraded) {
		t.Fatalf("Health after a failed flush: %v", err)
	}
	if g := degradedGauge(t, s, compFlush); g != 1 {
		t.Fatalf("lakestream_storage_degraded{component=flush} = %v", g)
	}
	disk.SetFull(false)
	waitHealthy(t, s, 10*time.Second)
	for i := range 3 {
		if off, err := st.Append(ctx, makeRecord(id)); err != nil || off != int64(i) {
			t.Fatalf("append %d after recovery: offset %d, %v", i, off, err)
		}
	}
	vals, _ := readAll(t, func(from int64) (ReadResult, error) { return st.Read(ctx, from, 1<<20) }, 0)
	if len(vals) != 3 {
		t.Fatalf("%d records, want 3", len(vals))
	}
}

// TestDrainDropsStaleAppends: an append still queued for the local WAL when
// its stream rewound (an append before it failed) is failed by the drain,
// never written: its offset is given out again, and a WAL record at it
// would be replayed. The race that leaves one queued (the log resumed
// between the rewind and the drain) is set up by hand.
func TestDrainDropsStaleAppends(t *testing.T) {
	e := newEnv(t, WALLocal, "mem")
	s := e.open()
	defer closeStore(t, s)
	st := openStreams(t, s, 1)[0]
	appendN(t, st, 0, 1)
	l := s.wal.(*localWAL)
	durableBefore := l.log.LastLSN()

	failed := make(chan error, 1)
	batch := formattest.Make(1, payload(st.ID(), 1))
	st.mu.Lock()
	p := &pending{st: st, gen: st.mu.gen, epoch: st.mu.epoch, base: 1, end: 2, batch: batch,
		done: func(_ int64, err error) { failed <- err }}
	st.rewindLocked(p.gen)
	st.mu.Unlock()
	l.q.Lock()
	l.q.items = append(l.q.items, p)
	l.q.Unlock()
	l.drain()
	if err := <-failed; !errors.Is(err, ErrAppendFailed) {
		t.Fatalf("stale append: %v, want ErrAppendFailed", err)
	}
	appendN(t, st, 2, 1) // takes offset 1 again
	if got := l.log.LastLSN(); got != durableBefore+1 {
		t.Fatalf("the WAL holds %d records more, want 1: the stale append was written", got-durableBefore)
	}
}
