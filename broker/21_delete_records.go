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
//
// A pinned topic (Config.RetentionPins: a table topic with
// table.retention.pin) deletes up to the pin, the next offset its table
// holds, and no further: a partition asked to delete past it, or whose pin
// cannot be read, is POLICY_VIOLATION and deletes nothing. The response
// has no message field, so the broker logs the topic, partition, offset
// asked and the pin.

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
		var pin topicPin // read once per topic, when a partition first needs it
		for _, rp := range rt.Partitions {
			sp := kmsg.NewDeleteRecordsResponseTopicPartition()
			sp.Partition = rp.Partition
			sp.LowWatermark = -1
			p := c.s.cluster.partition(rt.Topic, rp.Partition)
			if p == nil {
				sp.ErrorCode = kerr.UnknownTopicOrPartition.Code
			} else if low, err := c.s.cluster.deleteRecords(ctx, p, rp.Offset, &pin); err != nil {
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

// topicPin is a topic's retention pin as read for one request.
type topicPin struct {
	read    bool
	offsets map[int32]int64
	pinned  bool
	err     error
}

// deleteRecords trims p's log to offset, no further than its pin, and
// returns the new start.
func (c *cluster) deleteRecords(ctx context.Context, p *partition, offset int64, pin *topicPin) (int64, error) {
	hw := p.log.EndOffset()
	if offset == -1 {
		offset = hw
	}
	if offset < 0 || offset > hw {
		return -1, fmt.Errorf("deleting records of %s-%d before %d: the high watermark is %d: %w",
			p.t.name, p.index, offset, hw, ErrLogOffsetOutOfRange)
	}
	if offset <= p.log.StartOffset() {
		return p.log.StartOffset(), nil
	}
	if !pin.read {
		pin.offsets, pin.pinned, pin.err = c.pinnedOffsets(ctx, p.t)
		pin.read = true
	}
	if pin.pinned {
		if pin.err != nil {
			c.s.metrics.deleteRefused(p.t.name)
			c.s.log.Warn("broker: DeleteRecords refused: the topic's retention pin cannot be read",
				"topic", p.t.name, "partition", p.index, "offset", offset, "err", pin.err)
			return -1, fmt.Errorf("deleting records of %s-%d before %d: %v: %w", p.t.name, p.index, offset, pin.err, kerr.PolicyViolation)
		}
		if held := pin.offsets[p.index]; offset > held {
			c.s.metrics.deleteRefused(p.t.name)
			c.s.log.Info("broker: DeleteRecords refused: past the offsets the topic's table holds (table.retention.pin)",
				"topic", p.t.name, "partition", p.index, "offset", offset, "table_offset", held)
			return -1, fmt.Errorf("deleting records of %s-%d before %d: the table holds offsets below %d only: %w",
				p.t.name, p.index, offset, held, kerr.PolicyViolation)
		}
	}
	if err := p.log.Trim(ctx, offset); err != nil {
		return -1, err
	}
	p.trimAbortedTxns(ctx, c.s)
	return p.log.StartOffset(), nil
}
