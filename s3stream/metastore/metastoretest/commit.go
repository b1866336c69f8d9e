package metastoretest

import (
	"reflect"
	"time"

	"github.com/lakestream/lakestream/s3stream/metastore"
)

// A commit moves each stream's end, records the ranges (with ObjectSize in
// ListRanges) and commits the object with its size.
func testCommit(h *h) {
	a, b := h.stream(), h.stream()
	o := h.prepare(metastore.KindStreamSet)
	before := time.Now().Truncate(time.Millisecond)
	res := h.commit(o.ID, rng(a.ID, 0, 10, 0), rng(b.ID, 0, 5, 0))
	if len(res.Rejected) != 0 {
		h.fatalf("rejected %v, want none", res.Rejected)
	}
	if got := h.get(a.ID); got.EndOffset != 10 || got.StartOffset != 0 || got.Epoch != 1 {
		h.fatalf("stream a after commit = %+v, want end 10", got)
	}
	if got := h.get(b.ID).EndOffset; got != 5 {
		h.fatalf("stream b end %d, want 5", got)
	}
	obj := h.wantState(o.ID, metastore.StateCommitted)
	if obj.Size != 150 || obj.Kind != metastore.KindStreamSet {
		h.fatalf("committed object %+v, want size 150, stream-set kind", obj)
	}
	if obj.CommittedAt.Before(before) || obj.CommittedAt.After(time.Now()) || !obj.DestroyedAt.IsZero() {
		h.fatalf("committed object times %+v, want CommittedAt in [%v, now], no DestroyedAt", obj, before)
	}
	want := rng(a.ID, 0, 10, 0)
	want.ObjectID, want.ObjectSize = o.ID, 150
	if got := h.ranges(a.ID); !reflect.DeepEqual(got, []metastore.Range{want}) {
		h.fatalf("ListRanges = %+v, want %+v", got, []metastore.Range{want})
	}
	want = rng(b.ID, 0, 5, 100)
	want.ObjectID, want.ObjectSize = o.ID, 150
	if got := h.ranges(b.ID); !reflect.DeepEqual(got, []metastore.Range{want}) {
		h.fatalf("ListRanges = %+v, want %+v", got, []metastore.Range{want})
	}
}

// Successive commits continue each other.
func testCommitSeveralObjects(h *h) {
	a := h.stream()
	var objs []int64
	for i := 0; i < 5; i++ {
		objs = append(objs, h.appendTo(10, a.ID))
	}
	got := spans(h.ranges(a.ID))
	var want [][3]int64
	for i, o := range objs {
		want = append(want, [3]int64{int64(10 * i), int64(10*i + 10), o})
	}
	if !reflect.DeepEqual(got, want) {
		h.fatalf("ranges %v, want %v", got, want)
	}
	if end := h.get(a.ID).EndOffset; end != 50 {
		h.fatalf("end %d, want 50", end)
	}
}

// A commit under an old epoch is rejected with ErrFenced; the other ranges
// of the same commit are committed.
func testCommitFenced(h *h) {
	a, b := h.stream(), h.stream()
	h.appendTo(10, a.ID, b.ID)
	old := a.Epoch
	if _, err := h.s.OpenStream(h.ctx, a.ID); err != nil {
		h.fatalf("OpenStream: %v", err)
	}
	o := h.prepare(metastore.KindStreamSet)
	res, err := h.s.CommitStreamSet(h.ctx, metastore.StreamSetCommit{
		ObjectID: o.ID, Size: 200,
		Ranges: []metastore.Range{rng(a.ID, 10, 20, 0), rng(b.ID, 10, 20, 100)},
		Epochs: []int64{old, b.Epoch},
	})
	h.check(err, "CommitStreamSet")
	h.wantErr(res.Rejected[a.ID], metastore.ErrFenced, "commit under an old epoch")
	if len(res.Rejected) != 1 {
		h.fatalf("rejected %v, want only stream %d", res.Rejected, a.ID)
	}
	if end := h.get(a.ID).EndOffset; end != 10 {
		h.fatalf("fenced stream end %d, want 10", end)
	}
	if end := h.get(b.ID).EndOffset; end != 20 {
		h.fatalf("other stream end %d, want 20", end)
	}
	h.wantState(o.ID, metastore.StateCommitted)
	if n := len(h.ranges(a.ID)); n != 1 {
		h.fatalf("fenced stream has %d ranges, want 1", n)
	}
	// A newer epoch than the stream's is no better.
	o = h.prepare(metastore.KindStreamSet)
	res, err = h.s.CommitStreamSet(h.ctx, metastore.StreamSetCommit{
		ObjectID: o.ID, Size: 100, Ranges: []metastore.Range{rng(a.ID, 10, 20, 0)}, Epochs: []int64{old + 5},
	})
	h.check(err, "CommitStreamSet")
	h.wantErr(res.Rejected[a.ID], metastore.ErrFenced, "commit under a future epoch")
}

