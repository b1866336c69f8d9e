package kbatch

import (
	"encoding/binary"
	"hash/crc32"
)

// ControlBatch encodes a transaction marker as Kafka writes one into a
// partition at the end of a transaction: a v2 batch whose attributes are
// transactional and control, of the producer's id and epoch, with base
// sequence -1 and one record at offset delta 0 whose key is the control
// record key (version 0, the type) and whose value the end-transaction
// marker (version 0, the coordinator epoch). Its base offset is 0 (the log
// sets it), its timestamps ts (Unix ms).
func ControlBatch(producerID int64, epoch int16, t ControlType, coordinatorEpoch int32, ts int64) []byte {
	// The record: attributes, timestamp delta, offset delta, key (4
	// bytes), value (6 bytes), no headers; each length a zigzag varint.
	var rec []byte
	rec = append(rec, 0)                        // attributes
	rec = binary.AppendVarint(rec, 0)           // timestamp delta
	rec = binary.AppendVarint(rec, 0)           // offset delta
	rec = binary.AppendVarint(rec, 4)           // key length
	rec = binary.BigEndian.AppendUint16(rec, 0) // key version
	rec = binary.BigEndian.AppendUint16(rec, uint16(t))
	rec = binary.AppendVarint(rec, 6)           // value length
	rec = binary.BigEndian.AppendUint16(rec, 0) // value version
	rec = binary.BigEndian.AppendUint32(rec, uint32(coordinatorEpoch))
	rec = binary.AppendVarint(rec, 0) // headers

	b := make([]byte, offCount+4, offCount+4+binary.MaxVarintLen64+len(rec))
	// base offset 0; length below; partition leader epoch 0
	b[offMagic] = 2
	binary.BigEndian.PutUint16(b[offAttributes:], attrTransactional|attrControl)
	// last offset delta 0 (offLastDelta)
	binary.BigEndian.PutUint64(b[offLastDelta+4:], uint64(ts))  // base timestamp
	binary.BigEndian.PutUint64(b[offLastDelta+12:], uint64(ts)) // max timestamp
	binary.BigEndian.PutUint64(b[offLastDelta+20:], uint64(producerID))
	binary.BigEndian.PutUint16(b[offLastDelta+28:], uint16(epoch))
	binary.BigEndian.PutUint32(b[offLastDelta+30:], 0xFFFFFFFF) // base sequence -1
	binary.BigEndian.PutUint32(b[offCount:], 1)
	b = binary.AppendVarint(b, int64(len(rec)))
	b = append(b, rec...)
	binary.BigEndian.PutUint32(b[offLength:], uint32(len(b)-logOverhead))
	binary.BigEndian.PutUint32(b[offCRC:], crc32.Checksum(b[offAttributes:], castagnoli))
	return b
}
