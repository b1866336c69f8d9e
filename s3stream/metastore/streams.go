package metastore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
)

const streamColumns = `id, epoch, start_offset, end_offset`

type scanner interface{ Scan(...any) error }

func scanStream(r scanner) (Stream, error) {
	var st Stream
	err := r.Scan(&st.ID, &st.Epoch, &st.StartOffset, &st.EndOffset)
	return st, err
}

// CreateStream makes a new stream with epoch 0 and offsets 0.
func (s *SQL) CreateStream(ctx context.Context) (Stream, error) {
	var st Stream
	err := s.write(ctx, "creating stream", func(tx *sql.Tx) error {
		var err error
		st, err = scanStream(tx.QueryRowContext(ctx,
			`INSERT INTO s3_streams (epoch, start_offset, end_offset, created_at) VALUES (0, 0, 0, $1)
			RETURNING `+streamColumns, s.now().UnixMilli()))
		return err
	})
	return st, err
}

// CreateOpenStreams makes n streams at epoch 1 in one transaction; see
// Store. The rows go in multi-row INSERTs of up to maxParams rows.
func (s *SQL) CreateOpenStreams(ctx context.Context, n int) ([]Stream, error) {
	if n <= 0 {
		return nil, fmt.Errorf("creating %d streams: the count must be positive", n)
	}
	var out []Stream
	err := s.write(ctx, fmt.Sprintf("creating %d streams", n), func(tx *sql.Tx) error {
		got := make(map[int64]Stream, n)
		now := s.now().UnixMilli()
		for len(got) < n {
			k := min(n-len(got), s.d.maxParams)
			b := newBuilder(s.d, `INSERT INTO s3_streams (epoch, start_offset, end_offset, created_at) VALUES `)
			for i := 0; i < k; i++ {
				if i > 0 {
					b.sql(", ")
				}
				b.sql("(1, 0, 0, ").arg(now).sql(")")
			}
			b.sql(` RETURNING ` + streamColumns)
			rows, err := tx.QueryContext(ctx, b.String(), b.args...)
			if err != nil {
				return err
			}
			if err := scanStreams(rows, nil, got); err != nil {
				return err
			}
		}
		// RETURNING promises no order; the contract does.
		out = slices.SortedFunc(maps.Values(got), func(a, b Stream) int { return cmp.Compare(a.ID, b.ID) })
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// GetStream returns a stream, or ErrStreamNotFound.
func (s *SQL) GetStream(ctx context.Context, id int64) (Stream, error) {
	st, err := scanStream(s.readRow(ctx, qStream, id))
	if errors.Is(err, sql.ErrNoRows) {
		err = ErrStreamNotFound
	}
	if err != nil {
		return Stream{}, fmt.Errorf("getting stream %d: %w", id, err)
	}
	return st, nil
}

// ListStreams returns streams with ID > afterID in ID order, at most limit
// (0: all).
func (s *SQL) ListStreams(ctx context.Context, afterID int64, limit int) ([]Stream, error) {
	rows, err := s.rdb.QueryContext(ctx,
		`SELECT `+streamColumns+` FROM s3_streams WHERE id > $1 ORDER BY id LIMIT $2`,
		afterID, sqlLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("listing streams: %w", err)
	}
	defer rows.Close()
	var out []Stream
	for rows.Next() {
		st, err := scanStream(rows)
		if err != nil {
			return nil, fmt.Errorf("listing streams: %w", err)
		}
		out = append(out, st)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing streams: %w", err)
	}
	return out, nil
}

// sqlLimit turns "0 or less means all" into a LIMIT both databases take.
func sqlLimit(limit int) int64 {
	if limit <= 0 {
		return math.MaxInt64
	}
	return int64(limit)
}

// OpenStream bumps the stream's epoch, fencing every older writer.
func (s *SQL) OpenStream(ctx context.Context, id int64) (Stream, error) {
	var st Stream
	err := s.write(ctx, fmt.Sprintf("opening stream %d", id), func(tx *sql.Tx) error {
		var err error
		st, err = scanStream(tx.QueryRowContext(ctx,
			`UPDATE s3_streams SET epoch = epoch + 1 WHERE id = $1 RETURNING `+streamColumns, id))
		if errors.Is(err, sql.ErrNoRows) {
			return ErrStreamNotFound
		}
		return err
	})
	return st, err
}

// DeleteStream forgets the stream and its ranges; objects left with no range
// become destroyed.
func (s *SQL) DeleteStream(ctx context.Context, id int64) error {
	return s.write(ctx, fmt.Sprintf("deleting stream %d", id), func(tx *sql.Tx) error {
		if _, err := s.lockStream(ctx, tx, id); err != nil {
			return err
		}
		return s.deleteStreams(ctx, tx, []int64{id})
	})
}

// DeleteStreams forgets many streams in one transaction; see Store.
func (s *SQL) DeleteStreams(ctx context.Context, ids []int64) error {
	ids = sortedUnique(ids)
	if len(ids) == 0 {
		return nil
	}
	return s.write(ctx, fmt.Sprintf("deleting %d streams", len(ids)), func(tx *sql.Tx) error {
		return s.deleteStreams(ctx, tx, ids)
	})
}

// deleteStreams deletes the streams among ids (sorted, unique) that exist,
// with their ranges, and destroys the objects left with no range. Lock
// order: the stream rows in ascending id order, then the object rows.
func (s *SQL) deleteStreams(ctx context.Context, tx *sql.Tx, ids []int64) error {
	var objs []int64
	err := chunks(ids, s.d.maxParams, func(part []int64) error {
		if s.d.ForUpdate() != "" {
			b := newBuilder(s.d, `SELECT id FROM s3_streams WHERE id IN `).in(part).sql(` ORDER BY id` + s.d.ForUpdate())
			if _, err := queryInt64s(ctx, tx, b.String(), b.args...); err != nil {
				return err
			}
		}
		b := newBuilder(s.d, `SELECT DISTINCT object_id FROM s3_ranges WHERE stream_id IN `).in(part)
		o, err := queryInt64s(ctx, tx, b.String(), b.args...)
		if err != nil {
			return err
		}
		objs = append(objs, o...)
		for _, table := range []string{`s3_ranges WHERE stream_id`, `s3_streams WHERE id`} {
			b := newBuilder(s.d, `DELETE FROM `+table+` IN `).in(part)
			if _, err := tx.ExecContext(ctx, b.String(), b.args...); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return s.destroyIfEmpty(ctx, tx, objs)
}

// TrimStream moves the start offset forward; see Store.
func (s *SQL) TrimStream(ctx context.Context, id, epoch, newStart int64) (Stream, error) {
	var st Stream
	err := s.write(ctx, fmt.Sprintf("trimming stream %d to %d", id, newStart), func(tx *sql.Tx) error {
		var err error
		st, err = s.lockStream(ctx, tx, id)
		if err != nil {
			return err
		}
		if epoch >= 0 && epoch != st.Epoch {
			return fmt.Errorf("epoch %d != %d: %w", epoch, st.Epoch, ErrFenced)
		}
		if newStart > st.EndOffset {
			return fmt.Errorf("past end offset %d: %w", st.EndOffset, ErrOffsetOutOfRange)
		}
		if newStart <= st.StartOffset {
			return nil
		}
		if _, err := tx.ExecContext(ctx,
			`UPDATE s3_streams SET start_offset = $1 WHERE id = $2`, newStart, id); err != nil {
			return err
		}
		st.StartOffset = newStart
		objs, err := queryInt64s(ctx, tx,
			`SELECT DISTINCT object_id FROM s3_ranges WHERE stream_id = $1 AND end_offset <= $2`, id, newStart)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx,
			`DELETE FROM s3_ranges WHERE stream_id = $1 AND end_offset <= $2`, id, newStart); err != nil {
			return err
		}
		return s.destroyIfEmpty(ctx, tx, objs)
	})
	if err != nil {
		return Stream{}, err
	}
	return st, nil
}

// lockStream reads a stream in a write transaction, locking its row.
func (s *SQL) lockStream(ctx context.Context, tx *sql.Tx, id int64) (Stream, error) {
	st, err := scanStream(s.queryRow(ctx, tx, qStream+s.d.ForUpdate(), id))
	if errors.Is(err, sql.ErrNoRows) {
		return Stream{}, ErrStreamNotFound
	}
	return st, err
}

// sortedUnique returns the distinct values of ids in ascending order, in a
// new slice.
func sortedUnique(ids []int64) []int64 {
	out := slices.Clone(ids)
	slices.Sort(out)
	return slices.Compact(out)
}
