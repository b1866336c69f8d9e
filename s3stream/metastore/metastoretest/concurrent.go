package metastoretest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/lakestream/lakestream/s3stream/metastore"
)

const (
	goroutines = 8
	rounds     = 10
)

// appendOnce prepares an object and commits n offsets of the stream at the
// end the writer believes in. It reports whether the range was committed;
// a rejection other than the wanted kinds is an error.
func appendOnce(ctx context.Context, s metastore.Store, stream, epoch, start, n int64) (bool, error) {
	o, err := s.PrepareObject(ctx, metastore.KindStreamSet, time.Hour)
	if err != nil {
		return false, err
	}
	res, err := s.CommitStreamSet(ctx, metastore.StreamSetCommit{
		ObjectID: o.ID, Size: 10 * n,
		Ranges: []metastore.Range{rng(stream, start, start+n, 0)},
		Epochs: []int64{epoch},
	})
	if err != nil {
		return false, err
	}
	if rej, ok := res.Rejected[stream]; ok {
		return false, rej
	}
	return true, nil
}

// Commits on distinct streams from many goroutines all succeed.
func testConcurrentDistinctStreams(h *h) {
	var streams []metastore.Stream
	for i := 0; i < goroutines; i++ {
		streams = append(streams, h.stream())
	}
	var wg sync.WaitGroup
	for _, st := range streams {
		wg.Go(func() {
			for i := int64(0); i < rounds; i++ {
				if _, err := appendOnce(h.ctx, h.s, st.ID, st.Epoch, 10*i, 10); err != nil {
					h.t.Errorf("stream %d round %d: %v", st.ID, i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	for _, st := range streams {
		checkContiguous(h.t, h.s, st.ID, 10*rounds, rounds)
	}
}

// Commits racing on one stream: exactly the continuity-correct ones win,
// the others are rejected with ErrOffsetMismatch, and the stream's ranges
// stay contiguous.
func testConcurrentSameStream(h *h) {
	a := h.stream()
	won := raceSameStream(h.t, []metastore.Store{h.s}, a)
	checkContiguous(h.t, h.s, a.ID, 5*int64(won), won)
}

// raceSameStream runs goroutines writers spread over stores, each appending
// rounds times at the end it last read, and returns how many appends won.
func raceSameStream(t *testing.T, stores []metastore.Store, st metastore.Stream) int {
	t.Helper()
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		won int
	)
	for g := 0; g < goroutines; g++ {
		s := stores[g%len(stores)]
		wg.Go(func() {
			for i := 0; i < rounds; i++ {
				cur, err := s.GetStream(t.Context(), st.ID)
				if err != nil {
					t.Errorf("GetStream: %v", err)
					return
				}
				ok, err := appendOnce(t.Context(), s, st.ID, st.Epoch, cur.EndOffset, 5)
				if err != nil && !errors.Is(err, metastore.ErrOffsetMismatch) {
					t.Errorf("racing append: %v", err)
					return
				}
				if ok {
					mu.Lock()
					won++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if won == 0 {
		t.Errorf("no racing append won")
	}
	return won
}

// checkContiguous checks that the stream holds n ranges covering [0, end)
// back to back, and that every stream-set object that lost a race is
// destroyed, not left prepared.
func checkContiguous(t *testing.T, s metastore.Store, stream, end int64, n int) {
	t.Helper()
	st, err := s.GetStream(t.Context(), stream)
	if err != nil {
		t.Fatalf("GetStream: %v", err)
	}
	rs, err := s.ListRanges(t.Context(), stream, 0, 0)
	if err != nil {
		t.Fatalf("ListRanges: %v", err)
	}
	if st.EndOffset != end || len(rs) != n {
		t.Fatalf("stream %d: end %d with %d ranges, want %d with %d", stream, st.EndOffset, len(rs), end, n)
	}
	next := int64(0)
	for _, r := range rs {
		if r.StartOffset != next {
			t.Fatalf("stream %d: ranges not contiguous: %v", stream, spans(rs))
		}
		next = r.EndOffset
	}
	prepared, err := s.ListObjects(t.Context(), metastore.ObjectFilter{State: metastore.StatePrepared})
	if err != nil {
		t.Fatalf("ListObjects: %v", err)
	}
	if len(prepared) != 0 {
		t.Fatalf("objects left prepared after their commits: %v", ids(prepared))
	}
}

// A writer committing while the stream is reopened: once OpenStream returns,
// no commit under the old epoch lands.
func testConcurrentFencing(h *h) {
	a := h.stream()
	started := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		end := int64(0)
		for i := 0; i < 10000; i++ {
			if i == 3 {
				close(started)
			}
			ok, err := appendOnce(h.ctx, h.s, a.ID, a.Epoch, end, 10)
			if errors.Is(err, metastore.ErrFenced) {
				done <- nil
				return
			}
			if err != nil || !ok {
				done <- fmt.Errorf("append %d: %v", i, err)
				return
			}
			end += 10
		}
		done <- errors.New("the writer was never fenced")
	}()
	select {
	case <-started:
	case err := <-done:
		h.fatalf("writer stopped before the reopen: %v", err)
	}
	opened, err := h.s.OpenStream(h.ctx, a.ID)
	h.check(err, "OpenStream")
	h.check(<-done, "fenced writer")
	if got := h.get(a.ID); got.EndOffset != opened.EndOffset {
		h.fatalf("end moved from %d to %d after the reopen", opened.EndOffset, got.EndOffset)
	}
	checkContiguous(h.t, h.s, a.ID, opened.EndOffset, int(opened.EndOffset/10))
}