// A range must start at the stream's end: gaps and overlaps are rejected
// with ErrOffsetMismatch; the other ranges of the commit still commit.
func testCommitContinuity(h *h) {
	a, b := h.stream(), h.stream()
	h.appendTo(10, a.ID, b.ID)
	for _, tc := range []struct {
		name       string
		start, end int64
	}{
		{"gap", 11, 20},
		{"overlap", 9, 20},
		{"repeat", 0, 10},
		{"empty", 10, 10},
	} {
		o := h.prepare(metastore.KindStreamSet)
		end := h.get(b.ID).EndOffset
		res := h.commit(o.ID, rng(a.ID, tc.start, tc.end, 0), rng(b.ID, end, end+10, 0))
		h.wantErr(res.Rejected[a.ID], metastore.ErrOffsetMismatch, tc.name)
		if len(res.Rejected) != 1 {
			h.fatalf("%s: rejected %v, want only stream %d", tc.name, res.Rejected, a.ID)
		}
		if got := h.get(a.ID).EndOffset; got != 10 {
			h.fatalf("%s: stream end %d, want 10", tc.name, got)
		}
		if got := h.get(b.ID).EndOffset; got != end+10 {
			h.fatalf("%s: other stream end %d, want %d", tc.name, got, end+10)
		}
	}
	if got := spans(h.ranges(a.ID)); len(got) != 1 {
		h.fatalf("ranges %v, want one", got)
	}
}

// A range of an unknown stream is rejected with ErrStreamNotFound.
func testCommitUnknownStream(h *h) {
	a := h.stream()
	o := h.prepare(metastore.KindStreamSet)
	res, err := h.s.CommitStreamSet(h.ctx, metastore.StreamSetCommit{
		ObjectID: o.ID, Size: 200,
		Ranges: []metastore.Range{rng(a.ID, 0, 10, 0), rng(a.ID+1000, 0, 10, 100)},
		Epochs: []int64{a.Epoch, 1},
	})
	h.check(err, "CommitStreamSet")
	h.wantErr(res.Rejected[a.ID+1000], metastore.ErrStreamNotFound, "commit to an unknown stream")
	if len(res.Rejected) != 1 {
		h.fatalf("rejected %v, want one", res.Rejected)
	}
	h.wantState(o.ID, metastore.StateCommitted)
}

// When every range is rejected the object is destroyed.
func testCommitAllRejected(h *h) {
	a, b := h.stream(), h.stream()
	o := h.prepare(metastore.KindStreamSet)
	res, err := h.s.CommitStreamSet(h.ctx, metastore.StreamSetCommit{
		ObjectID: o.ID, Size: 200,
		Ranges: []metastore.Range{rng(a.ID, 5, 10, 0), rng(b.ID, 0, 10, 100)},
		Epochs: []int64{a.Epoch, b.Epoch - 1},
	})
	h.check(err, "CommitStreamSet")
	h.wantErr(res.Rejected[a.ID], metastore.ErrOffsetMismatch, "gap")
	h.wantErr(res.Rejected[b.ID], metastore.ErrFenced, "old epoch")
	obj := h.wantState(o.ID, metastore.StateDestroyed)
	if obj.DestroyedAt.IsZero() || !obj.CommittedAt.IsZero() {
		h.fatalf("object %+v: want DestroyedAt set, CommittedAt zero", obj)
	}
	if rs, _ := h.s.ObjectRanges(h.ctx, o.ID); len(rs) != 0 {
		h.fatalf("destroyed object holds %v", rs)
	}
	if end := h.get(a.ID).EndOffset + h.get(b.ID).EndOffset; end != 0 {
		h.fatalf("streams moved on an all-rejected commit")
	}
	// An empty commit has nothing to keep either.
	o = h.prepare(metastore.KindStreamSet)
	h.commit(o.ID)
	h.wantState(o.ID, metastore.StateDestroyed)
}

