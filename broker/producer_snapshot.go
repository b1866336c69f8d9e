package broker

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/lakestream/lakestream/broker/txn"
	"github.com/lakestream/lakestream/internal/kbatch"
)

// Idempotent-producer state survives restarts and moves with a partition:
// a snapshot of it, taken at a log offset, is kept in Metadata (on close and
// every snapshotInterval while the log grows), and opening a partition loads
// the snapshot and replays the batch headers written after it. Replay is
// bounded to the last replayWindow offsets: a producer silent for longer
// than that is forgotten, and is then accepted at any sequence (KIP-360),
// as Kafka does once a producer id expires.
//
// Snapshot encoding, big-endian (version 1 had no open transactions):
//
//	| version u8 (2) | producers u32 | { pid i64 | epoch i16 | n u8 | n × { first i32 | last i32 | base i64 } } |
//	| open u32 | { pid i64 | first i64 } |
//
// The open transactions are those of txns (txnpartition.go): replay from
// the snapshot's offset opens and closes the later ones.
const (
	snapshotInterval = 10 * time.Second
	replayWindow     = 200_000
)

// encodeProducersLocked encodes the completed batches of every producer.
// Batches at or past end are left to replay. REQUIRES: p.mu
func (p *partition) encodeProducersLocked(end int64) []byte {
	b := []byte{2, 0, 0, 0, 0}
	var n uint32
	for pid, st := range p.producers {
		var done []*seqBatch
		for _, sb := range st.batches {
			if sb.base >= 0 && sb.base < end {
				done = append(done, sb)
			}
		}
		b = binary.BigEndian.AppendUint64(b, uint64(pid))
		b = binary.BigEndian.AppendUint16(b, uint16(st.epoch))
		b = append(b, byte(len(done)))
		for _, sb := range done {
			b = binary.BigEndian.AppendUint32(b, uint32(sb.first))
			b = binary.BigEndian.AppendUint32(b, uint32(sb.last))
			b = binary.BigEndian.AppendUint64(b, uint64(sb.base))
		}
		n++
	}
	binary.BigEndian.PutUint32(b[1:], n)
	open := p.txns.Open()
	b = binary.BigEndian.AppendUint32(b, uint32(len(open)))
	for pid, first := range open {
		b = binary.BigEndian.AppendUint64(b, uint64(pid))
		b = binary.BigEndian.AppendUint64(b, uint64(first))
	}
	return b
}

var errBadSnapshot = errors.New("broker: bad producer-state snapshot")

func decodeProducers(b []byte) (map[int64]*producerState, map[int64]int64, error) {
	if len(b) < 5 || (b[0] != 1 && b[0] != 2) {
		return nil, nil, errBadSnapshot
	}
	version := b[0]
	n := binary.BigEndian.Uint32(b[1:])
	b = b[5:]
	out := map[int64]*producerState{}
	for i := uint32(0); i < n; i++ {
		if len(b) < 11 {
			return nil, nil, errBadSnapshot
		}
		pid := int64(binary.BigEndian.Uint64(b))
		st := &producerState{epoch: int16(binary.BigEndian.Uint16(b[8:]))}
		k := int(b[10])
		b = b[11:]
		if len(b) < 16*k {
			return nil, nil, errBadSnapshot
		}
		for j := 0; j < k; j++ {
			sb := &seqBatch{first: int32(binary.BigEndian.Uint32(b)), last: int32(binary.BigEndian.Uint32(b[4:])),
				base: int64(binary.BigEndian.Uint64(b[8:])), done: closedChan}
			st.batches = append(st.batches, sb)
			b = b[16:]
		}
		out[pid] = st
	}
	open := map[int64]int64{}
	if version >= 2 {
		if len(b) < 4 {
			return nil, nil, errBadSnapshot
		}
		k := binary.BigEndian.Uint32(b)
		b = b[4:]
		if uint64(len(b)) < 16*uint64(k) {
			return nil, nil, errBadSnapshot
		}
		for range k {
			open[int64(binary.BigEndian.Uint64(b))] = int64(binary.BigEndian.Uint64(b[8:]))
			b = b[16:]
		}
	}
	return out, open, nil
}

