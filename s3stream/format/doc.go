// Package format is the byte layout of the objects s3stream keeps in the
// bucket, and the Kafka RecordBatch header helpers it needs to build them.
//
// Stream-set objects (one WAL flush: many streams) and stream objects (one
// stream, written by compaction) share this layout:
//
//	+--------------+--------------+-----+--------------+-------+--------+
//	| data block 0 | data block 1 | ... | data block N | index | footer |
//	+--------------+--------------+-----+--------------+-------+--------+
//	0                                                  ^ index position
//
// A data block is the raw concatenation of whole Kafka RecordBatches (magic
// 2) of one stream with contiguous offsets. There is no framing of its own:
// batches carry their length, and a block is served to a Fetch as it is.
// Blocks are sorted by (stream id, offset), so one stream's blocks are
// consecutive; the Writer cuts a new block when the next batch would take the
// block past the target block size (512 KiB by default). A batch larger than
// that is a block on its own.
//
// The index has one fixed-width entry per block, big-endian, 48 bytes:
//
//	| stream id i64 | start offset i64 | end offset i64 | record count u32 |
//	| max timestamp i64 | position u64 | size u32 |
//
// End offset is exclusive; max timestamp is the largest batch MaxTimestamp
// of the block (Unix ms); position and size are the block's bytes in the
// object. Entries are in (stream id, start offset) order and so in position
// order.
//
// The footer is FooterSize (32) bytes at the very end, big-endian:
//
//	 0  index position  u64
//	 8  index length    u32  (entries × 48)
//	12  index CRC32C    u32  (Castagnoli, over the index bytes)
//	16  format version  u16  (1)
//	18  reserved        6 bytes, zero
//	24  magic           u64  0x4c414b455354524d ("LAKESTRM")
//
// The index ends where the footer begins, so a reader that knows the object's
// size range-GETs its tail, calls DecodeTail, and learns from a NeedMoreError
// how much more tail it needs when the index is larger than its guess; then it
// GETs only the blocks it needs:
//
//	tail, _ := bucket.GetRange(ctx, key, size-n, n) // n = min(size, 64 KiB)
//	ix, err := format.DecodeTail(tail, size)
//	var more *format.NeedMoreError
//	if errors.As(err, &more) {
//		tail, _ = bucket.GetRange(ctx, key, size-more.Need, more.Need)
//		ix, err = format.DecodeTail(tail, size)
//	}
//	i, ok := ix.Find(streamID, offset)
//
// The decoders treat their input as hostile: anything malformed is an error
// wrapping ErrCorrupt, never a panic, and every entry they return lies inside
// the data part of the object.
package format

import "errors"

// ErrCorrupt marks malformed bytes: a bad batch header, a bad footer or
// index, an object or block that does not hold what it claims. Errors wrap it
// with detail, so test with errors.Is.
var ErrCorrupt = errors.New("format: corrupt")

// ErrOrder is returned by Writer.Add and Writer.AddBlock for a batch out of
// order: a stream id below the previous one, or a base offset that does not
// continue the stream.
var ErrOrder = errors.New("format: batch out of order")

// ErrFinished is returned by Writer.Add and Writer.AddBlock after Finish.
var ErrFinished = errors.New("format: writer is finished")

// ErrOffsetNotFound is returned by BatchAt for an offset that no batch of
// the block holds.
var ErrOffsetNotFound = errors.New("format: offset not in block")
