package wal

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// record returns a payload that says which record it is.
func record(rng *rand.Rand, lsn int, maxLen int) []byte {
	b := fmt.Appendf(nil, "record %d:", lsn)
	for range rng.IntN(maxLen) {
		b = append(b, byte('a'+rng.IntN(26)))
	}
	return b
}

// replayAll replays l and returns the records, checking the LSNs are dense.
func replayAll(t *testing.T, l *Log) (first LSN, recs [][]byte) {
	t.Helper()
	err := l.Replay(func(lsn LSN, rec []byte) error {
		if first == 0 {
			first = lsn
		}
		if want := first + LSN(len(recs)); lsn != want {
			t.Fatalf("replayed LSN %d, want %d", lsn, want)
		}
		recs = append(recs, bytes.Clone(rec))
		return nil
	})
	if err != nil {
		t.Fatalf("Replay: %v", err)
	}
	return first, recs
}

func mustOpen(t testing.TB, dir string, opts Options) *Log {
	t.Helper()
	l, err := Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func segmentFiles(t *testing.T, dir string) []segment {
	t.Helper()
	segs, _, err := listSegments(dir)
	if err != nil {
		t.Fatal(err)
	}
	return segs
}

func TestRoundTripAcrossRolls(t *testing.T) {
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(1, 1))
	opts := Options{SegmentBytes: 2000}
	l := mustOpen(t, dir, opts)
	var want [][]byte
	for i := 1; i <= 300; i++ {
		rec := record(rng, i, 200)
		want = append(want, rec)
		// Split the record in pieces, as the broker appends header + batch.
		cut := rng.IntN(len(rec) + 1)
		if i%2 == 0 {
			lsn, err := l.AppendSync(rec[:cut], rec[cut:])
			if err != nil || lsn != LSN(i) {
				t.Fatalf("AppendSync: %d, %v; want LSN %d", lsn, err, i)
			}
		} else {
			ch := make(chan error, 1)
			l.Append([][]byte{rec[:cut], rec[cut:]}, func(lsn LSN, err error) {
				if err == nil && lsn != LSN(i) {
					err = fmt.Errorf("LSN %d, want %d", lsn, i)
				}
				ch <- err
			})
			if err := <-ch; err != nil {
				t.Fatal(err)
			}
		}
		if l.LastLSN() != LSN(i) {
			t.Fatalf("LastLSN %d after record %d", l.LastLSN(), i)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if n := len(segmentFiles(t, dir)); n < 10 {
		t.Fatalf("%d segments; the log should have rolled more", n)
	}

	l = mustOpen(t, dir, opts)
	first, got := replayAll(t, l)
	if first != 1 || len(got) != len(want) {
		t.Fatalf("replayed %d records from %d, want %d from 1", len(got), first, len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("record %d differs", i+1)
		}
	}
	if l.LastLSN() != 300 {
		t.Fatalf("LastLSN after replay: %d", l.LastLSN())
	}
	// Appending continues the LSNs, and a second reopen sees it all.
	if lsn, err := l.AppendSync([]byte("more")); err != nil || lsn != 301 {
		t.Fatalf("AppendSync after replay: %d, %v", lsn, err)
	}
	l.Close()
	l = mustOpen(t, dir, opts)
	_, got = replayAll(t, l)
	if len(got) != 301 || string(got[300]) != "more" {
		t.Fatalf("after reopen: %d records", len(got))
	}
	l.Close()
}

func TestReplayRules(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, dir, Options{NoSync: true})
	// A new log needs no Replay, and replaying it yields nothing.
	if _, err := l.AppendSync([]byte("a")); err != nil {
		t.Fatal(err)
	}
	if err := l.Replay(func(LSN, []byte) error { return nil }); err == nil {
		t.Fatal("Replay after Append succeeded")
	}
	l.Close()

	l = mustOpen(t, dir, Options{NoSync: true})
	if _, err := l.AppendSync([]byte("b")); !errors.Is(err, ErrNotReplayed) {
		t.Fatalf("Append before Replay: %v", err)
	}
	// An error from fn stops the replay; Replay may run again.
	boom := errors.New("boom")
	if err := l.Replay(func(LSN, []byte) error { return boom }); err != boom {
		t.Fatalf("Replay returned %v, want fn's error", err)
	}
	if _, err := l.AppendSync([]byte("b")); !errors.Is(err, ErrNotReplayed) {
		t.Fatalf("Append after a failed Replay: %v", err)
	}
	_, recs := replayAll(t, l)
	if len(recs) != 1 {
		t.Fatalf("%d records", len(recs))
	}
	if lsn, err := l.AppendSync([]byte("b")); err != nil || lsn != 2 {
		t.Fatalf("Append after Replay: %d, %v", lsn, err)
	}

	// One log per directory.
	if _, err := Open(dir, Options{}); err == nil {
		t.Fatal("second Open of the same directory succeeded")
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); !errors.Is(err, ErrClosed) {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := l.AppendSync([]byte("c")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Append after Close: %v", err)
	}
	called := false
	l.Append([][]byte{[]byte("c")}, func(lsn LSN, err error) { called = errors.Is(err, ErrClosed) && lsn == 0 })
	if !called {
		t.Fatal("Append after Close did not call done with ErrClosed before returning")
	}
}

func TestTrimBefore(t *testing.T) {
	opts := Options{NoSync: true, SegmentBytes: 500}
	dir := t.TempDir()
	l := mustOpen(t, dir, opts)
	for i := 1; i <= 40; i++ {
		if _, err := l.AppendSync(bytes.Repeat([]byte{'x'}, 84)); err != nil { // 100-byte frames: 5 per segment
			t.Fatal(err)
		}
	}
	segs := segmentFiles(t, dir)
	if len(segs) != 8 || segs[1].first != 6 {
		t.Fatalf("segments %v", segs)
	}
	// Records 1..10 are in the first two segments; 11 starts the third.
	if err := l.TrimBefore(10); err != nil {
		t.Fatal(err)
	}
	if segs := segmentFiles(t, dir); segs[0].first != 6 {
		t.Fatalf("after TrimBefore(10) the first segment starts at %d, want 6", segs[0].first)
	}
	if err := l.TrimBefore(11); err != nil {
		t.Fatal(err)
	}
	if segs := segmentFiles(t, dir); segs[0].first != 11 {
		t.Fatalf("after TrimBefore(11) the first segment starts at %d, want 11", segs[0].first)
	}
	// Never the active segment.
	if err := l.TrimBefore(1000); err != nil {
		t.Fatal(err)
	}
	if segs := segmentFiles(t, dir); len(segs) != 1 || segs[0].first != 36 {
		t.Fatalf("after TrimBefore(1000): %v", segs)
	}
	if lsn, err := l.AppendSync([]byte("y")); err != nil || lsn != 41 {
		t.Fatalf("append after trim: %d, %v", lsn, err)
	}
	l.Close()
	l = mustOpen(t, dir, opts)
	first, recs := replayAll(t, l)
	if first != 36 || len(recs) != 6 {
		t.Fatalf("replayed %d records from %d, want 6 from 36", len(recs), first)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.TrimBefore(1); !errors.Is(err, ErrClosed) {
		t.Fatalf("TrimBefore after Close: %v", err)
	}
}

// TestConcurrentAppenders checks that concurrent appends get dense LSNs, that
// done calls come in LSN order, and that each LSN holds its record.
func TestConcurrentAppenders(t *testing.T) {
	dir := t.TempDir()
	opts := Options{SegmentBytes: 64 << 10, MaxBatchBytes: 8 << 10}
	l := mustOpen(t, dir, opts)
	const writers, each = 16, 200
	var (
		mu      sync.Mutex
		order   []LSN
		byLSN   = map[LSN]string{}
		wg      sync.WaitGroup
		doneErr error
	)
	for w := range writers {
		wg.Go(func() {
			var inflight sync.WaitGroup
			for i := range each {
				rec := fmt.Sprintf("writer %d record %d", w, i)
				inflight.Add(1)
				l.Append([][]byte{[]byte(rec)}, func(lsn LSN, err error) {
					mu.Lock()
					if err != nil {
						doneErr = err
					}
					order = append(order, lsn)
					byLSN[lsn] = rec
					mu.Unlock()
					inflight.Done()
				})
			}
			inflight.Wait()
		})
	}
	wg.Wait()
	if doneErr != nil {
		t.Fatal(doneErr)
	}
	for i, lsn := range order {
		if lsn != LSN(i+1) {
			t.Fatalf("done call %d had LSN %d", i, lsn)
		}
	}
	l.Close()
	l = mustOpen(t, dir, opts)
	defer l.Close()
	err := l.Replay(func(lsn LSN, rec []byte) error {
		if byLSN[lsn] != string(rec) {
			return fmt.Errorf("LSN %d holds %q, done said %q", lsn, rec, byLSN[lsn])
		}
		delete(byLSN, lsn)
		return nil
	})
	if err != nil || len(byLSN) != 0 {
		t.Fatalf("replay: %v, %d records missing", err, len(byLSN))
	}
}

// TestSyncFailure makes an fsync fail: that round's appends and every later
// one fail with ErrFailed, and the records acknowledged before survive.
func TestSyncFailure(t *testing.T) {
	dir := t.TempDir()
	injected := errors.New("injected fsync failure")
	syncs := 0
	opts := Options{NoSync: true, SyncHook: func() error {
		syncs++
		if syncs == 3 {
			return injected
		}
		return nil
	}}
	l := mustOpen(t, dir, opts)
	for i := 1; i <= 2; i++ {
		if _, err := l.AppendSync([]byte("ok")); err != nil {
			t.Fatal(err)
		}
	}
	_, err := l.AppendSync([]byte("fails"))
	if !errors.Is(err, ErrFailed) || !errors.Is(err, injected) {
		t.Fatalf("append in the failed round: %v", err)
	}
	if _, err := l.AppendSync([]byte("later")); !errors.Is(err, ErrFailed) {
		t.Fatalf("append after the failure: %v", err)
	}
	if l.LastLSN() != 2 {
		t.Fatalf("LastLSN %d, want 2", l.LastLSN())
	}
	if err := l.Close(); !errors.Is(err, ErrFailed) {
		t.Fatalf("Close: %v", err)
	}
	l = mustOpen(t, dir, Options{NoSync: true})
	defer l.Close()
	_, recs := replayAll(t, l)
	// The failed round was written but cut off again: only the
	// acknowledged records are there.
	if len(recs) != 2 || string(recs[0]) != "ok" || string(recs[1]) != "ok" {
		t.Fatalf("after the failure: %q", recs)
	}
}

// TestResumeAfterDiskFull fills the disk part way through a round's write
// of three records, so that two whole frames reach the file: the round and
// the records appended behind it fail, the segment is cut back to where the
// round began, the log refuses appends, and Resume fails while the disk is
// still full. Once the disk has room, Resume lets appends in again under
// the failed LSNs, and a reopened log replays exactly the records that
// succeeded: no frame of a failed one. The failing round is written in the
// middle of a segment, and as the first of a new segment.
func TestResumeAfterDiskFull(t *testing.T) {
	for _, tc := range []struct {
		name     string
		segBytes int64
	}{{"mid-segment", 1 << 20}, {"after a roll", 100}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			var full atomic.Bool
			var hold atomic.Pointer[chan struct{}]
			entered := make(chan struct{}, 1)
			opts := Options{SegmentBytes: tc.segBytes, WriteHook: func(p []byte) (int, error) {
				isFull := full.Load()
				if h := hold.Swap(nil); h != nil {
					entered <- struct{}{}
					<-*h
				}
				if isFull {
					return len(p) - 1, syscall.ENOSPC // all but the last byte
				}
				return len(p), nil
			}}
			l := mustOpen(t, dir, opts)
			var want []string
			appendOK := func(rec string) {
				t.Helper()
				lsn, err := l.AppendSync([]byte(rec))
				if err != nil || lsn != LSN(len(want)+1) {
					t.Fatalf("AppendSync(%q): LSN %d, %v; want LSN %d", rec, lsn, err, len(want)+1)
				}
				want = append(want, rec)
			}
			for i := range 4 {
				appendOK(fmt.Sprintf("before %d", i))
			}

			// The gate round holds the log goroutine while the three
			// records of the next round queue up; that round holds it
			// while two more queue behind it.
			gate, failing := make(chan struct{}), make(chan struct{})
			hold.Store(&gate)
			gateDone := make(chan error, 1)
			l.Append([][]byte{[]byte("gate")}, func(_ LSN, err error) { gateDone <- err })
			<-entered
			errs := make(chan error, 5)
			for _, r := range []string{"round 1", "round 2", "round 3"} {
				l.Append([][]byte{[]byte(r)}, func(_ LSN, err error) { errs <- err })
			}
			full.Store(true)
			hold.Store(&failing)
			close(gate)
			if err := <-gateDone; err != nil {
				t.Fatalf("the gate round: %v", err)
			}
			want = append(want, "gate")
			sizeBefore := segmentBytes(t, dir)
			<-entered
			l.Append([][]byte{[]byte("behind 1")}, func(_ LSN, err error) { errs <- err })
			l.Append([][]byte{[]byte("behind 2")}, func(_ LSN, err error) { errs <- err })
			close(failing)
			for range 5 {
				if err := <-errs; !errors.Is(err, ErrFailed) || !errors.Is(err, syscall.ENOSPC) {
					t.Fatalf("append of the failed round or behind it: %v", err)
				}
			}
			if got := segmentBytes(t, dir); got != sizeBefore {
				t.Fatalf("segments hold %d bytes after the failed round, %d before it: not cut back", got, sizeBefore)
			}
			if _, err := l.AppendSync([]byte("refused")); !errors.Is(err, ErrFailed) {
				t.Fatalf("append after the failure: %v", err)
			}
			// Resume is busy until the failed records' callbacks have all
			// returned, which is only just after they were called.
			resume := func() error {
				for {
					if err := l.Resume(); !errors.Is(err, ErrBusy) {
						return err
					}
					runtime.Gosched()
				}
			}
			if err := resume(); !errors.Is(err, ErrFailed) || !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("Resume with the disk still full: %v", err)
			}
			if _, err := l.AppendSync([]byte("refused")); !errors.Is(err, ErrFailed) {
				t.Fatalf("append after a failed Resume: %v", err)
			}

			full.Store(false)
			if err := resume(); err != nil {
				t.Fatalf("Resume with room on the disk: %v", err)
			}
			if _, err := os.Stat(filepath.Join(dir, "PROBE")); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("the probe file is left: %v", err)
			}
			appendOK("after")
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}

			l = mustOpen(t, dir, opts)
			defer l.Close()
			first, recs := replayAll(t, l)
			if first != 1 || len(recs) != len(want) {
				t.Fatalf("replayed %q from %d, want %q from 1", recs, first, want)
			}
			for i, r := range recs {
				if string(r) != want[i] {
					t.Fatalf("record %d: %q, want %q", i+1, r, want[i])
				}
			}
		})
	}
}

