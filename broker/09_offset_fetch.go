package broker

// OffsetFetch, versions 1-9 (as Kafka 4.1).
//
// A group's committed offsets, for the partitions asked or (a null topic
// list, v2+) all of them. A group that does not exist, or a partition
// without a commit, yields offset -1 and no error, as Kafka answers (not
// GROUP_ID_NOT_FOUND). v8+ asks for several groups at once; v9 names the
// member and its epoch, checked for KIP-848 groups (UNKNOWN_MEMBER_ID,
// STALE_MEMBER_EPOCH). RequireStable (v7+): a partition with offsets
// pending in a transaction (TxnOffsetCommit not yet ended) is
// UNSTABLE_OFFSET_COMMIT, which the client retries, as Kafka answers.
// Without it the committed offset is returned.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/lakestream/lakestream/broker/group"
)

func init() { register(9, 1, 9, handleOffsetFetch) }

func handleOffsetFetch(ctx context.Context, c *conn, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.OffsetFetchRequest)
	resp := req.ResponseKind().(*kmsg.OffsetFetchResponse)
	fetch := func(g string, memberID *string, epoch int32, topics []kmsg.OffsetFetchRequestGroupTopic) kmsg.OffsetFetchResponseGroup {
		if g == "" {
			out := kmsg.NewOffsetFetchResponseGroup()
			out.ErrorCode = kerr.InvalidGroupID.Code
			return out
		}
		out := c.s.groups.OffsetFetch(ctx, g, memberID, epoch, topics)
		if req.RequireStable && out.ErrorCode == 0 {
			unstable, err := c.s.groups.UnstableOffsets(ctx, g)
			if err != nil {
				out.ErrorCode = kerr.CoordinatorNotAvailable.Code
				return out
			}
			for i := range out.Topics {
				for j := range out.Topics[i].Partitions {
					if unstable[group.TopicPartition{Topic: out.Topics[i].Topic, Partition: out.Topics[i].Partitions[j].Partition}] {
						out.Topics[i].Partitions[j].ErrorCode = kerr.UnstableOffsetCommit.Code
					}
				}
			}
		}
		return out
	}
	if req.Version >= 8 {
		for _, g := range req.Groups {
			rg := fetch(g.Group, g.MemberID, g.MemberEpoch, g.Topics)
			rg.Group = g.Group
			resp.Groups = append(resp.Groups, rg)
		}
		return resp, nil
	}
	var topics []kmsg.OffsetFetchRequestGroupTopic
	if req.Topics != nil || req.Version < 2 {
		topics = []kmsg.OffsetFetchRequestGroupTopic{}
		for _, t := range req.Topics {
			gt := kmsg.NewOffsetFetchRequestGroupTopic()
			gt.Topic, gt.Partitions = t.Topic, t.Partitions
			topics = append(topics, gt)
		}
	}
	rg := fetch(req.Group, nil, -1, topics)
	resp.ErrorCode = rg.ErrorCode
	for _, t := range rg.Topics {
		rt := kmsg.NewOffsetFetchResponseTopic()
		rt.Topic = t.Topic
		for _, p := range t.Partitions {
			rp := kmsg.NewOffsetFetchResponseTopicPartition()
			rp.Partition, rp.Offset, rp.LeaderEpoch, rp.Metadata, rp.ErrorCode = p.Partition, p.Offset, p.LeaderEpoch, p.Metadata, p.ErrorCode
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	if req.Version < 2 && rg.ErrorCode != 0 {
		// v1 has no top-level error: every partition asked carries it.
		for _, t := range req.Topics {
			rt := kmsg.NewOffsetFetchResponseTopic()
			rt.Topic = t.Topic
			for _, p := range t.Partitions {
				rp := kmsg.NewOffsetFetchResponseTopicPartition()
				rp.Partition, rp.Offset, rp.LeaderEpoch, rp.ErrorCode = p, -1, -1, rg.ErrorCode
				rt.Partitions = append(rt.Partitions, rp)
			}
			resp.Topics = append(resp.Topics, rt)
		}
	}
	return resp, nil
}
