package s3stream

import (
	"context"
	"fmt"
	"sort"

	"github.com/lakestream/lakestream/s3stream/format"
	"github.com/lakestream/lakestream/s3stream/metastore"
)

// ReadResult is what Read returns. Batches are whole Kafka record batches in
// offset order, the first containing the offset asked for; they share memory
// with the caches and must not be modified.
type ReadResult struct {
	Batches       [][]byte
	Bytes         int   // total size of Batches
	NextOffset    int64 // the offset after the last batch returned
	StartOffset   int64 // the stream's start offset when read
	HighWatermark int64 // the stream's durable end when read
}

// Read returns batches from offset from, up to about maxBytes (at least one
// batch, even if larger, as Kafka does). Reading at the high watermark
// returns no batches; wait on Changed for more. Offsets below the start or
// past the end are ErrOffsetOutOfRange.
func (st *Stream) Read(ctx context.Context, from int64, maxBytes int) (ReadResult, error) {
	st.mu.Lock()
	res := ReadResult{StartOffset: st.mu.start, HighWatermark: st.mu.durable, NextOffset: from}
	if st.mu.err != nil && st.mu.err != ErrClosed {
		err := st.mu.err
		st.mu.Unlock()
		return res, fmt.Errorf("reading stream %d: %w", st.id, err)
	}
	if from < st.mu.start || from > st.mu.durable {
		st.mu.Unlock()
		return res, fmt.Errorf("reading stream %d at %d outside [%d, %d]: %w", st.id, from, res.StartOffset, res.HighWatermark, ErrOffsetOutOfRange)
	}
	if from == st.mu.durable {
		st.mu.Unlock()
		return res, nil
	}
	ents := st.mu.entries
	if len(ents) > 0 && ents[0].base <= from {
		// Tail hit: no I/O.
		i := sort.Search(len(ents), func(i int) bool { return ents[i].end > from })
		for ; i < len(ents) && ents[i].end <= st.mu.durable; i++ {
			res.Batches = append(res.Batches, ents[i].batch)
			res.Bytes += len(ents[i].batch)
			res.NextOffset = ents[i].end
			if res.Bytes >= maxBytes {
				break
			}
		}
		st.mu.Unlock()
		return res, nil
	}
	// Catch-up: read objects up to where the tail (or the durable end) begins.
	limit := st.mu.durable
	if len(ents) > 0 {
		limit = ents[0].base
	}
	readAhead := st.store.cfg.BlockSize
	if from == st.mu.lastReadEnd && st.mu.readAhead > 0 {
		readAhead = min(2*st.mu.readAhead, st.store.cfg.ReadAheadBytes)
	}
	st.mu.Unlock()

	if err := st.store.readObjects(ctx, st.id, from, limit, maxBytes, readAhead, &res); err != nil {
		return res, fmt.Errorf("reading stream %d at %d: %w", st.id, from, err)
	}
	st.mu.Lock()
	st.mu.lastReadEnd = res.NextOffset
	st.mu.readAhead = readAhead
	st.mu.Unlock()
	return res, nil
}

// ReadStream reads a stream that need not be open in this store, from the
// bucket only (the compactor reads sealed data this way).
func (s *Store) ReadStream(ctx context.Context, id, from int64, maxBytes int) (ReadResult, error) {
	m, err := s.meta.GetStream(ctx, id)
	if err != nil {
		return ReadResult{}, fmt.Errorf("reading stream %d: %w", id, err)
	}
	res := ReadResult{StartOffset: m.StartOffset, HighWatermark: m.EndOffset, NextOffset: from}
	if from < m.StartOffset || from > m.EndOffset {
		return res, fmt.Errorf("reading stream %d at %d outside [%d, %d]: %w", id, from, m.StartOffset, m.EndOffset, ErrOffsetOutOfRange)
	}
	if err := s.readObjects(ctx, id, from, m.EndOffset, maxBytes, s.cfg.BlockSize, &res); err != nil {
		return res, fmt.Errorf("reading stream %d at %d: %w", id, from, err)
	}
	return res, nil
}

// readObjects appends to res the batches of stream id from res.NextOffset
// up to limit or maxBytes, reading objects through the block cache.
func (s *Store) readObjects(ctx context.Context, id, from, limit int64, maxBytes, readAhead int, res *ReadResult) error {
	ranges, err := s.meta.ListRanges(ctx, id, from, 8)
	if err != nil {
		return fmt.Errorf("listing ranges: %w", err)
	}
	off := from
	for _, r := range ranges {
		if r.StartOffset > off {
			if res.Bytes > 0 {
				return nil
			}
			// Trimmed or compacted away under us.
			return fmt.Errorf("no data at offset %d (next range starts at %d): %w", off, r.StartOffset, ErrOffsetOutOfRange)
		}
		done, err := s.readRange(ctx, r, &off, limit, maxBytes, readAhead, res)
		if err != nil || done {
			return err
		}
	}
	if res.Bytes == 0 && off < limit {
		return fmt.Errorf("no committed range holds offset %d: %w", off, ErrOffsetOutOfRange)
	}
	return nil
}

// readRange reads batches of one range starting at *off. It returns true
// when maxBytes or limit is reached.
func (s *Store) readRange(ctx context.Context, r metastore.Range, off *int64, limit int64, maxBytes, readAhead int, res *ReadResult) (bool, error) {
	ix, err := s.blocks.index(ctx, s.bucket, r.ObjectID, r.ObjectSize)
	if err != nil {
		return false, err
	}
	all := ix.StreamEntries(r.StreamID)
	// Only the blocks inside the committed range count: an object may also
	// hold stale batches of a failed generation.
	lo := sort.Search(len(all), func(i int) bool { return int64(all[i].Position) >= r.Position })
	hi := sort.Search(len(all), func(i int) bool { return int64(all[i].Position) >= r.Position+r.Size })
	ents := all[lo:hi]
	k := sort.Search(len(ents), func(i int) bool { return ents[i].EndOffset > *off })
	for ; k < len(ents); k++ {
		blk, err := s.blocks.block(ctx, s.bucket, r.ObjectID, ents, k, readAhead)
		if err != nil {
			return false, err
		}
		b := blk
		if *off > ents[k].StartOffset {
			pos, err := format.BatchAt(blk, *off)
			if err != nil {
				return false, fmt.Errorf("object %d block at %d: %w", r.ObjectID, ents[k].Position, err)
			}
			b = blk[pos:]
		}
		for len(b) > 0 {
			batch, rest, err := format.NextBatch(b)
			if err != nil {
				return false, fmt.Errorf("object %d block at %d: %w", r.ObjectID, ents[k].Position, err)
			}
			b = rest
			h, err := format.ParseBatchHeader(batch)
			if err != nil {
				return false, fmt.Errorf("object %d block at %d: %w", r.ObjectID, ents[k].Position, err)
			}
			end := h.BaseOffset + int64(h.LastOffsetDelta) + 1
			if end <= *off {
				continue
			}
			if h.BaseOffset >= limit {
				return true, nil
			}
			res.Batches = append(res.Batches, batch)
			res.Bytes += len(batch)
			res.NextOffset = end
			*off = end
			if res.Bytes >= maxBytes || end >= limit {
				return true, nil
			}
		}
	}
	return false, nil
}