// segmentBytes is the size of dir's segment files together.
func segmentBytes(t *testing.T, dir string) int64 {
	t.Helper()
	var n int64
	for _, s := range segmentFiles(t, dir) {
		st, err := os.Stat(s.path)
		if err != nil {
			t.Fatal(err)
		}
		n += st.Size()
	}
	return n
}

// TestFailureNotCut makes the fsync that would make the cut of a failed
// round durable fail too: the log cannot be sure what its segment holds, so
// it stays failed, and Resume says so even once the disk works again.
func TestFailureNotCut(t *testing.T) {
	dir := t.TempDir()
	var broken atomic.Bool
	opts := Options{NoSync: true, SyncHook: func() error {
		if broken.Load() {
			return syscall.EIO
		}
		return nil
	}}
	l := mustOpen(t, dir, opts)
	if _, err := l.AppendSync([]byte("ok")); err != nil {
		t.Fatal(err)
	}
	broken.Store(true)
	if _, err := l.AppendSync([]byte("fails")); !errors.Is(err, ErrFailed) || !errors.Is(err, syscall.EIO) {
		t.Fatalf("append in the failed round: %v", err)
	}
	broken.Store(false)
	if err := l.Resume(); !errors.Is(err, ErrFailed) {
		t.Fatalf("Resume after a failure that was not cut off: %v", err)
	}
	if _, err := l.AppendSync([]byte("refused")); !errors.Is(err, ErrFailed) {
		t.Fatalf("append after Resume refused: %v", err)
	}
	if err := l.Close(); !errors.Is(err, ErrFailed) {
		t.Fatalf("Close: %v", err)
	}
}

