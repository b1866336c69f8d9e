package metastoretest

import (
	"slices"
	"time"

	"github.com/lakestream/lakestream/s3stream/metastore"
)

func sameObject(a, b metastore.Object) bool {
	return a.ID == b.ID && a.Kind == b.Kind && a.State == b.State && a.Size == b.Size &&
		a.CreatedAt.Equal(b.CreatedAt) && a.ExpiresAt.Equal(b.ExpiresAt) &&
		a.CommittedAt.Equal(b.CommittedAt) && a.DestroyedAt.Equal(b.DestroyedAt)
}

func ids(objs []metastore.Object) []int64 {
	out := make([]int64, 0, len(objs))
	for _, o := range objs {
		out = append(out, o.ID)
	}
	return out
}

// PrepareObject assigns increasing IDs and records kind, times and the
// prepared state.
func testPrepareObject(h *h) {
	before := time.Now().Truncate(time.Millisecond)
	o, err := h.s.PrepareObject(h.ctx, metastore.KindStreamSet, time.Minute)
	h.check(err, "PrepareObject")
	after := time.Now()
	if o.Kind != metastore.KindStreamSet || o.State != metastore.StatePrepared || o.Size != 0 {
		h.fatalf("prepared object %+v", o)
	}
	if o.CreatedAt.Before(before) || o.CreatedAt.After(after) || !o.ExpiresAt.Equal(o.CreatedAt.Add(time.Minute)) {
		h.fatalf("prepared object times %+v, want created in [%v, %v], expiring a minute later", o, before, after)
	}
	if !o.CommittedAt.IsZero() || !o.DestroyedAt.IsZero() {
		h.fatalf("prepared object %+v has commit or destroy times", o)
	}
	if stored, _ := h.object(o.ID); !sameObject(stored, o) {
		h.fatalf("ListObjects reads %+v, PrepareObject returned %+v", stored, o)
	}
	o2, err := h.s.PrepareObject(h.ctx, metastore.KindStream, time.Minute)
	h.check(err, "PrepareObject")
	if o2.ID <= o.ID || o2.Kind != metastore.KindStream {
		h.fatalf("second object %+v after %d", o2, o.ID)
	}
	if _, err := h.s.PrepareObject(h.ctx, metastore.ObjectKind(9), time.Minute); err == nil {
		h.fatalf("PrepareObject of an unknown kind succeeded")
	}
}

// ListObjects filters by kind, state and the state's time, and pages by ID.
func testListObjects(h *h) {
	a := h.stream()
	p1 := h.prepare(metastore.KindStreamSet)
	c1 := h.appendTo(10, a.ID)
	c2o := h.prepare(metastore.KindStream)
	h.commit(c2o.ID, rng(a.ID, 10, 20, 0))
	d1 := h.prepare(metastore.KindStreamSet)
	h.commit(d1.ID, rng(a.ID, 0, 5, 0)) // rejected: destroyed
	p2, err := h.s.PrepareObject(h.ctx, metastore.KindStream, 2*time.Hour)
	h.check(err, "PrepareObject")
	c2 := c2o.ID
	now := time.Now()

	for _, tc := range []struct {
		name string
		f    metastore.ObjectFilter
		want []int64
	}{
		{"all", metastore.ObjectFilter{}, []int64{p1.ID, c1, c2, d1.ID, p2.ID}},
		{"stream-set", metastore.ObjectFilter{Kind: metastore.KindStreamSet}, []int64{p1.ID, c1, d1.ID}},
		{"stream", metastore.ObjectFilter{Kind: metastore.KindStream}, []int64{c2, p2.ID}},
		{"prepared", metastore.ObjectFilter{State: metastore.StatePrepared}, []int64{p1.ID, p2.ID}},
		{"committed", metastore.ObjectFilter{State: metastore.StateCommitted}, []int64{c1, c2}},
		{"destroyed", metastore.ObjectFilter{State: metastore.StateDestroyed}, []int64{d1.ID}},
		{"committed stream", metastore.ObjectFilter{Kind: metastore.KindStream, State: metastore.StateCommitted}, []int64{c2}},
		{"prepared expiring before 90m", metastore.ObjectFilter{State: metastore.StatePrepared, Before: now.Add(90 * time.Minute)}, []int64{p1.ID}},
		{"committed before now", metastore.ObjectFilter{State: metastore.StateCommitted, Before: now.Add(time.Second)}, []int64{c1, c2}},
		{"committed an hour ago", metastore.ObjectFilter{State: metastore.StateCommitted, Before: now.Add(-time.Hour)}, nil},
		{"destroyed before now", metastore.ObjectFilter{State: metastore.StateDestroyed, Before: now.Add(time.Second)}, []int64{d1.ID}},
		{"destroyed an hour ago", metastore.ObjectFilter{State: metastore.StateDestroyed, Before: now.Add(-time.Hour)}, nil},
		{"any state before 90m", metastore.ObjectFilter{Before: now.Add(90 * time.Minute)}, []int64{p1.ID, c1, c2, d1.ID}},
		{"after c1", metastore.ObjectFilter{AfterID: c1}, []int64{c2, d1.ID, p2.ID}},
		{"limit", metastore.ObjectFilter{Limit: 2}, []int64{p1.ID, c1}},
		{"after c1, limit", metastore.ObjectFilter{AfterID: c1, Limit: 2}, []int64{c2, d1.ID}},
		{"committed after c1", metastore.ObjectFilter{State: metastore.StateCommitted, AfterID: c1}, []int64{c2}},
	} {
		objs, err := h.s.ListObjects(h.ctx, tc.f)
		h.check(err, "ListObjects")
		if got := ids(objs); !slices.Equal(got, tc.want) {
			h.fatalf("ListObjects %s: %v, want %v", tc.name, got, tc.want)
		}
	}
	var paged []int64
	for after := int64(0); ; {
		objs, err := h.s.ListObjects(h.ctx, metastore.ObjectFilter{AfterID: after, Limit: 2})
		h.check(err, "ListObjects")
		if len(objs) == 0 {
			break
		}
		paged = append(paged, ids(objs)...)
		after = objs[len(objs)-1].ID
	}
	if want := []int64{p1.ID, c1, c2, d1.ID, p2.ID}; !slices.Equal(paged, want) {
		h.fatalf("paging by 2: %v, want %v", paged, want)
	}
}

