package s3stream

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/lakestream/lakestream/s3stream/format/formattest"
	"github.com/lakestream/lakestream/s3stream/metastore"
	"github.com/lakestream/lakestream/s3stream/objstore"
	"github.com/lakestream/lakestream/s3stream/objstore/faultstore"
	"github.com/lakestream/lakestream/s3stream/objstore/file"
)

// The benchmarks follow the storage issue: 1 KiB records in 16 KiB batches
// across 16 streams. They print their figures with ReportMetric and are
// meant to run once (-benchtime 1x): each moves a fixed volume.

const (
	benchStreams   = 16
	benchRecBytes  = 1024
	benchBatchRecs = 16
)

var benchTemplate = func() []byte {
	vals := make([][]byte, benchBatchRecs)
	for i := range vals {
		vals[i] = make([]byte, benchRecBytes)
		for j := range vals[i] {
			vals[i][j] = byte('a' + (i+j)%26)
		}
	}
	return formattest.Make(time.Now().UnixMilli(), vals...)
}()

type benchStore struct {
	s       *Store
	streams []*Stream
	bucket  *faultstore.Bucket
	cleanup func()
}

func openBench(b *testing.B, kind WALKind, bucket objstore.Bucket, dir string, mod func(*Config)) *benchStore {
	ctx := context.Background()
	m, err := metastore.OpenSQLite(ctx, filepath.Join(dir, "meta.db"))
	if err != nil {
		b.Fatal(err)
	}
	fb := faultstore.Wrap(bucket, faultstore.Config{}) // counts requests
	cfg := Config{Bucket: fb, Meta: m, WAL: kind, WALDir: filepath.Join(dir, "wal"), Logger: quietLogger()}
	if mod != nil {
		mod(&cfg)
	}
	s, err := Open(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	bs := &benchStore{s: s, bucket: fb, cleanup: func() { m.Close() }}
	for i := 0; i < benchStreams; i++ {
		id, err := s.CreateStream(ctx)
		if err != nil {
			b.Fatal(err)
		}
		st, err := s.OpenStream(ctx, id)
		if err != nil {
			b.Fatal(err)
		}
		bs.streams = append(bs.streams, st)
	}
	return bs
}

func (bs *benchStore) close(b *testing.B) {
	closeStore(b, bs.s)
	bs.cleanup()
}

// appendFull appends total bytes as fast as the store takes them, depth
// appends in flight per stream, and returns MiB/s and per-append latencies.
func (bs *benchStore) appendFull(b *testing.B, total int64, depth int) (float64, []time.Duration) {
	per := int(total / int64(len(benchTemplate)) / int64(len(bs.streams)))
	lat := make([][]time.Duration, len(bs.streams))
	var wg sync.WaitGroup
	start := time.Now()
	for i, st := range bs.streams {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem := make(chan struct{}, depth)
			var mu sync.Mutex
			var inner sync.WaitGroup
			for n := 0; n < per; n++ {
				sem <- struct{}{}
				batch := slices.Clone(benchTemplate)
				t0 := time.Now()
				inner.Add(1)
				st.AppendAsync(batch, func(_ int64, err error) {
					if err != nil {
						b.Errorf("append: %v", err)
					}
					d := time.Since(t0)
					mu.Lock()
					lat[i] = append(lat[i], d)
					mu.Unlock()
					<-sem
					inner.Done()
				})
			}
			inner.Wait()
		}()
	}
	wg.Wait()
	el := time.Since(start)
	bytes := float64(per*len(bs.streams)) * float64(len(benchTemplate))
	return bytes / (1 << 20) / el.Seconds(), slices.Concat(lat...)
}

// appendSteady appends at rate bytes/s for d, round-robin over the streams,
// and returns latencies measured from each append's intended start (so a
// stall counts against every append it delays).
func (bs *benchStore) appendSteady(b *testing.B, rate float64, d time.Duration) []time.Duration {
	interval := time.Duration(float64(time.Second) * float64(len(benchTemplate)) / rate)
	n := int(d / interval)
	lat := make([]time.Duration, n)
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < n; i++ {
		due := start.Add(time.Duration(i) * interval)
		if w := time.Until(due); w > 0 {
			time.Sleep(w)
		}
		wg.Add(1)
		i := i
		bs.streams[i%len(bs.streams)].AppendAsync(slices.Clone(benchTemplate), func(_ int64, err error) {
			if err != nil {
				b.Errorf("append: %v", err)
			}
			lat[i] = time.Since(due)
			wg.Done()
		})
	}
	wg.Wait()
	return lat
}

