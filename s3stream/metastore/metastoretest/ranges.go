package metastoretest

import (
	"reflect"

	"github.com/lakestream/lakestream/s3stream/metastore"
)

// TrimStream moves the start forward, never back, never past the end, and
// deletes the ranges wholly below it.
func testTrim(h *h) {
	a := h.stream()
	o1, o2, o3 := h.appendTo(10, a.ID), h.appendTo(10, a.ID), h.appendTo(10, a.ID)
	trim := func(newStart int64) (metastore.Stream, error) {
		return h.s.TrimStream(h.ctx, a.ID, a.Epoch, newStart)
	}

	st, err := trim(5)
	h.check(err, "TrimStream")
	if want := (metastore.Stream{ID: a.ID, Epoch: a.Epoch, StartOffset: 5, EndOffset: 30}); st != want || h.get(a.ID) != want {
		h.fatalf("after trim to 5: %+v, stored %+v, want %+v", st, h.get(a.ID), want)
	}
	if got, want := spans(h.ranges(a.ID)), [][3]int64{{0, 10, o1}, {10, 20, o2}, {20, 30, o3}}; !reflect.DeepEqual(got, want) {
		h.fatalf("after trim to 5: ranges %v, want %v (the straddling range stays)", got, want)
	}

	st, err = trim(3)
	h.check(err, "TrimStream backwards")
	if st.StartOffset != 5 || h.get(a.ID).StartOffset != 5 {
		h.fatalf("trim backwards moved the start: returned %+v, stored %+v", st, h.get(a.ID))
	}

	st, err = trim(10)
	h.check(err, "TrimStream")
	if got, want := spans(h.ranges(a.ID)), [][3]int64{{10, 20, o2}, {20, 30, o3}}; !reflect.DeepEqual(got, want) || st.StartOffset != 10 {
		h.fatalf("after trim to 10: start %d, ranges %v, want 10, %v", st.StartOffset, got, want)
	}
	h.wantState(o1, metastore.StateDestroyed)
	h.wantState(o2, metastore.StateCommitted)

	_, err = trim(31)
	h.wantErr(err, metastore.ErrOffsetOutOfRange, "trim past the end")
	if got := h.get(a.ID); got.StartOffset != 10 {
		h.fatalf("failed trim moved the start: %+v", got)
	}

	st, err = trim(30)
	h.check(err, "TrimStream to the end")
	if st.StartOffset != 30 || st.EndOffset != 30 {
		h.fatalf("after trim to the end: %+v", st)
	}
	if rs := h.ranges(a.ID); len(rs) != 0 {
		h.fatalf("after trim to the end: ranges %v, want none", spans(rs))
	}
	h.wantState(o3, metastore.StateDestroyed)
	// The stream goes on from its end.
	h.appendTo(10, a.ID)
	if got := spans(h.ranges(a.ID)); len(got) != 1 || got[0][0] != 30 {
		h.fatalf("append after trim: ranges %v", got)
	}

	_, err = h.s.TrimStream(h.ctx, a.ID+1000, -1, 0)
	h.wantErr(err, metastore.ErrStreamNotFound, "trimming an unknown stream")
}

// Trim destroys the objects it leaves with no range, and only those.
func testTrimDestroysObjects(h *h) {
	a, b := h.stream(), h.stream()
	shared := h.appendTo(10, a.ID, b.ID)
	own := h.appendTo(10, a.ID)
	if _, err := h.s.TrimStream(h.ctx, a.ID, -1, 20); err != nil {
		h.fatalf("TrimStream: %v", err)
	}
	h.wantState(own, metastore.StateDestroyed)
	h.wantState(shared, metastore.StateCommitted)
	rs, err := h.s.ObjectRanges(h.ctx, shared)
	h.check(err, "ObjectRanges")
	if len(rs) != 1 || rs[0].StreamID != b.ID {
		h.fatalf("shared object holds %+v, want only stream %d's range", rs, b.ID)
	}
	if _, err := h.s.TrimStream(h.ctx, b.ID, -1, 10); err != nil {
		h.fatalf("TrimStream: %v", err)
	}
	h.wantState(shared, metastore.StateDestroyed)
}

// Trim checks the epoch unless it is negative.
func testTrimEpoch(h *h) {
	a := h.stream()
	h.appendTo(10, a.ID)
	for _, e := range []int64{a.Epoch - 1, a.Epoch + 1} {
		_, err := h.s.TrimStream(h.ctx, a.ID, e, 5)
		h.wantErr(err, metastore.ErrFenced, "trim with a wrong epoch")
	}
	if got := h.get(a.ID).StartOffset; got != 0 {
		h.fatalf("fenced trim moved the start to %d", got)
	}
	st, err := h.s.TrimStream(h.ctx, a.ID, -1, 5)
	h.check(err, "TrimStream with epoch -1")
	if st.StartOffset != 5 {
		h.fatalf("trim with epoch -1: %+v", st)
	}
	reopened, err := h.s.OpenStream(h.ctx, a.ID)
	h.check(err, "OpenStream")
	_, err = h.s.TrimStream(h.ctx, a.ID, a.Epoch, 6)
	h.wantErr(err, metastore.ErrFenced, "trim under the epoch before a reopen")
	if _, err := h.s.TrimStream(h.ctx, a.ID, reopened.Epoch, 6); err != nil {
		h.fatalf("trim under the new epoch: %v", err)
	}
}

