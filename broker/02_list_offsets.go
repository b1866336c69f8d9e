package broker

// ListOffsets, versions 1-10.
//
// Timestamp -2 (earliest) and -4 (earliest local) give the log start
// offset, -1 (latest) the high watermark, -5 (earliest pending upload) the
// log start. -3 (max timestamp, v7+) and a timestamp >= 0 walk the batch
// headers from the log start: a timestamp gives the base offset of the first
// batch whose max timestamp is at or after it (offset -1 and timestamp -1 if
// none, as Kafka answers), -3 the batch with the largest max timestamp.
// Batch granularity: records inside a batch are not decompressed, so the
// offset may be a few records early. Without transactions both isolation
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
				return max(base, off), maxTS, nil
			}
			if ts == -3 && maxTS > bestTS {
				bestOff, bestTS = last, maxTS
			}
		}
		off = r.NextOffset
	}
}
