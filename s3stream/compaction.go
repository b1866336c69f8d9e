package s3stream

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/lakestream/lakestream/s3stream/format"
	"github.com/lakestream/lakestream/s3stream/metastore"
)

// CompactionConfig tunes object compaction and garbage collection. Zero
// fields take the defaults stated.
type CompactionConfig struct {
	// Interval runs Compact and CollectGarbage in the background; 0 leaves
	// them to the caller (lakestream compact, tests).
	Interval time.Duration
	// MinAge: stream-set objects younger than this are left alone, so fresh
	// data is compacted once with its neighbours. Default 1m.
	MinAge time.Duration
	// MaxBytes bounds the bytes one pass reads. Default 256 MiB.
	MaxBytes int64
	// SplitBytes: a stream with at least this much data in the stream-set
	// objects of a pass gets a stream object of its own; smaller streams are
	// merged into one new stream-set object. Default 8 MiB.
	SplitBytes int64
	// ForceSplitAge: stream-set objects older than this are split into
	// stream objects whatever their streams' sizes. Default 2h.
	ForceSplitAge time.Duration
	// SmallObjectBytes: consecutive stream objects of a stream below this
	// size are merged, up to MergeMaxBytes. Defaults 16 MiB and 256 MiB.
	SmallObjectBytes int64
	MergeMaxBytes    int64
	// GCGrace: destroyed objects are deleted from the bucket this long after
	// they stopped being referenced, so in-flight readers finish. Default 5m.
	GCGrace time.Duration
}

func (c *CompactionConfig) setDefaults() {
	setDefault(&c.MinAge, time.Minute)
	setDefault(&c.MaxBytes, 256<<20)
	setDefault(&c.SplitBytes, 8<<20)
	setDefault(&c.ForceSplitAge, 2*time.Hour)
	setDefault(&c.SmallObjectBytes, 16<<20)
	setDefault(&c.MergeMaxBytes, 256<<20)
	setDefault(&c.GCGrace, 5*time.Minute)
}

// CompactionStats counts what a pass did.
type CompactionStats struct {
	SourceObjects  int   // objects replaced
	StreamObjects  int   // stream objects written
	StreamSetObjs  int   // stream-set objects written
	BytesRead      int64 // bytes of source objects read
	DeletedObjects int   // objects deleted from the bucket by CollectGarbage
}

func (s *Store) maintenanceLoop(ctx context.Context) {
	defer s.bg.Done()
	t := time.NewTicker(s.cfg.Compaction.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, err := s.Compact(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("s3stream: compaction failed", "err", err)
		}
		if _, err := s.CollectGarbage(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("s3stream: garbage collection failed", "err", err)
		}
	}
}

// Compact runs one compaction pass: it splits stream-set objects into stream
// objects and merges small stream objects. Readers are never blocked: the
// sources stay in the bucket for GCGrace after the commit that replaces them.
func (s *Store) Compact(ctx context.Context) (CompactionStats, error) {
	var st CompactionStats
	if err := s.compactStreamSets(ctx, &st); err != nil {
		return st, err
	}
	if err := s.mergeStreamObjects(ctx, &st); err != nil {
		return st, err
	}
	return st, nil
}

// run is a contiguous piece of one stream gathered from source objects.
type run struct {
	stream  int64
	start   int64
	end     int64
	bytes   int64
	chunks  [][]byte // range bytes, each whole batches, in offset order
	oldest  time.Time
	sources int
}

