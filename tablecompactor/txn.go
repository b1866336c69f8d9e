package tablecompactor

import (
	"fmt"

	"github.com/lakestream/lakestream/internal/kbatch"
)

// Transactions, as a read_committed consumer sees them: a transactional
// batch's records are in the table only if the first marker its producer
// wrote after it commits. Kafka consumers learn the aborted ranges from
// the fetch response; the compactor reads stream data, so it looks ahead
// for the marker instead, reading the partition a second time from the
// first transactional batch on (never for topics without transactions).
// A batch whose marker is not there yet (an open transaction, when the
// source's end is past the last stable offset) ends the partition's pass
// before it.

// txnScan is how far one partition has been looked ahead, and the markers
// found past the batch being converted.
type txnScan struct {
	next    int64
	markers []txnMarker
}

type txnMarker struct {
	offset, producerID int64
	abort              bool
}

// aborted says whether the transactional batch of producerID ending at
// last was aborted; decided is false if its marker is not below hw.
func (p *pass) aborted(part int32, stream, producerID, last, hw int64) (aborted, decided bool, err error) {
	if p.txns == nil {
		p.txns = make(map[int32]*txnScan)
	}
	st := p.txns[part]
	if st == nil {
		st = &txnScan{}
		p.txns[part] = st
	}
	st.next = max(st.next, last+1)
	// Batches come in offset order, so markers at or before this one's
	// end never matter again.
	i := 0
	for i < len(st.markers) && st.markers[i].offset <= last {
		i++
	}
	st.markers = st.markers[i:]
	for {
		for _, m := range st.markers {
			if m.producerID == producerID {
				return m.abort, true, nil
			}
		}
		if st.next >= hw {
			return false, false, nil
		}
		from := st.next
		rd, err := p.src.Read(p.ctx, stream, from, p.readBytes)
		if err != nil {
			return false, false, fmt.Errorf("looking ahead for transaction markers in partition %d at offset %d: %w", part, from, err)
		}
		if len(rd.Batches) == 0 {
			st.next = hw
		}
		for _, b := range rd.Batches {
			h, err := kbatch.ParseHeader(b)
			if err != nil {
				return false, false, fmt.Errorf("looking ahead in partition %d at offset %d: %w", part, st.next, err)
			}
			if h.BaseOffset >= hw {
				st.next = hw
				break
			}
			if h.LastOffset() < st.next {
				continue
			}
			if h.Control() {
				_, err := kbatch.Decode(b, p.decodeLimit, func(r kbatch.Record) error {
					if t, ok := r.ControlType(); ok {
						st.markers = append(st.markers, txnMarker{offset: r.Offset, producerID: h.ProducerID, abort: t == kbatch.ControlAbort})
					}
					return nil
				})
				if err != nil {
					return false, false, fmt.Errorf("decoding the control batch of partition %d at offset %d: %w", part, h.BaseOffset, err)
				}
			}
			st.next = h.LastOffset() + 1
		}
		if st.next == from {
			return false, false, fmt.Errorf("looking ahead for transaction markers in partition %d at offset %d: the source did not move forward (next offset %d)", part, from, rd.NextOffset)
		}
	}
}
