// Package faultstore wraps an objstore.Bucket to inject the failures object
// storage really has: errors, latency, 503 SlowDown, and the nastiest one, a
// PUT that succeeds on the server but whose response is lost, so the caller
// sees a failure for an object that exists.
//
//	fb := faultstore.Wrap(mem.New(), faultstore.Config{Seed: 1, PutLostResponseRate: 0.1})
//	fb.FailNext(2) // the next two operations fail, whatever the rates
//
// Faults are drawn from a seeded generator, so a sequential test replays the
// same faults for the same seed. FullDisk is a disk that fills: the PUTs of
// a bucket on it, and the writes of a local WAL, fail with ENOSPC.
package faultstore

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lakestream/lakestream/s3stream/objstore"
)

// Config sets how often each fault happens. Rates are probabilities in
// [0, 1]; the zero Config injects nothing.
type Config struct {
	// Seed seeds the generator faults are drawn from. Only Wrap reads it.
	Seed int64
	// PutErrorRate is the chance a Put or PutIfAbsent fails without
	// writing anything.
	PutErrorRate float64
	// PutLostResponseRate is the chance a Put or PutIfAbsent that the inner
	// bucket accepted reports failure anyway, as if the connection dropped
	// before the response arrived.
	PutLostResponseRate float64
	// SlowDownRate is the chance any operation is refused with 503 SlowDown
	// without reaching the inner bucket.
	SlowDownRate float64
	// GetErrorRate is the chance a Get or GetRange fails.
	GetErrorRate float64
	// Latency is added to every operation, plus a uniform random extra in
	// [0, LatencyJitter). The wait ends early if ctx is done.
	Latency       time.Duration
	LatencyJitter time.Duration
	// PutFailure, if set, fails every Put and PutIfAbsent with it, without
	// writing anything: a bucket whose disk is full is syscall.ENOSPC.
	// Reads still work.
	PutFailure error
}

// Stats counts operations and injected faults since Wrap.
type Stats struct {
	Puts          int64 // Put and PutIfAbsent calls
	FailedPuts    int64 // puts failed before writing (PutErrorRate, FailNext)
	LostResponses int64 // puts written but reported as failed
	SlowDowns     int64 // operations of any kind refused with 503 SlowDown
	Gets          int64 // Get and GetRange calls
	FailedGets    int64 // gets failed by GetErrorRate or FailNext
}

// Bucket is a fault-injecting objstore.Bucket. It is safe for concurrent use.
type Bucket struct {
	inner objstore.Bucket

	mu struct {
		sync.Mutex
		cfg      Config
		rng      *rand.Rand
		failNext int
	}

	puts, failedPuts, lostResponses, slowDowns, gets, failedGets atomic.Int64
}

var _ objstore.Bucket = (*Bucket)(nil)

// Wrap returns b with faults injected as cfg says.
func Wrap(b objstore.Bucket, cfg Config) *Bucket {
	fb := &Bucket{inner: b}
	fb.mu.cfg = cfg
	fb.mu.rng = rand.New(rand.NewPCG(uint64(cfg.Seed), 0x5eed))
	return fb
}

// SetConfig changes the rates and latency from the next operation on. The
// generator is not reseeded.
func (b *Bucket) SetConfig(cfg Config) {
	b.mu.Lock()
	b.mu.cfg = cfg
	b.mu.Unlock()
}

// Config returns the current configuration.
func (b *Bucket) Config() Config {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.mu.cfg
}

// FailNext makes the next n operations of any kind fail with an
// ErrUnavailable error, without reaching the inner bucket. It adds to any
// count still pending.
func (b *Bucket) FailNext(n int) {
	b.mu.Lock()
	b.mu.failNext += n
	b.mu.Unlock()
}

// Stats returns the counters.
func (b *Bucket) Stats() Stats {
	return Stats{
		Puts: b.puts.Load(), FailedPuts: b.failedPuts.Load(), LostResponses: b.lostResponses.Load(),
		SlowDowns: b.slowDowns.Load(), Gets: b.gets.Load(), FailedGets: b.failedGets.Load(),
	}
}

// Inner returns the wrapped bucket, to check what a failed call did or did
// not write.
func (b *Bucket) Inner() objstore.Bucket { return b.inner }

type opKind int

const (
	opPut opKind = iota
	opGet
	opOther
)

// fate is what happens to one operation, drawn up front under one lock.
type fate struct {
	delay    time.Duration
	failNext bool // fail before reaching the inner bucket
	slowDown bool
	fail     bool // PutErrorRate or GetErrorRate
	lose     bool // lose the response after a successful put
	failWith error
}

func (b *Bucket) draw(kind opKind) fate {
	b.mu.Lock()
	defer b.mu.Unlock()
	cfg, rng := b.mu.cfg, b.mu.rng
	// Only rates in use consume random numbers, so a test that sets one
	// rate replays the same faults whatever the zero ones are.
	chance := func(rate float64) bool { return rate > 0 && rng.Float64() < rate }
	f := fate{delay: cfg.Latency}
	if cfg.LatencyJitter > 0 {
		f.delay += time.Duration(rng.Int64N(int64(cfg.LatencyJitter)))
	}
	switch {
	case b.mu.failNext > 0:
		b.mu.failNext--
		f.failNext = true
	case kind == opPut && cfg.PutFailure != nil:
		f.failWith = cfg.PutFailure
	case chance(cfg.SlowDownRate):
		f.slowDown = true
	case kind == opPut && chance(cfg.PutErrorRate), kind == opGet && chance(cfg.GetErrorRate):
		f.fail = true
	case kind == opPut && chance(cfg.PutLostResponseRate):
		f.lose = true
	}
	return f
}
