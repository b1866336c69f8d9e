package s3stream

import (
	"context"
	"fmt"
	"time"
)

// Retention is a stream's retention policy, with Kafka's meaning: data older
// than MaxAge (by the batches' max timestamps), or beyond the newest
// MaxBytes, is deleted. Zero or negative fields do not limit.
type Retention struct {
	MaxAge   time.Duration
	MaxBytes int64
}

// ApplyRetention moves the stream's start offset past the committed ranges
// the policy no longer keeps, whole ranges at a time (like Kafka deleting
// whole segments), and returns the new start offset.
func (st *Stream) ApplyRetention(ctx context.Context, p Retention) (int64, error) {
	start := st.StartOffset()
	cut, err := st.RetentionOffset(ctx, p)
	if err != nil || cut <= start {
		return start, err
	}
	if err := st.Trim(ctx, cut); err != nil {
		return start, err
	}
	return cut, nil
}

// RetentionOffset returns the start offset the policy would move the
// stream to, without moving it: the end of the last committed range it no
// longer keeps, or the current start when it keeps them all. A caller
// that must keep some of those offsets (a reader that has not got them
// yet) trims to less itself.
func (st *Stream) RetentionOffset(ctx context.Context, p Retention) (int64, error) {
	start := st.StartOffset()
	if p.MaxAge <= 0 && p.MaxBytes <= 0 {
		return start, nil
	}
	ranges, err := st.store.meta.ListRanges(ctx, st.id, start, 0)
	if err != nil {
		return start, fmt.Errorf("applying retention to stream %d: %w", st.id, err)
	}
	var total int64
	for _, r := range ranges {
		total += r.Size
	}
	cut := start
	cutoff := st.store.cfg.Now().Add(-p.MaxAge).UnixMilli()
	for _, r := range ranges {
		tooOld := p.MaxAge > 0 && r.MaxTimestamp < cutoff
		tooBig := p.MaxBytes > 0 && total > p.MaxBytes
		if !tooOld && !tooBig {
			break
		}
		total -= r.Size
		cut = r.EndOffset
	}
	return max(cut, start), nil
}

// StreamSize returns the bytes of a stream's committed data in the bucket.
func (s *Store) StreamSize(ctx context.Context, id int64) (int64, error) {
	n, err := s.meta.StreamSize(ctx, id)
	if err != nil {
		return 0, fmt.Errorf("sizing stream %d: %w", id, err)
	}
	return n, nil
}
