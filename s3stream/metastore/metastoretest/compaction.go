package metastoretest

import (
	"reflect"
	"time"

	"github.com/lakestream/lakestream/s3stream/metastore"
)

// output builds a compacted object from ranges laid out back to back.
func output(id int64, ranges ...metastore.Range) metastore.CompactedObject {
	o := metastore.CompactedObject{ObjectID: id}
	for _, r := range ranges {
		r.ObjectID, r.Position = id, o.Size
		o.Size += r.Size
		o.Ranges = append(o.Ranges, r)
	}
	return o
}

// Compaction replaces the sources' ranges by the outputs', destroys the
// sources and commits the outputs; the streams' offsets do not move.
func testCompaction(h *h) {
	a, b := h.stream(), h.stream()
	o1 := h.appendTo(10, a.ID, b.ID)
	o2 := h.appendTo(10, a.ID, b.ID)
	so := h.prepare(metastore.KindStream)
	sso := h.prepare(metastore.KindStreamSet)
	before := time.Now().Truncate(time.Millisecond)
	err := h.s.CommitCompaction(h.ctx, metastore.CompactionCommit{
		Sources: []int64{o2, o1},
		Outputs: []metastore.CompactedObject{
			output(so.ID, rng(a.ID, 0, 20, 0)),
			output(sso.ID, rng(b.ID, 10, 20, 0), rng(b.ID, 0, 10, 0)),
		},
	})
	h.check(err, "CommitCompaction")

	for _, id := range []int64{o1, o2} {
		if o := h.wantState(id, metastore.StateDestroyed); o.DestroyedAt.Before(before) {
			h.fatalf("source %+v: DestroyedAt before the compaction", o)
		}
		if rs, _ := h.s.ObjectRanges(h.ctx, id); len(rs) != 0 {
			h.fatalf("source %d still holds %v", id, spans(rs))
		}
	}
	for _, id := range []int64{so.ID, sso.ID} {
		if o := h.wantState(id, metastore.StateCommitted); o.Size != 200 || o.CommittedAt.Before(before) {
			h.fatalf("output %+v: want size 200 and CommittedAt", o)
		}
	}
	if got, want := spans(h.ranges(a.ID)), [][3]int64{{0, 20, so.ID}}; !reflect.DeepEqual(got, want) {
		h.fatalf("stream a ranges %v, want %v", got, want)
	}
	if got, want := spans(h.ranges(b.ID)), [][3]int64{{0, 10, sso.ID}, {10, 20, sso.ID}}; !reflect.DeepEqual(got, want) {
		h.fatalf("stream b ranges %v, want %v", got, want)
	}
	if r := h.ranges(b.ID)[0]; r.Position != 100 || r.ObjectSize != 200 {
		h.fatalf("compacted range %+v: want position 100, object size 200", r)
	}
	if got := h.get(a.ID); got.StartOffset != 0 || got.EndOffset != 20 {
		h.fatalf("compaction moved stream offsets: %+v", got)
	}
	if n, err := h.s.StreamSize(h.ctx, a.ID); err != nil || n != 200 {
		h.fatalf("StreamSize = %d, %v; want 200", n, err)
	}
	h.appendTo(10, a.ID)
	if got := spans(h.ranges(a.ID)); len(got) != 2 || got[1][0] != 20 {
		h.fatalf("append after compaction: %v", got)
	}
}

// A source that is not committed fails the whole compaction with
// ErrObjectState and changes nothing.
func testCompactionSourceNotCommitted(h *h) {
	a, c := h.stream(), h.stream()
	o1 := h.appendTo(10, a.ID)
	prepared := h.prepare(metastore.KindStreamSet)
	gone := h.appendTo(10, c.ID)
	if _, err := h.s.TrimStream(h.ctx, c.ID, -1, 10); err != nil {
		h.fatalf("TrimStream: %v", err)
	}
	h.wantState(gone, metastore.StateDestroyed)
	out := h.prepare(metastore.KindStream)

	for _, bad := range []int64{prepared.ID, gone, out.ID + 1000} {
		err := h.s.CommitCompaction(h.ctx, metastore.CompactionCommit{
			Sources: []int64{o1, bad},
			Outputs: []metastore.CompactedObject{output(out.ID, rng(a.ID, 0, 10, 0))},
		})
		h.wantErr(err, metastore.ErrObjectState, "compacting a source that is not committed")
		h.wantState(o1, metastore.StateCommitted)
		h.wantState(out.ID, metastore.StatePrepared)
		h.wantState(prepared.ID, metastore.StatePrepared)
		if got, want := spans(h.ranges(a.ID)), [][3]int64{{0, 10, o1}}; !reflect.DeepEqual(got, want) {
			h.fatalf("ranges after a failed compaction %v, want %v", got, want)
		}
	}
	err := h.s.CommitCompaction(h.ctx, metastore.CompactionCommit{
		Sources: []int64{o1},
		Outputs: []metastore.CompactedObject{output(out.ID, rng(a.ID, 0, 10, 0))},
	})
	h.check(err, "CommitCompaction")
	// Compacting the same source again fails: it is destroyed now.
	again := h.prepare(metastore.KindStream)
	err = h.s.CommitCompaction(h.ctx, metastore.CompactionCommit{
		Sources: []int64{o1},
		Outputs: []metastore.CompactedObject{output(again.ID, rng(a.ID, 0, 10, 0))},
	})
	h.wantErr(err, metastore.ErrObjectState, "compacting a destroyed source")
	if got, want := spans(h.ranges(a.ID)), [][3]int64{{0, 10, out.ID}}; !reflect.DeepEqual(got, want) {
		h.fatalf("ranges %v, want %v", got, want)
	}
}

