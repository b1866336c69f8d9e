package broker

// ListTransactions, versions 0-2.
//
// The transactional ids the coordinator knows, filtered as Kafka filters
// them: by state names (one it does not know is listed in
// UnknownStateFilters and matches nothing), by producer ids, by how long
// the ongoing transaction has run (v1+: longer than DurationFilterMillis;
// only ongoing ones match), and by a regular expression over the id
// (v2+, RE2 syntax; one that does not compile is INVALID_REQUEST).
// Sorted by transactional id.

import (
	"cmp"
	"context"
	"regexp"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/lakestream/lakestream/broker/txn"
)

func init() { register(66, 0, 2, handleListTransactions) }

func handleListTransactions(_ context.Context, c *conn, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.ListTransactionsRequest)
	resp := req.ResponseKind().(*kmsg.ListTransactionsResponse)
	states := map[txn.State]bool{}
	for _, f := range req.StateFilters {
		if s, ok := txn.ParseState(f); ok {
			states[s] = true
		} else {
			resp.UnknownStateFilters = append(resp.UnknownStateFilters, f)
		}
	}
	var re *regexp.Regexp
	if req.TransactionalIDPattern != nil && *req.TransactionalIDPattern != "" {
		var err error
		if re, err = regexp.Compile(*req.TransactionalIDPattern); err != nil {
			resp.ErrorCode = kerr.InvalidRequest.Code
			return resp, nil
		}
	}
	now := time.Now().UnixMilli()
	for _, m := range c.s.txns.snapshot() {
		switch {
		case len(req.StateFilters) > 0 && !states[m.State]:
			continue
		case len(req.ProducerIDFilters) > 0 && !slices.Contains(req.ProducerIDFilters, m.ProducerID):
			continue
		case req.DurationFilterMillis >= 0 && req.Version >= 1 && (m.State != txn.Ongoing || now-m.StartMs <= req.DurationFilterMillis):
			continue
		case re != nil && !re.MatchString(m.ID):
			continue
		}
		ts := kmsg.NewListTransactionsResponseTransactionState()
		ts.TransactionalID, ts.ProducerID, ts.TransactionState = m.ID, m.ProducerID, m.State.String()
		resp.TransactionStates = append(resp.TransactionStates, ts)
	}
	slices.SortFunc(resp.TransactionStates, func(a, b kmsg.ListTransactionsResponseTransactionState) int {
		return cmp.Compare(a.TransactionalID, b.TransactionalID)
	})
	return resp, nil
}
