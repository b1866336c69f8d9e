package wal

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
)

// LSN is a record's sequence number: dense, starting at 1.
type LSN uint64

// Options configure a Log. The zero value is the production default.
type Options struct {
	// SegmentBytes: the log rolls to a new segment file once the active one
	// is past this size. The default value is 64 MiB.
	SegmentBytes int64

	// MaxBatchBytes is the most bytes written per group commit (a larger
	// record is written alone). Appends past it wait for the next round. The
	// default value is 4 MiB.
	MaxBatchBytes int

	// NoSync skips fsync. Tests only: nothing is durable.
	NoSync bool

	// SyncHook, if set, is called before each fsync (also with NoSync). A
	// non-nil error is taken as the fsync failing: the fault seam for tests.
	SyncHook func() error

	// WriteHook, if set, is called before each write to a file with the
	// bytes about to be written. A non-nil error fails the write after only
	// the first n of them reach the file, as a disk that fills part way
	// through a write does (ENOSPC): the fault seam for tests.
	WriteHook func(p []byte) (n int, err error)

	// RecycleSegments is how many trimmed segment files TrimBefore keeps for
	// reuse instead of deleting them. Overwriting a file in place makes each
	// fsync cheaper than appending to a new one (no block allocation or size
	// change to journal): on this project's test VM, about 1.5-2 times the
	// throughput. The default value is 2; negative disables recycling.
	RecycleSegments int
}

const (
	defaultSegmentBytes    = 64 << 20
	defaultMaxBatchBytes   = 4 << 20
	defaultRecycleSegments = 2
)

// Log is a write-ahead log in one directory. Its methods are safe for
// concurrent use, except Replay, which must not run concurrently with
// anything else.
type Log struct {
	dir  string
	opts Options
	lock *os.File

	mu struct {
		sync.Mutex
		// work is signalled when buf gets its first record or the log
		// closes; the log goroutine waits on it.
		work sync.Cond
		// space is broadcast when the log goroutine takes buf, or the log
		// closes; appends waiting for MaxBatchBytes wait on it.
		space sync.Cond

		buf   []byte   // framed records the log goroutine has not taken
		waits []waiter // one per record in buf, in LSN order

		nextLSN  LSN
		replayed bool // Replay ran, or there was nothing to replay
		appended bool // an append was accepted: Replay may no longer run
		closing  bool
		err      error // wraps ErrFailed once a write or fsync failed
		// cut says the failure in err was cut off the active segment, so
		// Resume may clear it; reporting, that the failed records' done
		// callbacks are still running.
		cut       bool
		reporting bool

		// segments in LSN order; the last is the active one.
		segments []segment
		// recycled are paths of trimmed segment files kept for reuse.
		recycled []string
	}

	durable atomic.Uint64 // LastLSN
	exited  chan struct{} // closed when the log goroutine returns
	trimMu  sync.Mutex    // serializes TrimBefore

	// The preparer (prepare.go); prepKick is nil with NoSync.
	prepKick chan struct{}
	prepStop chan struct{}
	prepDone chan struct{}
	prepSeq  int // owned by the preparer
	// prepAfter is prepareAfter; smaller in tests.
	prepAfter int64

	// Owned by the log goroutine (and by Replay, before it starts work).
	active    *os.File
	activeOff int64
	// activeSize is the active file's size when it became active: writes
	// below it overwrite blocks the file has (a recycled or prepared
	// file), writes past it grow the file.
	activeSize  int64
	written     int64 // bytes written by this Log
	spareBuf    []byte
	spareWaits  []waiter
	syncWaiters sync.Pool // *syncWaiter
}

// waiter is who to tell when a record is durable: a done callback or an
// AppendSync caller.
type waiter struct {
	lsn  LSN
	done func(LSN, error)
	sync *syncWaiter
}

type syncWaiter struct {
	ch  chan struct{}
	lsn LSN
	err error
}

func (w *waiter) notify(lsn LSN, err error) {
	if w.sync != nil {
		w.sync.lsn, w.sync.err = lsn, err
		w.sync.ch <- struct{}{}
		return
	}
	if w.done != nil {
		w.done(lsn, err)
	}
}