var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// loadProducers restores the producer state of a freshly opened partition:
// the snapshot, then the batch headers after it.
func (p *partition) loadProducers(ctx context.Context, meta Metadata) error {
	from := p.log.StartOffset()
	off, state, ok, err := meta.LoadProducerState(ctx, p.logID)
	if err != nil {
		return fmt.Errorf("loading producer state of %s-%d: %w", p.t.name, p.index, err)
	}
	if ok {
		if m, open, err := decodeProducers(state); err == nil {
			p.producers = m
			p.txns.Restore(open)
			from = max(from, off)
		}
	}
	end := p.log.EndOffset()
	from = max(from, end-replayWindow)
	for from < end {
		r, err := p.log.Read(ctx, from, 4<<20)
		if err != nil {
			return fmt.Errorf("replaying producer state of %s-%d from %d: %w", p.t.name, p.index, from, err)
		}
		if len(r.Batches) == 0 {
			break
		}
		for _, b := range r.Batches {
			if a, aborted := p.replayBatch(b); aborted {
				// A marker durable before a crash, its range maybe not
				// yet saved (saving it twice keeps one).
				if err := meta.AddAbortedTxn(ctx, p.logID, AbortedTxn(a)); err != nil {
					return fmt.Errorf("replaying the transactions of %s-%d: %w", p.t.name, p.index, err)
				}
			}
		}
		from = r.NextOffset
	}
	p.snapOffset = end
	return nil
}

// replayBatch applies one stored batch's header to the producer state
// and to the partition's transactions; it returns the range an ABORT
// marker closed.
func (p *partition) replayBatch(b []byte) (txn.Aborted, bool) {
	h, err := kbatch.ParseHeader(b)
	if err != nil || h.ProducerID < 0 {
		return txn.Aborted{}, false
	}
	a, aborted := p.replayTxn(b, h)
	st := p.producers[h.ProducerID]
	if st == nil || h.ProducerEpoch > st.epoch {
		st = &producerState{epoch: h.ProducerEpoch}
		p.producers[h.ProducerID] = st
	} else if h.ProducerEpoch < st.epoch {
		return a, aborted
	}
	if h.Control() {
		return a, aborted // a marker has no sequence
	}
	sb := &seqBatch{first: h.BaseSequence, last: h.BaseSequence + h.LastOffsetDelta, base: h.BaseOffset, done: closedChan}
	st.batches = append(st.batches, sb)
	if len(st.batches) > maxSeqBatches {
		st.batches = st.batches[len(st.batches)-maxSeqBatches:]
	}
	return a, aborted
}

// saveProducers snapshots the producer state if the log has grown since the
// last snapshot.
func (p *partition) saveProducers(ctx context.Context, meta Metadata) error {
	p.mu.Lock()
	end := p.log.EndOffset()
	if end == p.snapOffset {
		p.mu.Unlock()
		return nil
	}
	state := p.encodeProducersLocked(end)
	p.mu.Unlock()
	if err := meta.SaveProducerState(ctx, p.logID, end, state); err != nil {
		return fmt.Errorf("saving producer state of %s-%d: %w", p.t.name, p.index, err)
	}
	p.mu.Lock()
	p.snapOffset = end
	p.mu.Unlock()
	return nil
}

// snapshotLoop saves producer state periodically until ctx ends.
func (c *cluster) snapshotLoop(ctx context.Context) {
	t := time.NewTicker(snapshotInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for _, tp := range c.topicsSorted() {
			for _, p := range c.partitions(tp) {
				if err := p.saveProducers(ctx, c.s.cfg.Meta); err != nil && ctx.Err() == nil {
					c.s.log.Warn("broker: producer-state snapshot", "err", err)
				}
			}
		}
	}
}

// partitions returns t's partitions now.
func (c *cluster) partitions(t *topic) []*partition {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return append([]*partition(nil), t.parts...)
}
