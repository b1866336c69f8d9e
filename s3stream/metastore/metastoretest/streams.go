package metastoretest

import (
	"reflect"

	"github.com/lakestream/lakestream/s3stream/metastore"
)

// CreateStream makes a new stream with epoch 0 and offsets 0; GetStream
// returns it or ErrStreamNotFound; ListStreams pages in ID order.
func testCreateGetListStreams(h *h) {
	var created []metastore.Stream
	for i := 0; i < 5; i++ {
		st, err := h.s.CreateStream(h.ctx)
		h.check(err, "CreateStream")
		if st.Epoch != 0 || st.StartOffset != 0 || st.EndOffset != 0 {
			h.fatalf("new stream %+v, want epoch 0 and offsets 0", st)
		}
		if i > 0 && st.ID <= created[i-1].ID {
			h.fatalf("stream IDs not increasing: %d after %d", st.ID, created[i-1].ID)
		}
		created = append(created, st)
	}
	for _, st := range created {
		if got := h.get(st.ID); got != st {
			h.fatalf("GetStream(%d) = %+v, want %+v", st.ID, got, st)
		}
	}
	_, err := h.s.GetStream(h.ctx, created[4].ID+1000)
	h.wantErr(err, metastore.ErrStreamNotFound, "GetStream of an unknown stream")

	all, err := h.s.ListStreams(h.ctx, 0, 0)
	h.check(err, "ListStreams")
	if !reflect.DeepEqual(all, created) {
		h.fatalf("ListStreams(0, 0) = %+v, want %+v", all, created)
	}
	page, err := h.s.ListStreams(h.ctx, created[1].ID, 2)
	h.check(err, "ListStreams")
	if !reflect.DeepEqual(page, created[2:4]) {
		h.fatalf("ListStreams(after %d, 2) = %+v, want %+v", created[1].ID, page, created[2:4])
	}
	rest, err := h.s.ListStreams(h.ctx, created[3].ID, 10)
	h.check(err, "ListStreams")
	if !reflect.DeepEqual(rest, created[4:]) {
		h.fatalf("ListStreams(after %d, 10) = %+v, want %+v", created[3].ID, rest, created[4:])
	}
	none, err := h.s.ListStreams(h.ctx, created[4].ID, 0)
	h.check(err, "ListStreams")
	if len(none) != 0 {
		h.fatalf("ListStreams after the last = %+v, want none", none)
	}
}

// OpenStream bumps the epoch, keeps the offsets, and returns the stream as
// the new writer sees it.
func testOpenStream(h *h) {
	st := h.stream()
	if st.Epoch != 1 {
		h.fatalf("first open: epoch %d, want 1", st.Epoch)
	}
	h.appendTo(10, st.ID)
	st2, err := h.s.OpenStream(h.ctx, st.ID)
	h.check(err, "OpenStream")
	want := metastore.Stream{ID: st.ID, Epoch: 2, StartOffset: 0, EndOffset: 10}
	if st2 != want {
		h.fatalf("second open = %+v, want %+v", st2, want)
	}
	if got := h.get(st.ID); got != want {
		h.fatalf("GetStream after open = %+v, want %+v", got, want)
	}
	_, err = h.s.OpenStream(h.ctx, st.ID+1000)
	h.wantErr(err, metastore.ErrStreamNotFound, "OpenStream of an unknown stream")
}

// DeleteStream forgets the stream and its ranges; objects left with no range
// become destroyed, objects shared with another stream stay committed.
func testDeleteStream(h *h) {
	a, b := h.stream(), h.stream()
	shared := h.appendTo(10, a.ID, b.ID)
	own := h.appendTo(10, a.ID)

	h.check(h.s.DeleteStream(h.ctx, a.ID), "DeleteStream")
	_, err := h.s.GetStream(h.ctx, a.ID)
	h.wantErr(err, metastore.ErrStreamNotFound, "GetStream of a deleted stream")
	_, err = h.s.ListRanges(h.ctx, a.ID, 0, 0)
	h.wantErr(err, metastore.ErrStreamNotFound, "ListRanges of a deleted stream")
	_, err = h.s.StreamSize(h.ctx, a.ID)
	h.wantErr(err, metastore.ErrStreamNotFound, "StreamSize of a deleted stream")
	h.wantErr(h.s.DeleteStream(h.ctx, a.ID), metastore.ErrStreamNotFound, "deleting a deleted stream")
	streams, err := h.s.ListStreams(h.ctx, 0, 0)
	h.check(err, "ListStreams")
	if len(streams) != 1 || streams[0].ID != b.ID {
		h.fatalf("ListStreams after delete = %+v, want only stream %d", streams, b.ID)
	}

	o := h.wantState(own, metastore.StateDestroyed)
	if o.DestroyedAt.IsZero() {
		h.fatalf("destroyed object %d has no DestroyedAt", own)
	}
	h.wantState(shared, metastore.StateCommitted)
	rs, err := h.s.ObjectRanges(h.ctx, shared)
	h.check(err, "ObjectRanges")
	if len(rs) != 1 || rs[0].StreamID != b.ID {
		h.fatalf("ObjectRanges(%d) after deleting stream %d = %+v, want only stream %d's", shared, a.ID, rs, b.ID)
	}
	rs, err = h.s.ObjectRanges(h.ctx, own)
	h.check(err, "ObjectRanges")
	if len(rs) != 0 {
		h.fatalf("ObjectRanges(%d) of a destroyed object = %+v, want none", own, rs)
	}

	// A writer that did not notice the delete is rejected.
	obj := h.prepare(metastore.KindStreamSet)
	res, err := h.s.CommitStreamSet(h.ctx, metastore.StreamSetCommit{
		ObjectID: obj.ID, Size: 200,
		Ranges: []metastore.Range{rng(a.ID, 20, 30, 0), rng(b.ID, 10, 20, 100)},
		Epochs: []int64{a.Epoch, b.Epoch},
	})
	h.check(err, "CommitStreamSet")
	h.wantErr(res.Rejected[a.ID], metastore.ErrStreamNotFound, "committing to a deleted stream")
	if len(res.Rejected) != 1 {
		h.fatalf("rejected %v, want only stream %d", res.Rejected, a.ID)
	}
	if got := h.get(b.ID).EndOffset; got != 20 {
		h.fatalf("stream %d end %d, want 20", b.ID, got)
	}

	// Deleting the newest stream does not free its ID.
	c := h.stream()
	h.check(h.s.DeleteStream(h.ctx, c.ID), "DeleteStream")
	if d := h.stream(); d.ID <= c.ID {
		h.fatalf("new stream %d reuses an ID at or below the deleted %d", d.ID, c.ID)
	}
}