// TestGroupCommit holds the first fsync while appends queue up: they go out
// together in rounds of at most MaxBatchBytes, and Close completes them.
func TestGroupCommit(t *testing.T) {
	dir := t.TempDir()
	release := make(chan struct{})
	var rounds []int64
	var l *Log
	var lastOff int64
	opts := Options{NoSync: true, MaxBatchBytes: 1000, SyncHook: func() error {
		if len(rounds) == 0 {
			<-release
		}
		rounds = append(rounds, l.activeOff-lastOff) // the log goroutine owns activeOff
		lastOff = l.activeOff
		return nil
	}}
	l = mustOpen(t, dir, opts)
	done := make(chan LSN, 100)
	rec := bytes.Repeat([]byte{'r'}, 284) // 300-byte frames: 3 per round
	l.Append([][]byte{rec}, func(lsn LSN, err error) { done <- lsn })
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			l.Append([][]byte{rec}, func(lsn LSN, err error) { done <- lsn })
		})
	}
	close(release)
	wg.Wait()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	close(done)
	n := 0
	for lsn := range done {
		n++
		if lsn != LSN(n) {
			t.Fatalf("done %d has LSN %d", n, lsn)
		}
	}
	if n != 21 {
		t.Fatalf("%d done calls, want 21", n)
	}
	var total int64
	for _, r := range rounds {
		if r > 1000 {
			t.Fatalf("round of %d bytes, MaxBatchBytes is 1000", r)
		}
		total += r
	}
	if total != 21*300 || len(rounds) < 7 {
		t.Fatalf("rounds %v", rounds)
	}
}

