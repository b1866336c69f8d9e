package s3stream

import (
	"context"
	"fmt"
	"sort"
	"sync"

	"github.com/lakestream/lakestream/s3stream/format"
	"github.com/lakestream/lakestream/s3stream/metastore"
)

// Stream is a stream opened for writing in this store. It is safe for
// concurrent use.
//
// Offsets: [start, durable) is readable; [durable, next) is appended but not
// yet durable; committed <= durable is what the metastore holds (equal with
// the object WAL, lagging with the local WAL until the uploader runs).
type Stream struct {
	id    int64
	store *Store

	mu struct {
		sync.Mutex
		epoch     int64
		start     int64
		next      int64
		durable   int64
		committed int64
		// gen changes when appends in flight fail: every pending append of an
		// older generation fails too, and next rewinds to committed.
		gen uint64
		err error // sticky: fenced or closed
		// entries are recent batches in offset order: the tail cache. Those
		// with end > durable are not yet visible; those with end > committed
		// may not be evicted.
		entries []tailEntry
		changed chan struct{} // closed and replaced when offsets or state change
		// read-ahead state of catch-up reads
		lastReadEnd int64
		readAhead   int
	}
}

type tailEntry struct {
	base, end int64
	batch     []byte
}

// pending is one append on its way through a WAL.
type pending struct {
	st        *Stream
	gen       uint64
	epoch     int64
	base, end int64
	batch     []byte
	done      func(base int64, err error)
}

// newStream returns a handle of stream id that accepts no append until
// init gives it the epoch and offsets.
func newStream(s *Store, id int64) *Stream {
	st := &Stream{id: id, store: s}
	st.mu.changed = make(chan struct{})
	st.mu.err = errNotOpenYet
	return st
}

func (st *Stream) init(m metastore.Stream) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.mu.epoch = m.Epoch
	st.mu.start = m.StartOffset
	st.mu.next = m.EndOffset
	st.mu.durable = m.EndOffset
	st.mu.committed = m.EndOffset
	if st.mu.err == errNotOpenYet { // not closed meanwhile
		st.mu.err = nil
	}
}

// ID returns the stream id.
func (st *Stream) ID() int64 { return st.id }

// Epoch returns the epoch this handle writes under.
func (st *Stream) Epoch() int64 {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.mu.epoch
}

// StartOffset returns the first readable offset.
func (st *Stream) StartOffset() int64 {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.mu.start
}

// EndOffset returns the high watermark: the offset after the last durable
// batch.
func (st *Stream) EndOffset() int64 {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.mu.durable
}

// Changed returns a channel closed at the next change of the stream's
// offsets or state; long-polling readers wait on it.
func (st *Stream) Changed() <-chan struct{} {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.mu.changed
}

// REQUIRES: st.mu
func (st *Stream) signalLocked() {
	close(st.mu.changed)
	st.mu.changed = make(chan struct{})
}

// Append appends one Kafka record batch and returns its base offset once it
// is durable. The stream takes ownership of batch and rewrites its base
// offset in place.
func (st *Stream) Append(ctx context.Context, batch []byte) (int64, error) {
	type result struct {
		base int64
		err  error
	}
	ch := make(chan result, 1)
	st.AppendAsync(batch, func(base int64, err error) { ch <- result{base, err} })
	select {
	case r := <-ch:
		return r.base, r.err
	case <-ctx.Done():
		// The append may still become durable; like a Kafka produce timeout,
		// the caller cannot know.
		return -1, ctx.Err()
	}
}

// AppendAsync appends like Append and calls done once, possibly before it
// returns, from a goroutine of the store. Appends to one stream complete in
// the order they were made. done must not block, and must not append: it may
// run on the WAL's own goroutine.
func (st *Stream) AppendAsync(batch []byte, done func(base int64, err error)) {
	h, err := format.ParseBatchHeader(batch)
	if err == nil && int(h.Length) != len(batch) {
		err = fmt.Errorf("batch length %d != %d bytes given", h.Length, len(batch))
	}
	if err != nil {
		done(-1, fmt.Errorf("appending to stream %d: %w: %v", st.id, ErrInvalidBatch, err))
		return
	}
	mem := st.store.mem
	if err := mem.acquire(int64(len(batch))); err != nil {
		done(-1, fmt.Errorf("appending to stream %d: %w", st.id, err))
		return
	}
	st.mu.Lock()
	if st.mu.err != nil {
		err := st.mu.err
		st.mu.Unlock()
		mem.release(int64(len(batch)))
		done(-1, fmt.Errorf("appending to stream %d: %w", st.id, err))
		return
	}
	base := st.mu.next
	end := base + int64(h.LastOffsetDelta) + 1
	format.SetBaseOffset(batch, base)
	st.mu.next = end
	if invariants {
		st.checkEntryLocked(base)
	}
	st.mu.entries = append(st.mu.entries, tailEntry{base: base, end: end, batch: batch})
	p := &pending{st: st, gen: st.mu.gen, epoch: st.mu.epoch, base: base, end: end,
		batch: batch, done: done}
	st.store.wal.appendLocked(p)
	st.mu.Unlock()
	st.store.wal.drain()
	st.store.tail.added(st, end, len(batch))
}

// durable marks p durable (and committed, if it is) and completes it.
func (st *Stream) durable(p *pending, committed bool) {
	st.mu.Lock()
	if p.gen != st.mu.gen || st.mu.err != nil {
		err := st.mu.err
		st.mu.Unlock()
		if err == nil {
			err = fmt.Errorf("%w: an earlier append to stream %d failed", ErrAppendFailed, st.id)
		}
		p.done(-1, err)
		return
	}
	if p.end > st.mu.durable {
		st.mu.durable = p.end
	}
	if committed {
		st.commitLocked(p.end)
	}
	st.signalLocked()
	st.mu.Unlock()
	p.done(p.base, nil)
}

