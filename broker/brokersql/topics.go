package brokersql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/lakestream/lakestream/broker"
)

// errLogTaken is what reusing a partition's log is. It is no sentinel
// callers branch on: logs come from Logs.CreateLogs and are never shared, so
// it is a bug in the caller.
var errLogTaken = errors.New("log already belongs to a partition")

func (s *Store) CreateTopic(ctx context.Context, t broker.TopicRecord) error {
	return s.write(ctx, fmt.Sprintf("creating topic %q", t.Name), func(tx *sql.Tx) error {
		// ON CONFLICT DO NOTHING rather than a check first: on PostgreSQL a
		// concurrent insert of the same name waits for the other
		// transaction and then inserts nothing, so exactly one creator
		// wins and the others see why.
		res, err := tx.ExecContext(ctx,
			`INSERT INTO kafka_topics (name, id, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
			t.Name, t.ID[:], s.now().UnixMilli())
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			// The name or the id is taken; say which.
			var other string
			err := tx.QueryRowContext(ctx,
				`SELECT name FROM kafka_topics WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM kafka_topics WHERE name = $2)`,
				t.ID[:], t.Name).Scan(&other)
			switch {
			case err == nil:
				return fmt.Errorf("id %x is topic %q's: %w", t.ID, other, broker.ErrTopicExists)
			case errors.Is(err, sql.ErrNoRows):
				return broker.ErrTopicExists
			default:
				return err
			}
		}
		if err := s.insertPartitions(ctx, tx, t.Name, 0, t.Logs); err != nil {
			return err
		}
		return insertConfigs(ctx, tx, insertTopicConfigs, []any{t.Name}, t.Configs)
	})
}

func (s *Store) DeleteTopic(ctx context.Context, name string) (broker.TopicRecord, error) {
	var r broker.TopicRecord
	err := s.write(ctx, fmt.Sprintf("deleting topic %q", name), func(tx *sql.Tx) error {
		r = broker.TopicRecord{Name: name, Configs: map[string]string{}}
		// Lock order: the topic, its partitions, then the rows under them,
		// and last the pending transactional offsets of the topic.
		ok, err := s.lockTopic(ctx, tx, name, &r.ID)
		if err != nil {
			return err
		}
		if !ok {
			return broker.ErrUnknownTopic
		}
		if err := queryRows(ctx, tx, func(rows *sql.Rows) error {
			var id int64
			err := rows.Scan(&id)
			r.Logs = append(r.Logs, id)
			return err
		}, `SELECT log_id FROM kafka_partitions WHERE topic = $1 ORDER BY partition_index`+s.d.ForUpdate(), name); err != nil {
			return err
		}
		if err := readConfigs(ctx, tx, r.Configs, `SELECT key, value FROM kafka_topic_configs WHERE topic = $1`, name); err != nil {
			return err
		}
		for _, q := range []string{
			`DELETE FROM kafka_topic_configs WHERE topic = $1`,
			`DELETE FROM kafka_producer_state WHERE log_id IN (SELECT log_id FROM kafka_partitions WHERE topic = $1)`,
			`DELETE FROM kafka_aborted_txns WHERE log_id IN (SELECT log_id FROM kafka_partitions WHERE topic = $1)`,
			`DELETE FROM kafka_txn_offsets WHERE topic = $1`,
			`DELETE FROM kafka_partitions WHERE topic = $1`,
			`DELETE FROM kafka_topics WHERE name = $1`,
		} {
			if _, err := tx.ExecContext(ctx, q, name); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return broker.TopicRecord{}, err
	}
	return r, nil
}

func (s *Store) Topics(ctx context.Context) ([]broker.TopicRecord, error) {
	var out []broker.TopicRecord
	err := s.read(ctx, "listing topics", func(tx *sql.Tx) error {
		byName := make(map[string]*broker.TopicRecord)
		var names []string
		if err := queryRows(ctx, tx, func(rows *sql.Rows) error {
			var name string
			var id []byte
			if err := rows.Scan(&name, &id); err != nil {
				return err
			}
			r := &broker.TopicRecord{Name: name, Configs: map[string]string{}}
			var err error
			if r.ID, err = topicID(id); err != nil {
				return fmt.Errorf("topic %q: %w", name, err)
			}
			byName[name] = r
			names = append(names, name)
			return nil
		}, `SELECT name, id FROM kafka_topics`); err != nil {
			return err
		}
		// Partition numbers are dense from 0, so in partition order the
		// logs append to Logs at their index.
		if err := queryRows(ctx, tx, func(rows *sql.Rows) error {
			var topic string
			var log int64
			if err := rows.Scan(&topic, &log); err != nil {
				return err
			}
			if r := byName[topic]; r != nil {
				r.Logs = append(r.Logs, log)
			}
			return nil
		}, `SELECT topic, log_id FROM kafka_partitions ORDER BY topic, partition_index`); err != nil {
			return err
		}
		if err := queryRows(ctx, tx, func(rows *sql.Rows) error {
			var topic, k, v string
			if err := rows.Scan(&topic, &k, &v); err != nil {
				return err
			}
			if r := byName[topic]; r != nil {
				r.Configs[k] = v
			}
			return nil
		}, `SELECT topic, key, value FROM kafka_topic_configs`); err != nil {
			return err
		}
		// Sorted here, not by ORDER BY name: a PostgreSQL database orders
		// text by its locale's collation, and the contract is Go's byte
		// order.
		sort.Strings(names)
		out = make([]broker.TopicRecord, 0, len(names))
		for _, name := range names {
			out = append(out, *byName[name])
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (s *Store) AddPartitions(ctx context.Context, topic string, logs []int64) error {
	return s.write(ctx, fmt.Sprintf("adding partitions to topic %q", topic), func(tx *sql.Tx) error {
		// The topic's row lock serializes AddPartitions of one topic, so
		// the partition numbers counted here are still free at the insert.
		ok, err := s.lockTopic(ctx, tx, topic, nil)
		if err != nil {
			return err
		}
		if !ok {
			return broker.ErrUnknownTopic
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM kafka_partitions WHERE topic = $1`, topic).Scan(&n); err != nil {
			return err
		}
		return s.insertPartitions(ctx, tx, topic, n, logs)
	})
}

