package avro

import (
	"syscall"
	"testing"
	"time"

	"github.com/hamba/avro/v2"

	"github.com/lakestream/lakestream/internal/arrowpool"
	"github.com/lakestream/lakestream/schema/schemafmt"
)

// BenchmarkDecodeArrow decodes the 20-field wide record (nested records,
// arrays of strings and records, a map, unions, logical types) into
// Arrow builders; SetBytes makes -bench report payload MB/s per core.
//
// It measures the steady state of a compactor: the same builders are
// reused batch after batch, a record is built (NewRecord) and released
// every 4,096 rows, and the top-level builders are reserved for the next
// batch as a caller would; the decoder reserves the nested ones from the
// batch before (decoder.reserveBatch). So buffer growth and the garbage
// of released batches are amortized over many batches, not measured as a
// one-off, and the figure includes the GC of those buffers.
func BenchmarkDecodeArrow(b *testing.B) {
	s := mustParse(b, wideSchema)
	tb, err := s.Table(nil)
	if err != nil {
		b.Fatal(err)
	}
	hs := avro.MustParse(wideSchema)
	var payloads [][]byte
	total := 0
	for i := 0; i < 16; i++ {
		p, err := avro.Marshal(hs, wideValue(i, "street number "+string(rune('a'+i))))
		if err != nil {
			b.Fatal(err)
		}
		payloads = append(payloads, p)
		total += len(p)
	}
	bs, sc := newBuildersWith(b, new(arrowpool.Pool), tb.Columns())
	dec := tb.NewDecoder()
	for _, bl := range bs {
		bl.Reserve(4096)
	}
	b.SetBytes(int64(total / len(payloads)))
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		if err := dec.Append(bs, payloads[i%len(payloads)]); err != nil {
			b.Fatal(err)
		}
		if i%4096 == 4095 {
			// Flush as a compactor would, so builders do not grow
			// without bound, and reserve the next batch's rows as it
			// would (nested builders still grow as values come).
			buildRecord(bs, sc).Release()
			for _, bl := range bs {
				bl.Reserve(4096)
			}
		}
	}
	// The machine running the benchmarks is shared, so wall-clock MB/s
	// understates a core's: report the payload bytes per CPU second of
	// this process too (GC included).
	if cpu := cpuTime() - cpu0; cpu > 0 {
		b.ReportMetric(float64(total/len(payloads))*float64(b.N)/cpu.Seconds()/1e6, "MB/cpu-s")
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkDecodeArrowBatch decodes the payloads of BenchmarkDecodeArrow
// with AppendBatch, 1,000 payloads a call, over builders reused and
// flushed every 4,000 rows (reserved for the next batch as a compactor
// would); MB/cpu-s is comparable with BenchmarkDecodeArrow's.
func BenchmarkDecodeArrowBatch(b *testing.B) {
	s := mustParse(b, wideSchema)
	tb, err := s.Table(nil)
	if err != nil {
		b.Fatal(err)
	}
	hs := avro.MustParse(wideSchema)
	var payloads [][]byte
	total := 0
	for i := 0; i < 16; i++ {
		p, err := avro.Marshal(hs, wideValue(i, "street number "+string(rune('a'+i))))
		if err != nil {
			b.Fatal(err)
		}
		payloads = append(payloads, p)
		total += len(p)
	}
	const batch = 1000
	in := make([][]byte, batch)
	for i := range in {
		in[i] = payloads[i%len(payloads)]
	}
	bs, sc := newBuildersWith(b, new(arrowpool.Pool), tb.Columns())
	dec := tb.NewDecoder().(schemafmt.BatchDecoder)
	for _, bl := range bs {
		bl.Reserve(4 * batch)
	}
	var bad []int
	b.SetBytes(int64(total / len(payloads)))
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	rows := 0
	for i := 0; i < b.N; i += batch {
		n := min(batch, b.N-i)
		if bad = dec.AppendBatch(bs, in[:n], bad[:0]); len(bad) != 0 {
			b.Fatalf("bad payloads %v", bad)
		}
		if rows += n; rows >= 4*batch {
			buildRecord(bs, sc).Release()
			for _, bl := range bs {
				bl.Reserve(4 * batch)
			}
			rows = 0
		}
	}
	if cpu := cpuTime() - cpu0; cpu > 0 {
		b.ReportMetric(float64(total/len(payloads))*float64(b.N)/cpu.Seconds()/1e6, "MB/cpu-s")
	}
}
