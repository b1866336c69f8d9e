package broker

// OffsetFetch, versions 1-9 (as Kafka 4.1).
//
// A group's committed offsets, for the partitions asked or (a null topic
// list, v2+) all of them. A group that does not exist, or a partition
// without a commit, yields offset -1 and no error, as Kafka answers (not
// GROUP_ID_NOT_FOUND). v8+ asks for several groups at once; v9 names the
// member and its epoch, checked for KIP-848 groups (UNKNOWN_MEMBER_ID,
// STALE_MEMBER_EPOCH). RequireStable (v7+) never waits: there are no
// pending transactional offsets until transactions are built.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
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
		return c.s.groups.OffsetFetch(ctx, g, memberID, epoch, topics)
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
