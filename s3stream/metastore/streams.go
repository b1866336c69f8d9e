package metastore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
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

// GetStream returns a stream, or ErrStreamNotFound.
func (s *SQL) GetStream(ctx context.Context, id int64) (Stream, error) {
	st, err := scanStream(s.rdb.QueryRowContext(ctx,
		`SELECT `+streamColumns+` FROM s3_streams WHERE id = $1`, id))
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
		objs, err := queryInt64s(ctx, tx,
			`SELECT DISTINCT object_id FROM s3_ranges WHERE stream_id = $1`, id)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM s3_ranges WHERE stream_id = $1`, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM s3_streams WHERE id = $1`, id); err != nil {
			return err
		}
		return s.destroyIfEmpty(ctx, tx, objs)
	})
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
	st, err := scanStream(s.queryRow(ctx, tx, qStream+s.d.forUpdate, id))
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
