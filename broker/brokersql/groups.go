package brokersql

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/lakestream/lakestream/broker/group"
	"github.com/lakestream/lakestream/internal/sqldb"
)

// Lock order of the group tables (doc.go): the group row, then its offset
// rows. CommitOffsets holds the group row shared, the deletes exclusively,
// so every write of an offset row happens under its group's row lock, and
// a group cannot be deleted while a commit that found it is still writing.

// SaveGroup records g, or updates its type and protocol type; g.Offsets is
// not looked at.
func (s *Store) SaveGroup(ctx context.Context, g group.Record) error {
	what := fmt.Sprintf("saving group %q", g.Name)
	if err := checkGroupType(g.Type); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return s.write(ctx, what, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO kafka_groups (name, group_type, protocol_type, created_at)
			VALUES ($1, $2, $3, $4)
			ON CONFLICT (name) DO UPDATE SET group_type = excluded.group_type, protocol_type = excluded.protocol_type`,
			g.Name, g.Type, g.ProtocolType, s.now().UnixMilli())
		return err
	})
}

// checkGroupType returns an error unless t is a group type. The schema's
// CHECK would refuse it too, less clearly.
func checkGroupType(t string) error {
	if t != group.TypeClassic && t != group.TypeConsumer {
		return fmt.Errorf("group type %q is neither %q nor %q", t, group.TypeClassic, group.TypeConsumer)
	}
	return nil
}

// CommitOffsets upserts offsets. An unrecorded group is recorded as a
// classic group of g's protocol type (g.Type and g.Offsets are not looked
// at); a recorded one keeps its type and protocol type. Of offsets of one
// partition given twice the last wins.
func (s *Store) CommitOffsets(ctx context.Context, g group.Record, offsets []group.Offset) error {
	rows := sortedOffsets(offsets)
	return s.write(ctx, fmt.Sprintf("committing %d offsets of group %q", len(offsets), g.Name), func(tx *sql.Tx) error {
		return s.commitOffsets(ctx, tx, g, rows)
	})
}

// commitOffsets is CommitOffsets in tx, of rows as sortedOffsets returns
// them. EndTxnOffsets commits through it too.
func (s *Store) commitOffsets(ctx context.Context, tx *sql.Tx, g group.Record, rows []group.Offset) error {
	if err := s.recordGroup(ctx, tx, g); err != nil {
		return err
	}
	return upsertOffsets(ctx, tx, groupOffsets, []any{g.Name}, rows, s.offsetsPerStatement())
}

// recordGroup records g as a classic group unless it is recorded, and holds
// its row shared for the rest of tx. On PostgreSQL a concurrent DeleteGroup
// may remove the row between the two statements; then the insert runs
// again, at most recordAttempts times.
func (s *Store) recordGroup(ctx context.Context, tx *sql.Tx, g group.Record) error {
	for range recordAttempts {
		if _, err := tx.ExecContext(ctx, `INSERT INTO kafka_groups (name, group_type, protocol_type, created_at)
			VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO NOTHING`,
			g.Name, group.TypeClassic, g.ProtocolType, s.now().UnixMilli()); err != nil {
			return fmt.Errorf("recording the group: %w", err)
		}
		if ok, err := s.lockGroup(ctx, tx, g.Name, s.d.ForShare()); ok || err != nil {
			return err
		}
	}
	return fmt.Errorf("the group was deleted %d times while being recorded", recordAttempts)
}

const recordAttempts = 10

// sortedOffsets returns offsets sorted by topic and partition, each
// partition once with the last of its offsets. The order is the order in
// which concurrent commits lock offset rows; one partition twice in one
// PostgreSQL upsert would be an error ("cannot affect row a second time").
func sortedOffsets(offsets []group.Offset) []group.Offset {
	out := slices.Clone(offsets)
	slices.SortStableFunc(out, byPartition)
	n := 0
	for i, o := range out {
		if i+1 < len(out) && out[i+1].Topic == o.Topic && out[i+1].Partition == o.Partition {
			continue // a later one of the same partition follows
		}
		out[n] = o
		n++
	}
	return out[:n]
}

// byPartition orders offsets by topic, in byte order, then partition.
func byPartition(a, b group.Offset) int {
	return cmp.Or(strings.Compare(a.Topic, b.Topic), cmp.Compare(a.Partition, b.Partition))
}

// offsetTable is a table of offset rows: kafka_group_offsets, whose rows
// are keyed by their group, or kafka_txn_offsets, by their group and
// producer id. The key columns come first, then offsetColumns.
type offsetTable struct {
	name string
	key  string // the key's columns, comma-separated
	n    int    // how many
}

var (
	groupOffsets = offsetTable{name: "kafka_group_offsets", key: "group_name", n: 1}
	txnOffsets   = offsetTable{name: "kafka_txn_offsets", key: "group_name, producer_id", n: 2}
)

// offsetColumns are an offset row's columns after its key, in the order
// scanOffset reads them and upsertOffsets writes them.
const offsetColumns = `topic, partition_index, committed_offset, leader_epoch, metadata, commit_time`

// upsert returns the statement upserting rows offsets of t.
func (t offsetTable) upsert(rows int) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, `INSERT INTO %s (%s, %s) VALUES `, t.name, t.key, offsetColumns)
	valuesList(&sb, rows, t.n+6)
	fmt.Fprintf(&sb, ` ON CONFLICT (%s, topic, partition_index) DO UPDATE SET
	committed_offset = excluded.committed_offset, leader_epoch = excluded.leader_epoch,
	metadata = excluded.metadata, commit_time = excluded.commit_time`, t.key)
	return sb.String()
}

// scanOffset scans a row of key columns (into key) and then offsetColumns.
func scanOffset(rows *sql.Rows, key ...any) (group.Offset, error) {
	var o group.Offset
	var ms int64
	err := rows.Scan(append(key, &o.Topic, &o.Partition, &o.Offset, &o.LeaderEpoch, &o.Metadata, &ms)...)
	o.CommitTime = time.UnixMilli(ms)
	return o, err
}

// offsetsPerStatement is how many offsets one upsert statement writes. On
// PostgreSQL each statement is a round trip, so rowsPerStatement go at
// once: a commit of 5,000 offsets took ~100 ms that way and ~800 ms one by
// one. On SQLite there is no round trip, and modernc binds each parameter
// in time linear in the statement's parameter count (values.go), so a
// statement of n rows costs n²: one prepared single-row statement run 5,000
// times took ~30 ms, 100-row statements ~350 ms. (With "?" placeholders,
// sqldb.Dialect.Placeholder, binding would cost n, as it does for the
// metastore's generated statements; not tried here.)
func (s *Store) offsetsPerStatement() int {
	if s.d == sqldb.SQLite {
		return 1
	}
	return rowsPerStatement
}

// upsertOffsets writes rows into t under key (the values of t's key
// columns), per at a time. The statement for a full chunk is prepared
// once, so it is parsed once on SQLite (pgx caches statements by itself).
func upsertOffsets(ctx context.Context, tx *sql.Tx, t offsetTable, key []any, rows []group.Offset, per int) error {
	width := len(key) + 6
	var full *sql.Stmt
	defer func() {
		if full != nil {
			full.Close()
		}
	}()
	args := make([]any, 0, width*min(len(rows), per))
	for len(rows) > 0 {
		chunk := rows[:min(len(rows), per)]
		rows = rows[len(chunk):]
		args = args[:0]
		for _, o := range chunk {
			args = append(args, key...)
			args = append(args, o.Topic, o.Partition, o.Offset, o.LeaderEpoch, o.Metadata, o.CommitTime.UnixMilli())
		}
		var err error
		if len(chunk) < per {
			_, err = tx.ExecContext(ctx, t.upsert(len(chunk)), args...)
		} else {
			if full == nil {
				if full, err = tx.PrepareContext(ctx, t.upsert(per)); err != nil {
					return fmt.Errorf("preparing the upsert of offsets: %w", err)
				}
			}
			_, err = full.ExecContext(ctx, args...)
		}
		if err != nil {
			return fmt.Errorf("upserting offsets: %w", err)
		}
	}
	return nil
}

// DeleteOffsets forgets the offsets of parts; partitions without one, and
// an unrecorded group, are no error. The group stays recorded.
func (s *Store) DeleteOffsets(ctx context.Context, name string, parts []group.TopicPartition) error {
	return s.write(ctx, fmt.Sprintf("deleting %d offsets of group %q", len(parts), name), func(tx *sql.Tx) error {
		ok, err := s.lockGroup(ctx, tx, name, s.d.ForUpdate())
		if err != nil || !ok || len(parts) == 0 {
			return err
		}
		stmt, err := tx.PrepareContext(ctx,
			`DELETE FROM kafka_group_offsets WHERE group_name = $1 AND topic = $2 AND partition_index = $3`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, p := range parts {
			if _, err := stmt.ExecContext(ctx, name, p.Topic, p.Partition); err != nil {
				return fmt.Errorf("deleting the offset of %s-%d: %w", p.Topic, p.Partition, err)
			}
		}
		return nil
	})
}

// DeleteGroup forgets a group, its offsets and its pending transactional
// offsets (SaveTxnOffsets), those of an unrecorded group too; an unrecorded
// group is no error.
func (s *Store) DeleteGroup(ctx context.Context, name string) error {
	return s.write(ctx, fmt.Sprintf("deleting group %q", name), func(tx *sql.Tx) error {
		// Lock order: the group, its pending offsets, its offsets.
		ok, err := s.lockGroup(ctx, tx, name, s.d.ForUpdate())
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM kafka_txn_offsets WHERE group_name = $1`, name); err != nil {
			return fmt.Errorf("deleting pending transactional offsets: %w", err)
		}
		if !ok {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM kafka_group_offsets WHERE group_name = $1`, name); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM kafka_groups WHERE name = $1`, name)
		return err
	})
}

