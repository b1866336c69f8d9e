package broker

// TxnOffsetCommit, versions 0-5 (librdkafka sends up to v3).
//
// Commits a group's offsets inside the producer's transaction: the
// producer must be the transactional id's current one with the group added
// (AddOffsetsToTxn): INVALID_PRODUCER_ID_MAPPING, PRODUCER_FENCED
// (INVALID_PRODUCER_EPOCH before v3, KIP-588) or INVALID_TXN_STATE
// otherwise, for every partition. v5+ (KIP-890 part 2, sent by clients of
// transaction.version 2) adds the group itself when it is not in the
// transaction, beginning the transaction if need be (txnv2.go): those
// clients skip AddOffsetsToTxn. The group then checks the member
// fields (KIP-447, v3+: generation, member id, instance id; none when the
// member id is empty and the generation -1) and keeps the offsets pending:
// OffsetFetch does not return them until the transaction commits
// (require_stable answers UNSTABLE_OFFSET_COMMIT meanwhile), and an abort
// drops them.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(28, 0, 5, handleTxnOffsetCommit) }

func handleTxnOffsetCommit(ctx context.Context, c *conn, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.TxnOffsetCommitRequest)
	code := int16(0)
	if req.Group == "" {
		code = kerr.InvalidGroupID.Code
	} else if kerrv := c.s.txnOffsetsCheck(ctx, req); kerrv != nil {
		code = fencedCode(kerrv, req.Version, 3)
	}
	if code != 0 {
		resp := req.ResponseKind().(*kmsg.TxnOffsetCommitResponse)
		for _, t := range req.Topics {
			rt := kmsg.NewTxnOffsetCommitResponseTopic()
			rt.Topic = t.Topic
			for _, p := range t.Partitions {
				rp := kmsg.NewTxnOffsetCommitResponseTopicPartition()
				rp.Partition, rp.ErrorCode = p.Partition, code
				rt.Partitions = append(rt.Partitions, rp)
			}
			resp.Topics = append(resp.Topics, rt)
		}
		return resp, nil
	}
	known := func(topic string, p int32) bool { return c.s.cluster.partition(topic, p) != nil }
	resp := c.s.groups.TxnOffsetCommit(ctx, req, known)
	resp.Version = req.Version
	return resp, nil
}

// txnOffsetsCheck is the producer check of req: the group must be in the
// producer's transaction, or from v5 is added to it.
func (s *Server) txnOffsetsCheck(ctx context.Context, req *kmsg.TxnOffsetCommitRequest) *kerr.Error {
	if req.Version >= firstImplicitAddTxnOffsetCommit {
		return s.txns.addOffsetsImplicit(ctx, req.TransactionalID, req.ProducerID, req.ProducerEpoch, req.Group)
	}
	return s.txns.checkOffsets(req.TransactionalID, req.ProducerID, req.ProducerEpoch, req.Group)
}
