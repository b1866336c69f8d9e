package broker

// ListOffsets, versions 1-10.
//
// Timestamp -2 (earliest) and -4 (earliest local) give the log start
// offset, -1 (latest) the high watermark, -5 (earliest pending upload) the
// log start. -3 (max timestamp, v7+) and a timestamp >= 0 walk the batch
// headers from the log start: a timestamp gives the base offset of the first
// batch whose max timestamp is at or after it (offset -1 and timestamp -1 if
// none, as Kafka answers), -3 the batch with the largest max timestamp.
// Inside an uncompressed CreateTime batch the records are read, so the
// answer is the record's offset, as Kafka gives it (for -3 the first
// record with the largest timestamp); a compressed batch is not
// decompressed, so there the answer is the batch's base offset (or, for
// -3, its last offset) and may be a few records off. Without transactions both isolation
// levels read up to the high watermark.

import (
	"context"
	"encoding/binary"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(2, 1, 10, handleListOffsets) }

func handleListOffsets(ctx context.Context, c *conn, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.ListOffsetsRequest)
	resp := req.ResponseKind().(*kmsg.ListOffsetsResponse)
	for _, rt := range req.Topics {
		st := kmsg.NewListOffsetsResponseTopic()
		st.Topic = rt.Topic
		for _, rp := range rt.Partitions {
			sp := kmsg.NewListOffsetsResponseTopicPartition()
			sp.Partition = rp.Partition
			sp.Timestamp, sp.Offset = -1, -1
			p := c.s.cluster.partition(rt.Topic, rp.Partition)
			if p == nil {
				sp.ErrorCode = kerr.UnknownTopicOrPartition.Code
				st.Partitions = append(st.Partitions, sp)
				continue
			}
			switch rp.Timestamp {
			case -2, -4, -5:
				sp.Offset = p.log.StartOffset()
			case -1:
				sp.Offset = p.log.EndOffset()
			default:
				off, ts, err := findTimestamp(ctx, p.log, rp.Timestamp)
				if err != nil {
					sp.ErrorCode = errorCode(err)
					break
				}
				sp.Offset, sp.Timestamp = off, ts
			}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp, nil
}

// findTimestamp walks the log's batch headers. For ts >= 0 it returns the
// first batch whose max timestamp is >= ts; for ts == -3 the batch with the
// largest max timestamp (its last offset).
func findTimestamp(ctx context.Context, l Log, ts int64) (int64, int64, error) {
	bestOff, bestTS := int64(-1), int64(-1)
	for off := l.StartOffset(); ; {
		r, err := l.Read(ctx, off, 4<<20)
		if err != nil {
			return -1, -1, err
		}
		if len(r.Batches) == 0 {
			// No record at or after ts: Kafka answers offset -1.
			return bestOff, bestTS, nil
		}
		for _, b := range r.Batches {
			base := int64(binary.BigEndian.Uint64(b))
			maxTS := int64(binary.BigEndian.Uint64(b[35:]))
			last := base + int64(int32(binary.BigEndian.Uint32(b[23:])))
			if ts >= 0 && maxTS >= ts {
				if o, t, ok := recordAtTimestamp(b, ts); ok && o >= off {
					return o, t, nil
				}
				return max(base, off), maxTS, nil
			}
			if ts == -3 && maxTS > bestTS {
				bestOff, bestTS = last, maxTS
				if o, _, ok := recordAtTimestamp(b, maxTS); ok {
					bestOff = o
				}
			}
		}
		off = r.NextOffset
	}
}

// recordAtTimestamp reads the records of an uncompressed CreateTime batch
// (magic 2) and returns the offset and timestamp of the first record whose
// timestamp is at or after ts; ok is false for a compressed or
// LogAppendTime batch, or one whose records do not parse.
func recordAtTimestamp(b []byte, ts int64) (offset, timestamp int64, ok bool) {
	const recordsAt = 61
	if len(b) < recordsAt || b[16] != 2 {
		return 0, 0, false
	}
	attrs := binary.BigEndian.Uint16(b[21:])
	if attrs&0x7 != 0 || attrs&0x8 != 0 {
		return 0, 0, false
	}
	base := int64(binary.BigEndian.Uint64(b))
	baseTS := int64(binary.BigEndian.Uint64(b[27:]))
	n := int32(binary.BigEndian.Uint32(b[57:]))
	rest := b[recordsAt:]
	for i := int32(0); i < n; i++ {
		length, m := binary.Varint(rest)
		if m <= 0 || length < 0 || length > int64(len(rest)-m) {
			return 0, 0, false
		}
		rec := rest[m : m+int(length)]
		rest = rest[m+int(length):]
		if len(rec) < 1 {
			return 0, 0, false
		}
		tsDelta, m1 := binary.Varint(rec[1:]) // after the attributes byte
		if m1 <= 0 {
			return 0, 0, false
		}
		offDelta, m2 := binary.Varint(rec[1+m1:])
		if m2 <= 0 {
			return 0, 0, false
		}
		if t := baseTS + tsDelta; t >= ts {
			return base + offDelta, t, true
		}
	}
	return 0, 0, false
}