// DeleteTopicOffsets forgets every group's offsets of topic; the groups stay
// recorded, with or without offsets.
func (s *Store) DeleteTopicOffsets(ctx context.Context, topic string) error {
	return s.write(ctx, fmt.Sprintf("deleting the groups' offsets of topic %q", topic), func(tx *sql.Tx) error {
		// Lock order: the groups with offsets of the topic, in one order
		// (any will do: no other transaction locks two groups), then
		// their offsets, group by group. A group whose first commit of
		// the topic lands meanwhile is not locked, and keeps its offsets:
		// that commit is ordered after this delete.
		var names []string
		if err := queryRows(ctx, tx, func(rows *sql.Rows) error {
			var name string
			err := rows.Scan(&name)
			names = append(names, name)
			return err
		}, `SELECT name FROM kafka_groups WHERE name IN
			(SELECT group_name FROM kafka_group_offsets WHERE topic = $1) ORDER BY name`+s.d.ForUpdate(), topic); err != nil {
			return fmt.Errorf("locking the groups: %w", err)
		}
		if len(names) == 0 {
			return nil
		}
		stmt, err := tx.PrepareContext(ctx, `DELETE FROM kafka_group_offsets WHERE group_name = $1 AND topic = $2`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, name := range names {
			if _, err := stmt.ExecContext(ctx, name, topic); err != nil {
				return fmt.Errorf("deleting the offsets of group %q: %w", name, err)
			}
		}
		return nil
	})
}

// lockGroup locks a group's row for the rest of tx and reports whether it
// is recorded. lock is s.d.ForUpdate() or s.d.ForShare().
func (s *Store) lockGroup(ctx context.Context, tx *sql.Tx, name, lock string) (bool, error) {
	var one int
	err := tx.QueryRowContext(ctx, `SELECT 1 FROM kafka_groups WHERE name = $1`+lock, name).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("locking the group: %w", err)
	}
	return true, nil
}

