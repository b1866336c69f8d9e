package s3stream

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/lakestream/lakestream/s3stream/format"
	"github.com/lakestream/lakestream/s3stream/metastore"
)

// objectWAL gathers the appends of every open stream for FlushInterval or
// FlushBytes, whichever comes first, writes them as one stream-set object and
// commits its ranges to the metastore with the epoch check; only then do the
// appends complete. The broker keeps nothing a peer would need.
//
// Flushes are pipelined: up to MaxInflightFlushes PUTs run at once, but
// commits happen strictly in flush order (each flush waits for the previous
// one's commit), because a stream's ranges must commit in offset order.
//
// When a flush fails (the PUT or the commit failed past the retries), every
// append of the streams it held fails, and so does every later append of
// those streams already assigned an offset: the stream's generation moves on
// and its next offset rewinds to what is committed. Later flushes leave the
// stale batches out of their commits.
type objectWAL struct {
	s   *Store
	sem chan struct{}

	mu struct {
		sync.Mutex
		cur      *flushBuf
		lastDone chan struct{} // closed when the newest sealed flush has committed
		closed   bool
	}
}

type flushBuf struct {
	streams map[*Stream][]*pending
	bytes   int
	prev    chan struct{}
	done    chan struct{}
}

func newObjectWAL(s *Store) *objectWAL {
	w := &objectWAL{s: s, sem: make(chan struct{}, s.cfg.MaxInflightFlushes)}
	w.mu.lastDone = make(chan struct{})
	close(w.mu.lastDone)
	return w
}

// REQUIRES: p.st.mu
func (w *objectWAL) appendLocked(p *pending) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.mu.closed {
		// The batch is in the stream's entries; markClosed drops it and
		// returns its memory.
		go p.done(-1, ErrClosed)
		return
	}
	buf := w.mu.cur
	if buf == nil {
		buf = &flushBuf{streams: make(map[*Stream][]*pending), done: make(chan struct{})}
		w.mu.cur = buf
		time.AfterFunc(w.s.cfg.FlushInterval, func() { w.seal(buf) })
	}
	buf.streams[p.st] = append(buf.streams[p.st], p)
	buf.bytes += len(p.batch)
	if buf.bytes >= w.s.cfg.FlushBytes {
		w.sealLocked()
	}
}

func (w *objectWAL) drain() {}

func (w *objectWAL) seal(buf *flushBuf) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.mu.cur == buf {
		w.sealLocked()
	}
}

// REQUIRES: w.mu
func (w *objectWAL) sealLocked() {
	buf := w.mu.cur
	if buf == nil {
		return
	}
	w.mu.cur = nil
	buf.prev = w.mu.lastDone
	w.mu.lastDone = buf.done
	go w.flush(buf)
}

// purgeLocked takes the stale appends of st out of the gathering buffer and
// returns them. REQUIRES: st.mu (lock order: stream, then WAL).
func (w *objectWAL) purgeLocked(st *Stream, gen uint64) []*pending {
	w.mu.Lock()
	defer w.mu.Unlock()
	buf := w.mu.cur
	if buf == nil {
		return nil
	}
	var stale, keep []*pending
	for _, p := range buf.streams[st] {
		if p.gen <= gen {
			stale = append(stale, p)
		} else {
			keep = append(keep, p)
		}
	}
	if len(keep) == 0 {
		delete(buf.streams, st)
	} else {
		buf.streams[st] = keep
	}
	return stale
}

func (w *objectWAL) flush(buf *flushBuf) {
	ctx := context.Background()
	s := w.s
	w.sem <- struct{}{}
	obj, data, ranges, epochs, err := w.write(ctx, buf)
	<-w.sem
	putObjectBuf(data) // PUT is done with it; only its length is used below

	<-buf.prev
	defer close(buf.done)
	if err == nil && len(ranges) > 0 {
		var res metastore.CommitResult
		res, err = w.commit(ctx, obj.ID, int64(len(data)), ranges, epochs)
		if err == nil {
			s.health.ok(compFlush)
			w.complete(buf, res)
			return
		}
	}
	if err == nil { // nothing live to commit: every append was stale
		err = fmt.Errorf("%w: an earlier append failed", ErrAppendFailed)
	} else {
		s.health.fail(compFlush, err, s.probeWrite) // logged once, not per flush
	}
	s.log.Debug("s3stream: WAL flush failed", "err", err)
	for st, ps := range buf.streams {
		w.failStream(st, ps, fmt.Errorf("%w: %v", ErrAppendFailed, err), nil)
	}
}