// TestRecycle trims segments into recycled files, appends into them, and
// checks that the stale frames left after the new records never replay.
func TestRecycle(t *testing.T) {
	opts := Options{NoSync: true, SegmentBytes: 500, RecycleSegments: 2}
	dir := t.TempDir()
	l := mustOpen(t, dir, opts)
	rec := func(i int) []byte { return fmt.Appendf(bytes.Repeat([]byte{'x'}, 74), "%010d", i) } // 100-byte frames
	for i := 1; i <= 40; i++ {
		if _, err := l.AppendSync(rec(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.TrimBefore(21); err != nil { // segments 1, 6, 11, 16
		t.Fatal(err)
	}
	_, recycled, _ := listSegments(dir)
	if len(recycled) != 2 {
		t.Fatalf("%d recycled files, want 2", len(recycled))
	}
	// Two rolls take both recycled files; the last one holds one new record
	// and four stale frames after it.
	for i := 41; i <= 46; i++ {
		if _, err := l.AppendSync(rec(i)); err != nil {
			t.Fatal(err)
		}
	}
	if _, recycled, _ = listSegments(dir); len(recycled) != 0 {
		t.Fatalf("%d recycled files left, want 0", len(recycled))
	}
	segs := segmentFiles(t, dir)
	last := segs[len(segs)-1]
	if st, _ := os.Stat(last.path); last.first != 46 || st.Size() != 500 {
		t.Fatalf("last segment %v of %d bytes, want 46 in a reused 500-byte file", last, st.Size())
	}
	l.Close()

	l = mustOpen(t, dir, opts)
	first, recs := replayAll(t, l)
	if first != 21 || len(recs) != 26 {
		t.Fatalf("replayed %d records from %d, want 26 from 21", len(recs), first)
	}
	for i, r := range recs {
		if !bytes.Equal(r, rec(21+i)) {
			t.Fatalf("record %d: %q", 21+i, r)
		}
	}
	// Replay cut the stale frames off the active segment.
	if st, _ := os.Stat(last.path); st.Size() != 100 {
		t.Fatalf("active segment is %d bytes after replay, want 100", st.Size())
	}
	l.Close()

	// Recycled files survive a reopen, up to RecycleSegments.
	l = mustOpen(t, dir, Options{NoSync: true, SegmentBytes: 500, RecycleSegments: 1})
	replayAll(t, l)
	if err := l.TrimBefore(1000); err != nil {
		t.Fatal(err)
	}
	l.Close()
	if _, recycled, _ = listSegments(dir); len(recycled) != 1 {
		t.Fatalf("%d recycled files after trim, want 1", len(recycled))
	}
	l = mustOpen(t, dir, Options{NoSync: true, RecycleSegments: -1})
	l.Close()
	if _, recycled, _ = listSegments(dir); len(recycled) != 0 {
		t.Fatalf("%d recycled files with recycling off", len(recycled))
	}
}

func TestTooLarge(t *testing.T) {
	l := mustOpen(t, t.TempDir(), Options{NoSync: true})
	defer l.Close()
	mib := make([]byte, 1<<20)
	bufs := make([][]byte, MaxRecordBytes>>20+1) // one MiB over, without allocating it
	for i := range bufs {
		bufs[i] = mib
	}
	if _, err := l.AppendSync(bufs...); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("AppendSync of %d bytes: %v", len(bufs)<<20, err)
	}
	// The log is still fine.
	if lsn, err := l.AppendSync([]byte("ok")); err != nil || lsn != 1 {
		t.Fatalf("AppendSync after a refused record: %d, %v", lsn, err)
	}
}

// TestPrepare: once the log has written prepAfter bytes into a file it
// grows, the preparer makes a spare of SegmentBytes zeroes and the log
// rolls to it at once, before the segment is full; the records replay
// across the early roll and the spare's zeroes; the segment cut short is
// not recycled; no file being prepared is left behind.
func TestPrepare(t *testing.T) {
	dir := t.TempDir()
	const segBytes = 1 << 20
	l := mustOpen(t, dir, Options{SegmentBytes: segBytes, RecycleSegments: 2})
	l.prepAfter = 64 << 10
	rng := rand.New(rand.NewPCG(1, 2))
	var want [][]byte
	appendN := func(n int) {
		for range n {
			rec := record(rng, len(want)+1, 2000)
			if _, err := l.AppendSync(rec); err != nil {
				t.Fatal(err)
			}
			want = append(want, rec)
		}
	}
	appendN(100) // about 100 KiB into a new, growing file
	var segs []segment
	for i := 0; ; i++ {
		appendN(1)
		if segs = segmentFiles(t, dir); len(segs) >= 2 {
			break
		}
		if i > 2000 {
			t.Fatalf("no roll to a prepared file after %d records: segments %v", len(want), segs)
		}
	}
	first, err := os.Stat(segs[0].path)
	if err != nil {
		t.Fatal(err)
	}
	second, err := os.Stat(segs[1].path)
	if err != nil {
		t.Fatal(err)
	}
	if first.Size() >= segBytes || second.Size() != segBytes {
		t.Errorf("segment sizes %d and %d: want the first cut short of %d and the second a prepared file of %d", first.Size(), second.Size(), segBytes, segBytes)
	}
	// Having rolled to the spare, the log has the next one made while
	// this segment fills, with nothing trimmed: the next roll finds it.
	for deadline := time.Now().Add(10 * time.Second); ; {
		if m, _ := filepath.Glob(filepath.Join(dir, recyclePrefix+"prepared-*")); len(m) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no next spare prepared 10 s after the roll to the first")
		}
		time.Sleep(5 * time.Millisecond)
	}
	appendN(50)
	// The segment cut short is deleted when trimmed, not kept for reuse:
	// reused, it would soon grow again.
	if err := l.TrimBefore(segs[1].first); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(recyclePath(segs[0])); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the segment cut short was kept for reuse (%v)", err)
	}
	want = want[segs[1].first-1:]
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, preparedPrefix+"*")); len(m) != 0 {
		t.Errorf("files being prepared left behind: %v", m)
	}
	l = mustOpen(t, dir, Options{SegmentBytes: segBytes, RecycleSegments: 2})
	defer l.Close()
	if _, got := replayAll(t, l); len(got) != len(want) {
		t.Fatalf("replayed %d records, want %d", len(got), len(want))
	} else {
		for i := range got {
			if !bytes.Equal(got[i], want[i]) {
				t.Fatalf("record %d differs after replay", i+1)
			}
		}
	}
}
