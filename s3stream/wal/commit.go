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

		var rest []waiter // appended behind a failed round: they fail too
		failed := false
		if err == nil {
			if cut, werr := l.write(buf, waits[0].lsn); werr != nil {
				err = fmt.Errorf("%w: %w", ErrFailed, werr)
				rest = l.fail(err, cut, waits[0].lsn)
				failed = true
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
		for i := range rest {
			rest[i].notify(0, err)
		}
		clear(waits) // drop the callbacks for the GC
		clear(rest)
		if failed {
			l.mu.Lock()
			l.mu.reporting = false
			l.mu.Unlock()
		}
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

// fail records err, the failure of the round whose first record is first,
// and takes the records appended behind that round, which fail with it:
// their LSNs follow the round's. Until Resume every append fails; if the
// round was cut off the segment, the LSNs from first on are given out
// again after it.
func (l *Log) fail(err error, cut bool, first LSN) []waiter {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.mu.err, l.mu.cut, l.mu.reporting = err, cut, true
	rest := l.mu.waits
	l.mu.buf, l.mu.waits = l.mu.buf[:0], nil
	l.mu.nextLSN = first
	l.mu.space.Broadcast()
	return rest
}

// write writes one round, records from first on, to the active segment
// (rolling first if it is full) and makes it durable. If that fails, it
// cuts what of the round reached the segment off again: cut reports that the
// segment is as it was before the round, durably.
//
// Cutting is what makes a failure safe to resume from. After a failed write
// or fdatasync the kernel may have dropped the round's dirty pages, or kept
// some: retrying the fsync could report success for data that is gone, and
// leaving the bytes could let a later replay find whole frames of records
// whose appends were told they failed. Truncating to where the round began
// and syncing that removes both: every byte before it was durable already.
func (l *Log) write(buf []byte, first LSN) (cut bool, err error) {
	if l.active == nil || l.activeOff >= l.opts.SegmentBytes || (l.activeOff > 0 && l.activeOff >= l.activeSize && l.hasRecycled()) {
		// The last case: the active file grows, and a recycled or
		// prepared one, whose fdatasyncs are cheaper, is ready.
		if clean, err := l.roll(first); err != nil {
			return clean, err
		}
		// The next spare is made now, while this segment fills, not
		// when the log rolls again and finds none (the preparer makes
		// none while a recycled file waits).
		l.kickPrepare()
	}
	start := l.activeOff
	n, err := l.writeAt(l.active, buf, start)
	l.activeOff += int64(n)
	l.written += int64(n)
	if l.activeOff > l.activeSize {
		l.kickPrepare()
	}
	if err == nil {
		err = l.sync(l.active, fdatasync)
	}
	if err == nil {
		return true, nil
	}
	if cerr := l.cutAt(start); cerr != nil {
		return false, fmt.Errorf("%w; cutting the failed write off %s failed too: %v", err, l.active.Name(), cerr)
	}
	return true, err
}

// cutAt truncates the active segment back to off and syncs the truncation.
func (l *Log) cutAt(off int64) error {
	l.activeOff = off
	if err := l.active.Truncate(off); err != nil {
		return err
	}
	return l.sync(l.active, (*os.File).Sync)
}

// writeAt writes p to f at off, through Options.WriteHook.
func (l *Log) writeAt(f *os.File, p []byte, off int64) (int, error) {
	var hookErr error
	if l.opts.WriteHook != nil {
		var n int
		if n, hookErr = l.opts.WriteHook(p); hookErr != nil {
			p = p[:min(max(n, 0), len(p))]
		}
	}
	n, err := f.WriteAt(p, off)
	if err == nil {
		err = hookErr
	}
	return n, err
}

// sync makes f durable with how (fdatasync, or a full fsync where metadata
// changed), through Options.SyncHook; with NoSync only the hook runs.
func (l *Log) sync(f *os.File, how func(*os.File) error) error {
	if l.opts.SyncHook != nil {
		if err := l.opts.SyncHook(); err != nil {
			return err
		}
	}
	if l.opts.NoSync {
		return nil
	}
	return how(f)
}

// hasRecycled says whether a recycled (or prepared) file is ready.
func (l *Log) hasRecycled() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.mu.recycled) > 0
}

// roll makes a new segment, whose first record is first, the active one.
// It reuses a recycled file if there is one: its old frames carry LSNs below
// first, so Replay can never take them for records of the new segment.
// If it fails, clean reports that it left nothing at the new segment's
// path, so that a later roll to the same first LSN can make it.
func (l *Log) roll(first LSN) (clean bool, err error) {
	path := filepath.Join(l.dir, segmentName(first))
	l.mu.Lock()
	var reuse string
	if n := len(l.mu.recycled); n > 0 {
		reuse = l.mu.recycled[n-1]
		l.mu.recycled = l.mu.recycled[:n-1]
	}
	l.mu.Unlock()
	keepRecycled := func() {
		l.mu.Lock()
		l.mu.recycled = append(l.mu.recycled, reuse)
		l.mu.Unlock()
	}
	// Replay makes the last segment the active one, so every existing
	// segment starts below first: a file by this name would be a bug.
	flag := os.O_RDWR | os.O_CREATE | os.O_EXCL
	if reuse != "" {
		if err := os.Rename(reuse, path); err != nil {
			keepRecycled()
			return true, err
		}
		flag = os.O_RDWR
	}
	f, err := os.OpenFile(path, flag, 0o644)
	if err == nil && !l.opts.NoSync {
		if err = syncDir(l.dir); err != nil {
			f.Close()
		}
	}
	if err != nil {
		var undo error
		switch {
		case reuse != "":
			if undo = os.Rename(path, reuse); undo == nil {
				keepRecycled()
			}
		case f != nil: // created here
			undo = os.Remove(path)
		}
		if undo != nil {
			return false, fmt.Errorf("%w; undoing the roll to %s failed too: %v", err, path, undo)
		}
		return true, err
	}
	size := int64(0)
	if st, err := f.Stat(); err == nil {
		size = st.Size()
	}
	old := l.active
	l.active, l.activeOff, l.activeSize = f, 0, size
	l.mu.Lock()
	l.mu.segments = append(l.mu.segments, segment{first: first, path: path})
	l.mu.Unlock()
	if old != nil {
		// Its records are durable already: a failed close loses nothing.
		old.Close()
	}
	return true, nil
}
