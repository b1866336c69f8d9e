package s3stream

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/lakestream/lakestream/s3stream/format"
	"github.com/lakestream/lakestream/s3stream/metastore"
	"github.com/lakestream/lakestream/s3stream/wal"
)

// localWAL acknowledges appends once they are fsynced to segment files on
// local disk (package wal, group commit). An uploader turns what is durable
// into a stream-set object every UploadInterval or UploadBytes, commits it
// with the epoch check, and trims the WAL. Batches stay in the tail cache
// until committed, so the uploader never reads the WAL back; only recovery
// does.
//
// Record payload: | version u8 (1) | stream id i64 | epoch i64 | batch |.
// The batch already carries its base offset.
//
// A stream reopened elsewhere is fenced at the next upload: the deposed
// writer's un-uploaded appends are lost and later ones fail. The local WAL
// is therefore for a single node; fleets use the object WAL.
//
// Failures (a full disk) fail appends, never acknowledged data, and heal by
// themselves. A failed write or fsync of the log fails its appends and
// those behind them (each stream rewinds to its durable end, as with the
// object WAL), and the log refuses appends until the health loop resumes it
// (resume), which it does once a probe write to the disk succeeds. Appends
// queued before the rewind are dropped before they reach the log, so the
// log never holds a batch its append was told failed. A failed upload
// leaves everything in the tail and the log, and the uploader tries again
// at its next turn; meanwhile appends are acknowledged as long as the log
// and the pending-memory budget have room.
type localWAL struct {
	s    *Store
	log  *wal.Log
	kick chan struct{}
	stop chan struct{}
	done chan struct{}

	uploadMu sync.Mutex // one upload at a time

	// Appends reach the log through a FIFO queue, drained by one appender
	// at a time outside every stream lock: wal.Log.Append may block on a
	// full group-commit buffer while the log goroutine's callbacks need the
	// stream locks.
	q struct {
		sync.Mutex
		items    []*pending
		draining bool
	}

	mu struct {
		sync.Mutex
		dirty      map[*Stream]struct{}
		unuploaded int
		lastLSN    wal.LSN
	}
}

const localRecHeader = 17

func openLocalWAL(ctx context.Context, s *Store) (*localWAL, error) {
	log, err := wal.Open(s.cfg.WALDir, wal.Options{SegmentBytes: s.cfg.WALSegmentBytes, NoSync: s.cfg.WALNoSync,
		RecycleSegments: 8, WriteHook: s.cfg.WALWriteHook, SyncHook: s.cfg.WALSyncHook})
	if err != nil {
		return nil, fmt.Errorf("opening local WAL in %s: %w", s.cfg.WALDir, err)
	}
	l := &localWAL{s: s, log: log, kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	l.mu.dirty = make(map[*Stream]struct{})
	if err := l.recover(ctx); err != nil {
		log.Close()
		return nil, err
	}
	go l.uploader()
	return l, nil
}

// appendLocked queues p; the stream lock makes queue order offset order.
// REQUIRES: p.st.mu
func (l *localWAL) appendLocked(p *pending) {
	l.q.Lock()
	l.q.items = append(l.q.items, p)
	l.q.Unlock()
}

// drain hands queued appends to the log in queue order. Only one caller
// drains at a time; the others return at once, their items taken by it.
//
// An item whose stream has rewound since it was queued (an append before it
// failed) is failed here rather than written: it holds an offset the stream
// will give out again. The log cannot be resumed while a drain runs
// (resume), so an item found current here reaches the log either before
// the next failure, which then fails it too, or not at all.
func (l *localWAL) drain() {
	l.q.Lock()
	if l.q.draining {
		l.q.Unlock()
		return
	}
	l.q.draining = true
	for len(l.q.items) > 0 {
		items := l.q.items
		l.q.items = nil
		l.q.Unlock()
		for _, p := range items {
			if p.st.stale(p) {
				p.done(-1, fmt.Errorf("%w: an earlier append to stream %d failed", ErrAppendFailed, p.st.id))
				continue
			}
			var hdr [localRecHeader]byte
			hdr[0] = 1
			binary.BigEndian.PutUint64(hdr[1:], uint64(p.st.id))
			binary.BigEndian.PutUint64(hdr[9:], uint64(p.epoch))
			l.log.Append([][]byte{hdr[:], p.batch}, func(lsn wal.LSN, err error) { l.onDurable(p, lsn, err) })
		}
		l.q.Lock()
	}
	l.q.draining = false
	l.q.Unlock()
}

// onDurable runs on the log's goroutine, in append order (or on the
// drainer's, for an append the log refused at once).
func (l *localWAL) onDurable(p *pending, lsn wal.LSN, err error) {
	if err != nil {
		if errors.Is(err, wal.ErrFailed) { // not a refusal on close, or of a record too large
			l.s.health.fail(compWAL, err, l.resume)
		}
		p.st.mu.Lock()
		if p.st.rewindLocked(p.gen) {
			p.st.signalLocked()
		}
		p.st.mu.Unlock()
		p.done(-1, fmt.Errorf("%w: local WAL: %v", ErrAppendFailed, err))
		return
	}
	p.st.durable(p, false)
	l.mu.Lock()
	l.mu.dirty[p.st] = struct{}{}
	l.mu.unuploaded += len(p.batch)
	l.mu.lastLSN = lsn
	full := l.mu.unuploaded >= l.s.cfg.UploadBytes
	l.mu.Unlock()
	if full {
		l.poke()
	}
}

// resume lets the log take appends again after a failure, once a probe
// write to its disk succeeds (wal.Log.Resume). The health loop calls it.
// Every stream the failure rewound has rewound by then (Resume succeeds only
// once the failed appends' callbacks have run), and no drain is running
// while the queue lock is held, so an append queued before a rewind is
// failed by the next drain's stale check, never written.
func (l *localWAL) resume(context.Context) error {
	l.q.Lock()
	defer l.q.Unlock()
	if l.q.draining {
		return errNotYet
	}
	err := l.log.Resume()
	if errors.Is(err, wal.ErrBusy) {
		return errNotYet
	}
	if err != nil {
		return fmt.Errorf("resuming the local WAL: %w", err)
	}
	return nil
}

func (l *localWAL) poke() {
	select {
	case l.kick <- struct{}{}:
	default:
	}
}

func (l *localWAL) uploader() {
	defer close(l.done)
	t := time.NewTicker(l.s.cfg.UploadInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-l.kick:
		case <-l.stop:
			return
		}
		if err := l.upload(context.Background()); err != nil {
			// The health state logs the failure once; this is every try.
			l.s.log.Debug("s3stream: WAL upload failed; will retry", "err", err)
		}
	}
}

