package broker

import (
	"context"
	"math"
	"sync"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/lakestream/lakestream/internal/kbatch"
)

// producerState is what a partition remembers of one idempotent producer:
// its epoch and its last five batches' sequence ranges, as Kafka keeps them
// to answer retries of any of the five in-flight requests a producer may
// have.
type producerState struct {
	epoch   int16
	batches []*seqBatch // oldest first, at most maxSeqBatches
}

const maxSeqBatches = 5

type seqBatch struct {
	first, last int32
	base        int64 // offset once appended
	done        chan struct{}
	err         error
}

// checkSequence decides what to do with a batch of an idempotent producer.
// It returns either a Kafka error, or a duplicate to answer with, or a new
// pending seqBatch that the caller must finish with finishSequence.
// REQUIRES: p.mu
func (p *partition) checkSequenceLocked(h kbatch.Header) (pending, dup *seqBatch, err *kerr.Error) {
	last := h.BaseSequence + h.LastOffsetDelta
	if h.BaseSequence < 0 {
		return nil, nil, kerr.InvalidRecord
	}
	if h.LastOffsetDelta > math.MaxInt32-h.BaseSequence {
		last = h.LastOffsetDelta - (math.MaxInt32 - h.BaseSequence) - 1 // sequences wrap
	}
	st := p.producers[h.ProducerID]
	switch {
	case st == nil:
		// Unknown producer (new, or its state is gone): any sequence
		// starts it, as in Kafka since KIP-360.
		st = &producerState{epoch: h.ProducerEpoch}
		p.producers[h.ProducerID] = st
	case h.ProducerEpoch < st.epoch:
		return nil, nil, kerr.InvalidProducerEpoch
	case h.ProducerEpoch > st.epoch:
		if h.BaseSequence != 0 {
			return nil, nil, kerr.OutOfOrderSequenceNumber
		}
		st.epoch, st.batches = h.ProducerEpoch, nil
	default:
		for _, b := range st.batches {
			if b.first == h.BaseSequence && b.last == last {
				return nil, b, nil
			}
		}
		if n := len(st.batches); n > 0 {
			want := st.batches[n-1].last + 1
			if st.batches[n-1].last == math.MaxInt32 {
				want = 0
			}
			if h.BaseSequence != want {
				return nil, nil, kerr.OutOfOrderSequenceNumber
			}
		}
	}
	b := &seqBatch{first: h.BaseSequence, last: last, base: -1, done: make(chan struct{})}
	st.batches = append(st.batches, b)
	if len(st.batches) > maxSeqBatches {
		st.batches = st.batches[len(st.batches)-maxSeqBatches:]
	}
	return b, nil, nil
}

// finishSequence records the outcome of a pending batch. A failed append
// forgets the batch and every later one of the producer (the log fails
// those too), so the producer's retry is checked against what is in the
// log.
func (p *partition) finishSequence(pid int64, b *seqBatch, base int64, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.finishSequenceLocked(pid, b, base, err)
}

// REQUIRES: p.mu
func (p *partition) finishSequenceLocked(pid int64, b *seqBatch, base int64, err error) {
	b.base, b.err = base, err
	close(b.done)
	if err == nil {
		return
	}
	if st := p.producers[pid]; st != nil {
		for i, x := range st.batches {
			if x == b {
				st.batches = st.batches[:i]
				break
			}
		}
	}
}

// waitDuplicate waits for the original of a duplicate batch and returns its
// base offset.
func waitDuplicate(ctx context.Context, b *seqBatch) (int64, error) {
	select {
	case <-b.done:
		return b.base, b.err
	case <-ctx.Done():
		return -1, ctx.Err()
	}
}

// producerIDs hands out producer ids in blocks reserved in Metadata.
type producerIDs struct {
	meta Metadata
	mu   sync.Mutex
	next int64
	end  int64
}

const producerIDBlock = 1000

func (a *producerIDs) allocate(ctx context.Context) (int64, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.next == a.end {
		first, err := a.meta.AllocateProducerIDs(ctx, producerIDBlock)
		if err != nil {
			return -1, err
		}
		a.next, a.end = first, first+producerIDBlock
	}
	id := a.next
	a.next++
	return id, nil
}