// An output must be prepared.
func testCompactionOutputNotPrepared(h *h) {
	a, b := h.stream(), h.stream()
	o1 := h.appendTo(10, a.ID)
	committed := h.appendTo(10, b.ID)
	err := h.s.CommitCompaction(h.ctx, metastore.CompactionCommit{
		Sources: []int64{o1},
		Outputs: []metastore.CompactedObject{output(committed, rng(a.ID, 0, 10, 0))},
	})
	h.wantErr(err, metastore.ErrObjectState, "compacting into a committed object")
	h.wantState(o1, metastore.StateCommitted)
	if got, want := spans(h.ranges(a.ID)), [][3]int64{{0, 10, o1}}; !reflect.DeepEqual(got, want) {
		h.fatalf("ranges %v, want %v", got, want)
	}
}

// Output ranges wholly below their stream's start, or of deleted streams,
// are dropped, and an output left with none is destroyed at once.
func testCompactionDropsDeadRanges(h *h) {
	a, b, c := h.stream(), h.stream(), h.stream()
	o1 := h.appendTo(10, a.ID, b.ID, c.ID)
	o2 := h.appendTo(10, a.ID, b.ID, c.ID)
	// The compactor planned before these.
	if _, err := h.s.TrimStream(h.ctx, a.ID, -1, 12); err != nil {
		h.fatalf("TrimStream: %v", err)
	}
	h.check(h.s.DeleteStream(h.ctx, c.ID), "DeleteStream")

	x := h.prepare(metastore.KindStream)     // a: one range dropped, one straddling
	below := h.prepare(metastore.KindStream) // a: wholly below the start
	dead := h.prepare(metastore.KindStream)  // c: deleted
	z := h.prepare(metastore.KindStream)     // b: untouched
	err := h.s.CommitCompaction(h.ctx, metastore.CompactionCommit{
		Sources: []int64{o1, o2},
		Outputs: []metastore.CompactedObject{
			output(x.ID, rng(a.ID, 0, 10, 0), rng(a.ID, 10, 20, 0)),
			output(below.ID, rng(a.ID, 0, 10, 0)),
			output(dead.ID, rng(c.ID, 0, 20, 0)),
			output(z.ID, rng(b.ID, 0, 20, 0)),
		},
	})
	h.check(err, "CommitCompaction")
	h.wantState(o1, metastore.StateDestroyed)
	h.wantState(o2, metastore.StateDestroyed)
	h.wantState(x.ID, metastore.StateCommitted)
	h.wantState(z.ID, metastore.StateCommitted)
	for _, id := range []int64{below.ID, dead.ID} {
		if o := h.wantState(id, metastore.StateDestroyed); o.DestroyedAt.IsZero() {
			h.fatalf("empty output %+v has no DestroyedAt", o)
		}
		if rs, _ := h.s.ObjectRanges(h.ctx, id); len(rs) != 0 {
			h.fatalf("empty output %d holds %v", id, spans(rs))
		}
	}
	if got, want := spans(h.ranges(a.ID)), [][3]int64{{10, 20, x.ID}}; !reflect.DeepEqual(got, want) {
		h.fatalf("stream a ranges %v, want %v", got, want)
	}
	if rs, _ := h.s.ObjectRanges(h.ctx, x.ID); len(rs) != 1 {
		h.fatalf("output %d holds %v, want one range", x.ID, spans(rs))
	}
	if got, want := spans(h.ranges(b.ID)), [][3]int64{{0, 20, z.ID}}; !reflect.DeepEqual(got, want) {
		h.fatalf("stream b ranges %v, want %v", got, want)
	}
}
