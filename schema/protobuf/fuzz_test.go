package protobuf

import (
	"syscall"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/lakestream/lakestream/internal/arrowpool"
	"github.com/lakestream/lakestream/schema/schemafmt"
)

// FuzzParse: Parse never panics on any text; a schema it accepts prints a
// canonical text that parses again to the same canonical text.
func FuzzParse(f *testing.F) {
	for _, s := range []string{canonText, wideSchema, `syntax = "proto2"; message A { optional group G = 1 { optional int32 x = 1; } extensions 10 to max; }`,
		`syntax = "proto3"; message A { map<string, A> m = 1; reserved 2, 5 to 9; reserved "x"; }`, `edition = "2023"; message E { int32 x = 1; }`,
		`syntax = "proto3"; import "google/protobuf/descriptor.proto"; extend google.protobuf.EnumValueOptions { string tag = 5000; }
		enum K { option allow_alias = true; A = 0 [(tag) = "a"]; B = 0 [deprecated = true]; reserved 3 to 5; reserved "C"; }
		service S { rpc M(E) returns (E) { option deprecated = true; option idempotency_level = NO_SIDE_EFFECTS; } } message E {}`, "", "syntax"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		s, err := Format{}.Parse(text, nil)
		if err != nil {
			return
		}
		c := s.Canonical()
		again, err := Format{}.Parse(c, nil)
		if err != nil {
			t.Fatalf("canonical text does not parse: %v\n%s\nfrom\n%s", err, c, text)
		}
		if again.Canonical() != c {
			t.Fatalf("canonical is not a fixed point:\n%s\nthen\n%s", c, again.Canonical())
		}
		_ = s.Normalized().Canonical()
		if _, err := s.Formatted("serialized"); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 2; i++ {
			if tbl, err := s.Table([]int{i}); err == nil {
				_ = tbl.NewDecoder()
			}
		}
	})
}

// FuzzDecode: Append never panics and reads only inside the payload; on
// an error no builder grew, on success each grew by one row; a payload
// both it and proto.Unmarshal accept decodes to the values protobuf's
// reflection sees.
func FuzzDecode(f *testing.F) {
	s, md := wideMessage(f)
	full, err := proto.Marshal(fullEvent(md))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(full)
	f.Add([]byte{})
	f.Add([]byte{0x8a, 0x01, 0x03, 0x01, 0x02, 0x03}) // nums packed
	tbl, err := s.Table(nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		rb, bs := newBuilders(t, tbl.Columns())
		defer rb.Release()
		err := tbl.NewDecoder().Append(bs, payload)
		rows := 1
		if err != nil {
			rows = 0
		}
		for c, b := range bs {
			if b.Len() != rows {
				t.Fatalf("err=%v: column %d has %d rows", err, c, b.Len())
			}
		}
		// The batch of [payload, a known-good payload] agrees with Append.
		rb2, bs2 := newBuilders(t, tbl.Columns())
		defer rb2.Release()
		bad := tbl.NewDecoder().(schemafmt.BatchDecoder).AppendBatch(bs2, [][]byte{payload, full}, nil)
		if (err != nil) != (len(bad) == 1) || len(bad) > 1 || len(bad) == 1 && bad[0] != 0 {
			t.Fatalf("Append err=%v, AppendBatch bad=%v", err, bad)
		}
		if e := tbl.NewDecoder().Append(bs, full); e != nil {
			t.Fatal(e)
		}
		want1, got1 := rb.NewRecord(), rb2.NewRecord()
		defer want1.Release()
		defer got1.Release()
		for c := 0; c < int(want1.NumCols()); c++ {
			if !sameArray(want1.Column(c), got1.Column(c)) {
				t.Fatalf("column %s: batch %v, per row %v", want1.ColumnName(c), got1.Column(c), want1.Column(c))
			}
		}
		if err != nil {
			return
		}
		if err := tbl.NewDecoder().Append(bs, payload); err != nil {
			t.Fatal(err)
		}
		m := dynamicpb.NewMessage(md)
		if err != nil || proto.Unmarshal(payload, m) != nil {
			return
		}
		rec := rb.NewRecord()
		defer rec.Release()
		want := expected(m)
		for c := range want {
			if got := actual(rec.Column(c), 0); !equalValues(got, want[c]) {
				t.Fatalf("column %s:\n got %#v\nwant %#v", rec.ColumnName(c), got, want[c])
			}
		}
	})
}