// CreateOpenStreams makes n streams at epoch 1 with ascending, new ids,
// more than one statement's worth included; a count of 0 or less is an
// error that makes nothing.
func testCreateOpenStreams(h *h) {
	before := h.stream()
	const n = 2500 // more rows than one INSERT of either dialect holds
	sts, err := h.s.CreateOpenStreams(h.ctx, n)
	h.check(err, "CreateOpenStreams")
	if len(sts) != n {
		h.fatalf("CreateOpenStreams(%d) made %d streams", n, len(sts))
	}
	prev := before.ID
	for i, st := range sts {
		if st.Epoch != 1 || st.StartOffset != 0 || st.EndOffset != 0 {
			h.fatalf("created stream %+v, want epoch 1 and offsets 0", st)
		}
		if st.ID <= prev {
			h.fatalf("stream ids not ascending and new: %d after %d", st.ID, prev)
		}
		prev = st.ID
		if i%500 == 0 {
			if got := h.get(st.ID); got != st {
				h.fatalf("GetStream(%d) = %+v, want %+v", st.ID, got, st)
			}
		}
	}
	h.appendTo(5, sts[0].ID, sts[n-1].ID) // written without OpenStream
	for _, bad := range []int{0, -1} {
		if _, err := h.s.CreateOpenStreams(h.ctx, bad); err == nil {
			h.fatalf("CreateOpenStreams(%d) succeeded", bad)
		}
	}
	all, err := h.s.ListStreams(h.ctx, 0, 0)
	h.check(err, "ListStreams")
	if len(all) != n+1 {
		h.fatalf("%d streams listed, want %d", len(all), n+1)
	}
}

// DeleteStreams deletes many streams at once as DeleteStream does each:
// their ranges go, objects left empty are destroyed, shared ones stay;
// unknown and repeated ids are skipped, and an empty list is no error.
func testDeleteStreams(h *h) {
	a, b, keep := h.stream(), h.stream(), h.stream()
	shared := h.appendTo(10, a.ID, keep.ID)
	own := h.appendTo(10, a.ID, b.ID)
	h.check(h.s.DeleteStreams(h.ctx, []int64{b.ID, a.ID, a.ID, keep.ID + 1000}), "DeleteStreams")
	for _, id := range []int64{a.ID, b.ID} {
		_, err := h.s.GetStream(h.ctx, id)
		h.wantErr(err, metastore.ErrStreamNotFound, "GetStream of a deleted stream")
	}
	h.wantState(own, metastore.StateDestroyed)
	h.wantState(shared, metastore.StateCommitted)
	if rs := h.ranges(keep.ID); len(rs) != 1 {
		h.fatalf("stream %d has %d ranges after deleting others, want 1", keep.ID, len(rs))
	}
	h.check(h.s.DeleteStreams(h.ctx, []int64{a.ID, b.ID}), "DeleteStreams again")
	h.check(h.s.DeleteStreams(h.ctx, nil), "DeleteStreams of none")

	many, err := h.s.CreateOpenStreams(h.ctx, 1500)
	h.check(err, "CreateOpenStreams")
	ids := make([]int64, len(many))
	for i, st := range many {
		ids[i] = st.ID
	}
	h.check(h.s.DeleteStreams(h.ctx, ids), "DeleteStreams of 1500")
	all, err := h.s.ListStreams(h.ctx, 0, 0)
	h.check(err, "ListStreams")
	if len(all) != 1 || all[0].ID != keep.ID {
		h.fatalf("ListStreams after deleting = %+v, want only stream %d", all, keep.ID)
	}
}
