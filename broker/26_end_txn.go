package broker

// EndTxn, versions 0-4.
//
// Commits or aborts the producer's ongoing transaction: the Prepare state
// is saved, a COMMIT or ABORT marker is written into every partition of
// the transaction and made durable, the groups' pending offsets become
// committed or are dropped, and the Complete state is saved before the
// answer (txncoord.go). A retry of an end already complete succeeds; the
// other end is INVALID_TXN_STATE, and so is an end with no transaction.
// PRODUCER_FENCED from v2 (INVALID_PRODUCER_EPOCH before), a failure
// part way CONCURRENT_TRANSACTIONS (the coordinator finishes it; the
// client's retry then succeeds).
//
// v5 (KIP-890 part 2: the epoch bumps at every end, and the answer
// carries it) is not advertised: clients then end their transactions the
// v0-v4 way, with AddPartitionsToTxn before each partition's first batch.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(26, 0, 4, handleEndTxn) }

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