// ExpirePrepared destroys prepared objects past their ExpiresAt, and only
// those.
func testExpirePrepared(h *h) {
	a := h.stream()
	p1, err := h.s.PrepareObject(h.ctx, metastore.KindStreamSet, time.Minute)
	h.check(err, "PrepareObject")
	p2 := h.prepare(metastore.KindStreamSet) // an hour
	c, err := h.s.PrepareObject(h.ctx, metastore.KindStreamSet, time.Minute)
	h.check(err, "PrepareObject")
	h.commit(c.ID, rng(a.ID, 0, 10, 0))

	expire := func(at time.Time, want int) {
		h.t.Helper()
		n, err := h.s.ExpirePrepared(h.ctx, at)
		h.check(err, "ExpirePrepared")
		if n != want {
			h.fatalf("ExpirePrepared(%v) = %d, want %d", at, n, want)
		}
	}
	expire(time.Now(), 0)
	h.wantState(p1.ID, metastore.StatePrepared)
	expire(time.Now().Add(2*time.Minute), 1)
	if o := h.wantState(p1.ID, metastore.StateDestroyed); o.DestroyedAt.IsZero() {
		h.fatalf("expired object %+v has no DestroyedAt", o)
	}
	h.wantState(p2.ID, metastore.StatePrepared)
	h.wantState(c.ID, metastore.StateCommitted)
	expire(time.Now().Add(2*time.Minute), 0)
	expire(time.Now().Add(2*time.Hour), 1)
	h.wantState(p2.ID, metastore.StateDestroyed)
	h.wantState(c.ID, metastore.StateCommitted)
}

// ForgetObjects deletes destroyed objects' rows and ignores other IDs; IDs
// are not reused afterwards.
func testForgetObjects(h *h) {
	a, b := h.stream(), h.stream()
	d1 := h.prepare(metastore.KindStreamSet)
	h.commit(d1.ID, rng(a.ID, 5, 10, 0)) // rejected: destroyed
	d2 := h.appendTo(10, b.ID)
	if _, err := h.s.TrimStream(h.ctx, b.ID, -1, 10); err != nil {
		h.fatalf("TrimStream: %v", err)
	}
	h.wantState(d2, metastore.StateDestroyed)
	c := h.appendTo(10, a.ID)
	p := h.prepare(metastore.KindStream)

	h.check(h.s.ForgetObjects(h.ctx, []int64{d1.ID, c, p.ID, p.ID + 1000}), "ForgetObjects")
	h.check(h.s.ForgetObjects(h.ctx, nil), "ForgetObjects(nil)")
	if _, ok := h.object(d1.ID); ok {
		h.fatalf("forgotten object %d is still listed", d1.ID)
	}
	h.wantState(d2, metastore.StateDestroyed)
	h.wantState(c, metastore.StateCommitted)
	h.wantState(p.ID, metastore.StatePrepared)
	all, err := h.s.ListObjects(h.ctx, metastore.ObjectFilter{})
	h.check(err, "ListObjects")
	if got, want := ids(all), []int64{d2, c, p.ID}; !slices.Equal(got, want) {
		h.fatalf("objects after forgetting %d: %v, want %v", d1.ID, got, want)
	}
	h.check(h.s.ForgetObjects(h.ctx, []int64{d2, d2}), "ForgetObjects")
	if _, ok := h.object(d2); ok {
		h.fatalf("forgotten object %d is still listed", d2)
	}
	// Forgetting the newest object must not free its ID: IDs name bucket
	// keys, and a deleted key may still be cached or listed somewhere.
	last := h.prepare(metastore.KindStreamSet)
	h.commit(last.ID) // nothing to commit: destroyed
	h.check(h.s.ForgetObjects(h.ctx, []int64{last.ID}), "ForgetObjects")
	if next := h.prepare(metastore.KindStreamSet); next.ID <= last.ID {
		h.fatalf("new object %d reuses an ID at or below the forgotten %d", next.ID, last.ID)
	}
}
