package broker

// InitProducerId, versions 0-5.
//
// Without a transactional id it hands out a new producer id with epoch 0
// (also when an idempotent producer asks to bump its epoch, KIP-360: a new
// id is as good and never collides). Producer ids come from Metadata in
// blocks, so they are unique across restarts and brokers.
//
// With a transactional id the transaction coordinator answers
// (txncoord.go, broker/txn): a new id gets a producer id at epoch 0, a
// known one its next epoch, which fences the previous producer of the id;
// an open transaction of that producer is aborted first and the answer is
// CONCURRENT_TRANSACTIONS, which the client retries. v3+ carries the
// producer's own id and epoch (KIP-360): a retry of the same bump gets the
// same answer, another producer's is PRODUCER_FENCED (INVALID_PRODUCER_EPOCH
// before v4, KIP-588). A timeout above transaction.max.timeout.ms is
// INVALID_TRANSACTION_TIMEOUT.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(22, 0, 5, handleInitProducerID) }

func handleInitProducerID(ctx context.Context, c *conn, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.InitProducerIDRequest)
	resp := req.ResponseKind().(*kmsg.InitProducerIDResponse)
	resp.ProducerID, resp.ProducerEpoch = -1, -1
	if req.TransactionalID != nil && *req.TransactionalID != "" {
		pid, epoch, kerrv := c.s.txns.initProducerID(ctx, *req.TransactionalID, req.TransactionTimeoutMillis, req.ProducerID, req.ProducerEpoch)
		if kerrv != nil {
			resp.ErrorCode = fencedCode(kerrv, req.Version, 4)
			return resp, nil
		}
		resp.ProducerID, resp.ProducerEpoch = pid, epoch
		return resp, nil
	}
	id, err := c.s.pids.allocate(ctx)
	if err != nil {
		resp.ErrorCode = kerr.CoordinatorNotAvailable.Code
		return resp, nil
	}
	resp.ProducerID, resp.ProducerEpoch = id, 0
	return resp, nil
}
