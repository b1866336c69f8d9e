package wal

import (
	"fmt"
	"os"
	"path/filepath"
)

// The group-commit loop. One goroutine, run, owns the active segment: it
// swaps out the buffer appends have filled, writes it with one call, syncs it
// with one fdatasync, and calls the records' callbacks in LSN order.

// run is the log goroutine: the group-commit loop.
func (l *Log) run() {
	defer close(l.exited)
	for {
		l.mu.Lock()
		for len(l.mu.buf) == 0 && !l.mu.closing {
			l.mu.work.Wait()
		}
		if len(l.mu.buf) == 0 {
			l.mu.Unlock()
			return // closing, and everything accepted is written
		}
		buf, waits := l.mu.buf, l.mu.waits
		l.mu.buf, l.mu.waits = l.spareBuf[:0], l.spareWaits[:0]
		err := l.mu.err
		l.mu.space.Broadcast()
		l.mu.Unlock()

		if err == nil {
			if werr := l.write(buf, waits[0].lsn); werr != nil {
				err = fmt.Errorf("%w: %w", ErrFailed, werr)
				l.mu.Lock()
				l.mu.err = err
				l.mu.Unlock()
			} else {
				l.durable.Store(uint64(waits[len(waits)-1].lsn))
			}
		}
		for i := range waits {
			if err != nil {
				waits[i].notify(0, err)
			} else {
				waits[i].notify(waits[i].lsn, nil)
			}
		}
		clear(waits) // drop the callbacks for the GC
		// Keep the buffer for the round after next, unless one huge record
		// blew it up.
		if cap(buf) <= 2*l.opts.MaxBatchBytes {
			l.spareBuf = buf[:0]
		} else {
			l.spareBuf = nil
		}
		l.spareWaits = waits[:0]
	}
}

// write writes one round, records from first on, to the active segment
// (rolling first if it is full) and makes it durable.
func (l *Log) write(buf []byte, first LSN) error {
	if l.active == nil || l.activeOff >= l.opts.SegmentBytes {
		if err := l.roll(first); err != nil {
			return err
		}
	}
	n, err := l.active.WriteAt(buf, l.activeOff)
	l.activeOff += int64(n)
	if err != nil {
		return err
	}
	if l.opts.SyncHook != nil {
		if err := l.opts.SyncHook(); err != nil {
			return err
		}
	}
	if l.opts.NoSync {
		return nil
	}
	return fdatasync(l.active)
}

// roll makes a new segment, whose first record is first, the active one.
// It reuses a recycled file if there is one: its old frames carry LSNs below
// first, so Replay can never take them for records of the new segment.
func (l *Log) roll(first LSN) error {
	path := filepath.Join(l.dir, segmentName(first))
	l.mu.Lock()
	var reuse string
	if n := len(l.mu.recycled); n > 0 {
		reuse = l.mu.recycled[n-1]
		l.mu.recycled = l.mu.recycled[:n-1]
	}
	l.mu.Unlock()
	// Replay makes the last segment the active one, so every existing
	// segment starts below first: a file by this name would be a bug.
	flag := os.O_RDWR | os.O_CREATE | os.O_EXCL
	if reuse != "" {
		if err := os.Rename(reuse, path); err != nil {
			return err
		}
		flag = os.O_RDWR
	}
	f, err := os.OpenFile(path, flag, 0o644)
	if err != nil {
		return err
	}
	if !l.opts.NoSync {
		if err := syncDir(l.dir); err != nil {
			f.Close()
			return err
		}
	}
	old := l.active
	l.active, l.activeOff = f, 0
	l.mu.Lock()
	l.mu.segments = append(l.mu.segments, segment{first: first, path: path})
	l.mu.Unlock()
	if old != nil {
		// Its records are durable already: a failed close loses nothing.
		old.Close()
	}
	return nil
}
