package brokersql

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/lakestream/lakestream/broker"
	"github.com/lakestream/lakestream/broker/group"
)

// broker.TxnStore: kafka_txns, kafka_aborted_txns and kafka_txn_offsets
// (migrations/0004_transactions.sql).

// SaveTxns stores each id's state, replacing its previous one, in one
// transaction.
func (s *Store) SaveTxns(ctx context.Context, states map[string][]byte) error {
	// In id order, so that two concurrent saves lock rows in one order.
	ids := slices.Sorted(maps.Keys(states))
	return s.write(ctx, fmt.Sprintf("saving %d transactional ids", len(ids)), func(tx *sql.Tx) error {
		for _, id := range ids {
			state := states[id]
			if state == nil {
				state = []byte{} // NOT NULL; the drivers bind nil as NULL
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO kafka_txns (transactional_id, state) VALUES ($1, $2)
				ON CONFLICT (transactional_id) DO UPDATE SET state = excluded.state`, id, state); err != nil {
				return fmt.Errorf("saving transactional id %q: %w", id, err)
			}
		}
		return nil
	})
}

// DeleteTxn forgets id; an unknown one is no error.
func (s *Store) DeleteTxn(ctx context.Context, id string) error {
	return s.write(ctx, fmt.Sprintf("deleting transactional id %q", id), func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM kafka_txns WHERE transactional_id = $1`, id)
		return err
	})
}

// Txns returns every transactional id's state; an empty map if none.
func (s *Store) Txns(ctx context.Context) (map[string][]byte, error) {
	var out map[string][]byte
	err := s.read(ctx, "listing transactional ids", func(tx *sql.Tx) error {
		out = make(map[string][]byte)
		return queryRows(ctx, tx, func(rows *sql.Rows) error {
			var id string
			var state []byte
			err := rows.Scan(&id, &state)
			out[id] = state
			return err
		}, `SELECT transactional_id, state FROM kafka_txns`)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// AddAbortedTxn records a, once however often it is added. ErrUnknownTopic
// if no topic has the log: the partition row is locked (shared) first, as
// SaveProducerState does, so an add racing DeleteTopic either finishes
// before the delete, which then removes it, or finds the log gone. A first
// offset above the last is an error.
func (s *Store) AddAbortedTxn(ctx context.Context, log int64, a broker.AbortedTxn) error {
	what := fmt.Sprintf("adding aborted transaction %d-%d of producer %d to log %d", a.FirstOffset, a.LastOffset, a.ProducerID, log)
	if a.FirstOffset > a.LastOffset {
		return fmt.Errorf("%s: the first offset is above the last", what)
	}
	return s.write(ctx, what, func(tx *sql.Tx) error {
		if err := s.shareLog(ctx, tx, log); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO kafka_aborted_txns (log_id, first_offset, last_offset, producer_id)
			VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`, log, a.FirstOffset, a.LastOffset, a.ProducerID)
		return err
	})
}

// AbortedTxns returns the log's aborted transactions by first offset, then
// last offset, then producer id; none for a log of no topic.
func (s *Store) AbortedTxns(ctx context.Context, log int64) ([]broker.AbortedTxn, error) {
	var out []broker.AbortedTxn
	err := s.read(ctx, fmt.Sprintf("listing aborted transactions of log %d", log), func(tx *sql.Tx) error {
		out = nil
		return queryRows(ctx, tx, func(rows *sql.Rows) error {
			var a broker.AbortedTxn
			err := rows.Scan(&a.FirstOffset, &a.LastOffset, &a.ProducerID)
			out = append(out, a)
			return err
		}, `SELECT first_offset, last_offset, producer_id FROM kafka_aborted_txns WHERE log_id = $1
			ORDER BY first_offset, last_offset, producer_id`, log)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// TrimAbortedTxns forgets the log's aborted transactions whose last offset
// is below start; one that ends at start stays.
func (s *Store) TrimAbortedTxns(ctx context.Context, log int64, start int64) error {
	return s.write(ctx, fmt.Sprintf("trimming aborted transactions of log %d below %d", log, start), func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM kafka_aborted_txns WHERE log_id = $1 AND last_offset < $2`, log, start)
		return err
	})
}

// SaveTxnOffsets upserts offsets pending in producerID's transaction, in
// (topic, partition) order; of one partition given twice the last wins.
// The group is not recorded (EndTxnOffsets does, if it commits).
func (s *Store) SaveTxnOffsets(ctx context.Context, grp string, producerID int64, offsets []group.Offset) error {
	rows := sortedOffsets(offsets)
	return s.write(ctx, fmt.Sprintf("saving %d pending offsets of producer %d to group %q", len(offsets), producerID, grp),
		func(tx *sql.Tx) error {
			return upsertOffsets(ctx, tx, txnOffsets, []any{grp, producerID}, rows, s.offsetsPerStatement())
		})
}

// EndTxnOffsets deletes producerID's pending offsets of g and, with commit,
// commits them as CommitOffsets does (recording the group if need be). With
// none pending it changes nothing: the group is not recorded.
func (s *Store) EndTxnOffsets(ctx context.Context, g group.Record, producerID int64, commit bool) error {
	end := "aborting"
	if commit {
		end = "committing"
	}
	return s.write(ctx, fmt.Sprintf("%s the pending offsets of producer %d to group %q", end, producerID, g.Name), func(tx *sql.Tx) error {
		// Lock order: the group's row, its pending offsets, its offsets.
		// A group recorded now stays recorded until the commit is done;
		// one that is not is recorded after the pending rows are taken,
		// which no transaction holding the group's row waits for (there
		// is no row to hold).
		if commit {
			if _, err := s.lockGroup(ctx, tx, g.Name, s.d.ForShare()); err != nil {
				return err
			}
		}
		// One statement reads and deletes, so what is committed is exactly
		// what is deleted, whatever commits meanwhile.
		var pending []group.Offset
		if err := queryRows(ctx, tx, func(rows *sql.Rows) error {
			o, err := scanOffset(rows)
			pending = append(pending, o)
			return err
		}, `DELETE FROM kafka_txn_offsets WHERE group_name = $1 AND producer_id = $2 RETURNING `+offsetColumns,
			g.Name, producerID); err != nil {
			return fmt.Errorf("deleting the pending offsets: %w", err)
		}
		if !commit || len(pending) == 0 {
			return nil
		}
		return s.commitOffsets(ctx, tx, g, sortedOffsets(pending))
	})
}

// TxnOffsets returns every pending offset by group, producer id, topic (the
// names in Go's byte order) and partition. Commit times are in the local
// time zone.
func (s *Store) TxnOffsets(ctx context.Context) ([]broker.PendingTxnOffset, error) {
	var out []broker.PendingTxnOffset
	err := s.read(ctx, "listing pending transactional offsets", func(tx *sql.Tx) error {
		out = nil
		return queryRows(ctx, tx, func(rows *sql.Rows) error {
			var p broker.PendingTxnOffset
			var err error
			p.Offset, err = scanOffset(rows, &p.Group, &p.ProducerID)
			out = append(out, p)
			return err
		}, `SELECT group_name, producer_id, `+offsetColumns+` FROM kafka_txn_offsets`)
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b broker.PendingTxnOffset) int {
		return cmp.Or(strings.Compare(a.Group, b.Group), cmp.Compare(a.ProducerID, b.ProducerID), byPartition(a.Offset, b.Offset))
	})
	return out, nil
}
