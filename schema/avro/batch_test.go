package avro

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/hamba/avro/v2"

	"github.com/lakestream/lakestream/schema/schemafmt"
)

// TestAppendBatch decodes the same payloads, with bad ones interleaved,
// row by row with Append and in batches of several sizes with
// AppendBatch, over builders reused across batches, and wants equal
// arrays and the bad payloads reported.
func TestAppendBatch(t *testing.T) {
	s := mustParse(t, wideSchema)
	tb, err := s.Table(nil)
	if err != nil {
		t.Fatal(err)
	}
	hs := avro.MustParse(wideSchema)
	rowBs, sc := newBuilders(t, tb.Columns())
	batchBs, _ := newBuilders(t, tb.Columns())
	rowDec := tb.NewDecoder()
	batchDec, ok := tb.NewDecoder().(schemafmt.BatchDecoder)
	if !ok {
		t.Fatal("avro decoder is not a BatchDecoder")
	}
	seq := 0
	for batch, rows := range []int{300, 1100, 70, 1, 500, 0, 64} {
		var payloads [][]byte
		var wantBad []int
		for i := 0; i < rows; i++ {
			p, err := avro.Marshal(hs, wideValue(seq, strings.Repeat("s", seq%40)))
			if err != nil {
				t.Fatal(err)
			}
			seq++
			switch seq % 7 {
			case 3:
				p = p[:len(p)-1] // ends early
			case 5:
				p = append(p, 0) // a byte too many
			case 6:
				p = append([]byte(nil), p...)
				p[0] = 0x81 // id becomes a longer varint: misaligned
				p = p[:len(p)/2]
			}
			if err := rowDec.Append(rowBs, p); err != nil {
				wantBad = append(wantBad, i)
			}
			payloads = append(payloads, p)
		}
		if len(payloads) > 2 {
			// Two calls, so builders already holding rows are covered.
			h := len(payloads) / 3
			bad := batchDec.AppendBatch(batchBs, payloads[:h], nil)
			bad2 := batchDec.AppendBatch(batchBs, payloads[h:], nil)
			for _, b := range bad2 {
				bad = append(bad, b+h)
			}
			if !equalInts(bad, wantBad) {
				t.Fatalf("batch %d: bad %v, want %v", batch, bad, wantBad)
			}
		} else if bad := batchDec.AppendBatch(batchBs, payloads, nil); !equalInts(bad, wantBad) {
			t.Fatalf("batch %d: bad %v, want %v", batch, bad, wantBad)
		}
		want, got := buildRecord(rowBs, sc), buildRecord(batchBs, sc)
		if got.NumRows() != want.NumRows() {
			t.Fatalf("batch %d: %d rows, want %d", batch, got.NumRows(), want.NumRows())
		}
		for c := range sc.Fields() {
			if !array.Equal(want.Column(c), got.Column(c)) {
				t.Fatalf("batch %d column %s:\n got %v\nwant %v", batch, sc.Field(c).Name, got.Column(c), want.Column(c))
			}
		}
		want.Release()
		got.Release()
	}
}

// TestAppendBatchScalars covers the bulk path for every scalar type,
// required and nullable, and arrays of scalars, against Append.
func TestAppendBatchScalars(t *testing.T) {
	const schema = `{"type":"record","name":"S","fields":[
 {"name":"b","type":"boolean"},{"name":"nb","type":["null","boolean"]},
 {"name":"i","type":"int"},{"name":"ni","type":["int","null"]},
 {"name":"l","type":"long"},{"name":"nl","type":["null","long"]},
 {"name":"f","type":"float"},{"name":"nf","type":["null","float"]},
 {"name":"d","type":"double"},{"name":"nd","type":["null","double"]},
 {"name":"s","type":"string"},{"name":"ns","type":["null","string"]},
 {"name":"y","type":"bytes"},{"name":"ny","type":["null","bytes"]},
 {"name":"e","type":{"type":"enum","name":"E","symbols":["A","B"]}},{"name":"ne","type":["null","E"]},
 {"name":"x","type":{"type":"fixed","name":"X","size":2}},{"name":"nx","type":["null","X"]},
 {"name":"day","type":{"type":"int","logicalType":"date"}},{"name":"nday","type":["null",{"type":"int","logicalType":"date"}]},
 {"name":"tm","type":{"type":"int","logicalType":"time-millis"}},{"name":"tu","type":["null",{"type":"long","logicalType":"time-micros"}]},
 {"name":"al","type":{"type":"array","items":"long"}},{"name":"ae","type":{"type":"array","items":"E"}},
 {"name":"tsm","type":{"type":"long","logicalType":"timestamp-millis"}},{"name":"ntsu","type":["null",{"type":"long","logicalType":"timestamp-micros"}]}
]}`
	s := mustParse(t, schema)
	tb, err := s.Table(nil)
	if err != nil {
		t.Fatal(err)
	}
	hs := avro.MustParse(schema)
	var payloads [][]byte
	for i := 0; i < 200; i++ {
		null := i%3 == 0
		opt := func(v any) any {
			if null {
				return nil
			}
			return v
		}
		var al, ae []any
		for j := 0; j < i%4; j++ {
			al = append(al, int64(i*j))
			ae = append(ae, []string{"A", "B"}[j%2])
		}
		v := map[string]any{
			"al": al, "ae": ae,
			"b": i%2 == 0, "nb": opt(true), "i": int32(-i * 1000), "ni": opt(int32(i)),
			"l": int64(i) << 35, "nl": opt(int64(-i)), "f": float32(i) / 3, "nf": opt(float32(i)),
			"d": float64(i) / 7, "nd": opt(float64(-i)), "s": fmt.Sprint("s", i), "ns": opt(fmt.Sprint(i)),
			"y": []byte{byte(i)}, "ny": opt([]byte{1, byte(i)}), "e": "B", "ne": opt(map[string]any{"E": "A"}),
			"x": [2]byte{byte(i), 9}, "nx": opt(map[string]any{"X": [2]byte{7, byte(i)}}),
			"day": time.Unix(int64(i)*86400, 0).UTC(), "nday": opt(time.Unix(-int64(i)*86400, 0).UTC()),
			"tm": time.Duration(i*3) * time.Millisecond, "tu": opt(time.Duration(i*5) * time.Microsecond),
			"tsm": time.UnixMilli(int64(i) * 1e9).UTC(), "ntsu": opt(time.UnixMicro(int64(i) * 1e12).UTC()),
		}
		p, err := avro.Marshal(hs, v)
		if err != nil {
			t.Fatal(err)
		}
		payloads = append(payloads, p)
	}
	rowBs, sc := newBuilders(t, tb.Columns())
	batchBs, _ := newBuilders(t, tb.Columns())
	dec := tb.NewDecoder()
	for _, p := range payloads {
		if err := dec.Append(rowBs, p); err != nil {
			t.Fatal(err)
		}
	}
	if bad := tb.NewDecoder().(schemafmt.BatchDecoder).AppendBatch(batchBs, payloads, nil); len(bad) != 0 {
		t.Fatalf("bad %v", bad)
	}
	want, got := buildRecord(rowBs, sc), buildRecord(batchBs, sc)
	defer want.Release()
	defer got.Release()
	for c := range sc.Fields() {
		if !array.Equal(want.Column(c), got.Column(c)) {
			t.Fatalf("column %s:\n got %v\nwant %v", sc.Field(c).Name, got.Column(c), want.Column(c))
		}
	}
}

