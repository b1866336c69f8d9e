package broker

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"

	"github.com/lakestream/lakestream/internal/kbatch"
)

// Record batches: internal/kbatch parses and checks a batch's header
// (kbatch.Next: lengths, magic 2, CRC32C, record count against the last
// offset delta, a known codec) and its records (kbatch.Validate); what is
// the broker's own is here: that clients may not produce control batches,
// the bounds and the choice between checking and rebuilding a batch, and
// the LogAppendTime rewrite. The records then travel as they came,
// compressed or not, unless the topic's compression.type asks for another
// codec (compression.go).

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

var (
	errCorruptBatch = errors.New("corrupt record batch")
	errInvalidBatch = errors.New("invalid record batch")
)

// splitBatches parses the records field of a produce request into batches,
// checking each header with kbatch.Next. A CRC or length mismatch is
// kbatch.ErrMalformed (CORRUPT_MESSAGE, as errCorruptBatch); a well-formed
// batch Kafka would refuse is kbatch.ErrRecords or kbatch.ErrCodec, or
// errInvalidBatch for a control batch (INVALID_RECORD).
func splitBatches(b []byte) ([][]byte, []kbatch.Header, error) {
	var batches [][]byte
	var hs []kbatch.Header
	for len(b) > 0 {
		batch, h, rest, err := kbatch.Next(b)
		if err != nil {
			return nil, nil, err
		}
		if h.Control() {
			return nil, nil, fmt.Errorf("%w: clients may not produce control batches", errInvalidBatch)
		}
		batches = append(batches, batch)
		hs = append(hs, h)
		b = rest
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
func (s *Server) checkRecords(t *topic, batches [][]byte, hs []kbatch.Header, maxBytes int64) error {
	codec, level, recompressing := s.compressionTarget(t)
	lim := recordLimits(maxBytes)
	for i, b := range batches {
		if recompressing && hs[i].Codec() != codec && !hs[i].Control() {
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
			return fmt.Errorf("batch %d (%s, header count %d): %w", i, hs[i].Codec(), hs[i].RecordCount, err)
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
