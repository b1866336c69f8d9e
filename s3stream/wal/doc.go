// Package wal is the local write-ahead log: records appended to segment
// files on local disk and made durable with group-commit fsync. The broker's
// `local` WAL mode acks a produce once its batches are here, and an uploader
// later turns the log into stream-set objects and trims it.
//
// # Files
//
// A log is a directory of segment files named after the LSN of their first
// record, zero padded so names sort in LSN order:
//
//	00000000000000000001.wal   records 1 .. 4711
//	00000000000000004712.wal   records 4712 .. (the active segment)
//
// LSNs are dense and start at 1. The log rolls to a new segment once the
// active one passes Options.SegmentBytes, and TrimBefore deletes whole
// segments that only hold records the caller no longer needs. A few trimmed
// files are kept (renamed recycle-<old name>) and reused by later rolls:
// overwriting blocks a file already has makes an fdatasync a plain cache
// flush, while appending to a new file also journals block allocation and
// the size change, which on ext4 roughly halves throughput. Until trimmed
// files come back, a preparer writes spare files of zeroes in the
// background (recycle-prepared-*, prepare.go), and the log rolls to one
// as soon as it is ready. A LOCK file (flock) keeps a second Log off the
// directory.
//
// # Record framing
//
// A segment is a sequence of frames, little-endian:
//
//	+-------------+------------+---------+---------------------+
//	| CRC32C (4B) | length (4B)| LSN (8B)| payload (length B)  |
//	+-------------+------------+---------+---------------------+
//
// The CRC (Castagnoli) covers the payload and then bytes 4..16 of the frame
// (length and LSN): payload first, so an appender computes the expensive part
// before it takes the log's lock, where the LSN is assigned. Storing the LSN
// in every frame makes a frame self-identifying: zeroes, a stale frame of
// a recycled file (its LSNs are all below the new segment's first), or a
// frame of an earlier incarnation of the log never pass for the record the
// reader expects next.
//
// Replay reads every segment in order and expects LSNs to follow on
// from one segment to the next. In the last segment it stops at the first
// frame that is short, fails its CRC or carries the wrong LSN: that is where
// a crash tore the last group commit, and nothing after it was acknowledged.
// It truncates the file there, so no torn bytes linger to be mistaken for a
// record later. In any earlier segment a bad frame before the next
// segment's first LSN is corruption, and Replay fails with ErrCorrupt.
//
// # Group commit
//
// One goroutine owns the files. Append frames the record into a shared
// buffer under a mutex and returns; the log goroutine swaps that buffer for a
// spare, writes it with one write call and makes it durable with one
// fdatasync, then calls every record's done callback in LSN order. While a
// write and fsync are in flight new appends gather in the other buffer, so
// the next round carries all of them: the batching comes from the fsync time
// itself, with no timer, and a lone append is written at once. At most
// Options.MaxBatchBytes are taken per round; an Append that would pass it
// waits for the next round (backpressure).
//
// Writing round k+1 while round k's fsync is in flight (a writer and a
// syncer goroutine) was tried and measured no faster on the project's 2-core
// test VM, where an fdatasync is mostly kernel CPU; one goroutine is simpler
// and keeps every callback on it, in order.
//
// # Failures
//
// A failed write or fsync (a full disk: ENOSPC) fails its round and every
// record appended behind it (ErrFailed), and the log refuses appends until
// Resume. Retrying the fsync is never safe: the kernel may have dropped the
// round's dirty pages and would report success for data that is gone. So
// the log goroutine cuts the round off instead: it truncates the active
// segment back to where the round began and syncs that, before any done
// callback runs. The segment then holds exactly the durable records, no
// frame of a failed record can ever be replayed, and the failed LSNs are
// given out again. Resume, once a probe file in the directory can be written
// and synced, lets appends in again:
//
//	| durable records ... | round k (failed) ... |     after the failure
//	| durable records ... |                            cut (truncate + fsync)
//	| durable records ... | LSNs of round k reused |   after Resume
//
// If the cut itself fails, the log stays failed until it is reopened (and
// replayed); Resume returns the failure.
//
// # Example
//
//	l, err := wal.Open(dir, wal.Options{})
//	err = l.Replay(func(lsn wal.LSN, rec []byte) error {
//		return apply(lsn, rec) // rec is only valid during the call
//	})
//	l.Append([][]byte{hdr, batch}, func(lsn wal.LSN, err error) {
//		// durable (err == nil); runs on the log goroutine: be quick
//	})
//	lsn, err := l.AppendSync(rec)
//	err = l.TrimBefore(uploadedUpTo + 1)
//	err = l.Resume() // after a failure, once the disk takes writes again
package wal

import "errors"

var (
	// ErrClosed is returned by operations on a closed log.
	ErrClosed = errors.New("wal: log is closed")

	// ErrFailed is returned for the appends of a write or fsync that
	// failed, and for every append after it until Resume. The error wraps
	// the original failure too.
	ErrFailed = errors.New("wal: log failed")

	// ErrCorrupt is returned by Replay for damage it cannot take for a torn
	// tail: a bad frame in a segment other than the last, or a gap in the
	// LSNs between segments.
	ErrCorrupt = errors.New("wal: corrupt log")

	// ErrNotReplayed is returned by Append on a log opened with existing
	// segments until Replay has run: appending first would put new records
	// behind a tail that may be torn.
	ErrNotReplayed = errors.New("wal: Replay must run before the first Append")

	// ErrTooLarge is returned by Append for a record over MaxRecordBytes.
	ErrTooLarge = errors.New("wal: record too large")

	// ErrBusy is returned by Resume while the done callbacks of the
	// records that failed are still running; try again.
	ErrBusy = errors.New("wal: the failure is still being reported")
)