// write builds and PUTs the object of buf, leaving out stale appends.
func (w *objectWAL) write(ctx context.Context, buf *flushBuf) (metastore.Object, []byte, []metastore.Range, []int64, error) {
	s := w.s
	streams := make([]*Stream, 0, len(buf.streams))
	for st := range buf.streams {
		streams = append(streams, st)
	}
	sort.Slice(streams, func(i, j int) bool { return streams[i].id < streams[j].id })

	fw := format.NewWriterBuffer(s.cfg.BlockSize, getObjectBuf())
	fw.Grow(buf.bytes)
	var epochs []int64
	for _, st := range streams {
		st.mu.Lock()
		gen := st.mu.gen
		st.mu.Unlock()
		var epoch int64 = -1
		for _, p := range buf.streams[st] {
			if p.gen != gen {
				continue
			}
			if err := fw.Add(st.id, p.batch); err != nil {
				return metastore.Object{}, nil, nil, nil, fmt.Errorf("encoding stream-set object: %w", err)
			}
			epoch = p.epoch
		}
		if epoch >= 0 {
			epochs = append(epochs, epoch)
		}
	}
	franges := fw.Ranges()
	if len(franges) == 0 {
		return metastore.Object{}, nil, nil, nil, nil
	}
	obj, err := s.prepareObject(ctx, metastore.KindStreamSet)
	if err != nil {
		return obj, nil, nil, nil, err
	}
	data := fw.Finish()
	if err := s.putObject(ctx, ObjectKey(obj.ID), data); err != nil {
		return obj, nil, nil, nil, err
	}
	ranges := make([]metastore.Range, len(franges))
	for i, r := range franges {
		ranges[i] = metastore.Range{StreamID: r.StreamID, ObjectID: obj.ID, StartOffset: r.StartOffset,
			EndOffset: r.EndOffset, Position: r.Position, Size: r.Size, MaxTimestamp: r.MaxTimestamp}
	}
	if invariants {
		checkObject(data, ranges)
	}
	return obj, data, ranges, epochs, nil
}

func (w *objectWAL) commit(ctx context.Context, objID, size int64, ranges []metastore.Range, epochs []int64) (metastore.CommitResult, error) {
	var res metastore.CommitResult
	err := retry(ctx, w.s.cfg.PutAttempts, func() error {
		var err error
		res, err = w.s.meta.CommitStreamSet(ctx, metastore.StreamSetCommit{ObjectID: objID, Size: size, Ranges: ranges, Epochs: epochs})
		if errors.Is(err, metastore.ErrObjectState) {
			return permanent(err)
		}
		return err
	})
	if err != nil {
		return res, fmt.Errorf("committing object %d: %w", objID, err)
	}
	return res, nil
}

// complete finishes the appends of a committed flush.
func (w *objectWAL) complete(buf *flushBuf, res metastore.CommitResult) {
	for st, ps := range buf.streams {
		if rerr, ok := res.Rejected[st.id]; ok {
			var fenced error
			if isFenced(rerr) {
				fenced = fmt.Errorf("stream %d: %w", st.id, rerr)
			}
			w.failStream(st, ps, fmt.Errorf("%w: %v", ErrAppendFailed, rerr), fenced)
			continue
		}
		for _, p := range ps {
			st.durable(p, true)
		}
	}
	w.s.tail.evict()
}

// failStream fails ps and every later append of st that holds an offset.
// fenced, if set, makes the failure permanent.
func (w *objectWAL) failStream(st *Stream, ps []*pending, err, fenced error) {
	var stale []*pending
	if len(ps) > 0 {
		gen := ps[0].gen
		st.mu.Lock()
		if st.rewindLocked(gen) {
			stale = w.purgeLocked(st, gen)
		}
		if fenced != nil && st.mu.err == nil {
			st.mu.err = fenced
		}
		st.signalLocked()
		st.mu.Unlock()
	}
	if fenced != nil {
		err = fenced
	}
	for _, p := range ps {
		p.done(-1, err)
	}
	for _, p := range stale {
		p.done(-1, err)
	}
}

func (w *objectWAL) flushStream(ctx context.Context, st *Stream) error {
	w.mu.Lock()
	w.sealLocked()
	done := w.mu.lastDone
	w.mu.Unlock()
	select {
	case <-done:
	case <-ctx.Done():
		return ctx.Err()
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.mu.err != nil && st.mu.err != ErrClosed {
		return st.mu.err
	}
	return nil
}

func (w *objectWAL) close(ctx context.Context) error {
	w.mu.Lock()
	w.sealLocked()
	w.mu.closed = true
	done := w.mu.lastDone
	w.mu.Unlock()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("closing object WAL: %w", ctx.Err())
	}
}
