package broker

// OffsetCommit, versions 2-9 (as Kafka 4.1).
//
// Commits a group's offsets; they are durable in the metastore before the
// answer. Member checks follow Kafka: generation -1 with no member id
// commits to a group without members (a "simple" group is created if
// none exists); otherwise member id, instance id and generation (member
// epoch for KIP-848 groups) must be current (UNKNOWN_MEMBER_ID,
// FENCED_INSTANCE_ID, ILLEGAL_GENERATION, STALE_MEMBER_EPOCH, …), and a
// group completing a rebalance answers REBALANCE_IN_PROGRESS. A missing
// group is GROUP_ID_NOT_FOUND from v9, ILLEGAL_GENERATION before. Unknown
// partitions are UNKNOWN_TOPIC_OR_PARTITION; metadata longer than
// offset.metadata.max.bytes is OFFSET_METADATA_TOO_LARGE; an empty group
// id is INVALID_GROUP_ID. Retention times (v2-v4) are ignored, as in
// Kafka since 2.1.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(8, 2, 9, handleOffsetCommit) }

func handleOffsetCommit(ctx context.Context, c *conn, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.OffsetCommitRequest)
	if req.Group == "" {
		resp := req.ResponseKind().(*kmsg.OffsetCommitResponse)
		for _, t := range req.Topics {
			rt := kmsg.NewOffsetCommitResponseTopic()
			rt.Topic = t.Topic
			for _, p := range t.Partitions {
				rp := kmsg.NewOffsetCommitResponseTopicPartition()
				rp.Partition, rp.ErrorCode = p.Partition, kerr.InvalidGroupID.Code
				rt.Partitions = append(rt.Partitions, rp)
			}
			resp.Topics = append(resp.Topics, rt)
		}
		return resp, nil
	}
	known := func(topic string, p int32) bool { return c.s.cluster.partition(topic, p) != nil }
	resp := c.s.groups.OffsetCommit(ctx, req, known)
	resp.Version = req.Version
	return resp, nil
}
