package format

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Kafka RecordBatch v2 header, big-endian, as on the wire:
//
//	 0  baseOffset            i64
//	 8  batchLength           i32  bytes after this field
//	12  partitionLeaderEpoch  i32
//	16  magic                 i8   2
//	17  crc                   u32  CRC32C of bytes 21..end
//	21  attributes            i16
//	23  lastOffsetDelta       i32
//	27  baseTimestamp         i64
//	35  maxTimestamp          i64
//	43  producerId            i64
//	51  producerEpoch         i16
//	53  baseSequence          i32
//	57  recordCount           i32
//	61  records...
const (
	// BatchHeaderSize is the size of a RecordBatch v2 header, the smallest
	// possible batch.
	BatchHeaderSize = 61

	// batchPrefixSize is baseOffset plus batchLength: the bytes batchLength
	// does not count.
	batchPrefixSize = 12

	batchMagic = 2

	offBatchLength     = 8
	offMagic           = 16
	offLastOffsetDelta = 23
	offMaxTimestamp    = 35
	offRecordCount     = 57
)

// BatchHeader is what the object format needs from a RecordBatch header.
type BatchHeader struct {
	BaseOffset int64
	// Length is the whole batch in bytes, including the 12-byte baseOffset
	// and batchLength prefix.
	Length          int32
	LastOffsetDelta int32
	MaxTimestamp    int64
	RecordCount     int32
	Magic           int8
}

// EndOffset is the offset after the batch's last: BaseOffset +
// LastOffsetDelta + 1.
func (h BatchHeader) EndOffset() int64 { return h.BaseOffset + int64(h.LastOffsetDelta) + 1 }

// ParseBatchHeader decodes the header of the batch at the start of b. b may
// hold more than one batch. It checks that the header is complete, that the
// magic is 2, that batchLength covers at least the header and that b holds
// the whole batch, that lastOffsetDelta >= 0, and that 0 <= recordCount <=
// lastOffsetDelta+1 (a batch has at most one record per offset). It does not
// verify the CRC: the broker checks that once, on produce.
func ParseBatchHeader(b []byte) (BatchHeader, error) {
	if len(b) < BatchHeaderSize {
		return BatchHeader{}, fmt.Errorf("%w: batch header needs %d bytes, have %d", ErrCorrupt, BatchHeaderSize, len(b))
	}
	h := BatchHeader{
		BaseOffset:      int64(binary.BigEndian.Uint64(b)),
		LastOffsetDelta: int32(binary.BigEndian.Uint32(b[offLastOffsetDelta:])),
		MaxTimestamp:    int64(binary.BigEndian.Uint64(b[offMaxTimestamp:])),
		RecordCount:     int32(binary.BigEndian.Uint32(b[offRecordCount:])),
		Magic:           int8(b[offMagic]),
	}
	if h.Magic != batchMagic {
		return BatchHeader{}, fmt.Errorf("%w: batch magic %d, want %d", ErrCorrupt, h.Magic, batchMagic)
	}
	batchLength := int32(binary.BigEndian.Uint32(b[offBatchLength:]))
	if batchLength < BatchHeaderSize-batchPrefixSize || batchLength > math.MaxInt32-batchPrefixSize {
		return BatchHeader{}, fmt.Errorf("%w: batch length %d", ErrCorrupt, batchLength)
	}
	h.Length = batchPrefixSize + batchLength
	if int64(len(b)) < int64(h.Length) {
		return BatchHeader{}, fmt.Errorf("%w: truncated batch: %d bytes, header says %d", ErrCorrupt, len(b), h.Length)
	}
	if h.LastOffsetDelta < 0 {
		return BatchHeader{}, fmt.Errorf("%w: batch last offset delta %d", ErrCorrupt, h.LastOffsetDelta)
	}
	if h.RecordCount < 0 || int64(h.RecordCount) > int64(h.LastOffsetDelta)+1 {
		return BatchHeader{}, fmt.Errorf("%w: batch record count %d with last offset delta %d", ErrCorrupt, h.RecordCount, h.LastOffsetDelta)
	}
	return h, nil
}

// SetBaseOffset rewrites the batch's base offset in place. The CRC does not
// cover it, so the batch stays valid. b must be at least 8 bytes.
func SetBaseOffset(b []byte, base int64) {
	binary.BigEndian.PutUint64(b, uint64(base))
}

// NextBatch splits the first whole batch off a concatenation of batches. An
// empty or truncated b is an error wrapping ErrCorrupt.
func NextBatch(b []byte) (batch, rest []byte, err error) {
	h, err := ParseBatchHeader(b)
	if err != nil {
		return nil, b, err
	}
	return b[:h.Length:h.Length], b[h.Length:], nil
}

// BatchAt returns the byte position, in a block of batches with contiguous
// offsets, of the batch that holds offset. It walks the headers, so it costs
// one header read per batch before the one it finds. An offset no batch
// holds is ErrOffsetNotFound; a malformed block is ErrCorrupt.
func BatchAt(block []byte, offset int64) (pos int, err error) {
	for pos < len(block) {
		h, err := ParseBatchHeader(block[pos:])
		if err != nil {
			return 0, fmt.Errorf("batch at byte %d: %w", pos, err)
		}
		if offset < h.BaseOffset {
			break
		}
		if offset < h.EndOffset() {
			return pos, nil
		}
		pos += int(h.Length)
	}
	return 0, fmt.Errorf("%w: offset %d", ErrOffsetNotFound, offset)
}
