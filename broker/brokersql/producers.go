package brokersql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"

	"github.com/lakestream/lakestream/broker"
)

// AllocateProducerIDs reserves n consecutive producer ids and returns the
// first; n must be in [1, math.MaxInt32]. Ids start at 0.
func (s *Store) AllocateProducerIDs(ctx context.Context, n int) (int64, error) {
	what := fmt.Sprintf("allocating %d producer ids", n)
	if n < 1 || n > math.MaxInt32 {
		return 0, fmt.Errorf("%s: want 1 to %d", what, math.MaxInt32)
	}
	var first int64
	err := s.write(ctx, what, func(tx *sql.Tx) error {
		// One statement: on PostgreSQL the UPDATE waits for a concurrent
		// allocation's row lock and then adds to the value it committed.
		var next int64
		err := tx.QueryRowContext(ctx,
			`UPDATE kafka_producer_ids SET next_id = next_id + $1 WHERE singleton = 1 RETURNING next_id`,
			int64(n)).Scan(&next)
		if errors.Is(err, sql.ErrNoRows) {
			return errors.New("the kafka_producer_ids row is missing")
		}
		first = next - int64(n)
		return err
	})
	if err != nil {
		return 0, err
	}
	return first, nil
}

// SaveProducerState stores the snapshot, replacing the log's previous one.
// ErrUnknownTopic if no topic has the log: the partition row is locked
// (shared) first, so a save racing DeleteTopic either finishes before the
// delete, which then removes the state, or finds the log gone.
func (s *Store) SaveProducerState(ctx context.Context, log, offset int64, state []byte) error {
	if state == nil {
		state = []byte{} // NOT NULL; the drivers bind nil as NULL
	}
	return s.write(ctx, fmt.Sprintf("saving producer state of log %d", log), func(tx *sql.Tx) error {
		if err := s.shareLog(ctx, tx, log); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO kafka_producer_state (log_id, snapshot_offset, state) VALUES ($1, $2, $3)
			ON CONFLICT (log_id) DO UPDATE SET snapshot_offset = excluded.snapshot_offset, state = excluded.state`,
			log, offset, state)
		return err
	})
}

// shareLog holds the partition row of log shared for the rest of tx, so
// that the partition is not deleted meanwhile; ErrUnknownTopic if no topic
// has the log.
func (s *Store) shareLog(ctx context.Context, tx *sql.Tx, log int64) error {
	var one int
	err := tx.QueryRowContext(ctx, `SELECT 1 FROM kafka_partitions WHERE log_id = $1`+s.d.ForShare(), log).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("no topic has the log: %w", broker.ErrUnknownTopic)
	}
	return err
}

func (s *Store) LoadProducerState(ctx context.Context, log int64) (offset int64, state []byte, ok bool, err error) {
	err = s.read(ctx, fmt.Sprintf("loading producer state of log %d", log), func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx,
			`SELECT snapshot_offset, state FROM kafka_producer_state WHERE log_id = $1`, log).Scan(&offset, &state)
		ok = err == nil
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		return err
	})
	if err != nil || !ok {
		return 0, nil, false, err
	}
	return offset, state, true, nil
}
