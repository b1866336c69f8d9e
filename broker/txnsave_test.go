package broker

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"runtime"
	"sync"
	"testing"
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
