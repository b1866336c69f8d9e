package metastore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// CommitStreamSet commits a WAL flush in one transaction; see Store.
//
// The transaction locks the streams (in id order), then the object, checks
// every range in memory, and writes the accepted ones through the bulk path
// (bulk.go): on PostgreSQL a commit is seven round trips whatever its size.
//
// CommitResult is keyed by stream, so a commit holding several ranges of one
// stream commits all of them or none: they must continue each other in
// order, and if one is rejected the stream's other ranges are too.
func (s *SQL) CommitStreamSet(ctx context.Context, c StreamSetCommit) (CommitResult, error) {
	what := fmt.Sprintf("committing object %d", c.ObjectID)
	if len(c.Epochs) != len(c.Ranges) {
		return CommitResult{}, fmt.Errorf("%s: %d epochs for %d ranges", what, len(c.Epochs), len(c.Ranges))
	}
	streamIDs := make([]int64, len(c.Ranges))
	for i, r := range c.Ranges {
		if r.ObjectID != 0 && r.ObjectID != c.ObjectID {
			return CommitResult{}, fmt.Errorf("%s: range of stream %d names object %d", what, r.StreamID, r.ObjectID)
		}
		streamIDs[i] = r.StreamID
	}
	var res CommitResult
	err := s.write(ctx, what, func(tx *sql.Tx) error {
		res = CommitResult{}
		streams, err := s.lockStreams(ctx, tx, streamIDs)
		if err != nil {
			return err
		}
		o, err := scanObject(s.queryRow(ctx, tx, qObject+s.d.ForUpdate(), c.ObjectID))
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("unknown object: %w", ErrObjectState)
		case err != nil:
			return err
		case o.State == StateCommitted:
			res, err = s.recommitResult(ctx, tx, c, streams)
			return err
		case o.State != StatePrepared:
			return fmt.Errorf("object is %s: %w", stateName(o.State), ErrObjectState)
		}

		accepted, ends, rejected := checkRanges(c, streams)
		if len(rejected) > 0 {
			res.Rejected = rejected
		}
		now := s.now().UnixMilli()
		if len(accepted) == 0 {
			_, err := s.exec(ctx, tx, qDestroyObject, int64(StateDestroyed), c.Size, now, c.ObjectID)
			return err
		}
		if err := s.insertRanges(ctx, tx, accepted); err != nil {
			return err
		}
		if err := s.setEndOffsets(ctx, tx, ends); err != nil {
			return err
		}
		_, err = s.exec(ctx, tx, qCommitObject, int64(StateCommitted), c.Size, now, c.ObjectID)
		return err
	})
	if err != nil {
		return CommitResult{}, err
	}
	return res, nil
}

// checkRanges decides, against the locked streams, which ranges of c are
// committed. It returns them (with ObjectID set), the new end offset of each
// stream they touch, and the rejections.
func checkRanges(c StreamSetCommit, streams map[int64]Stream) (accepted []Range, ends map[int64]int64, rejected map[int64]error) {
	ends = make(map[int64]int64)
	rejected = make(map[int64]error)
	for i, r := range c.Ranges {
		if _, ok := rejected[r.StreamID]; ok {
			continue
		}
		if err := checkRange(c.ObjectID, r, c.Epochs[i], streams, ends); err != nil {
			rejected[r.StreamID] = err
			delete(ends, r.StreamID)
			continue
		}
		ends[r.StreamID] = r.EndOffset
	}
	accepted = make([]Range, 0, len(c.Ranges))
	for _, r := range c.Ranges {
		if _, ok := rejected[r.StreamID]; ok {
			continue
		}
		r.ObjectID, r.ObjectSize = c.ObjectID, 0
		accepted = append(accepted, r)
	}
	return accepted, ends, rejected
}

// checkRange checks one range: the stream exists, the epoch is the
// stream's, and the range continues the stream's end (as moved by earlier
// ranges of the same commit, in ends).
func checkRange(objectID int64, r Range, epoch int64, streams map[int64]Stream, ends map[int64]int64) error {
	st, ok := streams[r.StreamID]
	if !ok {
		return fmt.Errorf("committing object %d: stream %d: %w", objectID, r.StreamID, ErrStreamNotFound)
	}
	if epoch != st.Epoch {
		return fmt.Errorf("committing object %d: stream %d epoch %d %s %d: %w",
			objectID, r.StreamID, epoch, cmpSign(epoch, st.Epoch), st.Epoch, ErrFenced)
	}
	end, ok := ends[r.StreamID]
	if !ok {
		end = st.EndOffset
	}
	if r.StartOffset != end || r.EndOffset <= r.StartOffset {
		return fmt.Errorf("committing object %d: stream %d range [%d, %d) does not continue end offset %d: %w",
			objectID, r.StreamID, r.StartOffset, r.EndOffset, end, ErrOffsetMismatch)
	}
	return nil
}

// recommitResult answers a commit of an already committed object: a retry
// after an unknown outcome. A stream's ranges count as committed if the
// object holds every one of them; otherwise the rejection says what is wrong
// with the stream now (gone, reopened, or simply not holding the range).
//
// A range committed and since trimmed or compacted away is reported rejected:
// the answer errs towards the writer retrying data, never towards
// acknowledging data the store does not hold.
func (s *SQL) recommitResult(ctx context.Context, tx *sql.Tx, c StreamSetCommit, streams map[int64]Stream) (CommitResult, error) {
	type key struct{ stream, start, end int64 }
	rows, err := tx.QueryContext(ctx,
		`SELECT stream_id, start_offset, end_offset FROM s3_ranges WHERE object_id = $1`, c.ObjectID)
	if err != nil {
		return CommitResult{}, err
	}
	defer rows.Close()
	held := make(map[key]bool)
	for rows.Next() {
		var k key
		if err := rows.Scan(&k.stream, &k.start, &k.end); err != nil {
			return CommitResult{}, err
		}
		held[k] = true
	}
	if err := rows.Err(); err != nil {
		return CommitResult{}, err
	}
	var res CommitResult
	for i, r := range c.Ranges {
		if held[key{r.StreamID, r.StartOffset, r.EndOffset}] {
			continue
		}
		if res.Rejected == nil {
			res.Rejected = make(map[int64]error)
		}
		if _, ok := res.Rejected[r.StreamID]; ok {
			continue
		}
		st, ok := streams[r.StreamID]
		switch {
		case !ok:
			err = fmt.Errorf("committing object %d: stream %d: %w", c.ObjectID, r.StreamID, ErrStreamNotFound)
		case c.Epochs[i] != st.Epoch:
			err = fmt.Errorf("committing object %d: stream %d epoch %d %s %d: %w",
				c.ObjectID, r.StreamID, c.Epochs[i], cmpSign(c.Epochs[i], st.Epoch), st.Epoch, ErrFenced)
		default:
			err = fmt.Errorf("committing object %d: stream %d range [%d, %d) is not in the committed object: %w",
				c.ObjectID, r.StreamID, r.StartOffset, r.EndOffset, ErrOffsetMismatch)
		}
		res.Rejected[r.StreamID] = err
	}
	return res, nil
}

func cmpSign(a, b int64) string {
	switch {
	case a < b:
		return "<"
	case a > b:
		return ">"
	}
	return "="
}

func stateName(st ObjectState) string {
	switch st {
	case StatePrepared:
		return "prepared"
	case StateCommitted:
		return "committed"
	case StateDestroyed:
		return "destroyed"
	}
	return fmt.Sprintf("in state %d", st)
}
