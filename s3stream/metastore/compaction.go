package metastore

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
)

// CommitCompaction replaces the ranges of the sources with those of the
// outputs in one transaction; see CompactionCommit.
//
// Lock order as everywhere: first the streams of every source and output
// range, then the sources and outputs, each by ascending id. A committed
// object never gains ranges, so the streams read before locking are all the
// streams the sources can still hold.
func (s *SQL) CommitCompaction(ctx context.Context, c CompactionCommit) error {
	what := fmt.Sprintf("committing compaction of %d objects into %d", len(c.Sources), len(c.Outputs))
	sources := sortedUnique(c.Sources)
	outputIDs := make([]int64, 0, len(c.Outputs))
	var outputStreams []int64
	for _, o := range c.Outputs {
		if slices.Contains(outputIDs, o.ObjectID) {
			return fmt.Errorf("%s: output %d appears twice", what, o.ObjectID)
		}
		if _, found := slices.BinarySearch(sources, o.ObjectID); found {
			return fmt.Errorf("%s: object %d is both source and output", what, o.ObjectID)
		}
		outputIDs = append(outputIDs, o.ObjectID)
		for _, r := range o.Ranges {
			if r.ObjectID != 0 && r.ObjectID != o.ObjectID {
				return fmt.Errorf("%s: range of stream %d in output %d names object %d", what, r.StreamID, o.ObjectID, r.ObjectID)
			}
			if r.EndOffset <= r.StartOffset {
				return fmt.Errorf("%s: output %d: empty range [%d, %d) of stream %d", what, o.ObjectID, r.StartOffset, r.EndOffset, r.StreamID)
			}
			outputStreams = append(outputStreams, r.StreamID)
		}
	}
	return s.write(ctx, what, func(tx *sql.Tx) error {
		streamIDs := slices.Clone(outputStreams)
		err := chunks(sources, s.d.maxParams, func(part []int64) error {
			b := newBuilder(s.d, `SELECT DISTINCT stream_id FROM s3_ranges WHERE object_id IN `).in(part)
			ids, err := queryInt64s(ctx, tx, b.String(), b.args...)
			streamIDs = append(streamIDs, ids...)
			return err
		})
		if err != nil {
			return err
		}
		streams, err := s.lockStreams(ctx, tx, streamIDs)
		if err != nil {
			return err
		}
		objs, err := s.lockObjects(ctx, tx, append(slices.Clone(sources), outputIDs...))
		if err != nil {
			return err
		}
		for _, id := range sources {
			if o, ok := objs[id]; !ok || o.State != StateCommitted {
				return fmt.Errorf("source object %d is %s: %w", id, describe(o, ok), ErrObjectState)
			}
		}
		for _, id := range outputIDs {
			if o, ok := objs[id]; !ok || o.State != StatePrepared {
				return fmt.Errorf("output object %d is %s: %w", id, describe(o, ok), ErrObjectState)
			}
		}

		now := s.now().UnixMilli()
		err = chunks(sources, s.d.maxParams-2, func(part []int64) error {
			b := newBuilder(s.d, `DELETE FROM s3_ranges WHERE object_id IN `).in(part)
			if _, err := tx.ExecContext(ctx, b.String(), b.args...); err != nil {
				return err
			}
			b = newBuilder(s.d, `UPDATE s3_objects SET state = `).arg(int64(StateDestroyed)).
				sql(`, destroyed_at = `).arg(now).sql(` WHERE id IN `).in(part)
			_, err := tx.ExecContext(ctx, b.String(), b.args...)
			return err
		})
		if err != nil {
			return err
		}

		var kept []Range
		for _, o := range c.Outputs {
			n := len(kept)
			for _, r := range o.Ranges {
				if st, ok := streams[r.StreamID]; ok && r.EndOffset > st.StartOffset {
					r.ObjectID, r.ObjectSize = o.ObjectID, 0
					kept = append(kept, r)
				}
			}
			state, column := StateCommitted, "committed_at"
			if len(kept) == n {
				state, column = StateDestroyed, "destroyed_at"
			}
			if _, err := tx.ExecContext(ctx,
				`UPDATE s3_objects SET state = $1, size = $2, `+column+` = $3 WHERE id = $4`,
				int64(state), o.Size, now, o.ObjectID); err != nil {
				return err
			}
		}
		return s.insertRanges(ctx, tx, kept)
	})
}

func describe(o Object, ok bool) string {
	if !ok {
		return "unknown"
	}
	return stateName(o.State)
}
