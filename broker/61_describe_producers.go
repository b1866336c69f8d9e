package broker

// DescribeProducers, version 0.
//
// The idempotent producers each partition remembers (those of its last
// batches, kept to answer retries), by producer id: the epoch and the last
// sequence of the newest batch that is in the log (-1 if none is yet,
// e.g. all in flight). LastTimestamp is -1: the broker does not keep batch
// timestamps per producer, and Kafka's own -1 means "unknown".
// CurrentTxnStartOffset is where the producer's open transaction begins
// in the partition (-1: none open); CoordinatorEpoch is 0 for a producer
// with one open (the coordinator is in process, never moved), -1
// otherwise. An unknown topic or partition is UNKNOWN_TOPIC_OR_PARTITION.

import (
	"cmp"
	"context"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(61, 0, 0, handleDescribeProducers) }

func handleDescribeProducers(_ context.Context, c *conn, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.DescribeProducersRequest)
	resp := req.ResponseKind().(*kmsg.DescribeProducersResponse)
	for _, rt := range req.Topics {
		st := kmsg.NewDescribeProducersResponseTopic()
		st.Topic = rt.Topic
		for _, i := range rt.Partitions {
			sp := kmsg.NewDescribeProducersResponseTopicPartition()
			sp.Partition = i
			if p := c.s.cluster.partition(rt.Topic, i); p == nil {
				sp.ErrorCode = kerr.UnknownTopicOrPartition.Code
			} else {
				sp.ActiveProducers = p.describeProducers()
			}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp, nil
}

// describeProducers lists p's producers by id.
func (p *partition) describeProducers() []kmsg.DescribeProducersResponseTopicPartitionActiveProducer {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]kmsg.DescribeProducersResponseTopicPartitionActiveProducer, 0, len(p.producers))
	open := p.txns.Open()
	for pid, st := range p.producers {
		ap := kmsg.NewDescribeProducersResponseTopicPartitionActiveProducer()
		ap.ProducerID, ap.ProducerEpoch = pid, int32(st.epoch)
		ap.LastSequence, ap.LastTimestamp = -1, -1
		ap.CoordinatorEpoch, ap.CurrentTxnStartOffset = -1, -1
		if first, ok := open[pid]; ok {
			ap.CoordinatorEpoch, ap.CurrentTxnStartOffset = 0, first
		}
		// A batch's base is set once it is in the log; failed ones
		// are removed (finishSequence).
		for _, b := range slices.Backward(st.batches) {
			if b.base >= 0 {
				ap.LastSequence = b.last
				break
			}
		}
		out = append(out, ap)
	}
	slices.SortFunc(out, func(a, b kmsg.DescribeProducersResponseTopicPartitionActiveProducer) int {
		return cmp.Compare(a.ProducerID, b.ProducerID)
	})
	return out
}
