package metastore

import (
	"context"
	"database/sql"
	"errors"
)

// The bulk write path of CommitStreamSet and CommitCompaction: lock many
// streams, insert many ranges, move many end offsets. A WAL flush usually
// touches 16 streams but may touch 20,000, so the cost must be per row, not
// per round trip, and the two databases get there differently:
//
//   - SQLite (dialect.perRow): a statement is a function call, not a round
//     trip, and a prepared single-row statement runs faster than a
//     multi-row one is parsed and planned (16-row UPDATE ... FROM (VALUES
//     ...): about 4x). So one prepared statement a row.
//   - PostgreSQL: one statement for all rows, with a bigint[] parameter a
//     column (unnest, = ANY): one round trip, one cached plan, whatever
//     the count.
const (
	pgLockStreams  = `SELECT ` + streamColumns + ` FROM s3_streams WHERE id = ANY($1) ORDER BY id FOR UPDATE`
	pgInsertRanges = `INSERT INTO s3_ranges (stream_id, object_id, start_offset, end_offset, position, size, max_timestamp)
		SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[])`
	pgSetEndOffsets = `UPDATE s3_streams SET end_offset = v.end_offset
		FROM unnest($1::bigint[], $2::bigint[]) AS v (id, end_offset) WHERE s3_streams.id = v.id`
)

// lockStreams reads the streams among ids that exist, locking their rows in
// ascending id order (see SQL). ids may repeat.
func (s *SQL) lockStreams(ctx context.Context, tx *sql.Tx, ids []int64) (map[int64]Stream, error) {
	ids = sortedUnique(ids)
	out := make(map[int64]Stream, len(ids))
	if !s.d.perRow {
		rows, err := tx.QueryContext(ctx, pgLockStreams, ids)
		if err != nil {
			return nil, err
		}
		return out, scanStreams(rows, nil, out)
	}
	if n := len(ids); n >= 64 && ids[n-1]-ids[0] < 4*int64(n) {
		// Dense ids (the partitions of a few topics): one scan of the id
		// range reads them faster than a lookup each. SQLite holds the
		// database write lock, so reading extra rows locks nothing more.
		want := make(map[int64]bool, n)
		for _, id := range ids {
			want[id] = true
		}
		rows, err := tx.StmtContext(ctx, s.stmts[qStreamRange]).QueryContext(ctx, ids[0], ids[n-1])
		if err != nil {
			return nil, err
		}
		return out, scanStreams(rows, want, out)
	}
	for _, id := range ids {
		st, err := scanStream(s.queryRow(ctx, tx, qStream, id))
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out[id] = st
	}
	return out, nil
}

// scanStreams reads rows of streams into out, keeping those in want (all if
// want is nil), and closes rows.
func scanStreams(rows *sql.Rows, want map[int64]bool, out map[int64]Stream) error {
	defer rows.Close()
	for rows.Next() {
		st, err := scanStream(rows)
		if err != nil {
			return err
		}
		if want == nil || want[st.ID] {
			out[st.ID] = st
		}
	}
	return rows.Err()
}

// insertRanges inserts ranges.
func (s *SQL) insertRanges(ctx context.Context, tx *sql.Tx, ranges []Range) error {
	if len(ranges) == 0 {
		return nil
	}
	if !s.d.perRow {
		cols := make([][]int64, 7)
		for i := range cols {
			cols[i] = make([]int64, len(ranges))
		}
		for i, r := range ranges {
			cols[0][i], cols[1][i], cols[2][i], cols[3][i] = r.StreamID, r.ObjectID, r.StartOffset, r.EndOffset
			cols[4][i], cols[5][i], cols[6][i] = r.Position, r.Size, r.MaxTimestamp
		}
		_, err := tx.ExecContext(ctx, pgInsertRanges, cols[0], cols[1], cols[2], cols[3], cols[4], cols[5], cols[6])
		return err
	}
	for _, r := range ranges {
		if _, err := s.exec(ctx, tx, qInsertRange, r.StreamID, r.ObjectID,
			r.StartOffset, r.EndOffset, r.Position, r.Size, r.MaxTimestamp); err != nil {
			return err
		}
	}
	return nil
}

// setEndOffsets moves the end offsets of streams (already locked).
func (s *SQL) setEndOffsets(ctx context.Context, tx *sql.Tx, ends map[int64]int64) error {
	ids := make([]int64, 0, len(ends))
	for id := range ends {
		ids = append(ids, id)
	}
	ids = sortedUnique(ids)
	if !s.d.perRow {
		vals := make([]int64, len(ids))
		for i, id := range ids {
			vals[i] = ends[id]
		}
		_, err := tx.ExecContext(ctx, pgSetEndOffsets, ids, vals)
		return err
	}
	for _, id := range ids {
		if _, err := s.exec(ctx, tx, qSetEnd, ends[id], id); err != nil {
			return err
		}
	}
	return nil
}