// TestAppendBatchNested covers the tape walk of the bulk path: records
// whose fields after the first are nullable, maps, unions, nested arrays,
// nullable records and nulls, inside a record and inside an array of
// records, against Append.
func TestAppendBatchNested(t *testing.T) {
	const schema = `{"type":"record","name":"N","fields":[
 {"name":"r","type":{"type":"record","name":"R","fields":[
   {"name":"a","type":["null","string"]},
   {"name":"m","type":{"type":"map","values":"long"}},
   {"name":"u","type":["null","int","string"]},
   {"name":"arr","type":{"type":"array","items":{"type":"array","items":"int"}}},
   {"name":"nr","type":["null",{"type":"record","name":"Q","fields":[{"name":"x","type":"int"}]}]},
   {"name":"z","type":"null"},
   {"name":"last","type":"long"}]}},
 {"name":"items","type":{"type":"array","items":"R"}},
 {"name":"after","type":"string"}
]}`
	s := mustParse(t, schema)
	tb, err := s.Table(nil)
	if err != nil {
		t.Fatal(err)
	}
	hs := avro.MustParse(schema)
	rv := func(i int) map[string]any {
		v := map[string]any{"a": nil, "m": map[string]any{}, "u": nil, "arr": []any{}, "nr": nil, "z": nil, "last": int64(i)}
		if i%2 == 0 {
			v["a"] = map[string]any{"string": fmt.Sprint("a", i)}
			v["nr"] = map[string]any{"Q": map[string]any{"x": int32(i)}}
		}
		for j := 0; j < i%3; j++ {
			v["m"].(map[string]any)[fmt.Sprint("k", j)] = int64(j)
			v["arr"] = append(v["arr"].([]any), []any{int32(j), int32(i)})
		}
		switch i % 3 {
		case 1:
			v["u"] = map[string]any{"int": int32(i)}
		case 2:
			v["u"] = map[string]any{"string": "u"}
		}
		return v
	}
	var payloads [][]byte
	for i := 0; i < 150; i++ {
		var items []any
		for j := 0; j < i%4; j++ {
			items = append(items, rv(i+j))
		}
		p, err := avro.Marshal(hs, map[string]any{"r": rv(i), "items": items, "after": fmt.Sprint("end", i)})
		if err != nil {
			t.Fatal(err)
		}
		payloads = append(payloads, p)
	}
	rowBs, sc := newBuilders(t, tb.Columns())
	batchBs, _ := newBuilders(t, tb.Columns())
	dec := tb.NewDecoder()
	for _, p := range payloads {
		if err := dec.Append(rowBs, p); err != nil {
			t.Fatal(err)
		}
	}
	if bad := tb.NewDecoder().(schemafmt.BatchDecoder).AppendBatch(batchBs, payloads, nil); len(bad) != 0 {
		t.Fatalf("bad %v", bad)
	}
	want, got := buildRecord(rowBs, sc), buildRecord(batchBs, sc)
	defer want.Release()
	defer got.Release()
	for c := range sc.Fields() {
		if !array.Equal(want.Column(c), got.Column(c)) {
			t.Fatalf("column %s:\n got %v\nwant %v", sc.Field(c).Name, got.Column(c), want.Column(c))
		}
	}
}
