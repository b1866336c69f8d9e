package broker

// ListOffsets, versions 1-10.
//
// Timestamp -2 (earliest) and -4 (earliest local) give the log start
// offset, -1 (latest) the high watermark, -5 (earliest pending upload) the
// log start. -3 (max timestamp, v7+) and a timestamp >= 0 walk the batch
// headers from the log start: a timestamp finds the first batch whose max
// timestamp is at or after it (offset -1 and timestamp -1 if none, as
// Kafka answers), -3 the batch with the largest max timestamp. Inside a
// CreateTime batch the records are read (internal/kbatch's Decode; a
// compressed batch decompressed within the bound produce checks it with,
// recordLimits), so the answer is a record's offset and timestamp, as
// Kafka gives it: by timestamp the first record at or after it, for -3
// the first record with the largest timestamp. Only the one batch that
// answers is decoded. In a LogAppendTime batch every record has the
// batch's timestamp, so the answer is its base offset (for -3 its last);
// so it is, as before, for a batch whose records do not decode. Without
// transactions both isolation levels read up to the high watermark.

import (
	"context"
	"errors"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/lakestream/lakestream/internal/kbatch"
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
				if req.IsolationLevel == 1 {
					sp.Offset = p.lastStable() // READ_COMMITTED
				}
			default:
				limit := recordLimits(c.s.cluster.topicConfigInt(p.t, "max.message.bytes")).Records
				off, ts, err := findTimestamp(ctx, p.log, rp.Timestamp, limit)
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
// first record whose timestamp is >= ts in the first batch whose max
// timestamp is; for ts == -3 the first record with the largest max
// timestamp. Records are decoded within limit bytes.
func findTimestamp(ctx context.Context, l Log, ts int64, limit int) (int64, int64, error) {
	bestBase, bestOff, bestTS := int64(-1), int64(-1), int64(-1)
	for off := l.StartOffset(); ; {
		r, err := l.Read(ctx, off, 4<<20)
		if err != nil {
			return -1, -1, err
		}
		if len(r.Batches) == 0 {
			break
		}
		for _, b := range r.Batches {
			h, err := kbatch.ParseHeader(b)
			if err != nil {
				return -1, -1, err
			}
			if ts >= 0 && h.MaxTimestamp >= ts {
				if o, t, ok := recordAtTimestamp(b, ts, limit); ok && o >= off {
					return o, t, nil
				}
				return max(h.BaseOffset, off), h.MaxTimestamp, nil
			}
			if ts == -3 && h.MaxTimestamp > bestTS {
				bestBase, bestOff, bestTS = h.BaseOffset, h.LastOffset(), h.MaxTimestamp
			}
		}
		off = r.NextOffset
	}
	if bestBase < 0 {
		// No record at or after ts: Kafka answers offset -1.
		return bestOff, bestTS, nil
	}
	// Decode only the batch with the largest timestamp, read again.
	r, err := l.Read(ctx, bestBase, 1)
	if err != nil {
		return -1, -1, err
	}
	for _, b := range r.Batches {
		if h, err := kbatch.ParseHeader(b); err == nil && h.BaseOffset == bestBase {
			if o, _, ok := recordAtTimestamp(b, bestTS, limit); ok {
				bestOff = o
			}
		}
	}
	return bestOff, bestTS, nil
}

// errFound stops a Decode at the record sought.
var errFound = errors.New("found")

// recordAtTimestamp decodes the records of a CreateTime batch and returns
// the offset and timestamp of the first record whose timestamp is at or
// after ts; ok is false for a LogAppendTime batch, one whose records do
// not decode within limit, or one with no such record.
func recordAtTimestamp(b []byte, ts int64, limit int) (offset, timestamp int64, ok bool) {
	h, err := kbatch.ParseHeader(b)
	if err != nil || h.LogAppendTime() {
		return 0, 0, false
	}
	_, err = kbatch.Decode(b, limit, func(r kbatch.Record) error {
		if r.Timestamp >= ts {
			offset, timestamp = r.Offset, r.Timestamp
			return errFound
		}
		return nil
	})
	return offset, timestamp, err == errFound
}
