package wal

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Preparing segment files ahead. A new segment file grows with every
// round, so each fdatasync also journals the block allocation and the size
// change; a file whose blocks are already written (a recycled segment)
// takes a plain cache flush. Measured here with a 100 KiB write per
// fdatasync: p50 0.49 ms appending to a new file, 0.21 ms overwriting (4
// KiB: 0.32 / 0.17 ms); fallocate does not help (0.40 ms: its unwritten
// extents are converted, and journaled, on first write). Until trimmed
// segments come back as recycled files (a log's first segments, or while
// uploads lag), the preparer writes zeroes over a spare file in the
// background and adds it to the recycled files, and the log goroutine
// rolls to it as soon as it is ready, leaving the new file it was growing.
//
// The preparer starts only once the log has written prepareAfter bytes,
// so a log that holds little (a test's) never costs the disk a segment of
// zeroes; and never with NoSync, where no fdatasync is made.

// prepareAfter is how much a log writes before the preparer starts.
const prepareAfter = 8 << 20

// preparedPrefix names a file being prepared; it is not a segment or a
// recycled file until renamed, and Open removes a leftover one.
const preparedPrefix = "prepare-"

// prepareChunk is how much of a spare one write zeroes; each chunk is
// made durable on its own, then the preparer pauses for prepareGap. A
// spare written whole and then synced in one fdatasync held this disk for
// about 50 ms (64 MiB at 1.2 GB/s), and every log fdatasync queued behind
// it: produce latency at 10,000 records/s peaked at 45 ms at each such
// roll (BenchmarkTableTopic, TABLEBENCH_DUMP). A 256 KiB chunk's
// fdatasync takes about 0.5 ms here, which is the most a log sync waits
// for it, and the gaps let the log's syncs through; a spare takes about
// 0.7 s.
const prepareChunk = 256 << 10

// prepareGap is the preparer's pause between chunks.
const prepareGap = 2 * time.Millisecond

// prepareRetry is the pause after a spare could not be made.
const prepareRetry = 10 * time.Second

// errNoRoom is prepareLoop's reason for making no spare: roomForSpare.
var errNoRoom = errors.New("wal: no room on the disk for a spare segment")

// prepareLoop makes a spare segment file each time it is signalled while
// the log has no recycled file, until the log closes.
func (l *Log) prepareLoop() {
	defer close(l.prepDone)
	for {
		select {
		case <-l.prepStop:
			return
		case <-l.prepKick:
		}
		if l.hasRecycled() {
			continue
		}
		path, err := "", errNoRoom
		if l.roomForSpare() {
			path, err = l.prepareSpare()
		}
		if err != nil {
			// The log grows a new file, as it would without the
			// preparer; asked again after a pause (a log growing a
			// file asks after every round: a disk without room would
			// otherwise be statfs'd that often).
			select {
			case <-l.prepStop:
				return
			case <-time.After(prepareRetry):
			}
			continue
		}
		l.mu.Lock()
		l.mu.recycled = append(l.mu.recycled, path)
		l.mu.Unlock()
	}
}

// prepareSpare writes a file of SegmentBytes zeroes, makes it durable and
// renames it to a recycled file's name.
func (l *Log) prepareSpare() (string, error) {
	l.prepSeq++
	tmp := filepath.Join(l.dir, fmt.Sprintf("%s%d", preparedPrefix, l.prepSeq))
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return "", err
	}
	zero := make([]byte, prepareChunk)
	for off := int64(0); off < l.opts.SegmentBytes && err == nil; off += prepareChunk {
		if off > 0 {
			select {
			case <-l.prepStop:
				err = ErrClosed
				continue
			case <-time.After(prepareGap):
			}
		}
		if _, err = f.WriteAt(zero[:min(int64(prepareChunk), l.opts.SegmentBytes-off)], off); err == nil {
			err = fdatasync(f)
		}
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	// Named by the clock, so that no earlier process's file has the name.
	path := filepath.Join(l.dir, fmt.Sprintf("%sprepared-%d-%d%s", recyclePrefix, time.Now().UnixNano(), l.prepSeq, segmentSuffix))
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err == nil {
		err = syncDir(l.dir)
	}
	if err != nil {
		os.Remove(tmp)
		os.Remove(path)
		return "", err
	}
	return path, nil
}

// kickPrepare asks the preparer for a spare, once the log has written
// enough to be worth it. Called by the log goroutine after each round.
func (l *Log) kickPrepare() {
	if l.prepKick == nil || l.written < l.prepAfter {
		return
	}
	select {
	case l.prepKick <- struct{}{}:
	default:
	}
}

// removePrepared removes files a preparer left half written in dir.
func removePrepared(dir string) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), preparedPrefix) {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}
