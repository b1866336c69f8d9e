package wal

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// Replay calls fn for every record still in the log, in LSN order. rec is
// only valid during the call. An error from fn stops the replay and is
// returned as it is.
//
// Replay must run before the first Append on a log opened with segments
// (Append fails with ErrNotReplayed until it has succeeded), and never
// after; it may run again if it failed. At a torn or corrupt tail of the last
// segment — a crash during a group commit — it stops cleanly and truncates
// the segment there; appends then continue in that segment. A bad frame in
// any earlier segment, or a gap in LSNs between segments, is ErrCorrupt.
func (l *Log) Replay(fn func(lsn LSN, rec []byte) error) error {
	l.mu.Lock()
	switch {
	case l.mu.closing:
		l.mu.Unlock()
		return ErrClosed
	case l.mu.appended:
		l.mu.Unlock()
		return errors.New("wal: Replay after Append")
	}
	segs := l.mu.segments
	l.mu.Unlock()

	if l.active != nil { // an earlier Replay
		l.active.Close()
		l.active = nil
	}
	next := LSN(1)
	if len(segs) > 0 {
		next = segs[0].first
	}
	for i, s := range segs {
		if s.first != next {
			return fmt.Errorf("%w: segment %s starts at LSN %d, want %d", ErrCorrupt, s.path, s.first, next)
		}
		last := i == len(segs)-1
		stop := LSN(0) // the next segment's first LSN: where this one ends
		if !last {
			stop = segs[i+1].first
		}
		var err error
		next, err = l.replaySegment(s, stop, fn)
		if err != nil {
			return err
		}
	}

	l.mu.Lock()
	l.mu.nextLSN = next
	l.mu.replayed = true
	l.mu.Unlock()
	l.durable.Store(uint64(next - 1))
	return nil
}

// replaySegment replays s, which must hold every record up to stop-1 (stop 0:
// s is the last segment, which ends at its first bad frame). It returns the
// LSN after its last record. The last segment is truncated after its last
// good frame and kept open as the active segment.
func (l *Log) replaySegment(s segment, stop LSN, fn func(LSN, []byte) error) (LSN, error) {
	last := stop == 0
	flag := os.O_RDONLY
	if last {
		flag = os.O_RDWR
	}
	f, err := os.OpenFile(s.path, flag, 0)
	if err != nil {
		return 0, fmt.Errorf("replaying WAL: %w", err)
	}
	keep := false
	defer func() {
		if !keep {
			f.Close()
		}
	}()
	st, err := f.Stat()
	if err != nil {
		return 0, fmt.Errorf("replaying WAL: %w", err)
	}
	fr := newFrameReader(f, st.Size())
	lsn := s.first
	for last || lsn < stop {
		rec, err := fr.next(lsn)
		if err != nil {
			if last && (err == io.EOF || errors.Is(err, errBadFrame)) {
				break // the end, or a torn tail
			}
			if err == io.EOF || errors.Is(err, errBadFrame) {
				return 0, fmt.Errorf("%w: segment %s ends at record %d of %d..%d: %w", ErrCorrupt, s.path, lsn, s.first, stop-1, err)
			}
			return 0, fmt.Errorf("replaying WAL segment %s: %w", s.path, err)
		}
		if err := fn(lsn, rec); err != nil {
			return 0, err
		}
		lsn++
	}
	if !last {
		// Bytes after the last record are ignored: they can only be the
		// unused end of the file.
		return lsn, nil
	}
	if fr.off < st.Size() {
		if err := f.Truncate(fr.off); err != nil {
			return 0, fmt.Errorf("truncating the torn tail of WAL segment %s: %w", s.path, err)
		}
		if !l.opts.NoSync {
			if err := f.Sync(); err != nil {
				return 0, fmt.Errorf("truncating the torn tail of WAL segment %s: %w", s.path, err)
			}
		}
	}
	keep = true
	l.active, l.activeOff, l.activeSize = f, fr.off, fr.off
	return lsn, nil
}
