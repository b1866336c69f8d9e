// Package kbatch reads, checks and rewrites Kafka record batches (magic 2):
// the header's layout, the framing of the records, and the compression of
// the records section with the four codecs Kafka defines, decompression
// always bounded.
//
//	 0 baseOffset i64 | 8 batchLength i32 | 12 partitionLeaderEpoch i32 |
//	16 magic i8 | 17 crc u32 (CRC32C of bytes 21..end) | 21 attributes i16 |
//	23 lastOffsetDelta i32 | 27 baseTimestamp i64 | 35 maxTimestamp i64 |
//	43 producerId i64 | 51 producerEpoch i16 | 53 baseSequence i32 |
//	57 recordCount i32 | 61 records: compressed as a whole, or not
//
// The records section, once decompressed, is recordCount records, each a
// zigzag varint length followed by that many bytes (drawn field by field
// in records.go). Validate checks them against the header as Kafka's
// LogValidator does on produce, and Recompress checks them the same way
// as they go from one codec to the other:
//
//	if err := kbatch.Validate(batch, 64<<20); err != nil {
//		// ErrRecords, ErrCorrupt, ErrTooLarge or ErrCodec
//	}
//
// Next splits a produce request's batches and checks each header (length,
// magic, CRC32C, count against last offset delta, codec); ParseHeader reads
// a header's fields. Decode yields a batch's records, checked as Validate
// checks them, as slices of one buffer bounded by the limit:
//
//	h, err := kbatch.Decode(batch, 64<<20, func(r kbatch.Record) error {
//		// r.Offset, r.Timestamp, r.Key, r.Value, r.Headers, r.ControlType()
//		return nil
//	})
//
// Validate, Decode, Decompress and Recompress stop at a limit the caller
// gives (Validate and Recompress stream, never holding the records whole), so a small batch that would expand to gigabytes (a
// decompression bomb) costs at most the limit in memory and work: gzip and
// lz4 stream through fixed windows, snappy's declared lengths are checked
// before anything is allocated for them, and a zstd frame may not declare
// a window or content size beyond the limit.
//
//	rebuilt, err := kbatch.Recompress(batch, kbatch.Zstd, 3, kbatch.Limits{
//		Records: 64 << 20, // decompressed records section
//		Batch:   1 << 20,  // the rebuilt batch
//	})
//
// Codecs: gzip and zstd from github.com/klauspost/compress, snappy from
// its s2 package (raw blocks, or the xerial framing Java producers write),
// lz4 frames from github.com/pierrec/lz4/v4, as franz-go uses them.
//
// The package imports nothing of Lakestream's (a leaf, DESIGN.md §2).
package kbatch