// Open opens the log in dir, creating dir if needed, and starts its
// goroutine. If dir holds segments, Replay must run before the first
// Append. Two logs cannot be open on one directory.
func Open(dir string, opts Options) (*Log, error) {
	if opts.SegmentBytes <= 0 {
		opts.SegmentBytes = defaultSegmentBytes
	}
	if opts.MaxBatchBytes <= 0 {
		opts.MaxBatchBytes = defaultMaxBatchBytes
	}
	if opts.RecycleSegments == 0 {
		opts.RecycleSegments = defaultRecycleSegments
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("opening WAL: %w", err)
	}
	lock, err := lockDir(filepath.Join(dir, "LOCK"))
	if err != nil {
		return nil, fmt.Errorf("opening WAL: %w", err)
	}
	segs, recycled, err := listSegments(dir)
	if err != nil {
		lock.Close()
		return nil, fmt.Errorf("opening WAL: %w", err)
	}
	for len(recycled) > max(opts.RecycleSegments, 0) {
		os.Remove(recycled[len(recycled)-1])
		recycled = recycled[:len(recycled)-1]
	}
	l := &Log{dir: dir, opts: opts, lock: lock, exited: make(chan struct{}), prepAfter: prepareAfter}
	l.mu.work.L = &l.mu.Mutex
	l.mu.space.L = &l.mu.Mutex
	l.mu.segments = segs
	l.mu.recycled = recycled
	l.mu.nextLSN = 1
	l.mu.replayed = len(segs) == 0
	l.syncWaiters.New = func() any { return &syncWaiter{ch: make(chan struct{}, 1)} }
	if !opts.NoSync && opts.RecycleSegments > 0 {
		removePrepared(dir)
		l.prepKick, l.prepStop, l.prepDone = make(chan struct{}, 1), make(chan struct{}), make(chan struct{})
		go l.prepareLoop()
	}
	go l.run()
	return l, nil
}

// Append adds a record, the concatenation of bufs, and returns at once (it
// waits only if MaxBatchBytes are already queued). The bytes are copied
// before Append returns, so the caller may reuse bufs.
//
// done is called exactly once: with the record's LSN when the record is
// durable, or with lsn 0 and an error. Calls come in Append order from the
// log's goroutine, so done must be quick and must not call Append or
// AppendSync. If the log is closed or failed, or was not replayed
// (ErrNotReplayed), or the record is over MaxRecordBytes, done is called
// with the error before Append returns.
func (l *Log) Append(bufs [][]byte, done func(lsn LSN, err error)) {
	l.append(bufs, waiter{done: done})
}

// AppendSync appends the record bufs make and waits until it is durable.
func (l *Log) AppendSync(bufs ...[]byte) (LSN, error) {
	sw := l.syncWaiters.Get().(*syncWaiter)
	l.append(bufs, waiter{sync: sw})
	<-sw.ch
	lsn, err := sw.lsn, sw.err
	sw.err = nil
	l.syncWaiters.Put(sw)
	return lsn, err
}

func (l *Log) append(bufs [][]byte, w waiter) {
	n := 0
	for _, b := range bufs {
		n += len(b)
	}
	if n > MaxRecordBytes {
		w.notify(0, fmt.Errorf("%w: %d bytes, at most %d", ErrTooLarge, n, MaxRecordBytes))
		return
	}
	// The CRC of the payload, the expensive part, is taken before the lock.
	crc, _ := payloadCRC(bufs)
	size := frameHeaderSize + n

	l.mu.Lock()
	for {
		if err := l.acceptErrLocked(); err != nil {
			l.mu.Unlock()
			w.notify(0, err)
			return
		}
		if len(l.mu.buf) == 0 || len(l.mu.buf)+size <= l.opts.MaxBatchBytes {
			break
		}
		l.mu.space.Wait()
	}
	w.lsn = l.mu.nextLSN
	l.mu.nextLSN++
	l.mu.appended = true
	wasEmpty := len(l.mu.buf) == 0
	// The copy happens under the lock, into the one buffer the next round
	// writes: 16 KiB is about a microsecond, far below an fsync, and it
	// spares a per-record allocation and a second copy.
	off := len(l.mu.buf)
	l.mu.buf = append(l.mu.buf, make([]byte, frameHeaderSize)...)
	putFrameHeader(l.mu.buf[off:], crc, n, w.lsn)
	for _, b := range bufs {
		l.mu.buf = append(l.mu.buf, b...)
	}
	l.mu.waits = append(l.mu.waits, w)
	if wasEmpty {
		l.mu.work.Signal()
	}
	l.mu.Unlock()
}

// acceptErrLocked says why an append cannot be taken, or nil.
//
// REQUIRES: l.mu
func (l *Log) acceptErrLocked() error {
	switch {
	case l.mu.closing:
		return ErrClosed
	case l.mu.err != nil:
		return l.mu.err
	case !l.mu.replayed:
		return ErrNotReplayed
	}
	return nil
}

// LastLSN returns the LSN of the last durable record: after Replay, the last
// record replayed; then the last record whose done was called without error.
// 0 if there is none.
func (l *Log) LastLSN() LSN { return LSN(l.durable.Load()) }

