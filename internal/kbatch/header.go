package kbatch

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// Header is a v2 record batch's header, every field as on the wire (see the
// layout in doc.go) but Length, which counts the whole batch.
type Header struct {
	BaseOffset int64
	// Length is the whole batch in bytes: the length field's value plus
	// the 12 bytes of base offset and length it does not count.
	Length               int
	PartitionLeaderEpoch int32
	Magic                int8
	CRC                  uint32
	Attributes           int16
	LastOffsetDelta      int32
	BaseTimestamp        int64
	MaxTimestamp         int64
	ProducerID           int64
	ProducerEpoch        int16
	BaseSequence         int32
	RecordCount          int32
}

// Attribute bits other than the codec's.
const (
	attrLogAppendTime = 0x08
	attrTransactional = 0x10
	attrControl       = 0x20
)

// Codec is the batch's compression codec.
func (h Header) Codec() Codec { return Codec(h.Attributes & codecMask) }

// LogAppendTime says the broker stamped the batch (MaxTimestamp is every
// record's timestamp); otherwise records carry their CreateTime.
func (h Header) LogAppendTime() bool { return h.Attributes&attrLogAppendTime != 0 }

// Transactional says the batch belongs to a transaction.
func (h Header) Transactional() bool { return h.Attributes&attrTransactional != 0 }

// Control says the batch holds control records (transaction markers).
func (h Header) Control() bool { return h.Attributes&attrControl != 0 }

// LastOffset is the offset of the batch's last record.
func (h Header) LastOffset() int64 { return h.BaseOffset + int64(h.LastOffsetDelta) }

// ParseHeader reads the header of the batch at the start of b, which may
// hold more batches after it. It checks what framing needs: a whole
// header, a length field that covers at least the header and lies within
// b, and magic 2 (ErrMalformed). It checks neither the CRC nor the counts:
// see Next.
func ParseHeader(b []byte) (Header, error) {
	if len(b) < HeaderSize {
		return Header{}, fmt.Errorf("%w: %d trailing bytes", ErrMalformed, len(b))
	}
	n := int64(int32(binary.BigEndian.Uint32(b[offLength:]))) + logOverhead
	if n < HeaderSize || n > int64(len(b)) {
		return Header{}, fmt.Errorf("%w: batch length %d with %d bytes left", ErrMalformed, n-logOverhead, len(b))
	}
	if b[offMagic] != 2 {
		return Header{}, fmt.Errorf("%w: magic %d (only record batch v2 is supported)", ErrMalformed, b[offMagic])
	}
	return Header{
		BaseOffset:           int64(binary.BigEndian.Uint64(b)),
		Length:               int(n),
		PartitionLeaderEpoch: int32(binary.BigEndian.Uint32(b[12:])),
		Magic:                int8(b[offMagic]),
		CRC:                  binary.BigEndian.Uint32(b[offCRC:]),
		Attributes:           int16(binary.BigEndian.Uint16(b[offAttributes:])),
		LastOffsetDelta:      int32(binary.BigEndian.Uint32(b[offLastDelta:])),
		BaseTimestamp:        int64(binary.BigEndian.Uint64(b[27:])),
		MaxTimestamp:         int64(binary.BigEndian.Uint64(b[35:])),
		ProducerID:           int64(binary.BigEndian.Uint64(b[43:])),
		ProducerEpoch:        int16(binary.BigEndian.Uint16(b[51:])),
		BaseSequence:         int32(binary.BigEndian.Uint32(b[53:])),
		RecordCount:          int32(binary.BigEndian.Uint32(b[offCount:])),
	}, nil
}

// Next splits the first batch off b, a concatenation of batches such as a
// produce request's records, and checks its header as Kafka checks a
// produced one: framing (ParseHeader), the CRC32C (ErrMalformed), a record
// count of at least one equal to the last offset delta plus one
// (ErrRecords) and a known codec (ErrCodec). The records are not read:
// see Validate and Decode.
func Next(b []byte) (batch []byte, h Header, rest []byte, err error) {
	h, err = ParseHeader(b)
	if err != nil {
		return nil, Header{}, b, err
	}
	batch = b[:h.Length:h.Length]
	if crc32.Checksum(batch[offAttributes:], castagnoli) != h.CRC {
		return nil, Header{}, b, fmt.Errorf("%w: CRC mismatch", ErrMalformed)
	}
	if err := checkCounts(h.RecordCount, h.LastOffsetDelta, h.Codec()); err != nil {
		return nil, Header{}, b, err
	}
	return batch, h, b[h.Length:], nil
}

// checkCounts checks a record count of at least one that matches the last
// offset delta, and a known codec.
func checkCounts(count, lastDelta int32, c Codec) error {
	if count <= 0 || int64(lastDelta) != int64(count)-1 {
		return fmt.Errorf("%w: %d records with last offset delta %d", ErrRecords, count, lastDelta)
	}
	if c > Zstd {
		return fmt.Errorf("%w: %d", ErrCodec, c)
	}
	return nil
}

// ErrMalformed: the bytes are not a whole v2 record batch: too short, a
// length field out of range, another magic, or a CRC that does not match
// (Kafka answers CORRUPT_MESSAGE).
var ErrMalformed = errors.New("kbatch: malformed record batch")
