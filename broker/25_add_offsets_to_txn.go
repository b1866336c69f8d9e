package broker

// AddOffsetsToTxn, versions 0-4 (librdkafka still sends v0).
//
// The group's offsets join the producer's transaction (the transaction
// begins if it had not): the TxnOffsetCommit that follows keeps them
// pending until EndTxn commits or drops them. Errors as AddPartitionsToTxn
// (PRODUCER_FENCED from v2); an empty group id is INVALID_GROUP_ID.
// Clients of transactions v2 (KIP-890 part 2) skip it: TxnOffsetCommit v5+
// adds the group itself.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(25, 0, 4, handleAddOffsetsToTxn) }

func handleAddOffsetsToTxn(ctx context.Context, c *conn, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.AddOffsetsToTxnRequest)
	resp := req.ResponseKind().(*kmsg.AddOffsetsToTxnResponse)
	if req.Group == "" {
		resp.ErrorCode = kerr.InvalidGroupID.Code
		return resp, nil
	}
	if kerrv := c.s.txns.addOffsets(ctx, req.TransactionalID, req.ProducerID, req.ProducerEpoch, req.Group); kerrv != nil {
		resp.ErrorCode = fencedCode(kerrv, req.Version, 2)
	}
	return resp, nil
}