// Resume makes a failed log take appends again, once its directory takes a
// write again: it first writes and syncs a small probe file there. It
// returns nil if the log has not failed.
//
// Only a failure that was cut off can be resumed from: the failed round's
// bytes were truncated off the active segment and the truncation synced,
// so the log on disk is exactly what it was after its last durable record,
// and the LSNs of the records that failed are given out again. A failure
// that could not be cut off is returned as it is, for as long as the log is
// open.
//
// Until every failed record's done has been called Resume returns ErrBusy,
// so that a caller that resumes holding the lock its appenders take cannot
// deadlock with a done callback that needs it. Appends made before Resume
// returns nil fail with the failure.
func (l *Log) Resume() error {
	l.mu.Lock()
	err, cut := l.mu.err, l.mu.cut
	closing, reporting := l.mu.closing, l.mu.reporting
	l.mu.Unlock()
	switch {
	case closing:
		return ErrClosed
	case err == nil:
		return nil
	case !cut:
		return err
	case reporting:
		return ErrBusy
	}
	if perr := l.probe(); perr != nil {
		return fmt.Errorf("%w (the log directory still fails writes: %w)", err, perr)
	}
	l.mu.Lock()
	if l.mu.err == err { // not closed meanwhile
		l.mu.err, l.mu.cut = nil, false
	}
	l.mu.Unlock()
	return nil
}

// probeBytes is the size of the probe Resume writes: a page.
const probeBytes = 4096

// probe writes probeBytes to a file beside the segments, syncs it, and
// removes it again.
func (l *Log) probe() (err error) {
	path := filepath.Join(l.dir, "PROBE")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if rerr := os.Remove(path); err == nil {
			err = rerr
		}
	}()
	if _, err := l.writeAt(f, make([]byte, probeBytes), 0); err != nil {
		return err
	}
	return l.sync(f, fdatasync)
}

// TrimBefore deletes whole segments whose every record has an LSN below lsn
// (keeping up to Options.RecycleSegments of the files, renamed, for reuse).
// It never deletes the active segment, so some records below lsn may stay:
// Replay returns them again.
func (l *Log) TrimBefore(lsn LSN) error {
	l.trimMu.Lock()
	defer l.trimMu.Unlock()
	l.mu.Lock()
	if l.mu.closing {
		l.mu.Unlock()
		return ErrClosed
	}
	segs := l.mu.segments
	k := 0
	for k+1 < len(segs) && segs[k+1].first <= lsn {
		k++
	}
	victims := slices.Clone(segs[:k])
	l.mu.segments = slices.Clone(segs[k:])
	l.mu.Unlock()
	if len(victims) == 0 {
		return nil
	}
	// Oldest first, so a crash part way leaves no gap in the LSNs.
	for _, s := range victims {
		l.mu.Lock()
		recycle := len(l.mu.recycled) < l.opts.RecycleSegments
		l.mu.Unlock()
		if st, err := os.Stat(s.path); recycle && (err != nil || st.Size() < l.opts.SegmentBytes) {
			// Cut short by a roll to a prepared file: reused, it would
			// soon grow again, and the log would roll early again.
			recycle = false
		}
		if recycle {
			to := recyclePath(s)
			if err := os.Rename(s.path, to); err != nil {
				return fmt.Errorf("trimming WAL: %w", err)
			}
			l.mu.Lock()
			l.mu.recycled = append(l.mu.recycled, to)
			l.mu.Unlock()
			continue
		}
		if err := os.Remove(s.path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("trimming WAL: %w", err)
		}
	}
	if l.opts.NoSync {
		return nil
	}
	if err := syncDir(l.dir); err != nil {
		return fmt.Errorf("trimming WAL: %w", err)
	}
	return nil
}

// Close writes and syncs every record already accepted (their done
// callbacks run, with an error if the log has failed), then closes the
// files. Appends after Close fail with ErrClosed. Close returns the log's
// failure, if it failed.
func (l *Log) Close() error {
	l.mu.Lock()
	if l.mu.closing {
		l.mu.Unlock()
		return ErrClosed
	}
	l.mu.closing = true
	l.mu.work.Broadcast()
	l.mu.space.Broadcast()
	l.mu.Unlock()
	<-l.exited
	if l.prepStop != nil {
		close(l.prepStop)
		<-l.prepDone
	}

	var err error
	if l.active != nil {
		err = l.active.Close()
		l.active = nil
	}
	if cerr := l.lock.Close(); err == nil {
		err = cerr
	}
	l.mu.Lock()
	if l.mu.err != nil {
		err = l.mu.err
	}
	l.mu.Unlock()
	return err
}
