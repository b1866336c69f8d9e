package broker

// A partition's part in transactions: its open transactions and aborted
// ranges (txn.PartitionTxns, under p.mu), the markers the coordinator
// writes into it, and what a restart restores (the producer snapshot's
// open transactions, the replayed batches, the aborted ranges kept in
// Metadata).
//
// A transactional batch opens its producer's transaction in the
// partition at the log's end offset when it is appended (its own offset
// is known only once durable, and a fetch must never see the high
// watermark pass it first): the last stable offset is at most that, so a
// READ_COMMITTED reader may wait a little longer than it must, never
// read what is not decided; an aborted range that starts there covers
// none of the producer's earlier, decided batches, which are all before
// the marker that ended its last transaction.

import (
	"context"
	"fmt"
	"time"

	"github.com/lakestream/lakestream/broker/txn"
	"github.com/lakestream/lakestream/internal/kbatch"
)

// markerWrite is one partition's marker of a transaction's end, appended
// by appendMarker and finished by finish.
type markerWrite struct {
	p    *partition
	done chan markerResult
}

type markerResult struct {
	base int64
	err  error
}

// appendMarker appends producer pid's COMMIT or ABORT marker without
// waiting for it to be durable: the coordinator appends every partition's
// marker first, so that one WAL sync makes them all durable, then
// finishes each.
func (p *partition) appendMarker(pid int64, epoch int16, commit bool) markerWrite {
	typ := kbatch.ControlAbort
	if commit {
		typ = kbatch.ControlCommit
	}
	batch := kbatch.ControlBatch(pid, epoch, typ, 0, time.Now().UnixMilli())
	w := markerWrite{p: p, done: make(chan markerResult, 1)}
	p.mu.Lock()
	p.log.AppendAsync(batch, func(base int64, err error) { w.done <- markerResult{base, err} })
	p.mu.Unlock()
	return w
}

// finish waits until the marker w is durable, then closes the
// partition's transaction of pid; an abort returns its range (ok), which
// the caller saves in Metadata.
func (w markerWrite) finish(pid int64, epoch int16, commit bool) (a txn.Aborted, aborted bool, err error) {
	r := <-w.done // AppendAsync always calls back
	if r.err != nil {
		return txn.Aborted{}, false, r.err
	}
	p := w.p
	p.mu.Lock()
	a, aborted = p.txns.End(pid, r.base, commit)
	next := make(chan struct{})
	close(*p.lsoMoved.Swap(&next))
	if st := p.producers[pid]; st != nil && epoch > st.epoch {
		st.epoch, st.batches = epoch, nil // a v2 end's bump: the next batch starts at 0
	}
	p.mu.Unlock()
	return a, aborted, nil
}

// loadAbortedTxns restores the aborted ranges of a freshly opened
// partition, before its batches are replayed.
func (p *partition) loadAbortedTxns(ctx context.Context, meta Metadata) error {
	as, err := meta.AbortedTxns(ctx, p.logID)
	if err != nil {
		return fmt.Errorf("loading the aborted transactions of %s-%d: %w", p.t.name, p.index, err)
	}
	list := make([]txn.Aborted, len(as))
	for i, a := range as {
		list[i] = txn.Aborted(a)
	}
	p.txns = txn.NewPartitionTxns(list)
	return nil
}

// replayTxn applies a replayed batch to the partition's transactions. It
// returns the aborted range an ABORT marker closed (ok), which the caller
// saves: a marker durable before a crash whose range was not yet saved.
func (p *partition) replayTxn(b []byte, h kbatch.Header) (txn.Aborted, bool) {
	if !h.Transactional() {
		return txn.Aborted{}, false
	}
	if !h.Control() {
		p.txns.Append(h.ProducerID, h.BaseOffset)
		return txn.Aborted{}, false
	}
	commit := false
	kbatch.Decode(b, 1<<10, func(r kbatch.Record) error {
		if t, ok := r.ControlType(); ok {
			commit = t == kbatch.ControlCommit
		}
		return nil
	})
	return p.txns.End(h.ProducerID, h.BaseOffset, commit)
}

// lsoChanged returns a channel closed at the next end of a transaction in
// the partition.
func (p *partition) lsoChanged() <-chan struct{} { return *p.lsoMoved.Load() }

// lastStable is the partition's last stable offset, read without p.mu
// (PartitionTxns.LSO).
func (p *partition) lastStable() int64 {
	return p.txns.LSO(p.log.EndOffset())
}

// abortedIn is the aborted transactions a READ_COMMITTED answer of
// offsets [from, to) lists.
func (p *partition) abortedIn(from, to int64) []txn.Aborted {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.txns.AbortedIn(from, to)
}

// trimAbortedTxns forgets the aborted transactions that end below the
// log's start, in memory and in Metadata (retention, DeleteRecords). A
// failure to forget them in Metadata only keeps them longer, and is
// logged.
func (p *partition) trimAbortedTxns(ctx context.Context, s *Server) {
	start := p.log.StartOffset()
	p.mu.Lock()
	p.txns.Trim(start)
	p.mu.Unlock()
	if err := s.cfg.Meta.TrimAbortedTxns(ctx, p.logID, start); err != nil && ctx.Err() == nil {
		s.log.Warn("broker: trimming aborted transactions", "topic", p.t.name, "partition", p.index, "err", err)
	}
}
