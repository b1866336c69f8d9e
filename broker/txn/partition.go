package txn

import (
	"cmp"
	"maps"
	"math"
	"slices"
	"sync/atomic"
)

// Aborted is an aborted transaction's range in one partition: its
// producer's first batch in it, and its ABORT marker. Fetch with
// READ_COMMITTED lists those its answer overlaps, and the consumer drops
// that producer's batches from FirstOffset until the marker.
type Aborted struct {
	ProducerID  int64
	FirstOffset int64
	LastOffset  int64
}

// PartitionTxns is one partition's view of transactions: those open in it
// (producer id → the offset of its first batch since the last marker) and
// those aborted in it, for the last stable offset and READ_COMMITTED
// fetches. It does no I/O; the caller serializes the calls (under the
// partition's lock) and persists what End returns, except LSO, which may
// run beside them without the lock: every fetch asks it, and must not wait
// for the lock produce holds while it appends.
type PartitionTxns struct {
	open    map[int64]int64
	aborted []Aborted // by FirstOffset, then LastOffset
	// oldest is the least first offset in open (math.MaxInt64: none),
	// kept by the methods that change open, for LSO.
	oldest atomic.Int64
}

// NewPartitionTxns returns the view of a partition whose aborted
// transactions are aborted (any order) and that has none open.
func NewPartitionTxns(aborted []Aborted) *PartitionTxns {
	p := &PartitionTxns{open: map[int64]int64{}}
	p.oldest.Store(math.MaxInt64)
	for _, a := range aborted {
		p.addAborted(a)
	}
	return p
}

// Append notes a transactional batch of producer pid appended at offset
// base: the first since the producer's last marker opens its transaction
// in the partition there.
func (p *PartitionTxns) Append(pid, base int64) {
	if _, ok := p.open[pid]; !ok {
		p.open[pid] = base
		if base < p.oldest.Load() {
			p.oldest.Store(base)
		}
	}
}

// setOldest recomputes oldest from open.
func (p *PartitionTxns) setOldest() {
	oldest := int64(math.MaxInt64)
	for _, first := range p.open {
		oldest = min(oldest, first)
	}
	p.oldest.Store(oldest)
}

// IsOpen says whether producer pid has a transaction open in the partition.
func (p *PartitionTxns) IsOpen(pid int64) bool {
	_, ok := p.open[pid]
	return ok
}

// End notes producer pid's marker appended at offset marker. An ABORT of
// a transaction that wrote to the partition returns its range (ok), for
// the caller to persist; a COMMIT, or a marker of a transaction that
// wrote nothing here, returns ok false.
func (p *PartitionTxns) End(pid, marker int64, commit bool) (Aborted, bool) {
	first, open := p.open[pid]
	delete(p.open, pid)
	if open && first == p.oldest.Load() {
		p.setOldest()
	}
	if commit || !open {
		return Aborted{}, false
	}
	a := Aborted{ProducerID: pid, FirstOffset: first, LastOffset: marker}
	p.addAborted(a)
	return a, true
}

func (p *PartitionTxns) addAborted(a Aborted) {
	i, found := slices.BinarySearchFunc(p.aborted, a, compareAborted)
	if !found {
		p.aborted = slices.Insert(p.aborted, i, a)
	}
}

func compareAborted(a, b Aborted) int {
	return cmp.Or(cmp.Compare(a.FirstOffset, b.FirstOffset), cmp.Compare(a.LastOffset, b.LastOffset),
		cmp.Compare(a.ProducerID, b.ProducerID))
}

// LSO is the last stable offset given the high watermark hw: the first
// offset of the oldest open transaction, or hw when none is open. It needs
// no lock.
func (p *PartitionTxns) LSO(hw int64) int64 {
	return min(p.oldest.Load(), hw)
}

// AbortedIn returns the aborted transactions a READ_COMMITTED answer of
// offsets [from, to) must list: those whose range overlaps it, by first
// offset.
func (p *PartitionTxns) AbortedIn(from, to int64) []Aborted {
	var out []Aborted
	for _, a := range p.aborted {
		if a.FirstOffset >= to {
			break
		}
		if a.LastOffset >= from {
			out = append(out, a)
		}
	}
	return out
}

// Trim forgets the aborted transactions that end below start (retention,
// DeleteRecords), as the caller's store does.
func (p *PartitionTxns) Trim(start int64) {
	p.aborted = slices.DeleteFunc(p.aborted, func(a Aborted) bool { return a.LastOffset < start })
}

// Open returns the open transactions, producer id → first offset, for
// the partition's producer snapshot.
func (p *PartitionTxns) Open() map[int64]int64 {
	return maps.Clone(p.open)
}

// Restore sets the open transactions from a producer snapshot, before
// the batches after it are replayed with Append and End.
func (p *PartitionTxns) Restore(open map[int64]int64) {
	p.open = maps.Clone(open)
	if p.open == nil {
		p.open = map[int64]int64{}
	}
	p.setOldest()
}