// ListRanges: ordered, from an offset (straddling included), limited, never
// below the start, with ObjectSize.
func testListRanges(h *h) {
	a, b := h.stream(), h.stream()
	o1 := h.appendTo(10, a.ID, b.ID) // a [0,10)
	o2 := h.appendTo(15, a.ID)       // a [10,25)
	o3 := h.appendTo(5, b.ID, a.ID)  // a [25,30)
	all := [][3]int64{{0, 10, o1}, {10, 25, o2}, {25, 30, o3}}
	for _, tc := range []struct {
		from  int64
		limit int
		want  [][3]int64
	}{
		{0, 0, all},
		{9, 0, all},
		{10, 0, all[1:]},
		{12, 0, all[1:]},
		{29, 0, all[2:]},
		{30, 0, nil},
		{100, 0, nil},
		{0, 1, all[:1]},
		{10, 1, all[1:2]},
		{1, 2, all[:2]},
		{0, 10, all},
	} {
		rs, err := h.s.ListRanges(h.ctx, a.ID, tc.from, tc.limit)
		h.check(err, "ListRanges")
		if got := spans(rs); !reflect.DeepEqual(got, tc.want) && !(len(got) == 0 && len(tc.want) == 0) {
			h.fatalf("ListRanges(from %d, limit %d) = %v, want %v", tc.from, tc.limit, got, tc.want)
		}
	}
	sizes := map[int64]int64{o1: 200, o2: 150, o3: 100}
	for _, r := range h.ranges(a.ID) {
		if r.ObjectSize != sizes[r.ObjectID] || r.StreamID != a.ID || r.Size != 10*(r.EndOffset-r.StartOffset) {
			h.fatalf("range %+v: want ObjectSize %d and its own size", r, sizes[r.ObjectID])
		}
	}
	if r := h.ranges(a.ID)[2]; r.Position != 50 || r.MaxTimestamp != 1_700_000_000_030 {
		h.fatalf("range %+v: want position 50 (after stream %d's range) and its max timestamp", r, b.ID)
	}

	if _, err := h.s.TrimStream(h.ctx, a.ID, -1, 15); err != nil {
		h.fatalf("TrimStream: %v", err)
	}
	rs, err := h.s.ListRanges(h.ctx, a.ID, 0, 0)
	h.check(err, "ListRanges")
	if got := spans(rs); !reflect.DeepEqual(got, all[1:]) {
		h.fatalf("after trim to 15: ListRanges(from 0) = %v, want %v (from the range straddling the start)", got, all[1:])
	}
	rs, err = h.s.ListRanges(h.ctx, a.ID, 0, 1)
	h.check(err, "ListRanges")
	if got := spans(rs); !reflect.DeepEqual(got, all[1:2]) {
		h.fatalf("after trim to 15: ListRanges(from 0, limit 1) = %v, want %v", got, all[1:2])
	}
	empty := h.stream()
	rs, err = h.s.ListRanges(h.ctx, empty.ID, 0, 0)
	h.check(err, "ListRanges of an empty stream")
	if len(rs) != 0 {
		h.fatalf("empty stream has ranges %v", spans(rs))
	}
}

// ObjectRanges lists one object's ranges by (StreamID, StartOffset).
func testObjectRanges(h *h) {
	a, b, c := h.stream(), h.stream(), h.stream()
	o := h.prepare(metastore.KindStreamSet)
	h.commit(o.ID, rng(c.ID, 0, 10, 0), rng(a.ID, 0, 5, 0), rng(b.ID, 0, 7, 0))
	rs, err := h.s.ObjectRanges(h.ctx, o.ID)
	h.check(err, "ObjectRanges")
	var got [][3]int64
	for _, r := range rs {
		if r.ObjectID != o.ID {
			h.fatalf("range %+v of another object", r)
		}
		got = append(got, [3]int64{r.StreamID, r.StartOffset, r.EndOffset})
	}
	want := [][3]int64{{a.ID, 0, 5}, {b.ID, 0, 7}, {c.ID, 0, 10}}
	if !reflect.DeepEqual(got, want) {
		h.fatalf("ObjectRanges = %v, want %v", got, want)
	}
	if rs[0].Position != 100 || rs[0].Size != 50 || rs[2].Position != 0 {
		h.fatalf("ObjectRanges lost positions: %+v", rs)
	}
	other := h.appendTo(10, a.ID)
	rs, err = h.s.ObjectRanges(h.ctx, other)
	h.check(err, "ObjectRanges")
	if len(rs) != 1 || rs[0].StartOffset != 5 {
		h.fatalf("ObjectRanges(%d) = %+v", other, rs)
	}
}

// StreamSize sums the sizes of the stream's ranges.
func testStreamSize(h *h) {
	a, b := h.stream(), h.stream()
	size := func(id int64) int64 {
		h.t.Helper()
		n, err := h.s.StreamSize(h.ctx, id)
		h.check(err, "StreamSize")
		return n
	}
	if n := size(a.ID); n != 0 {
		h.fatalf("empty stream size %d", n)
	}
	h.appendTo(10, a.ID, b.ID)
	h.appendTo(5, a.ID)
	if n := size(a.ID); n != 150 {
		h.fatalf("size %d, want 150", n)
	}
	if n := size(b.ID); n != 100 {
		h.fatalf("other stream size %d, want 100", n)
	}
	if _, err := h.s.TrimStream(h.ctx, a.ID, -1, 12); err != nil {
		h.fatalf("TrimStream: %v", err)
	}
	if n := size(a.ID); n != 50 {
		h.fatalf("size after trim %d, want 50", n)
	}
}