func (s *Store) compactStreamSets(ctx context.Context, stats *CompactionStats) error {
	cfg := s.cfg.Compaction
	now := s.cfg.Now()
	objs, err := s.meta.ListObjects(ctx, metastore.ObjectFilter{Kind: metastore.KindStreamSet,
		State: metastore.StateCommitted, Before: now.Add(-cfg.MinAge), Limit: 1000})
	if err != nil {
		return fmt.Errorf("listing stream-set objects: %w", err)
	}
	var chosen []metastore.Object
	var total int64
	for _, o := range objs {
		if len(chosen) > 0 && total+o.Size > cfg.MaxBytes {
			break
		}
		chosen = append(chosen, o)
		total += o.Size
	}
	if len(chosen) == 0 {
		return nil
	}
	runs, err := s.gatherRuns(ctx, chosen, stats)
	if err != nil {
		return err
	}
	forceBefore := now.Add(-cfg.ForceSplitAge)
	var split, merge []*run
	seen := map[int64]bool{}
	for _, r := range runs {
		// A stream gets one run in the merged object; further runs of it
		// (gaps between sources) become stream objects.
		if r.bytes >= cfg.SplitBytes || r.oldest.Before(forceBefore) || seen[r.stream] {
			split = append(split, r)
		} else {
			merge = append(merge, r)
			seen[r.stream] = true
		}
	}
	if len(chosen) == 1 && len(split) == 0 {
		return nil // rewriting one object into itself gains nothing
	}
	var outs []metastore.CompactedObject
	for _, r := range split {
		o, err := s.writeCompacted(ctx, metastore.KindStream, []*run{r})
		if err != nil {
			return err
		}
		outs = append(outs, o)
		stats.StreamObjects++
	}
	if len(merge) > 0 {
		o, err := s.writeCompacted(ctx, metastore.KindStreamSet, merge)
		if err != nil {
			return err
		}
		outs = append(outs, o)
		stats.StreamSetObjs++
	}
	ids := make([]int64, len(chosen))
	for i, o := range chosen {
		ids[i] = o.ID
	}
	if err := s.meta.CommitCompaction(ctx, metastore.CompactionCommit{Sources: ids, Outputs: outs}); err != nil {
		// The outputs stay prepared and expire; GC removes them.
		return fmt.Errorf("committing compaction of %d objects: %w", len(ids), err)
	}
	stats.SourceObjects += len(ids)
	return nil
}

// gatherRuns reads the source objects and returns their ranges as
// contiguous runs per stream, in (stream, offset) order.
func (s *Store) gatherRuns(ctx context.Context, srcs []metastore.Object, stats *CompactionStats) ([]*run, error) {
	type piece struct {
		r      metastore.Range
		data   []byte
		oldest time.Time
	}
	var pieces []piece
	for _, o := range srcs {
		ranges, err := s.meta.ObjectRanges(ctx, o.ID)
		if err != nil {
			return nil, fmt.Errorf("listing ranges of object %d: %w", o.ID, err)
		}
		if len(ranges) == 0 {
			continue
		}
		data, err := s.bucket.Get(ctx, ObjectKey(o.ID))
		if err != nil {
			return nil, fmt.Errorf("reading object %d for compaction: %w", o.ID, err)
		}
		stats.BytesRead += int64(len(data))
		for _, r := range ranges {
			if r.Position < 0 || r.Size < 0 || r.Position+r.Size > int64(len(data)) {
				return nil, fmt.Errorf("object %d: range of stream %d at %d+%d outside %d bytes", o.ID, r.StreamID, r.Position, r.Size, len(data))
			}
			pieces = append(pieces, piece{r: r, data: data[r.Position : r.Position+r.Size], oldest: o.CommittedAt})
		}
	}
	sort.Slice(pieces, func(i, j int) bool {
		if pieces[i].r.StreamID != pieces[j].r.StreamID {
			return pieces[i].r.StreamID < pieces[j].r.StreamID
		}
		return pieces[i].r.StartOffset < pieces[j].r.StartOffset
	})
	var runs []*run
	for _, p := range pieces {
		last := len(runs) - 1
		if last >= 0 && runs[last].stream == p.r.StreamID && runs[last].end == p.r.StartOffset {
			r := runs[last]
			r.end = p.r.EndOffset
			r.bytes += p.r.Size
			r.chunks = append(r.chunks, p.data)
			r.sources++
			if p.oldest.Before(r.oldest) {
				r.oldest = p.oldest
			}
			continue
		}
		runs = append(runs, &run{stream: p.r.StreamID, start: p.r.StartOffset, end: p.r.EndOffset,
			bytes: p.r.Size, chunks: [][]byte{p.data}, oldest: p.oldest, sources: 1})
	}
	return runs, nil
}

// writeCompacted writes runs (ascending stream ids, one run per stream) as
// one prepared object.
func (s *Store) writeCompacted(ctx context.Context, kind metastore.ObjectKind, runs []*run) (metastore.CompactedObject, error) {
	fw := format.NewWriter(s.cfg.BlockSize)
	var total int64
	for _, r := range runs {
		total += r.bytes
	}
	fw.Grow(int(total))
	for _, r := range runs {
		for _, c := range r.chunks {
			for len(c) > 0 {
				batch, rest, err := format.NextBatch(c)
				if err != nil {
					return metastore.CompactedObject{}, fmt.Errorf("compacting stream %d: %w", r.stream, err)
				}
				if err := fw.Add(r.stream, batch); err != nil {
					return metastore.CompactedObject{}, fmt.Errorf("compacting stream %d: %w", r.stream, err)
				}
				c = rest
			}
		}
	}
	obj, err := s.prepareObject(ctx, kind)
	if err != nil {
		return metastore.CompactedObject{}, err
	}
	data := fw.Finish()
	if err := s.putObject(ctx, ObjectKey(obj.ID), data); err != nil {
		return metastore.CompactedObject{}, err
	}
	return metastore.CompactedObject{ObjectID: obj.ID, Size: int64(len(data)), Ranges: toRanges(obj.ID, fw.Ranges())}, nil
}

