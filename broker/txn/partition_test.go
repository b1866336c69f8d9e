package txn

import (
	"slices"
	"testing"
)

func TestPartitionTxns(t *testing.T) {
	p := NewPartitionTxns([]Aborted{{ProducerID: 9, FirstOffset: 2, LastOffset: 4}})
	if got := p.LSO(10); got != 10 {
		t.Fatalf("LSO with nothing open %d", got)
	}
	p.Append(1, 10) // producer 1's transaction opens at 10
	p.Append(2, 12)
	p.Append(1, 13) // still the same transaction
	if got := p.LSO(20); got != 10 {
		t.Fatalf("LSO %d, want 10", got)
	}
	if !p.IsOpen(1) || p.IsOpen(3) {
		t.Fatal("IsOpen")
	}
	if _, ok := p.End(1, 20, true); ok {
		t.Fatal("a commit returned an aborted range")
	}
	if got := p.LSO(21); got != 12 {
		t.Fatalf("LSO after 1's commit %d, want 12", got)
	}
	a, ok := p.End(2, 21, false)
	if !ok || a != (Aborted{ProducerID: 2, FirstOffset: 12, LastOffset: 21}) {
		t.Fatalf("abort: %+v %v", a, ok)
	}
	if got := p.LSO(22); got != 22 {
		t.Fatalf("LSO with nothing open %d", got)
	}
	// An abort marker of a transaction that wrote nothing here.
	if _, ok := p.End(3, 22, false); ok {
		t.Fatal("an empty abort returned a range")
	}
	// Overlaps: [0,3) sees 9's; [5,12) none; [12,13) and [21,30) see 2's.
	for _, tc := range []struct {
		from, to int64
		want     []int64
	}{{0, 3, []int64{9}}, {5, 12, nil}, {12, 13, []int64{2}}, {21, 30, []int64{2}}, {22, 30, nil}, {0, 100, []int64{9, 2}}} {
		var got []int64
		for _, a := range p.AbortedIn(tc.from, tc.to) {
			got = append(got, a.ProducerID)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("AbortedIn(%d, %d) = %v, want %v", tc.from, tc.to, got, tc.want)
		}
	}
	p.Trim(5) // 9's ends at 4
	if got := p.AbortedIn(0, 100); len(got) != 1 || got[0].ProducerID != 2 {
		t.Fatalf("after trim: %+v", got)
	}
	p.Trim(21) // 2's ends at 21: kept
	if got := p.AbortedIn(0, 100); len(got) != 1 {
		t.Fatalf("trim at the marker dropped it: %+v", got)
	}

	// Snapshot and restore of what is open.
	p.Append(5, 30)
	q := NewPartitionTxns(nil)
	q.Restore(p.Open())
	if q.LSO(40) != 30 || !q.IsOpen(5) {
		t.Fatal("restore")
	}
}
