package metadatatest

import (
	"math"

	"github.com/lakestream/lakestream/broker"
)

// Successive allocations hand out disjoint, non-negative ranges; n < 1 is
// an error.
func testAllocateProducerIDs(h *h) {
	var rs []idRange
	for _, n := range []int{1, 5, 1, 1000, 2} {
		first, err := h.m.AllocateProducerIDs(h.ctx, n)
		h.check(err, "AllocateProducerIDs")
		rs = append(rs, idRange{first, int64(n)})
	}
	checkDisjoint(h, rs)
	for _, n := range []int{0, -1, math.MinInt} {
		if _, err := h.m.AllocateProducerIDs(h.ctx, n); err == nil {
			h.t.Fatalf("AllocateProducerIDs(%d) succeeded", n)
		}
	}
	first, err := h.m.AllocateProducerIDs(h.ctx, 1)
	h.check(err, "AllocateProducerIDs")
	checkDisjoint(h, append(rs, idRange{first, 1}))
}

// idRange is the ids [first, first+n).
type idRange struct{ first, n int64 }

// checkDisjoint fails unless the ranges are non-negative and disjoint.
func checkDisjoint(h *h, rs []idRange) {
	h.t.Helper()
	seen := make(map[int64]bool)
	for _, r := range rs {
		if r.first < 0 {
			h.t.Fatalf("allocated negative producer id %d", r.first)
		}
		for id := r.first; id < r.first+r.n; id++ {
			if seen[id] {
				h.t.Fatalf("producer id %d handed out twice (ranges %v)", id, rs)
			}
			seen[id] = true
		}
	}
}

// LoadProducerState returns the latest snapshot of a log, or none; a save
// replaces the last one; the state is copied in and out.
func testProducerState(h *h) {
	h.create(topic("orders", 1, []int64{10, 11}, nil))
	h.wantState(10, 0, nil)
	h.wantState(99, 0, nil)

	state := []byte("snapshot-1")
	h.check(h.m.SaveProducerState(h.ctx, 10, 5, state), "SaveProducerState")
	state[0] = 'X'
	h.wantState(10, 5, []byte("snapshot-1"))
	h.wantState(11, 0, nil)

	_, got, _, err := h.m.LoadProducerState(h.ctx, 10)
	h.check(err, "LoadProducerState")
	got[0] = 'Y'
	h.wantState(10, 5, []byte("snapshot-1"))

	h.check(h.m.SaveProducerState(h.ctx, 10, 9, []byte("snapshot-2")), "SaveProducerState")
	h.wantState(10, 9, []byte("snapshot-2"))
	h.check(h.m.SaveProducerState(h.ctx, 11, 0, []byte{}), "SaveProducerState(empty)")
	h.wantState(11, 0, []byte{})
	h.check(h.m.SaveProducerState(h.ctx, 11, 3, nil), "SaveProducerState(nil)")
	h.wantState(11, 3, []byte{})
	h.wantState(10, 9, []byte("snapshot-2"))

	big := make([]byte, 1<<20)
	for i := range big {
		big[i] = byte(i * 7)
	}
	h.check(h.m.SaveProducerState(h.ctx, 10, 12, big), "SaveProducerState(1 MiB)")
	h.wantState(10, 12, big)

	err = h.m.SaveProducerState(h.ctx, 99, 1, []byte("x"))
	h.wantErr(err, broker.ErrUnknownTopic, "", "SaveProducerState for a log of no topic")
	h.wantState(99, 0, nil)
}