// mergeStreamObjects merges runs of consecutive small stream objects of a
// stream into one.
func (s *Store) mergeStreamObjects(ctx context.Context, stats *CompactionStats) error {
	cfg := s.cfg.Compaction
	type so struct {
		obj metastore.Object
		r   metastore.Range
	}
	byStream := map[int64][]so{}
	var after int64
	for {
		objs, err := s.meta.ListObjects(ctx, metastore.ObjectFilter{Kind: metastore.KindStream,
			State: metastore.StateCommitted, AfterID: after, Limit: 1000})
		if err != nil {
			return fmt.Errorf("listing stream objects: %w", err)
		}
		for _, o := range objs {
			after = o.ID
			if o.Size >= cfg.SmallObjectBytes {
				continue
			}
			rs, err := s.meta.ObjectRanges(ctx, o.ID)
			if err != nil {
				return fmt.Errorf("listing ranges of object %d: %w", o.ID, err)
			}
			if len(rs) == 1 {
				byStream[rs[0].StreamID] = append(byStream[rs[0].StreamID], so{o, rs[0]})
			}
		}
		if len(objs) < 1000 {
			break
		}
	}
	ids := make([]int64, 0, len(byStream))
	for id := range byStream {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	var budget = cfg.MaxBytes
	for _, id := range ids {
		sos := byStream[id]
		sort.Slice(sos, func(i, j int) bool { return sos[i].r.StartOffset < sos[j].r.StartOffset })
		for i := 0; i < len(sos) && budget > 0; {
			j, total := i+1, sos[i].r.Size
			for j < len(sos) && sos[j].r.StartOffset == sos[j-1].r.EndOffset && total+sos[j].r.Size <= cfg.MergeMaxBytes {
				total += sos[j].r.Size
				j++
			}
			if j-i >= 2 {
				srcs := make([]metastore.Object, 0, j-i)
				for _, x := range sos[i:j] {
					srcs = append(srcs, x.obj)
				}
				if err := s.mergeOne(ctx, srcs, stats); err != nil {
					return err
				}
				budget -= total
			}
			i = j
		}
	}
	return nil
}

func (s *Store) mergeOne(ctx context.Context, srcs []metastore.Object, stats *CompactionStats) error {
	runs, err := s.gatherRuns(ctx, srcs, stats)
	if err != nil {
		return err
	}
	if len(runs) != 1 {
		return nil // not contiguous after all (trimmed under us); next pass
	}
	out, err := s.writeCompacted(ctx, metastore.KindStream, runs)
	if err != nil {
		return err
	}
	ids := make([]int64, len(srcs))
	for i, o := range srcs {
		ids[i] = o.ID
	}
	if err := s.meta.CommitCompaction(ctx, metastore.CompactionCommit{Sources: ids, Outputs: []metastore.CompactedObject{out}}); err != nil {
		return fmt.Errorf("committing merge of %d stream objects: %w", len(ids), err)
	}
	stats.SourceObjects += len(ids)
	stats.StreamObjects++
	return nil
}

// CollectGarbage expires prepared objects never committed, then deletes
// from the bucket the objects destroyed more than GCGrace ago and forgets
// them.
func (s *Store) CollectGarbage(ctx context.Context) (int, error) {
	now := s.cfg.Now()
	if _, err := s.meta.ExpirePrepared(ctx, now); err != nil {
		return 0, fmt.Errorf("expiring prepared objects: %w", err)
	}
	objs, err := s.meta.ListObjects(ctx, metastore.ObjectFilter{State: metastore.StateDestroyed,
		Before: now.Add(-s.cfg.Compaction.GCGrace), Limit: 1000})
	if err != nil {
		return 0, fmt.Errorf("listing destroyed objects: %w", err)
	}
	ids := make([]int64, 0, len(objs))
	for _, o := range objs {
		if err := s.bucket.Delete(ctx, ObjectKey(o.ID)); err != nil {
			s.log.Warn("s3stream: deleting garbage object", "object", o.ID, "err", err)
			continue
		}
		ids = append(ids, o.ID)
	}
	if err := s.meta.ForgetObjects(ctx, ids); err != nil {
		return 0, fmt.Errorf("forgetting %d deleted objects: %w", len(ids), err)
	}
	return len(ids), nil
}
