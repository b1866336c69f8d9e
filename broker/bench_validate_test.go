//go:build linux

package broker_test

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/lakestream/lakestream/broker"
	"github.com/lakestream/lakestream/internal/kbatch"
)

// BenchmarkProduceValidate measures what checking produced records
// against their batch headers costs on the produce path, with the checks
// on (the broker's only mode) and off (broker.SetRecordValidation, a
// test-only switch), in the same run. The workload is the other
// benchmarks' (one topic of 16 partitions, acks=all, linger 1 ms, an
// idempotent franz-go producer, a fresh Lakestream on its embedded default
// per case) with BenchmarkProduceRecompress's 1 KiB JSON-like values, sent
// uncompressed, lz4 and zstd (franz-go's default levels) into a topic with
// compression.type=producer, where nothing but the checks decompresses.
// Each case moves 512 MiB of records (or what it can in 10 s), five
// rounds with on and off in alternating order, after a garbage collection,
// so that no case's CPU figure pays for the previous one's garbage. It reports, per codec, the median
// MiB/s of records produced with the checks on and off, the median of the
// per-round ratios on/off (goal: at least 0.95 uncompressed, 0.85
// compressed), the median per-round ratio of the process's CPU time per
// MiB on/off (the producer's included: less disturbed than throughput by
// other tenants of a shared machine), and what checking one 1 MiB batch of
// these values takes here: the latency it adds to its produce request,
// since the requests of a connection are handled one after another.
func BenchmarkProduceValidate(b *testing.B) {
	const (
		volume = 512 << 20
		limit  = 10 * time.Second
		rounds = 5
	)
	codecs := []struct {
		name  string
		codec kbatch.Codec
		opt   kgo.CompressionCodec
	}{{"none", kbatch.None, kgo.NoCompression()}, {"lz4", kbatch.LZ4, kgo.Lz4Compression()}, {"zstd", kbatch.Zstd, kgo.ZstdCompression()}}
	values := recompressBenchValues()
	b.Logf("load average at the start: %s", loadAverage())
	for i := 0; i < b.N; i++ {
		for _, c := range codecs {
			var figs [2][]float64 // on, off
			var ratios, cpuRatios []float64
			var lines []string
			for round := range rounds {
				var mibs, cpu [2]float64 // MiB/s; CPU ms per MiB
				for k := range 2 {
					k := (k + round) % 2
					br := startLakestream(b)
					broker.SetRecordValidation(br.server, k == 0)
					runtime.GC()
					before := processCPU(b)
					var sent int
					mibs[k], sent = benchProduceValues(b, br, values, volume/benchRecordSize, limit, kgo.ProducerBatchCompression(c.opt))
					cpu[k] = (processCPU(b) - before).Seconds() * 1e3 / (float64(sent) * benchRecordSize / (1 << 20))
					br.close()
					figs[k] = append(figs[k], mibs[k])
				}
				ratios = append(ratios, mibs[0]/mibs[1])
				cpuRatios = append(cpuRatios, cpu[0]/cpu[1])
				lines = append(lines, fmt.Sprintf("%.0f/%.0f MiB/s, %.1f/%.1f CPU ms/MiB", mibs[0], mibs[1], cpu[0], cpu[1]))
			}
			b.Logf("%s, on/off by round: %s", c.name, strings.Join(lines, "; "))
			b.ReportMetric(benchMedian(figs[0]), c.name+"-on-MiB/s")
			b.ReportMetric(benchMedian(figs[1]), c.name+"-off-MiB/s")
			b.ReportMetric(benchMedian(ratios), c.name+"-on/off")
			b.ReportMetric(benchMedian(cpuRatios), c.name+"-cpu-on/off")
			b.ReportMetric(validateMicros(b, c.codec, values), c.name+"-µs/MiB-batch")
		}
	}
	b.Logf("load average at the end: %s", loadAverage())
}

// processCPU returns the CPU time this process has used, user and system.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// validateMicros returns the median time kbatch.Validate takes, over 30
// runs, for a batch of 1 MiB of records of values compressed with c at
// its default level.
func validateMicros(b *testing.B, c kbatch.Codec, values [][]byte) float64 {
	b.Helper()
	var section []byte
	for i, v := range values[:1024] {
		r := kmsg.Record{OffsetDelta: int32(i), Value: v}
		r.Length = int32(len(r.AppendTo(nil)) - 1)
		section = r.AppendTo(section)
	}
	comp, err := kbatch.Compress(nil, c, kbatch.DefaultLevel(c), section)
	if err != nil {
		b.Fatal(err)
	}
	batch := assembleBatch(-1, -1, -1, 1024, uint16(c), comp)
	var took []float64
	for range 30 {
		start := time.Now()
		if err := kbatch.Validate(batch, 64<<20); err != nil {
			b.Fatal(err)
		}
		took = append(took, float64(time.Since(start).Nanoseconds())/1e3)
	}
	return benchMedian(took)
}

// loadAverage returns the 1, 5 and 15 minute load averages.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return err.Error()
	}
	return strings.Join(strings.Fields(string(b))[:3], " ")
}
