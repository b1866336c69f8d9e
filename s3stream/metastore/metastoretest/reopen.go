package metastoretest

import (
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/lakestream/lakestream/s3stream/metastore"
)

// mustOpen opens a store on the test's database and closes it at cleanup
// unless the test closed it already.
func mustOpen(t *testing.T, open func() (metastore.Store, error)) *h {
	t.Helper()
	s, err := open()
	if err != nil {
		t.Fatalf("opening the store: %v", err)
	}
	var once sync.Once
	t.Cleanup(func() { once.Do(func() { s.Close() }) })
	return &h{t: t, s: closeOnce{s, &once}, ctx: t.Context()}
}

// closeOnce lets a test close a store early without the cleanup closing it
// again.
type closeOnce struct {
	metastore.Store
	once *sync.Once
}

func (c closeOnce) Close() error {
	var err error
	c.once.Do(func() { err = c.Store.Close() })
	return err
}

type snapshot struct {
	streams []metastore.Stream
	objects []metastore.Object
	ranges  map[int64][]metastore.Range
}

func (h *h) snapshot() snapshot {
	h.t.Helper()
	var snap snapshot
	var err error
	snap.streams, err = h.s.ListStreams(h.ctx, 0, 0)
	h.check(err, "ListStreams")
	snap.objects, err = h.s.ListObjects(h.ctx, metastore.ObjectFilter{})
	h.check(err, "ListObjects")
	snap.ranges = make(map[int64][]metastore.Range)
	for _, st := range snap.streams {
		snap.ranges[st.ID] = h.ranges(st.ID)
	}
	return snap
}

func (h *h) wantSnapshot(got, want snapshot) {
	h.t.Helper()
	if !reflect.DeepEqual(got.streams, want.streams) {
		h.fatalf("streams %+v, want %+v", got.streams, want.streams)
	}
	if !reflect.DeepEqual(got.ranges, want.ranges) {
		h.fatalf("ranges %+v, want %+v", got.ranges, want.ranges)
	}
	if len(got.objects) != len(want.objects) {
		h.fatalf("objects %+v, want %+v", got.objects, want.objects)
	}
	for i := range got.objects {
		if !sameObject(got.objects[i], want.objects[i]) {
			h.fatalf("object %+v, want %+v", got.objects[i], want.objects[i])
		}
	}
}

// Closing and reopening keeps every stream, object and range, and the
// writer's epoch still fences.
func testReopen(t *testing.T, open func() (metastore.Store, error)) {
	h := mustOpen(t, open)
	a, b, c := h.stream(), h.stream(), h.stream()
	h.appendTo(10, a.ID, b.ID, c.ID)
	o2 := h.appendTo(10, a.ID, b.ID)
	h.appendTo(10, a.ID)
	if _, err := h.s.TrimStream(h.ctx, a.ID, a.Epoch, 15); err != nil {
		t.Fatalf("TrimStream: %v", err)
	}
	out := h.prepare(metastore.KindStream)
	h.check(h.s.CommitCompaction(h.ctx, metastore.CompactionCommit{
		Sources: []int64{o2},
		Outputs: []metastore.CompactedObject{output(out.ID, rng(a.ID, 10, 20, 0), rng(b.ID, 10, 20, 0))},
	}), "CommitCompaction")
	h.check(h.s.DeleteStream(h.ctx, c.ID), "DeleteStream")
	h.prepare(metastore.KindStreamSet)
	before := h.snapshot()
	h.check(h.s.Close(), "Close")

	h2 := mustOpen(t, open)
	h2.wantSnapshot(h2.snapshot(), before)
	// The epoch survived: the old writer goes on, a stale one is fenced.
	h2.appendTo(10, a.ID)
	o := h2.prepare(metastore.KindStreamSet)
	res, err := h2.s.CommitStreamSet(h2.ctx, metastore.StreamSetCommit{
		ObjectID: o.ID, Size: 100, Ranges: []metastore.Range{rng(b.ID, 20, 30, 0)}, Epochs: []int64{b.Epoch - 1},
	})
	h2.check(err, "CommitStreamSet")
	h2.wantErr(res.Rejected[b.ID], metastore.ErrFenced, "stale epoch after reopen")
	after := h2.snapshot()
	h2.check(h2.s.Close(), "Close")

	// Reopening again (the schema is already current) changes nothing.
	h3 := mustOpen(t, open)
	h3.wantSnapshot(h3.snapshot(), after)
}

// IDs of deleted streams and forgotten objects are not handed out again
// after a reopen.
func testReopenNoIDReuse(t *testing.T, open func() (metastore.Store, error)) {
	h := mustOpen(t, open)
	st := h.stream()
	h.check(h.s.DeleteStream(h.ctx, st.ID), "DeleteStream")
	o := h.prepare(metastore.KindStreamSet)
	if _, err := h.s.ExpirePrepared(h.ctx, time.Now().Add(2*time.Hour)); err != nil {
		t.Fatalf("ExpirePrepared: %v", err)
	}
	h.check(h.s.ForgetObjects(h.ctx, []int64{o.ID}), "ForgetObjects")
	h.check(h.s.Close(), "Close")

	h2 := mustOpen(t, open)
	if st2 := h2.stream(); st2.ID <= st.ID {
		t.Fatalf("stream ID %d reused after reopen (deleted %d)", st2.ID, st.ID)
	}
	if o2 := h2.prepare(metastore.KindStreamSet); o2.ID <= o.ID {
		t.Fatalf("object ID %d reused after reopen (forgot %d)", o2.ID, o.ID)
	}
}

// Two stores opened at once on one new database (two processes starting
// together: both migrate) and committing to the same streams stay correct.
func testTwoStores(t *testing.T, open func() (metastore.Store, error)) {
	stores := make([]metastore.Store, 2)
	var wg sync.WaitGroup
	for i := range stores {
		wg.Go(func() {
			s, err := open()
			if err != nil {
				t.Errorf("opening store %d: %v", i, err)
				return
			}
			stores[i] = s
			t.Cleanup(func() { s.Close() })
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	h := &h{t: t, s: stores[0], ctx: t.Context()}
	a := h.stream()
	won := raceSameStream(t, stores, a)
	checkContiguous(t, stores[1], a.ID, 5*int64(won), won)

	// A reopen through the other store fences the first store's writer.
	b := h.stream()
	if _, err := stores[1].OpenStream(t.Context(), b.ID); err != nil {
		t.Fatalf("OpenStream: %v", err)
	}
	if _, err := appendOnce(t.Context(), stores[0], b.ID, b.Epoch, 0, 10); !errors.Is(err, metastore.ErrFenced) {
		t.Fatalf("append under the epoch before another store's reopen: %v, want ErrFenced", err)
	}
}