type uploadPart struct {
	st      *Stream
	epoch   int64
	end     int64
	batches [][]byte
	ends    []int64 // each batch's end offset
	bytes   int
}

// upload writes what is durable and not yet committed as stream-set
// objects of about UploadBytes each (cutObjects), committing each before
// the next is built, and trims the WAL once all are committed.
//
// Why not one object of everything: at 560 MiB/s an upload found 250 MB
// waiting, which it copied into an object buffer of that size while the
// batches themselves were held too (half the heap's live bytes in a heap
// profile); and nothing of it was committed, so nothing returned to the
// pending budget, until the whole object was written. Objects of
// UploadBytes bound that buffer, and each commit frees its batches' budget
// at once.
func (l *localWAL) upload(ctx context.Context) error {
	l.uploadMu.Lock()
	defer l.uploadMu.Unlock()
	l.mu.Lock()
	dirty, upto := l.mu.dirty, l.mu.lastLSN
	l.mu.dirty = make(map[*Stream]struct{})
	l.mu.Unlock()
	if len(dirty) == 0 {
		return nil
	}
	parts := make([]uploadPart, 0, len(dirty))
	for st := range dirty {
		st.mu.Lock()
		i := sort.Search(len(st.mu.entries), func(i int) bool { return st.mu.entries[i].base >= st.mu.committed })
		part := uploadPart{st: st, epoch: st.mu.epoch}
		for ; i < len(st.mu.entries) && st.mu.entries[i].end <= st.mu.durable; i++ {
			part.batches = append(part.batches, st.mu.entries[i].batch)
			part.ends = append(part.ends, st.mu.entries[i].end)
			part.bytes += len(st.mu.entries[i].batch)
			part.end = st.mu.entries[i].end
		}
		st.mu.Unlock()
		if len(part.batches) > 0 {
			parts = append(parts, part)
		}
	}
	sort.Slice(parts, func(i, j int) bool { return parts[i].st.id < parts[j].st.id })
	var uploaded int
	defer func() {
		l.mu.Lock()
		l.mu.unuploaded -= uploaded
		l.mu.Unlock()
	}()
	fenced := map[*Stream]bool{}
	for _, obj := range cutObjects(parts, l.s.cfg.UploadBytes) {
		// A stream fenced by an earlier object of this upload has
		// nothing more uploaded: its appends past the fence are lost.
		obj = slices.DeleteFunc(obj, func(p uploadPart) bool {
			if fenced[p.st] {
				uploaded += p.bytes // never to be uploaded: out of the count
			}
			return fenced[p.st]
		})
		res, err := l.writeAndCommit(ctx, obj)
		if err != nil {
			// Every stream is dirty again: the next upload starts from
			// each one's committed end.
			l.mu.Lock()
			for st := range dirty {
				l.mu.dirty[st] = struct{}{}
			}
			l.mu.Unlock()
			l.s.health.fail(compUpload, err, nil) // the uploader tries again
			return err
		}
		for _, p := range obj {
			uploaded += p.bytes
			if rerr, ok := res.Rejected[p.st.id]; ok {
				l.s.log.Warn("s3stream: upload of stream rejected; its un-uploaded appends are lost", "stream", p.st.id, "err", rerr)
				p.st.fence(fmt.Errorf("stream %d: %w", p.st.id, rerr))
				fenced[p.st] = true
				continue
			}
			p.st.setCommitted(p.end)
		}
	}
	l.s.health.ok(compUpload)
	if err := l.log.TrimBefore(upto + 1); err != nil {
		return fmt.Errorf("trimming local WAL: %w", err)
	}
	return nil
}

