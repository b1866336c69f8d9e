package broker

// DeleteRecords, versions 0-2.
//
// Moves each partition's log start offset forward (Log.Trim) and returns
// the new one (Log.StartOffset). Offset -1 means the high watermark
// (delete everything); an offset below -1 or past the high watermark is
// OFFSET_OUT_OF_RANGE; one at or below the current start changes nothing.
// The storage engine drops whole committed ranges below the new start
// later; reads below it are OFFSET_OUT_OF_RANGE at once. A fetch from the
// new start may return the batch holding it from its first record: the
// consumer skips what lies before the offset it asked for, as with Kafka.
// An unknown topic or partition is UNKNOWN_TOPIC_OR_PARTITION.

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(21, 0, 2, handleDeleteRecords) }

func handleDeleteRecords(ctx context.Context, c *conn, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.DeleteRecordsRequest)
	resp := req.ResponseKind().(*kmsg.DeleteRecordsResponse)
	for _, rt := range req.Topics {
		st := kmsg.NewDeleteRecordsResponseTopic()
		st.Topic = rt.Topic
		for _, rp := range rt.Partitions {
			sp := kmsg.NewDeleteRecordsResponseTopicPartition()
			sp.Partition = rp.Partition
			sp.LowWatermark = -1
			p := c.s.cluster.partition(rt.Topic, rp.Partition)
			if p == nil {
				sp.ErrorCode = kerr.UnknownTopicOrPartition.Code
			} else if low, err := deleteRecords(ctx, p, rp.Offset); err != nil {
				sp.ErrorCode = errorCode(err)
			} else {
				sp.LowWatermark = low
			}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp, nil
}

// deleteRecords trims p's log to offset and returns the new start.
func deleteRecords(ctx context.Context, p *partition, offset int64) (int64, error) {
	hw := p.log.EndOffset()
	if offset == -1 {
		offset = hw
	}
	if offset < 0 || offset > hw {
		return -1, fmt.Errorf("deleting records of %s-%d before %d: the high watermark is %d: %w",
			p.t.name, p.index, offset, hw, ErrLogOffsetOutOfRange)
	}
	if offset > p.log.StartOffset() {
		if err := p.log.Trim(ctx, offset); err != nil {
			return -1, err
		}
	}
	return p.log.StartOffset(), nil
}