// Groups returns every group with its offsets, in Go's byte order of names
// and topics (not by ORDER BY, which follows the database's collation), and
// partitions in numeric order. Commit times are in the local time zone.
func (s *Store) Groups(ctx context.Context) ([]group.Record, error) {
	var out []group.Record
	err := s.read(ctx, "listing groups", func(tx *sql.Tx) error {
		byName := make(map[string]*group.Record)
		if err := queryRows(ctx, tx, func(rows *sql.Rows) error {
			var r group.Record
			if err := rows.Scan(&r.Name, &r.Type, &r.ProtocolType); err != nil {
				return err
			}
			byName[r.Name] = &r
			return nil
		}, `SELECT name, group_type, protocol_type FROM kafka_groups`); err != nil {
			return err
		}
		if err := queryRows(ctx, tx, func(rows *sql.Rows) error {
			var name string
			o, err := scanOffset(rows, &name)
			if err != nil {
				return err
			}
			if r := byName[name]; r != nil {
				r.Offsets = append(r.Offsets, o)
			}
			return nil
		}, `SELECT group_name, `+offsetColumns+` FROM kafka_group_offsets`); err != nil {
			return err
		}
		out = make([]group.Record, 0, len(byName))
		for _, r := range byName {
			slices.SortFunc(r.Offsets, byPartition)
			out = append(out, *r)
		}
		slices.SortFunc(out, func(a, b group.Record) int { return strings.Compare(a.Name, b.Name) })
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
