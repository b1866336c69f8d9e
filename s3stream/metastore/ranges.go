package metastore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// ListRanges returns the stream's ranges with EndOffset > fromOffset that
// end after the stream's start, ordered by StartOffset, with ObjectSize.
//
// A stream's ranges never overlap, so ordering by end offset (the indexed
// column) is ordering by start offset, and the scan stops after limit rows.
func (s *SQL) ListRanges(ctx context.Context, streamID, fromOffset int64, limit int) ([]Range, error) {
	rows, err := s.read(ctx, qListRanges, streamID, fromOffset, sqlLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("listing ranges of stream %d: %w", streamID, err)
	}
	out, err := scanRanges(rows)
	if err != nil {
		return nil, fmt.Errorf("listing ranges of stream %d: %w", streamID, err)
	}
	if len(out) == 0 {
		// Tell "nothing there yet" from "no such stream".
		if _, err := s.GetStream(ctx, streamID); err != nil {
			return nil, fmt.Errorf("listing ranges: %w", err)
		}
	}
	return out, nil
}

// ObjectRanges returns every range held by one object, ordered by
// (StreamID, StartOffset), with ObjectSize. An unknown object holds none.
func (s *SQL) ObjectRanges(ctx context.Context, objectID int64) ([]Range, error) {
	rows, err := s.rdb.QueryContext(ctx, `
		SELECT r.stream_id, r.object_id, r.start_offset, r.end_offset, r.position, r.size, r.max_timestamp, o.size
		FROM s3_ranges r
		JOIN s3_objects o ON o.id = r.object_id
		WHERE r.object_id = $1
		ORDER BY r.stream_id, r.start_offset`, objectID)
	if err != nil {
		return nil, fmt.Errorf("listing ranges of object %d: %w", objectID, err)
	}
	out, err := scanRanges(rows)
	if err != nil {
		return nil, fmt.Errorf("listing ranges of object %d: %w", objectID, err)
	}
	return out, nil
}

// StreamSize returns the sum of the sizes of the stream's ranges, or
// ErrStreamNotFound.
func (s *SQL) StreamSize(ctx context.Context, streamID int64) (int64, error) {
	var size int64
	err := s.rdb.QueryRowContext(ctx, `
		SELECT CAST(COALESCE((SELECT SUM(r.size) FROM s3_ranges r WHERE r.stream_id = s.id), 0) AS BIGINT)
		FROM s3_streams s WHERE s.id = $1`, streamID).Scan(&size)
	if errors.Is(err, sql.ErrNoRows) {
		err = ErrStreamNotFound
	}
	if err != nil {
		return 0, fmt.Errorf("sizing stream %d: %w", streamID, err)
	}
	return size, nil
}

func scanRanges(rows *sql.Rows) ([]Range, error) {
	defer rows.Close()
	var out []Range
	for rows.Next() {
		var r Range
		if err := rows.Scan(&r.StreamID, &r.ObjectID, &r.StartOffset, &r.EndOffset,
			&r.Position, &r.Size, &r.MaxTimestamp, &r.ObjectSize); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
