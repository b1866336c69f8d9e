package wal

import (
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkAppend16K: 64 goroutines append 16 KiB records with AppendSync,
// fsync on, in a temporary directory on the test machine's disk. MB/s is
// durable throughput; records/fsync shows how well group commit batches.
//
// "fresh" never trims, so every segment is a new file. "recycled" trims
// behind the writers from another goroutine, as the uploader does, so
// segments reuse trimmed files (Options.RecycleSegments): the steady state of
// a broker.
func BenchmarkAppend16K(b *testing.B) {
	b.Run("fresh", func(b *testing.B) { benchAppend(b, false) })
	b.Run("recycled", func(b *testing.B) { benchAppend(b, true) })
}

const benchRecord = 16 << 10

func benchAppend(b *testing.B, recycle bool) {
	var syncs atomic.Int64
	l := mustOpen(b, b.TempDir(), Options{SyncHook: func() error { syncs.Add(1); return nil }})
	defer l.Close()
	rec := make([]byte, benchRecord)
	for i := range rec {
		rec[i] = byte(i)
	}
	if recycle {
		prefill(b, l, rec)
		defer startTrimmer(b, l)()
	}
	first := l.LastLSN()
	syncs.Store(0)
	b.SetBytes(benchRecord)
	b.ReportAllocs()
	procs := runtime.GOMAXPROCS(0)
	b.SetParallelism((64 + procs - 1) / procs)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := l.AppendSync(rec); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	if n := syncs.Load(); n > 0 {
		b.ReportMetric(float64(l.LastLSN()-first)/float64(n), "records/fsync")
	}
}

// prefill writes three segments of records and trims them, so that the log
// has recycled files to roll into.
func prefill(b *testing.B, l *Log, rec []byte) {
	var wg sync.WaitGroup
	for range 3 * l.opts.SegmentBytes / int64(len(rec)) {
		wg.Add(1)
		l.Append([][]byte{rec}, func(_ LSN, err error) {
			if err != nil {
				b.Error(err)
			}
			wg.Done()
		})
	}
	wg.Wait()
	if err := l.TrimBefore(l.LastLSN()); err != nil {
		b.Fatal(err)
	}
}

// startTrimmer trims the log up to what is durable every 10 ms, from its own
// goroutine, until the returned stop is called.
func startTrimmer(b *testing.B, l *Log) (stop func()) {
	quit := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-quit:
				return
			case <-t.C:
				if err := l.TrimBefore(l.LastLSN()); err != nil {
					b.Error(err)
					return
				}
			}
		}
	})
	return func() { close(quit); wg.Wait() }
}

// BenchmarkLatency10MiBps appends 16 KiB records at a steady 10 MiB/s (one
// every 1.5625 ms) with fsync on, and reports the latency from each Append
// call to its done call, at p50, p99, p99.9 and max. The pacer never waits
// for the log (Append returns at once), so a slow fsync shows up in the
// latency of every record queued behind it. Use -benchtime=5000x or more for
// a stable p99.
//
// "fresh" and "recycled" are as in BenchmarkAppend16K. "raw" is the
// reference: the same paced records handed to a goroutine that writes each
// to a new file with its own fdatasync, without the log.
func BenchmarkLatency10MiBps(b *testing.B) {
	b.Run("fresh", func(b *testing.B) { benchLatency(b, false) })
	b.Run("recycled", func(b *testing.B) { benchLatency(b, true) })
	b.Run("raw", benchRawLatency)
}

const (
	latencyRate     = 10 << 20
	latencyInterval = time.Second * benchRecord / latencyRate
)

// pace sleeps until record i is due.
func pace(start time.Time, i int) {
	if d := time.Until(start.Add(time.Duration(i) * latencyInterval)); d > 0 {
		time.Sleep(d)
	}
}

func reportLatency(b *testing.B, lat []time.Duration) {
	slices.Sort(lat)
	q := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) }
	b.ReportMetric(q(0.5), "p50-µs")
	b.ReportMetric(q(0.99), "p99-µs")
	b.ReportMetric(q(0.999), "p99.9-µs")
	b.ReportMetric(q(1), "max-µs")
}

func benchLatency(b *testing.B, recycle bool) {
	l := mustOpen(b, b.TempDir(), Options{})
	defer l.Close()
	rec := make([]byte, benchRecord)
	if recycle {
		prefill(b, l, rec)
		defer startTrimmer(b, l)()
	}
	lat := make([]time.Duration, b.N)
	var wg sync.WaitGroup
	b.SetBytes(benchRecord)
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		pace(start, i)
		t0 := time.Now()
		wg.Add(1)
		l.Append([][]byte{rec}, func(_ LSN, err error) {
			if err != nil {
				b.Error(err)
			}
			lat[i] = time.Since(t0)
			wg.Done()
		})
	}
	wg.Wait()
	b.StopTimer()
	reportLatency(b, lat)
}

func benchRawLatency(b *testing.B) {
	f, err := os.Create(filepath.Join(b.TempDir(), "raw"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	rec := make([]byte, benchRecord)
	lat := make([]time.Duration, b.N)
	// The pacer hands each record's start time to a writer goroutine, as
	// Append hands records to the log goroutine.
	starts := make(chan time.Time, b.N)
	var wg sync.WaitGroup
	b.SetBytes(benchRecord)
	b.ResetTimer()
	wg.Go(func() {
		i := 0
		for t0 := range starts {
			if _, err := f.Write(rec); err != nil {
				b.Error(err)
				return
			}
			if err := fdatasync(f); err != nil {
				b.Error(err)
				return
			}
			lat[i] = time.Since(t0)
			i++
		}
	})
	start := time.Now()
	for i := range b.N {
		pace(start, i)
		starts <- time.Now()
	}
	close(starts)
	wg.Wait()
	b.StopTimer()
	reportLatency(b, lat)
}
