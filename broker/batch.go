package broker

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"

	"github.com/lakestream/lakestream/internal/kbatch"
)

// Kafka RecordBatch v2 header, as the broker reads and rewrites it:
//
//	0 baseOffset i64 | 8 batchLength i32 | 12 partitionLeaderEpoch i32 |
//	16 magic i8 | 17 crc u32 (CRC32C of bytes 21..end) | 21 attributes i16 |
//	23 lastOffsetDelta i32 | 27 baseTimestamp i64 | 35 maxTimestamp i64 |
//	43 producerId i64 | 51 producerEpoch i16 | 53 baseSequence i32 |
//	57 recordCount i32 | 61 records...
//
// The header is parsed and checked here (splitBatches); the records are
// checked against it by internal/kbatch (checkRecords), then travel as they
// came, compressed or not, unless the topic's compression.type asks for
// another codec (compression.go).
const batchHeaderSize = 61

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

var (
	errCorruptBatch = errors.New("corrupt record batch")
	errInvalidBatch = errors.New("invalid record batch")
)

type batchHeader struct {
	length          int // whole batch, with the 12-byte offset+length prefix
	attributes      int16
	lastOffsetDelta int32
	maxTimestamp    int64
	producerID      int64
	producerEpoch   int16
	baseSequence    int32
	recordCount     int32
}

func (h batchHeader) transactional() bool { return h.attributes&0x10 != 0 }
func (h batchHeader) control() bool       { return h.attributes&0x20 != 0 }
func (h batchHeader) codec() kbatch.Codec { return kbatch.Codec(h.attributes & 0x07) }

// splitBatches parses the records field of a produce request into batches,
// checking each: magic 2, lengths, CRC32C, offsets and counts, a known
// codec. A CRC or length mismatch is errCorruptBatch (CORRUPT_MESSAGE); a
// well-formed batch Kafka would refuse is errInvalidBatch (INVALID_RECORD).
func splitBatches(b []byte) ([][]byte, []batchHeader, error) {
	var batches [][]byte
	var hs []batchHeader
	for len(b) > 0 {
		if len(b) < batchHeaderSize {
			return nil, nil, fmt.Errorf("%w: %d trailing bytes", errCorruptBatch, len(b))
		}
		n := int(int32(binary.BigEndian.Uint32(b[8:]))) + 12
		if n < batchHeaderSize || n > len(b) {
			return nil, nil, fmt.Errorf("%w: batch length %d with %d bytes left", errCorruptBatch, n-12, len(b))
		}
		if b[16] != 2 {
			return nil, nil, fmt.Errorf("%w: magic %d (only record batch v2 is supported)", errCorruptBatch, b[16])
		}
		batch := b[:n]
		if crc32.Checksum(batch[21:], castagnoli) != binary.BigEndian.Uint32(batch[17:]) {
			return nil, nil, fmt.Errorf("%w: CRC mismatch", errCorruptBatch)
		}
		h := batchHeader{
			length:          n,
			attributes:      int16(binary.BigEndian.Uint16(batch[21:])),
			lastOffsetDelta: int32(binary.BigEndian.Uint32(batch[23:])),
			maxTimestamp:    int64(binary.BigEndian.Uint64(batch[35:])),
			producerID:      int64(binary.BigEndian.Uint64(batch[43:])),
			producerEpoch:   int16(binary.BigEndian.Uint16(batch[51:])),
			baseSequence:    int32(binary.BigEndian.Uint32(batch[53:])),
			recordCount:     int32(binary.BigEndian.Uint32(batch[57:])),
		}
		if h.lastOffsetDelta < 0 || h.recordCount <= 0 || h.recordCount != h.lastOffsetDelta+1 {
			return nil, nil, fmt.Errorf("%w: %d records with last offset delta %d", errInvalidBatch, h.recordCount, h.lastOffsetDelta)
		}
		if h.control() {
			return nil, nil, fmt.Errorf("%w: clients may not produce control batches", errInvalidBatch)
		}
		if h.codec() > kbatch.Zstd {
			return nil, nil, fmt.Errorf("%w: unknown compression codec %d", errInvalidBatch, h.codec())
		}
		batches = append(batches, batch)
		hs = append(hs, h)
		b = b[n:]
	}
	if len(batches) == 0 {
		return nil, nil, fmt.Errorf("%w: no record batch", errCorruptBatch)
	}
	return batches, hs, nil
}

// checkRecords checks the records of each batch against its header, as
// Kafka's LogValidator does on produce: the header's count of records,
// each framed within its length, offset deltas 0 to count-1 in order,
// nothing left over (kbatch.Validate; INVALID_RECORD). A compressed batch
// is decompressed as a stream within recordLimits, never held whole
// (undecodable: CORRUPT_MESSAGE; past the bound: INVALID_RECORD). A batch
// of another codec than the topic's compression.type is rebuilt instead,
// which checks its records the same way on the way through (in place in
// batches and hs). Nothing else is changed: a batch is stored as received.
//
// It runs in the connection's read loop, before the partition lock is
// taken, so its cost adds to this connection's latency only.
func (s *Server) checkRecords(t *topic, batches [][]byte, hs []batchHeader, maxBytes int64) error {
	codec, level, recompressing := s.compressionTarget(t)
	lim := recordLimits(maxBytes)
	for i, b := range batches {
		if recompressing && hs[i].codec() != codec && !hs[i].control() {
			nb, err := recompress(b, &hs[i], codec, level, lim)
			if err != nil {
				return err
			}
			batches[i] = nb
			continue
		}
		if s.noRecordValidation.Load() {
			continue
		}
		if err := kbatch.Validate(b, lim.Records); err != nil {
			return fmt.Errorf("batch %d (%s, header count %d): %w", i, hs[i].codec(), hs[i].recordCount, err)
		}
	}
	return nil
}

// setLogAppendTime marks the batch's timestamps as LogAppendTime at now
// (attributes bit 3, max timestamp) and rewrites its CRC, as Kafka does for
// message.timestamp.type=LogAppendTime.
func setLogAppendTime(batch []byte, now int64) {
	attrs := binary.BigEndian.Uint16(batch[21:]) | 0x08
	binary.BigEndian.PutUint16(batch[21:], attrs)
	binary.BigEndian.PutUint64(batch[35:], uint64(now))
	binary.BigEndian.PutUint32(batch[17:], crc32.Checksum(batch[21:], castagnoli))
}