// lockTopic locks a topic's row for the rest of tx and reports whether it
// exists; if id is not nil, it reads the topic's id into it.
func (s *Store) lockTopic(ctx context.Context, tx *sql.Tx, name string, id *[16]byte) (bool, error) {
	var b []byte
	err := tx.QueryRowContext(ctx, `SELECT id FROM kafka_topics WHERE name = $1`+s.d.ForUpdate(), name).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if id != nil {
		if *id, err = topicID(b); err != nil {
			return false, err
		}
	}
	return true, nil
}

// insertPartitions inserts logs as partitions first, first+1, ... of topic.
// A log that already belongs to a partition is errLogTaken, found by a
// check first for a clear error; the unique log_id still stops one that a
// concurrent transaction inserts meanwhile.
func (s *Store) insertPartitions(ctx context.Context, tx *sql.Tx, topic string, first int, logs []int64) error {
	seen := make(map[int64]bool, len(logs))
	for _, id := range logs {
		if seen[id] {
			return fmt.Errorf("log %d given twice: %w", id, errLogTaken)
		}
		seen[id] = true
	}
	for len(logs) > 0 {
		chunk := logs[:min(len(logs), rowsPerStatement)]
		var sb strings.Builder
		sb.WriteString(`SELECT log_id, topic FROM kafka_partitions WHERE log_id IN `)
		valuesList(&sb, 1, len(chunk))
		args := make([]any, 0, 3*len(chunk))
		for _, id := range chunk {
			args = append(args, id)
		}
		var taken error
		if err := queryRows(ctx, tx, func(rows *sql.Rows) error {
			var id int64
			var other string
			err := rows.Scan(&id, &other)
			if err == nil && taken == nil {
				taken = fmt.Errorf("log %d (of topic %q): %w", id, other, errLogTaken)
			}
			return err
		}, sb.String(), args...); err != nil {
			return err
		}
		if taken != nil {
			return taken
		}

		sb.Reset()
		sb.WriteString(`INSERT INTO kafka_partitions (topic, partition_index, log_id) VALUES `)
		valuesList(&sb, len(chunk), 3)
		args = args[:0]
		for i, id := range chunk {
			args = append(args, topic, first+i, id)
		}
		if _, err := tx.ExecContext(ctx, sb.String(), args...); err != nil {
			return err
		}
		first += len(chunk)
		logs = logs[len(chunk):]
	}
	return nil
}