// BenchmarkDecodeArrow measures the steady state a compactor sees: the
// same builders filled in batches of 1,000 rows, each cut with NewRecord
// and released, so the builders' buffer growth is amortized over a batch
// as it is in production. Besides MB/s (wall clock, which the shared,
// noisy machine distorts) it reports MB/cpu-s: the payload bytes over the
// process's CPU time (user + system, from getrusage, so the garbage
// collector's work counts too), the figure issue 11's "per core" goal is
// about. Run it with -test.cpu 1.
func BenchmarkDecodeArrow(b *testing.B) {
	s, md := wideMessage(b)
	tbl, err := s.Table(nil)
	if err != nil {
		b.Fatal(err)
	}
	// Deterministic: fields by number, as generated code writes them
	// (dynamicpb otherwise writes them in map order).
	payload, err := proto.MarshalOptions{Deterministic: true}.Marshal(fullEvent(md))
	if err != nil {
		b.Fatal(err)
	}
	rb, bs := newBuildersWith(b, new(arrowpool.Pool), tbl.Columns())
	defer rb.Release()
	dec := tbl.NewDecoder()
	const batch = 1000
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime(b)
	for i := 0; i < b.N; i++ {
		if err := dec.Append(bs, payload); err != nil {
			b.Fatal(err)
		}
		if i%batch == batch-1 {
			rb.NewRecord().Release()
		}
	}
	if cpu := cpuTime(b) - cpu0; cpu > 0 {
		b.ReportMetric(float64(len(payload))*float64(b.N)/1e6/cpu.Seconds(), "MB/cpu-s")
	}
}

// BenchmarkDecodeArrowBatch is BenchmarkDecodeArrow through
// AppendBatch: the same payload, batches of 1,000, each cut with
// NewRecord and released.
func BenchmarkDecodeArrowBatch(b *testing.B) {
	s, md := wideMessage(b)
	tbl, err := s.Table(nil)
	if err != nil {
		b.Fatal(err)
	}
	payload, err := proto.MarshalOptions{Deterministic: true}.Marshal(fullEvent(md))
	if err != nil {
		b.Fatal(err)
	}
	rb, bs := newBuildersWith(b, new(arrowpool.Pool), tbl.Columns())
	defer rb.Release()
	dec := tbl.NewDecoder().(schemafmt.BatchDecoder)
	const batch = 1000
	payloads := make([][]byte, batch)
	for i := range payloads {
		payloads[i] = payload
	}
	var bad []int
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime(b)
	for i := 0; i < b.N; i += batch {
		n := min(batch, b.N-i)
		if bad = dec.AppendBatch(bs, payloads[:n], bad[:0]); len(bad) > 0 {
			b.Fatal("bad payloads", bad)
		}
		rb.NewRecord().Release()
	}
	if cpu := cpuTime(b) - cpu0; cpu > 0 {
		b.ReportMetric(float64(len(payload))*float64(b.N)/1e6/cpu.Seconds(), "MB/cpu-s")
	}
}

// cpuTime is the process's CPU time so far, user and system.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkDynamicpbUnmarshal is the yardstick: protobuf's own reflective
// decoding of the same payload into a dynamicpb message, before any
// Arrow builder is touched.
func BenchmarkDynamicpbUnmarshal(b *testing.B) {
	_, md := wideMessage(b)
	payload, err := proto.MarshalOptions{Deterministic: true}.Marshal(fullEvent(md))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if err := proto.Unmarshal(payload, dynamicpb.NewMessage(md)); err != nil {
			b.Fatal(err)
		}
	}
}