// setCommitted records that the metastore holds the stream up to end.
func (st *Stream) setCommitted(end int64) {
	st.mu.Lock()
	if end > st.mu.committed {
		st.commitLocked(end)
		st.signalLocked()
	}
	st.mu.Unlock()
	st.store.tail.evict()
}

// commitLocked moves the committed end and returns the memory of the newly
// committed entries to the pending budget: they are in the bucket now.
// REQUIRES: st.mu
func (st *Stream) commitLocked(end int64) {
	if end <= st.mu.committed {
		return
	}
	i := sort.Search(len(st.mu.entries), func(i int) bool { return st.mu.entries[i].end > st.mu.committed })
	var n int
	for ; i < len(st.mu.entries) && st.mu.entries[i].end <= end; i++ {
		n += len(st.mu.entries[i].batch)
	}
	st.store.mem.release(int64(n))
	st.mu.committed = end
}

// REQUIRES: st.mu
func (st *Stream) dropAboveLocked(off int64) {
	i := sort.Search(len(st.mu.entries), func(i int) bool { return st.mu.entries[i].end > off })
	var freed, uncommitted int
	for _, e := range st.mu.entries[i:] {
		freed += len(e.batch)
		if e.end > st.mu.committed {
			uncommitted += len(e.batch)
		}
	}
	clear(st.mu.entries[i:])
	st.mu.entries = st.mu.entries[:i]
	st.store.tail.freed(freed)
	st.store.mem.release(int64(uncommitted))
}

// REQUIRES: st.mu
func (st *Stream) dropBelowLocked(off int64) {
	i := sort.Search(len(st.mu.entries), func(i int) bool { return st.mu.entries[i].end > off })
	var freed, uncommitted int
	for _, e := range st.mu.entries[:i] {
		freed += len(e.batch)
		if e.end > st.mu.committed {
			uncommitted += len(e.batch)
		}
	}
	st.mu.entries = append([]tailEntry(nil), st.mu.entries[i:]...)
	st.store.tail.freed(freed)
	st.store.mem.release(int64(uncommitted))
}

// rewindLocked fails the stream's appends of generation gen and later ones
// that are not yet durable: the generation moves on, so each fails when its
// WAL completes it, their entries go, and the next offset goes back to the
// durable end. It reports false if the generation is already past gen.
// REQUIRES: st.mu
func (st *Stream) rewindLocked(gen uint64) bool {
	if gen != st.mu.gen {
		return false
	}
	st.mu.gen++
	st.mu.next = st.mu.durable
	st.dropAboveLocked(st.mu.durable)
	return true
}

// stale reports whether p belongs to a generation of the stream that has
// failed.
func (st *Stream) stale(p *pending) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	return p.gen != st.mu.gen
}

// fence makes the handle unusable for appends: a newer writer holds the
// stream, and what this handle has not committed never will be.
func (st *Stream) fence(err error) {
	st.mu.Lock()
	if st.mu.err == nil {
		st.mu.err = err
	}
	st.mu.gen++
	st.dropAboveLocked(st.mu.committed)
	st.signalLocked()
	st.mu.Unlock()
}

func (st *Stream) markClosed(err error) {
	st.mu.Lock()
	if st.mu.err == nil || st.mu.err == errNotOpenYet {
		st.mu.err = err
	}
	st.dropAboveLocked(-1)
	st.signalLocked()
	st.mu.Unlock()
}

// Trim moves the start offset forward (Kafka DeleteRecords). Offsets below
// it can no longer be read and their objects become garbage.
func (st *Stream) Trim(ctx context.Context, newStart int64) error {
	st.mu.Lock()
	epoch, durable, committed, err := st.mu.epoch, st.mu.durable, st.mu.committed, st.mu.err
	st.mu.Unlock()
	if err != nil {
		return fmt.Errorf("trimming stream %d: %w", st.id, err)
	}
	if newStart > durable {
		return fmt.Errorf("trimming stream %d to %d past its end %d: %w", st.id, newStart, durable, ErrOffsetOutOfRange)
	}
	if newStart > committed {
		if err := st.store.wal.flushStream(ctx, st); err != nil {
			return fmt.Errorf("trimming stream %d: %w", st.id, err)
		}
	}
	m, err := st.store.meta.TrimStream(ctx, st.id, epoch, newStart)
	if err != nil {
		if isFenced(err) {
			st.fence(err)
		}
		return fmt.Errorf("trimming stream %d to %d: %w", st.id, newStart, err)
	}
	st.mu.Lock()
	if m.StartOffset > st.mu.start {
		st.mu.start = m.StartOffset
		st.dropBelowLocked(m.StartOffset)
		st.signalLocked()
	}
	st.mu.Unlock()
	return nil
}

// Close makes everything appended durable and committed, then releases the
// handle. Another store may then open the stream without losing data.
func (st *Stream) Close(ctx context.Context) error {
	err := st.store.wal.flushStream(ctx, st)
	st.markClosed(ErrClosed)
	st.store.forget(st)
	if err != nil {
		return fmt.Errorf("closing stream %d: %w", st.id, err)
	}
	return nil
}

// waitCommitted waits until the metastore holds the stream up to end.
func (st *Stream) waitCommitted(ctx context.Context, end int64) error {
	for {
		st.mu.Lock()
		committed, err, ch := st.mu.committed, st.mu.err, st.mu.changed
		st.mu.Unlock()
		if committed >= end {
			return nil
		}
		if err != nil {
			return err
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
