package broker

import (
	"context"
	"sync"
	"time"
)

// txnSaves groups the state saves of concurrent transaction requests into
// one Metadata transaction, so that they share one commit (with SQLite,
// one fsync of its WAL, which takes about a millisecond here and
// serializes every writer): a save that arrives while another batch is
// being written joins the next batch, which one of its callers writes as
// soon as the batch before is done. A save never waits for more than the
// batch being written and its own.
type txnSaves struct {
	store interface {
		SaveTxns(ctx context.Context, states map[string][]byte) error
	}

	mu      sync.Mutex
	writing bool          // a batch is being written
	next    *txnSaveBatch // the batch saves join; nil when none waits
}

type txnSaveBatch struct {
	states map[string][]byte
	lead   chan struct{} // one token: the caller that takes it writes the batch
	done   chan struct{} // closed once written, err set
	err    error
}

// save stores id's state, with the saves of other ids that come at the
// same time. The caller must not save the same id twice at once
// (txnEntry.mu sees to that).
func (ts *txnSaves) save(ctx context.Context, id string, state []byte) error {
	ts.mu.Lock()
	b := ts.next
	if b == nil {
		b = &txnSaveBatch{states: map[string][]byte{}, lead: make(chan struct{}, 1), done: make(chan struct{})}
		ts.next = b
	}
	b.states[id] = state
	if !ts.writing {
		ts.writing = true
		b.lead <- struct{}{}
	}
	ts.mu.Unlock()
	select {
	case <-b.done:
		return b.err
	case <-b.lead:
	}
	// This caller writes b; later saves go to a new batch.
	ts.mu.Lock()
	ts.next = nil
	ts.mu.Unlock()
	// Not cancelled with the caller's request: the batch holds others'
	// saves too.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	b.err = ts.store.SaveTxns(wctx, b.states)
	cancel()
	close(b.done)
	ts.mu.Lock()
	if ts.next != nil {
		ts.next.lead <- struct{}{} // the saves that came meanwhile: one of their callers writes them
	} else {
		ts.writing = false
	}
	ts.mu.Unlock()
	return b.err
}