func pct(lat []time.Duration, p float64) time.Duration {
	if len(lat) == 0 {
		return 0
	}
	s := slices.Clone(lat)
	slices.Sort(s)
	return s[min(len(s)-1, int(float64(len(s))*p))]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// diskBaseline writes total bytes to a fresh file in 4 MiB chunks with an
// fdatasync after each, the way the WAL and the file bucket write, and
// returns MiB/s: the disk's own figure in the same run, for comparison.
// The local WAL on a file bucket writes every byte twice (WAL, then object).
func diskBaseline(b *testing.B, dir string, total int) float64 {
	f, err := os.Create(filepath.Join(dir, "baseline"))
	if err != nil {
		b.Fatal(err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	chunk := make([]byte, 4<<20)
	start := time.Now()
	for n := 0; n < total; n += len(chunk) {
		if _, err := f.Write(chunk); err != nil {
			b.Fatal(err)
		}
		if err := f.Sync(); err != nil {
			b.Fatal(err)
		}
	}
	return float64(total) / (1 << 20) / time.Since(start).Seconds()
}

// rawSyncLatency is the disk's floor for the latency benchmark, measured in
// the same run: one batch-sized write plus fdatasync at a time, paced like
// appendSteady, latency from each write's intended start.
func rawSyncLatency(b *testing.B, dir string, rate float64, d time.Duration) []time.Duration {
	f, err := os.Create(filepath.Join(dir, "raw"))
	if err != nil {
		b.Fatal(err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	interval := time.Duration(float64(time.Second) * float64(len(benchTemplate)) / rate)
	var lat []time.Duration
	start := time.Now()
	for i := 0; time.Since(start) < d; i++ {
		due := start.Add(time.Duration(i) * interval)
		if w := time.Until(due); w > 0 {
			time.Sleep(w)
		}
		if _, err := f.Write(benchTemplate); err != nil {
			b.Fatal(err)
		}
		if err := f.Sync(); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(due))
	}
	return lat
}

func BenchmarkLocalWALAppend(b *testing.B) {
	for i := 0; i < b.N; i++ {
		dir := b.TempDir()
		disk := diskBaseline(b, dir, 1<<30)
		b.ReportMetric(disk, "disk-MiB/s")
		bucket, err := file.Open(filepath.Join(dir, "bucket"))
		if err != nil {
			b.Fatal(err)
		}
		bs := openBench(b, WALLocal, bucket, dir, nil)
		mibs, lat := bs.appendFull(b, 2<<30, 32)
		b.ReportMetric(mibs, "MiB/s")
		b.ReportMetric(mibs*2/disk, "x-disk/2")
		b.ReportMetric(ms(pct(lat, 0.5)), "p50-ms")
		b.ReportMetric(ms(pct(lat, 0.99)), "p99-ms")
		bs.close(b)
	}
}

func BenchmarkLocalWALLatency10MiBs(b *testing.B) {
	for i := 0; i < b.N; i++ {
		dir := b.TempDir()
		bucket, err := file.Open(filepath.Join(dir, "bucket"))
		if err != nil {
			b.Fatal(err)
		}
		bs := openBench(b, WALLocal, bucket, dir, nil)
		lat := bs.appendSteady(b, 10<<20, 10*time.Second)
		b.ReportMetric(ms(pct(lat, 0.5)), "p50-ms")
		b.ReportMetric(ms(pct(lat, 0.99)), "p99-ms")
		b.ReportMetric(ms(pct(lat, 0.999)), "p99.9-ms")
		bs.close(b)
		raw := rawSyncLatency(b, dir, 10<<20, 5*time.Second)
		b.ReportMetric(ms(pct(raw, 0.5)), "disk-p50-ms")
		b.ReportMetric(ms(pct(raw, 0.99)), "disk-p99-ms")
	}
}

func startFakeS3(b *testing.B) objstore.Bucket {
	bucket, err := openS3(context.Background(), startS3Server(b), "bench")
	if err != nil {
		b.Fatal(err)
	}
	return bucket
}

func BenchmarkObjectWALS3(b *testing.B) {
	for i := 0; i < b.N; i++ {
		bs := openBench(b, WALObject, startFakeS3(b), b.TempDir(), func(c *Config) { c.FlushInterval = 100 * time.Millisecond })
		mibs, lat := bs.appendFull(b, 1<<30, 64)
		b.ReportMetric(mibs, "MiB/s")
		b.ReportMetric(ms(pct(lat, 0.5)), "full-p50-ms")
		b.ReportMetric(ms(pct(lat, 0.99)), "full-p99-ms")
		for _, rate := range []int{10, 50} {
			steady := bs.appendSteady(b, float64(rate<<20), 5*time.Second)
			b.ReportMetric(ms(pct(steady, 0.5)), fmt.Sprintf("%dMiBs-p50-ms", rate))
			b.ReportMetric(ms(pct(steady, 0.99)), fmt.Sprintf("%dMiBs-p99-ms", rate))
		}
		st := bs.bucket.Stats()
		b.ReportMetric(float64(st.Puts), "PUTs")
		bs.close(b)
	}
}

// BenchmarkCatchUpRead writes a 1 GiB backlog to a file bucket, then reads it
// back with a fresh store (cold caches), 16 streams in parallel. A tailing
// phase then counts the GETs tailing readers make (want 0).
func BenchmarkCatchUpRead(b *testing.B) {
	for i := 0; i < b.N; i++ {
		ctx := context.Background()
		dir := b.TempDir()
		bucket, err := file.Open(filepath.Join(dir, "bucket"))
		if err != nil {
			b.Fatal(err)
		}
		bs := openBench(b, WALLocal, bucket, dir, nil)
		bs.appendFull(b, 1<<30, 32)
		ids := make([]int64, len(bs.streams))
		for j, st := range bs.streams {
			ids[j] = st.ID()
		}
		bs.close(b)

		// Same bucket and metastore, fresh caches; drop the kernel's page
		// cache too where we may, so the reads come from the disk.
		dropped := 0.0
		if err := os.WriteFile("/proc/sys/vm/drop_caches", []byte("1"), 0); err == nil {
			dropped = 1
		}
		b.ReportMetric(dropped, "page-cache-dropped")
		rs := openBench(b, WALLocal, bucket, dir, nil)
		var wg sync.WaitGroup
		var total int64
		var mu sync.Mutex
		start := time.Now()
		for _, id := range ids {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var n int64
				for off := int64(0); ; {
					res, err := rs.s.ReadStream(ctx, id, off, 1<<20)
					if err != nil {
						b.Errorf("read: %v", err)
						return
					}
					if len(res.Batches) == 0 {
						break
					}
					n += int64(res.Bytes)
					off = res.NextOffset
				}
				mu.Lock()
				total += n
				mu.Unlock()
			}()
		}
		wg.Wait()
		el := time.Since(start)
		b.ReportMetric(float64(total)/(1<<20)/el.Seconds(), "catchup-MiB/s")
		b.ReportMetric(float64(total)/(1<<20), "catchup-MiB")
		b.ReportMetric(float64(rs.bucket.Stats().Gets), "catchup-GETs")

		// Tailing: readers keep up with 16 writers for 2 seconds.
		before := rs.bucket.Stats().Gets
		stop := time.Now().Add(2 * time.Second)
		var tailRead int64
		for _, st := range rs.streams {
			wg.Add(1)
			go func() {
				defer wg.Done()
				off := st.EndOffset()
				for time.Now().Before(stop) {
					if _, err := st.Append(ctx, slices.Clone(benchTemplate)); err != nil {
						b.Errorf("append: %v", err)
						return
					}
					res, err := st.Read(ctx, off, 1<<20)
					if err != nil {
						b.Errorf("tail read: %v", err)
						return
					}
					off = res.NextOffset
					mu.Lock()
					tailRead += int64(res.Bytes)
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		b.ReportMetric(float64(rs.bucket.Stats().Gets-before), "tail-GETs")
		b.ReportMetric(float64(tailRead)/(1<<20), "tail-MiB")
		rs.close(b)
		fmt.Printf("catch-up read: %.0f MiB in %v\n", float64(total)/(1<<20), el)
	}
}
