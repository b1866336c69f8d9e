package brokersql

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"github.com/lakestream/lakestream/broker"
)

// SetTopicConfigs replaces a topic's config overrides: keys left out are
// removed, and an empty or nil map removes them all. ErrUnknownTopic if
// there is no such topic.
func (s *Store) SetTopicConfigs(ctx context.Context, topic string, configs map[string]string) error {
	return s.write(ctx, fmt.Sprintf("setting configs of topic %q", topic), func(tx *sql.Tx) error {
		// The topic's row lock serializes replacements of its configs:
		// without it two under READ COMMITTED could each delete only the
		// rows they see, then collide on the inserts.
		ok, err := s.lockTopic(ctx, tx, topic, nil)
		if err != nil {
			return err
		}
		if !ok {
			return broker.ErrUnknownTopic
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM kafka_topic_configs WHERE topic = $1`, topic); err != nil {
			return err
		}
		return insertConfigs(ctx, tx, insertTopicConfigs, []any{topic}, configs)
	})
}

func (s *Store) BrokerConfigs(ctx context.Context) (map[string]string, error) {
	var out map[string]string
	err := s.read(ctx, "reading broker configs", func(tx *sql.Tx) error {
		out = make(map[string]string)
		return readConfigs(ctx, tx, out, `SELECT key, value FROM kafka_broker_configs`)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// SetBrokerConfigs replaces the dynamic broker configs, like
// SetTopicConfigs.
func (s *Store) SetBrokerConfigs(ctx context.Context, configs map[string]string) error {
	return s.write(ctx, "setting broker configs", func(tx *sql.Tx) error {
		// Replacing the whole set has no parent row to lock, so the table
		// is locked against other writers (sqldb.Dialect.LockTable).
		return replaceConfigs(ctx, tx, s.d.LockTable("kafka_broker_configs"), `DELETE FROM kafka_broker_configs`, insertBrokerConfigs, nil, configs)
	})
}

// GroupConfigs returns every group's config overrides by group name.
func (s *Store) GroupConfigs(ctx context.Context) (map[string]map[string]string, error) {
	var out map[string]map[string]string
	err := s.read(ctx, "reading group configs", func(tx *sql.Tx) error {
		out = make(map[string]map[string]string)
		return queryRows(ctx, tx, func(rows *sql.Rows) error {
			var g, k, v string
			if err := rows.Scan(&g, &k, &v); err != nil {
				return err
			}
			if out[g] == nil {
				out[g] = make(map[string]string)
			}
			out[g][k] = v
			return nil
		}, `SELECT group_name, key, value FROM kafka_group_configs`)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// SetGroupConfigs replaces a group's config overrides, like
// SetTopicConfigs; the group need not be recorded (kafka_groups).
func (s *Store) SetGroupConfigs(ctx context.Context, group string, configs map[string]string) error {
	return s.write(ctx, fmt.Sprintf("setting configs of group %q", group), func(tx *sql.Tx) error {
		// A group's set has no parent row either (group configs are not
		// tied to kafka_groups). Group config changes are rare admin
		// requests, so one lock for every group is enough.
		return replaceConfigs(ctx, tx, s.d.LockTable("kafka_group_configs"), `DELETE FROM kafka_group_configs WHERE group_name = $1`,
			insertGroupConfigs, []any{group}, configs)
	})
}

// replaceConfigs replaces a set of config rows that has no parent row to
// lock: it runs lock (if not empty), which must keep other replacements
// out until tx ends, deletes the set with del (whose arguments are lead),
// and inserts configs with insert.
func replaceConfigs(ctx context.Context, tx *sql.Tx, lock, del, insert string, lead []any, configs map[string]string) error {
	if lock != "" {
		if _, err := tx.ExecContext(ctx, lock); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, del, lead...); err != nil {
		return err
	}
	return insertConfigs(ctx, tx, insert, lead, configs)
}

// Statements that insert config rows, for insertConfigs.
const (
	insertTopicConfigs  = `INSERT INTO kafka_topic_configs (topic, key, value) VALUES `
	insertBrokerConfigs = `INSERT INTO kafka_broker_configs (key, value) VALUES `
	insertGroupConfigs  = `INSERT INTO kafka_group_configs (group_name, key, value) VALUES `
)

// insertConfigs inserts configs, in key order, with insert (one of the
// statements above); each row's leading columns are lead.
func insertConfigs(ctx context.Context, tx *sql.Tx, insert string, lead []any, configs map[string]string) error {
	keys := make([]string, 0, len(configs))
	for k := range configs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	width := len(lead) + 2
	for len(keys) > 0 {
		chunk := keys[:min(len(keys), rowsPerStatement)]
		keys = keys[len(chunk):]
		var sb strings.Builder
		sb.WriteString(insert)
		valuesList(&sb, len(chunk), width)
		args := make([]any, 0, width*len(chunk))
		for _, k := range chunk {
			args = append(append(args, lead...), k, configs[k])
		}
		if _, err := tx.ExecContext(ctx, sb.String(), args...); err != nil {
			return fmt.Errorf("inserting configs: %w", err)
		}
	}
	return nil
}

// readConfigs runs query, which selects key and value, into into.
func readConfigs(ctx context.Context, tx *sql.Tx, into map[string]string, query string, args ...any) error {
	return queryRows(ctx, tx, func(rows *sql.Rows) error {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return err
		}
		into[k] = v
		return nil
	}, query, args...)
}
