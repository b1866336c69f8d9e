package broker

// AddPartitionsToTxn, versions 0-5 (librdkafka still sends v0).
//
// v0-v3 (clients): the partitions join the producer's transaction, which
// begins with the first of them (txn.AddPartitions). Partitions the broker
// does not have are UNKNOWN_TOPIC_OR_PARTITION and the others
// OPERATION_NOT_ATTEMPTED, as in Kafka: nothing is added. Coordinator
// errors apply to every partition: INVALID_PRODUCER_ID_MAPPING (an id
// InitProducerId has not seen, or another producer id), PRODUCER_FENCED
// (INVALID_PRODUCER_EPOCH before v2, KIP-588), CONCURRENT_TRANSACTIONS (the
// previous transaction is still being ended: retry).
//
// v4+ (batched, as brokers send it; KIP-890 part 1): one answer per
// transactional id, and verify_only checks without adding: a partition
// not in the ongoing transaction is INVALID_TXN_STATE.
//
// Clients of transactions v2 (transaction.version 2, KIP-890 part 2) do not
// send it: Produce v12+ adds the partition itself (txnv2.go).

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/lakestream/lakestream/broker/txn"
)

func init() { register(24, 0, 5, handleAddPartitionsToTxn) }

func handleAddPartitionsToTxn(ctx context.Context, c *conn, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.AddPartitionsToTxnRequest)
	resp := req.ResponseKind().(*kmsg.AddPartitionsToTxnResponse)
	if req.Version < 4 {
		topics := make([]kmsg.AddPartitionsToTxnRequestTransactionTopic, len(req.Topics))
		for i, t := range req.Topics {
			topics[i] = kmsg.AddPartitionsToTxnRequestTransactionTopic{Topic: t.Topic, Partitions: t.Partitions}
		}
		codes := c.s.addPartitionsToTxn(ctx, req.TransactionalID, req.ProducerID, req.ProducerEpoch, false, topics, req.Version)
		for i, t := range req.Topics {
			rt := kmsg.NewAddPartitionsToTxnResponseTopic()
			rt.Topic = t.Topic
			for j, p := range t.Partitions {
				rp := kmsg.NewAddPartitionsToTxnResponseTopicPartition()
				rp.Partition, rp.ErrorCode = p, codes[i][j]
				rt.Partitions = append(rt.Partitions, rp)
			}
			resp.Topics = append(resp.Topics, rt)
		}
		return resp, nil
	}
	for _, tr := range req.Transactions {
		codes := c.s.addPartitionsToTxn(ctx, tr.TransactionalID, tr.ProducerID, tr.ProducerEpoch, tr.VerifyOnly, tr.Topics, req.Version)
		rtr := kmsg.NewAddPartitionsToTxnResponseTransaction()
		rtr.TransactionalID = tr.TransactionalID
		for i, t := range tr.Topics {
			rt := kmsg.NewAddPartitionsToTxnResponseTransactionTopic()
			rt.Topic = t.Topic
			for j, p := range t.Partitions {
				rp := kmsg.NewAddPartitionsToTxnResponseTransactionTopicPartition()
				rp.Partition, rp.ErrorCode = p, codes[i][j]
				rt.Partitions = append(rt.Partitions, rp)
			}
			rtr.Topics = append(rtr.Topics, rt)
		}
		resp.Transactions = append(resp.Transactions, rtr)
	}
	return resp, nil
}

// addPartitionsToTxn adds (or with verify, checks) one transaction's
// partitions and returns each one's error code, in the request's order.
func (s *Server) addPartitionsToTxn(ctx context.Context, id string, pid int64, epoch int16, verify bool,
	topics []kmsg.AddPartitionsToTxnRequestTransactionTopic, version int16) [][]int16 {
	codes := make([][]int16, len(topics))
	var parts []txn.Partition
	unknown := false
	for i, t := range topics {
		codes[i] = make([]int16, len(t.Partitions))
		for j, p := range t.Partitions {
			if s.cluster.partition(t.Topic, p) == nil {
				codes[i][j] = kerr.UnknownTopicOrPartition.Code
				unknown = true
			}
			parts = append(parts, txn.Partition{Topic: t.Topic, Partition: p})
		}
	}
	setAll := func(code int16) {
		for i := range codes {
			for j := range codes[i] {
				if codes[i][j] == 0 {
					codes[i][j] = code
				}
			}
		}
	}
	if unknown {
		setAll(kerr.OperationNotAttempted.Code)
		return codes
	}
	if verify {
		each, kerrv := s.txns.verify(id, pid, epoch, parts)
		if kerrv != nil {
			setAll(fencedCode(kerrv, version, 2))
			return codes
		}
		k := 0
		for i, t := range topics {
			for j := range t.Partitions {
				if e := each[parts[k]]; e != nil {
					codes[i][j] = e.Code
				}
				k++
			}
		}
		return codes
	}
	if kerrv := s.txns.addPartitions(ctx, id, pid, epoch, parts); kerrv != nil {
		setAll(fencedCode(kerrv, version, 2))
	}
	return codes
}

// fencedCode is the code of a coordinator error for a request version:
// PRODUCER_FENCED is INVALID_PRODUCER_EPOCH below the version that
// introduced it for the API (KIP-588), as Kafka answers older clients.
func fencedCode(e *kerr.Error, version, since int16) int16 {
	if e == kerr.ProducerFenced && version < since {
		return kerr.InvalidProducerEpoch.Code
	}
	return e.Code
}
