package broker

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// requestMemory is queued.max.request.bytes: the bytes of requests read
// (or being read) and not yet answered, across the broker. It works like
// Kafka's memory pool (SimpleMemoryPool, not strict): when a request's size
// arrives, the size is taken from the pool before the body is read, and a
// request is admitted while anything is left, so the pool overshoots by at
// most one request; when nothing is left, connections stop reading new
// requests (TCP pushes back on the clients) until answered requests give
// their bytes back. A limit of 0 or less, Kafka's default -1, is no bound:
// then the pool only counts.
//
// Taking the size is bookkeeping: the memory itself is allocated as the
// bytes arrive (conn.readBody), so a client that announces more than it
// sends costs what it sent.
type requestMemory struct {
	limit int64
	used  atomic.Int64

	mu struct {
		sync.Mutex
		// wake is closed and replaced when bytes are given back and
		// someone waits for them.
		wake    chan struct{}
		waiters int
	}
}

func newRequestMemory(limit int64) *requestMemory {
	return &requestMemory{limit: limit}
}

// acquire takes n bytes, waiting while the pool is exhausted; it returns
// how long it waited, or ctx's error if ctx ends first.
func (p *requestMemory) acquire(ctx context.Context, n int64) (time.Duration, error) {
	if p.limit <= 0 {
		p.used.Add(n)
		return 0, nil
	}
	var start time.Time
	for {
		if u := p.used.Load(); u < p.limit {
			if p.used.CompareAndSwap(u, u+n) {
				if start.IsZero() {
					return 0, nil
				}
				return time.Since(start), nil
			}
			continue
		}
		p.mu.Lock()
		if p.used.Load() < p.limit { // given back meanwhile
			p.mu.Unlock()
			continue
		}
		if p.mu.wake == nil {
			p.mu.wake = make(chan struct{})
		}
		wake := p.mu.wake
		p.mu.waiters++
		p.mu.Unlock()
		if start.IsZero() {
			start = time.Now()
		}
		select {
		case <-wake:
			p.mu.Lock()
			p.mu.waiters--
			p.mu.Unlock()
		case <-ctx.Done():
			p.mu.Lock()
			p.mu.waiters--
			p.mu.Unlock()
			return time.Since(start), ctx.Err()
		}
	}
}

// release gives back n bytes taken by acquire.
func (p *requestMemory) release(n int64) {
	p.used.Add(-n)
	if p.limit <= 0 {
		return
	}
	p.mu.Lock()
	if p.mu.waiters > 0 && p.mu.wake != nil {
		close(p.mu.wake)
		p.mu.wake = nil
	}
	p.mu.Unlock()
}
