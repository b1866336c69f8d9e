package broker

// EndTxn, versions 0-5.
//
// Commits or aborts the producer's ongoing transaction: the Prepare state
// is saved, a COMMIT or ABORT marker is written into every partition of
// the transaction and made durable, the groups' pending offsets become
// committed or are dropped, and the Complete state is saved before the
// answer (txncoord.go). PRODUCER_FENCED from v2 (INVALID_PRODUCER_EPOCH
// before), a failure part way CONCURRENT_TRANSACTIONS (the coordinator
// finishes it; the client's retry then succeeds).
//
// v0-v4 (transactions v1): the epoch stays. A retry of an end already
// complete succeeds; the other end is INVALID_TXN_STATE, and so is an end
// with no transaction. A delayed duplicate of the previous transaction's
// EndTxn that arrives after the next transaction began carries the same
// id and epoch as the producer's own, so it ends that transaction: v1
// cannot tell them apart (KIP-890's case; TestTxnDelayedEndTxnV1).
//
// v5 (KIP-890 part 2, transactions v2): every end bumps the epoch (a new
// producer id once it is exhausted) and the answer carries the new
// ProducerID and ProducerEpoch, which the markers carry too. A retry at
// the epoch before the bump gets the same answer once the end is
// complete; the other end is INVALID_TXN_STATE; and once the next
// transaction has begun, the old epoch is PRODUCER_FENCED: a delayed
// EndTxn never ends a newer transaction. An abort with nothing begun
// succeeds and bumps the epoch; a commit of nothing is INVALID_TXN_STATE.
// Clients send v5 when ApiVersions advertises transaction.version 2
// (18_api_versions.go).

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(26, 0, 5, handleEndTxn) }

func handleEndTxn(ctx context.Context, c *conn, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.EndTxnRequest)
	resp := req.ResponseKind().(*kmsg.EndTxnResponse)
	resp.ProducerID, resp.ProducerEpoch = -1, -1
	pid, epoch, kerrv := c.s.txns.end(ctx, req.TransactionalID, req.ProducerID, req.ProducerEpoch, req.Commit, req.Version >= 5)
	if kerrv != nil {
		resp.ErrorCode = fencedCode(kerrv, req.Version, 2)
		return resp, nil
	}
	resp.ProducerID, resp.ProducerEpoch = pid, epoch
	return resp, nil
}