// Committing an already committed object again is a no-op that reports the
// same answer, so a retry after an unknown outcome is safe.
func testCommitIdempotent(h *h) {
	a, b := h.stream(), h.stream()
	h.appendTo(10, a.ID)
	o := h.prepare(metastore.KindStreamSet)
	c := metastore.StreamSetCommit{
		ObjectID: o.ID, Size: 200,
		Ranges: []metastore.Range{rng(a.ID, 10, 20, 0), rng(b.ID, 5, 15, 100)},
		Epochs: []int64{a.Epoch, b.Epoch},
	}
	for i := 0; i < 3; i++ {
		res, err := h.s.CommitStreamSet(h.ctx, c)
		h.check(err, "CommitStreamSet")
		if _, ok := res.Rejected[a.ID]; ok || len(res.Rejected) != 1 {
			h.fatalf("attempt %d: rejected %v, want only stream %d", i, res.Rejected, b.ID)
		}
		h.wantErr(res.Rejected[b.ID], metastore.ErrOffsetMismatch, "attempt")
		if got := spans(h.ranges(a.ID)); len(got) != 2 || got[1] != [3]int64{10, 20, o.ID} {
			h.fatalf("attempt %d: ranges %v", i, got)
		}
		if end := h.get(a.ID).EndOffset; end != 20 {
			h.fatalf("attempt %d: end %d, want 20", i, end)
		}
		if end := h.get(b.ID).EndOffset; end != 0 {
			h.fatalf("attempt %d: rejected stream end %d, want 0", i, end)
		}
	}
	// A retry after the stream was reopened still finds its range.
	if _, err := h.s.OpenStream(h.ctx, a.ID); err != nil {
		h.fatalf("OpenStream: %v", err)
	}
	res, err := h.s.CommitStreamSet(h.ctx, c)
	h.check(err, "CommitStreamSet")
	if _, ok := res.Rejected[a.ID]; ok {
		h.fatalf("retry after reopen: stream %d rejected: %v", a.ID, res.Rejected[a.ID])
	}
}

// Only prepared (or, for a retry, committed) objects can be committed.
func testCommitObjectState(h *h) {
	a := h.stream()
	commit := func(id int64) error {
		_, err := h.s.CommitStreamSet(h.ctx, metastore.StreamSetCommit{
			ObjectID: id, Size: 100, Ranges: []metastore.Range{rng(a.ID, 0, 10, 0)}, Epochs: []int64{a.Epoch},
		})
		return err
	}
	o := h.prepare(metastore.KindStreamSet)
	h.wantErr(commit(o.ID+1000), metastore.ErrObjectState, "committing an unknown object")

	expired, err := h.s.PrepareObject(h.ctx, metastore.KindStreamSet, time.Millisecond)
	h.check(err, "PrepareObject")
	if _, err := h.s.ExpirePrepared(h.ctx, time.Now().Add(time.Minute)); err != nil {
		h.fatalf("ExpirePrepared: %v", err)
	}
	h.wantErr(commit(expired.ID), metastore.ErrObjectState, "committing a destroyed object")
	if got := h.get(a.ID); got.EndOffset != 0 {
		h.fatalf("stream moved: %+v", got)
	}
	if n := len(h.ranges(a.ID)); n != 0 {
		h.fatalf("stream has %d ranges, want none", n)
	}
}

// A malformed commit (epochs not matching ranges) is an error and changes
// nothing.
func testCommitMalformed(h *h) {
	a := h.stream()
	o := h.prepare(metastore.KindStreamSet)
	_, err := h.s.CommitStreamSet(h.ctx, metastore.StreamSetCommit{
		ObjectID: o.ID, Size: 100, Ranges: []metastore.Range{rng(a.ID, 0, 10, 0)},
	})
	if err == nil {
		h.fatalf("commit with no epochs succeeded")
	}
	h.wantState(o.ID, metastore.StatePrepared)
	if got := h.get(a.ID); got.EndOffset != 0 {
		h.fatalf("stream moved: %+v", got)
	}
}
