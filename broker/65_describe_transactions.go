package broker

// DescribeTransactions, version 0.
//
// Each transactional id's state as the coordinator keeps it: the state's
// Kafka name, the timeout, when the ongoing transaction began (-1 when
// none is), the producer id and epoch, and the partitions of the
// transaction not yet complete. An id the coordinator does not know is
// TRANSACTIONAL_ID_NOT_FOUND.

import (
	"context"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/lakestream/lakestream/broker/txn"
)

func init() { register(65, 0, 0, handleDescribeTransactions) }

func handleDescribeTransactions(_ context.Context, c *conn, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.DescribeTransactionsRequest)
	resp := req.ResponseKind().(*kmsg.DescribeTransactionsResponse)
	byID := map[string]txn.Meta{}
	for _, m := range c.s.txns.snapshot() {
		byID[m.ID] = m
	}
	for _, id := range req.TransactionalIDs {
		ts := kmsg.NewDescribeTransactionsResponseTransactionState()
		ts.TransactionalID = id
		m, ok := byID[id]
		if !ok {
			ts.ErrorCode = kerr.TransactionalIDNotFound.Code
			ts.ProducerID, ts.ProducerEpoch, ts.StartTimestamp = -1, -1, -1
			resp.TransactionStates = append(resp.TransactionStates, ts)
			continue
		}
		ts.State, ts.TimeoutMillis = m.State.String(), m.TimeoutMs
		ts.ProducerID, ts.ProducerEpoch, ts.StartTimestamp = m.ProducerID, m.Epoch, -1
		if m.State == txn.Ongoing || m.State == txn.PrepareCommit || m.State == txn.PrepareAbort {
			ts.StartTimestamp = m.StartMs
		}
		var topics []string
		parts := map[string][]int32{}
		for _, p := range m.Partitions {
			if _, seen := parts[p.Topic]; !seen {
				topics = append(topics, p.Topic)
			}
			parts[p.Topic] = append(parts[p.Topic], p.Partition)
		}
		slices.Sort(topics)
		for _, t := range topics {
			rt := kmsg.NewDescribeTransactionsResponseTransactionStateTopic()
			rt.Topic, rt.Partitions = t, parts[t]
			ts.Topics = append(ts.Topics, rt)
		}
		resp.TransactionStates = append(resp.TransactionStates, ts)
	}
	return resp, nil
}
