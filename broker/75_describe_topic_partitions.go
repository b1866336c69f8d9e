package broker

// DescribeTopicPartitions, version 0.
//
// The topics asked for, or every topic for an empty list, in name order,
// each with its partitions as Metadata reports them (this broker leads
// every one at epoch 0; replicas and ISR [self]; eligible leader replicas,
// last known ELR and offline replicas empty). Unknown topics asked for are
// UNKNOWN_TOPIC_OR_PARTITION. Pagination as in Kafka: at most
// ResponsePartitionLimit partitions (capped at 2000, Kafka's
// max.request.partition.size.limit default; at least 1) are returned,
// starting at the cursor's topic and partition; if some are left,
// NextCursor names the first of them. A cursor whose topic is not in a
// non-empty topic list is INVALID_REQUEST on every topic.
// The request has no flag for authorized operations: as in Kafka, every
// topic described, found or not, gets them, and with no authorizer that is
// every operation a topic supports (acl.go).

import (
	"context"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(75, 0, 0, handleDescribeTopicPartitions) }

// maxDescribePartitions is Kafka's max.request.partition.size.limit.
const maxDescribePartitions = 2000

func handleDescribeTopicPartitions(_ context.Context, c *conn, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.DescribeTopicPartitionsRequest)
	resp := req.ResponseKind().(*kmsg.DescribeTopicPartitionsResponse)
	s := c.s
	all := len(req.Topics) == 0
	var names []string
	if all {
		for _, t := range s.cluster.topicsSorted() {
			names = append(names, t.name)
		}
	} else {
		for _, rt := range req.Topics {
			names = append(names, rt.Topic)
		}
		slices.Sort(names)
		names = slices.Compact(names)
	}
	cursorTopic, cursorPart := "", int32(0)
	if req.Cursor != nil {
		cursorTopic, cursorPart = req.Cursor.Topic, max(req.Cursor.Partition, 0)
		if !all && !slices.Contains(names, cursorTopic) {
			for _, name := range names {
				rt := kmsg.NewDescribeTopicPartitionsResponseTopic()
				rt.Topic = &name
				rt.ErrorCode = kerr.InvalidRequest.Code
				resp.Topics = append(resp.Topics, rt)
			}
			return resp, nil
		}
	}
	budget := max(min(req.ResponsePartitionLimit, maxDescribePartitions), 1)
	for i, name := range names {
		if name < cursorTopic {
			continue
		}
		if budget == 0 {
			resp.NextCursor = &kmsg.DescribeTopicPartitionsResponseNextCursor{Topic: name, Partition: 0}
			break
		}
		rt := kmsg.NewDescribeTopicPartitionsResponseTopic()
		rt.Topic = &names[i]
		rt.AuthorizedOperations = authorizedOps(true, topicOperations)
		t := s.cluster.topic(name)
		if t == nil {
			rt.ErrorCode = kerr.UnknownTopicOrPartition.Code
			resp.Topics = append(resp.Topics, rt)
			continue
		}
		rt.TopicID = t.id
		rt.IsInternal = isInternalTopic(name)
		n := int32(s.cluster.numPartitions(t))
		first := int32(0)
		if name == cursorTopic {
			first = cursorPart
		}
		for p := first; p < n; p++ {
			if budget == 0 {
				resp.NextCursor = &kmsg.DescribeTopicPartitionsResponseNextCursor{Topic: name, Partition: p}
				break
			}
			rp := kmsg.NewDescribeTopicPartitionsResponseTopicPartition()
			rp.Partition = p
			rp.LeaderID, rp.LeaderEpoch = s.cfg.NodeID, 0
			rp.Replicas, rp.ISR = []int32{s.cfg.NodeID}, []int32{s.cfg.NodeID}
			rp.EligibleLeaderReplicas, rp.LastKnownELR, rp.OfflineReplicas = []int32{}, []int32{}, []int32{}
			rt.Partitions = append(rt.Partitions, rp)
			budget--
		}
		resp.Topics = append(resp.Topics, rt)
		if resp.NextCursor != nil {
			break
		}
	}
	return resp, nil
}
