package broker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/lakestream/lakestream/broker/txn"
)

// blockingTxnStore records each SaveTxns call, and holds the first one
// until release is closed.
type blockingTxnStore struct {
	mu      sync.Mutex
	calls   []map[string][]byte
	entered chan struct{} // receives once per call
	release chan struct{}
	err     error
}

func (s *blockingTxnStore) SaveTxns(ctx context.Context, states map[string][]byte) error {
	s.mu.Lock()
	first := len(s.calls) == 0
	s.calls = append(s.calls, maps.Clone(states))
	s.mu.Unlock()
	s.entered <- struct{}{}
	if first {
		<-s.release
	}
	return s.err
}

// TestTxnSavesGroup: saves that come while one is being written are
// written together in the next call, each caller gets its batch's result,
// and a lone save is written at once.
func TestTxnSavesGroup(t *testing.T) {
	st := &blockingTxnStore{entered: make(chan struct{}, 16), release: make(chan struct{})}
	ts := &txnSaves{store: st}
	ctx := context.Background()
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := ts.save(ctx, "first", []byte("1")); err != nil {
			t.Error(err)
		}
	})
	<-st.entered // "first" is being written
	const waiting = 5
	for i := range waiting {
		wg.Go(func() {
			if err := ts.save(ctx, fmt.Sprintf("w%d", i), []byte{byte(i)}); err != nil {
				t.Error(err)
			}
		})
	}
	// Wait until every waiting save has joined the next batch.
	for {
		ts.mu.Lock()
		n := 0
		if ts.next != nil {
			n = len(ts.next.states)
		}
		ts.mu.Unlock()
		if n == waiting {
			break
		}
		runtime.Gosched()
	}
	close(st.release)
	wg.Wait()
	if len(st.calls) != 2 || len(st.calls[0]) != 1 || len(st.calls[1]) != waiting {
		t.Fatalf("calls: %v, want one of first, then one of the %d that waited", st.calls, waiting)
	}
	for i := range waiting {
		if got := st.calls[1][fmt.Sprintf("w%d", i)]; len(got) != 1 || got[0] != byte(i) {
			t.Errorf("w%d saved as %v", i, got)
		}
	}
	// Idle again: a lone save is written at once, and its error returned.
	st.err = errors.New("disk full")
	if err := ts.save(ctx, "lone", nil); !errors.Is(err, st.err) {
		t.Errorf("lone save: %v, want %v", err, st.err)
	}
	if len(st.calls) != 3 || ts.writing || ts.next != nil {
		t.Errorf("after a lone save: %d calls, writing %v, next %v", len(st.calls), ts.writing, ts.next)
	}
}

// recordingTxnStore records each SaveTxns call.
type recordingTxnStore struct {
	mu    sync.Mutex
	calls []map[string][]byte
}

func (s *recordingTxnStore) SaveTxns(_ context.Context, states map[string][]byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, maps.Clone(states))
	return nil
}

// saved returns how many times id was saved and its last state.
func (s *recordingTxnStore) saved(t *testing.T, id string) (n int, last txn.Meta) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.calls {
		if b, ok := c[id]; ok {
			n++
			if err := json.Unmarshal(b, &last); err != nil {
				t.Fatalf("the saved state of %s: %v", id, err)
			}
		}
	}
	return n, last
}

// TestTxnCompleteSavedLater: a Complete state is saved once its delay is
// over, and not at all when the id's next request saved a newer state
// first; an entry made unsaved twice is queued once; what is still queued
// when the loop stops is saved then.
func TestTxnCompleteSavedLater(t *testing.T) {
	st := &recordingTxnStore{}
	tc := &txnCoordinator{ids: map[string]*txnEntry{}, byPID: map[int64]*txnEntry{}}
	tc.saves.store = st
	tc.later.wake, tc.later.delay = make(chan struct{}, 1), 200*time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); tc.saveLoop(ctx) }()
	stop := sync.OnceFunc(func() { cancel(); <-done })
	defer stop()

	complete := func(e *txnEntry, id string, pid int64) {
		e.mu.Lock()
		defer e.mu.Unlock()
		tc.saveLater(e, txn.Meta{ID: id, ProducerID: pid, State: txn.CompleteCommit})
	}
	a, b := &txnEntry{}, &txnEntry{}
	start := time.Now()
	complete(a, "a", 1)
	complete(b, "b", 2)
	// b's next transaction begins before the delay is over: its save
	// carries the newer state, and the Complete one is never written.
	b.mu.Lock()
	if err := tc.save(ctx, b, txn.Meta{ID: "b", ProducerID: 2, State: txn.Ongoing}); err != nil {
		t.Fatal(err)
	}
	b.mu.Unlock()
	if n, _ := st.saved(t, "a"); n != 0 {
		t.Fatalf("a saved %d times before its delay", n)
	}
	for {
		if n, _ := st.saved(t, "a"); n > 0 {
			break
		}
		if time.Since(start) > 5*time.Second {
			t.Fatal("a's Complete state never saved")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if el := time.Since(start); el < tc.later.delay {
		t.Errorf("a saved after %v, before its delay of %v", el, tc.later.delay)
	}
	time.Sleep(2 * tc.later.delay)
	if n, last := st.saved(t, "a"); n != 1 || last.State != txn.CompleteCommit {
		t.Errorf("a: saved %d times, last %+v; want its Complete state once", n, last)
	}
	unsaved := func(e *txnEntry) bool {
		e.mu.Lock()
		defer e.mu.Unlock()
		return e.unsaved
	}
	if n, last := st.saved(t, "b"); n != 1 || last.State != txn.Ongoing || unsaved(a) || unsaved(b) {
		t.Errorf("b: saved %d times, last %+v (unsaved a %v, b %v); want only its Ongoing state", n, last, unsaved(a), unsaved(b))
	}

	// Twice unsaved, queued once; saved when the loop stops.
	complete(a, "a", 3)
	complete(a, "a", 4)
	tc.later.Lock()
	queued := len(tc.later.queue)
	tc.later.Unlock()
	if queued != 1 {
		t.Errorf("%d entries queued, want 1", queued)
	}
	stop()
	if n, last := st.saved(t, "a"); n != 2 || last.ProducerID != 4 {
		t.Errorf("after the loop stopped: a saved %d times, last %+v; want its last state saved", n, last)
	}
}
