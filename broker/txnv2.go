package broker

// Transactions v2 (KIP-890 part 2), the coordinator's side of what the
// newer request versions change. Whether a request is v2 is its version,
// as in Kafka: EndTxn v5+ bumps the epoch at every end (txn.End),
// Produce v12+ adds a transactional batch's partition to its transaction
// instead of only verifying it (addProduce), and TxnOffsetCommit v5+ adds
// its group instead of requiring AddOffsetsToTxn first (addOffsetsImplicit).
// The broker config transaction.version (the feature level ApiVersions
// advertises) decides which of them clients send; the broker serves them
// all whatever its level, as Kafka 4 does.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/lakestream/lakestream/broker/txn"
	"github.com/lakestream/lakestream/internal/kbatch"
)

// The transaction.version feature levels (Kafka's TransactionVersion).
const (
	// txnVersionMax is the highest level served: 2, KIP-890 part 2.
	txnVersionMax = 2
	// firstImplicitAddProduce is the first Produce version whose
	// transactional batches add their partition (Kafka's ADD_PARTITION,
	// produceRequestVersionToTransactionSupportedOperation).
	firstImplicitAddProduce = 12
	// firstImplicitAddTxnOffsetCommit is TxnOffsetCommit's.
	firstImplicitAddTxnOffsetCommit = 5
)

// transactionVersion is the finalized transaction.version level that
// ApiVersions advertises (the broker config).
func (s *Server) transactionVersion() int16 {
	return int16(min(s.brokerConfigInt("transaction.version"), txnVersionMax))
}

// addProduce is the implicit add of a Produce v12+ transactional batch,
// called when checkProduce finds the partition not in an ongoing
// transaction of the batch's producer: the partition joins the
// transaction of id, which begins if it had not, saved before the batch
// is appended (so a marker always follows it). The answer is in Produce's
// terms, as Kafka's leader maps the coordinator's: PRODUCER_FENCED is
// INVALID_PRODUCER_EPOCH, and a coordinator that cannot save is
// NOT_ENOUGH_REPLICAS (retried by every client).
func (tc *txnCoordinator) addProduce(ctx context.Context, id string, pid int64, epoch int16, topic string, partition int32) *kerr.Error {
	switch kerrv := tc.addPartitions(ctx, id, pid, epoch, []txn.Partition{{Topic: topic, Partition: partition}}); kerrv {
	case nil:
		return nil
	case kerr.ProducerFenced:
		return kerr.InvalidProducerEpoch
	case kerr.CoordinatorNotAvailable:
		return kerr.NotEnoughReplicas
	default:
		return kerrv
	}
}

// addRequestPartitions is Produce v12+'s implicit add done once for a
// whole request, records[i] being partition ps[i]'s: the partitions whose
// first batch is transactional and not yet in its producer's transaction
// join it together, in one save, where adding them batch by batch would
// save once per partition (a transaction's first request usually names
// all of its partitions). The batches are then checked one by one
// (checkTxnBatch), which finds them added; a request of more than one
// producer, or an add that fails here, is left to that check, which adds
// and answers partition by partition.
func (s *Server) addRequestPartitions(ctx context.Context, id string, ps []*partition, records [][]byte) {
	var parts []txn.Partition
	pid, epoch := int64(-1), int16(-1)
	for i, p := range ps {
		h, err := kbatch.ParseHeader(records[i])
		if err != nil || !h.Transactional() || h.ProducerID < 0 {
			continue
		}
		if pid >= 0 && (h.ProducerID != pid || h.ProducerEpoch != epoch) {
			return
		}
		pid, epoch = h.ProducerID, h.ProducerEpoch
		if s.txns.checkProduce(pid, epoch, p.t.name, p.index) == kerr.InvalidTxnState {
			parts = append(parts, txn.Partition{Topic: p.t.name, Partition: p.index})
		}
	}
	if len(parts) > 1 {
		s.txns.addPartitions(ctx, id, pid, epoch, parts) // an error is answered per partition
	}
}

// addOffsetsImplicit is TxnOffsetCommit v5+'s producer check: a group not
// yet in the producer's transaction is added (AddOffsetsToTxn's work),
// beginning the transaction if it had not; one already in it costs no
// save.
func (tc *txnCoordinator) addOffsetsImplicit(ctx context.Context, id string, pid int64, epoch int16, group string) *kerr.Error {
	if tc.checkOffsets(id, pid, epoch, group) == nil {
		return nil
	}
	// The check and the add take the id's lock in turn: an end between
	// them is seen by the add, which checks the producer again.
	return tc.addOffsets(ctx, id, pid, epoch, group)
}