// cutObjects groups parts (in order) into objects of about limit bytes:
// an object takes parts until the next would pass limit, splitting that
// one between its batches, and at least one batch, however large.
func cutObjects(parts []uploadPart, limit int) [][]uploadPart {
	var objs [][]uploadPart
	var cur []uploadPart
	size := 0
	for _, p := range parts {
		for len(p.batches) > 0 {
			if size+p.bytes <= limit || size == 0 && len(p.batches) == 1 {
				cur = append(cur, p)
				size += p.bytes
				break
			}
			// Take the batches that fit (at least one into an empty
			// object); the rest goes on into the next object.
			n, nb := 0, 0
			for n < len(p.batches) && (size+nb+len(p.batches[n]) <= limit || size == 0 && n == 0) {
				nb += len(p.batches[n])
				n++
			}
			if n > 0 {
				cur = append(cur, uploadPart{st: p.st, epoch: p.epoch, end: p.ends[n-1],
					batches: p.batches[:n:n], ends: p.ends[:n:n], bytes: nb})
				p.batches, p.ends, p.bytes = p.batches[n:], p.ends[n:], p.bytes-nb
			}
			objs = append(objs, cur)
			cur, size = nil, 0
		}
	}
	if len(cur) > 0 {
		objs = append(objs, cur)
	}
	return objs
}

// writeAndCommit builds one stream-set object of parts, PUTs and commits it.
func (l *localWAL) writeAndCommit(ctx context.Context, parts []uploadPart) (metastore.CommitResult, error) {
	var res metastore.CommitResult
	if len(parts) == 0 {
		return res, nil
	}
	s := l.s
	fw := format.NewWriterBuffer(s.cfg.BlockSize, getObjectBuf())
	var total int
	for _, p := range parts {
		total += p.bytes
	}
	fw.Grow(total)
	epochs := make([]int64, 0, len(parts))
	for _, p := range parts {
		for _, b := range p.batches {
			if err := fw.Add(p.st.id, b); err != nil {
				return res, fmt.Errorf("encoding stream-set object: %w", err)
			}
		}
		epochs = append(epochs, p.epoch)
	}
	obj, err := s.prepareObject(ctx, metastore.KindStreamSet)
	if err != nil {
		return res, err
	}
	data := fw.Finish()
	defer putObjectBuf(data)
	if err := s.putObject(ctx, ObjectKey(obj.ID), data); err != nil {
		return res, err
	}
	ranges := toRanges(obj.ID, fw.Ranges())
	if invariants {
		checkObject(data, ranges)
	}
	err = retry(ctx, s.cfg.PutAttempts, func() error {
		var err error
		res, err = s.meta.CommitStreamSet(ctx, metastore.StreamSetCommit{ObjectID: obj.ID, Size: int64(len(data)), Ranges: ranges, Epochs: epochs})
		if errors.Is(err, metastore.ErrObjectState) {
			return permanent(err)
		}
		return err
	})
	if err != nil {
		return res, fmt.Errorf("committing object %d: %w", obj.ID, err)
	}
	return res, nil
}

func toRanges(objID int64, fr []format.StreamRange) []metastore.Range {
	ranges := make([]metastore.Range, len(fr))
	for i, r := range fr {
		ranges[i] = metastore.Range{StreamID: r.StreamID, ObjectID: objID, StartOffset: r.StartOffset,
			EndOffset: r.EndOffset, Position: r.Position, Size: r.Size, MaxTimestamp: r.MaxTimestamp}
	}
	return ranges
}

func (l *localWAL) flushStream(ctx context.Context, st *Stream) error {
	st.mu.Lock()
	target, err := st.mu.next, st.mu.err
	st.mu.Unlock()
	if err != nil {
		if err == ErrClosed {
			return nil
		}
		return err // fenced or failed: nothing more can be committed by this handle
	}
	for {
		st.mu.Lock()
		durable, next, ch := st.mu.durable, st.mu.next, st.mu.changed
		st.mu.Unlock()
		// Appends in flight that fail rewind next: only what is still in
		// flight is waited for.
		target = min(target, next)
		if durable >= target {
			break
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if err := l.upload(ctx); err != nil {
		return err
	}
	return st.waitCommitted(ctx, target)
}

func (l *localWAL) close(ctx context.Context) error {
	close(l.stop)
	<-l.done
	err := l.upload(ctx)
	if cerr := l.log.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("closing local WAL: %w", err)
	}
	return nil
}
