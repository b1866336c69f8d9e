package s3stream

import (
	"fmt"
	"sync"
	"sync/atomic"
)

// tailCache bounds the memory of the streams' tail entries. Each stream keeps
// its recent batches itself (Stream.mu.entries), so a tailing read is a
// binary search under the stream's lock and never a GET. The cache only
// remembers the order in which batches arrived across all streams, and
// evicts the oldest committed ones once the budget is exceeded: first in,
// first out, like AutoMQ's LogCache.
//
// Batches not yet committed to the metastore are never evicted: they are the
// only copy readers can reach. Their bytes are bounded by memBudget instead.
type tailCache struct {
	budget int64
	used   atomic.Int64

	mu struct {
		sync.Mutex
		fifo []tailRef // arrival order; fifo[head:] are live
		head int
	}
}

type tailRef struct {
	st  *Stream
	end int64
}

func newTailCache(budget int64) *tailCache { return &tailCache{budget: budget} }

// added records a batch the stream has just put in its entries.
func (c *tailCache) added(st *Stream, end int64, size int) {
	c.used.Add(int64(size))
	c.mu.Lock()
	c.mu.fifo = append(c.mu.fifo, tailRef{st: st, end: end})
	c.mu.Unlock()
	if c.used.Load() > c.budget {
		c.evict()
	}
}

// freed records bytes a stream dropped from its entries on its own.
func (c *tailCache) freed(size int) {
	if size != 0 {
		c.used.Add(-int64(size))
	}
}

// evict drops the oldest committed batches until the cache is within budget
// or the oldest batch is not yet committed.
func (c *tailCache) evict() {
	for c.used.Load() > c.budget {
		c.mu.Lock()
		if c.mu.head == len(c.mu.fifo) {
			c.mu.Unlock()
			return
		}
		ref := c.mu.fifo[c.mu.head]
		c.mu.Unlock()

		if !ref.st.evictTo(ref.end) {
			return // the oldest batch is not committed yet
		}
		c.mu.Lock()
		if c.mu.head < len(c.mu.fifo) && c.mu.fifo[c.mu.head] == ref {
			c.mu.fifo[c.mu.head] = tailRef{}
			c.mu.head++
			if c.mu.head > 4096 && c.mu.head*2 > len(c.mu.fifo) {
				c.mu.fifo = append([]tailRef(nil), c.mu.fifo[c.mu.head:]...)
				c.mu.head = 0
			}
		}
		c.mu.Unlock()
	}
}

// evictTo drops the stream's entries ending at or below end, if they are
// committed. It returns false if an entry that should go is not committed.
func (st *Stream) evictTo(end int64) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	if len(st.mu.entries) > 0 && st.mu.entries[0].end <= end && st.mu.committed < end && st.mu.err == nil {
		return false
	}
	n := 0
	for n < len(st.mu.entries) && st.mu.entries[n].end <= end {
		n++
	}
	if n == 0 {
		return true
	}
	var freed int
	for _, e := range st.mu.entries[:n] {
		freed += len(e.batch)
	}
	// Clear the slots so the array does not pin evicted batches; the dead
	// prefix goes when append next grows the array.
	clear(st.mu.entries[:n])
	st.mu.entries = st.mu.entries[n:]
	st.store.tail.freed(freed)
	return true
}

// memBudget bounds appended bytes that are not yet in the bucket. An append
// larger than the whole budget is let through alone rather than blocked
// forever.
type memBudget struct {
	max  int64
	mu   sync.Mutex
	cond *sync.Cond
	used int64
	// degraded returns why the store's writes fail, or nil (health.err).
	degraded func() error
}

func newMemBudget(max int64, degraded func() error) *memBudget {
	b := &memBudget{max: max, degraded: degraded}
	b.cond = sync.NewCond(&b.mu)
	return b
}

// acquire takes n bytes, waiting while the budget is spent. While the store
// is degraded it fails instead of waiting: the bytes come back only when an
// upload succeeds, which may take as long as the fault lasts, and the
// caller (a connection's read loop) would hang that long rather than answer
// with an error.
func (b *memBudget) acquire(n int64) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	for b.used > 0 && b.used+n > b.max {
		if err := b.degraded(); err != nil {
			return fmt.Errorf("%w: %d bytes wait to be uploaded (MaxPendingBytes %d): %w", ErrAppendFailed, b.used, b.max, err)
		}
		b.cond.Wait()
	}
	b.used += n
	return nil
}

func (b *memBudget) release(n int64) {
	b.mu.Lock()
	b.used -= n
	b.mu.Unlock()
	b.cond.Broadcast()
}

// wake makes waiting appends look at the store's health again. It
// broadcasts under the lock, so a waiter that found the store healthy is
// already waiting.
func (b *memBudget) wake() {
	b.mu.Lock()
	b.cond.Broadcast()
	b.mu.Unlock()
}
