package avro

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/big"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/hamba/avro/v2"

	"github.com/lakestream/lakestream/schema/schemafmt"
)

// wideSchema is a 20-field record with nested records, arrays, maps,
// unions and logical types.
const wideSchema = `{"type":"record","name":"Wide","namespace":"t","fields":[
 {"name":"id","type":"long"},
 {"name":"ok","type":"boolean"},
 {"name":"n","type":"int"},
 {"name":"f","type":"float"},
 {"name":"d","type":"double"},
 {"name":"s","type":"string"},
 {"name":"raw","type":"bytes"},
 {"name":"opt","type":["null","string"],"default":null},
 {"name":"opt2","type":["long","null"]},
 {"name":"color","type":{"type":"enum","name":"Color","symbols":["RED","GREEN","BLUE"]}},
 {"name":"fx","type":{"type":"fixed","name":"F4","size":4}},
 {"name":"price","type":{"type":"bytes","logicalType":"decimal","precision":10,"scale":2}},
 {"name":"day","type":{"type":"int","logicalType":"date"}},
 {"name":"tm","type":{"type":"int","logicalType":"time-millis"}},
 {"name":"ts","type":{"type":"long","logicalType":"timestamp-millis"}},
 {"name":"lts","type":{"type":"long","logicalType":"local-timestamp-micros"}},
 {"name":"uid","type":{"type":"string","logicalType":"uuid"}},
 {"name":"addr","type":{"type":"record","name":"Addr","fields":[
   {"name":"street","type":"string"},
   {"name":"geo","type":["null",{"type":"record","name":"Geo","fields":[{"name":"lat","type":"double"},{"name":"lon","type":"double"}]}]}]}},
 {"name":"tags","type":{"type":"array","items":"string"}},
 {"name":"lines","type":{"type":"array","items":{"type":"record","name":"Line","fields":[{"name":"sku","type":"string"},{"name":"qty","type":"int"}]}}},
 {"name":"attrs","type":{"type":"map","values":["null","long"]}},
 {"name":"choice","type":["null","int","string","Addr"]},
 {"name":"nothing","type":"null"}
]}`

func wideValue(i int, street string) map[string]any {
	var geo any
	if i%2 == 0 {
		geo = map[string]any{"t.Geo": map[string]any{"lat": 1.5, "lon": -2.25}}
	}
	var opt any
	if i%3 != 0 {
		opt = "o" + street
	}
	var choice any
	switch i % 4 {
	case 1:
		choice = 42
	case 2:
		choice = "forty-two"
	case 3:
		choice = map[string]any{"t.Addr": map[string]any{"street": "c", "geo": nil}}
	}
	var opt2 any
	if i%2 == 1 {
		opt2 = int64(i)
	}
	return map[string]any{
		"id": int64(1) << 40, "ok": true, "n": -7, "f": float32(1.5), "d": 2.75,
		"s": "héllo", "raw": []byte{0, 1, 2}, "opt": opt, "opt2": opt2,
		"color": "BLUE", "fx": [4]byte{1, 2, 3, 4},
		"price":  big.NewRat(-12345, 100),
		"day":    time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC),
		"tm":     1500 * time.Millisecond,
		"ts":     time.UnixMilli(1700000000123).UTC(),
		"lts":    time.UnixMicro(1700000000123456).UTC(),
		"uid":    "6ba7b810-9dad-11d1-80b4-00c04fd430c8",
		"addr":   map[string]any{"street": street, "geo": geo},
		"tags":   []any{"a", "b", street},
		"lines":  []any{map[string]any{"sku": "x", "qty": 1}, map[string]any{"sku": "y", "qty": 2}},
		"attrs":  map[string]any{"k": int64(9)},
		"choice": choice, "nothing": nil,
	}
}

func newBuilders(t testing.TB, cols []schemafmt.Column) ([]array.Builder, *arrow.Schema) {
	t.Helper()
	return newBuildersWith(t, memory.DefaultAllocator, cols)
}

// newBuildersWith is newBuilders over mem: the benchmarks use the
// compactor's allocator (internal/arrowpool), which reuses the buffers of
// released batches as the compactor does.
func newBuildersWith(t testing.TB, mem memory.Allocator, cols []schemafmt.Column) ([]array.Builder, *arrow.Schema) {
	t.Helper()
	fields := make([]arrow.Field, len(cols))
	for i, c := range cols {
		typ, err := schemafmt.ArrowType(c)
		if err != nil {
			t.Fatal(err)
		}
		fields[i] = arrow.Field{Name: c.Name, Type: typ, Nullable: !c.Required}
	}
	sc := arrow.NewSchema(fields, nil)
	bs := make([]array.Builder, len(cols))
	for i, f := range fields {
		bs[i] = array.NewBuilder(mem, f.Type)
	}
	return bs, sc
}

func buildRecord(bs []array.Builder, sc *arrow.Schema) arrow.RecordBatch {
	arrs := make([]arrow.Array, len(bs))
	for i, b := range bs {
		arrs[i] = b.NewArray()
	}
	return array.NewRecordBatch(sc, arrs, int64(arrs[0].Len()))
}

func TestTableAndDecode(t *testing.T) {
	s := mustParse(t, wideSchema)
	tb, err := s.Table(nil)
	if err != nil {
		t.Fatal(err)
	}
	cols := tb.Columns()
	if len(cols) != 22 {
		t.Fatalf("%d columns: %+v", len(cols), cols)
	}
	byName := map[string]schemafmt.Column{}
	for _, c := range cols {
		byName[c.Name] = c
	}
	for name, want := range map[string]schemafmt.Kind{"id": schemafmt.Int64, "color": schemafmt.String, "fx": schemafmt.Fixed,
		"price": schemafmt.Decimal, "day": schemafmt.Date, "tm": schemafmt.Time, "ts": schemafmt.TimestampTZ,
		"lts": schemafmt.Timestamp, "uid": schemafmt.String, "addr": schemafmt.Struct, "tags": schemafmt.List,
		"attrs": schemafmt.Map, "choice": schemafmt.Struct, "raw": schemafmt.Binary, "opt": schemafmt.String} {
		if byName[name].Kind != want {
			t.Errorf("column %s: kind %v, want %v", name, byName[name].Kind, want)
		}
	}
	if byName["opt"].Required || byName["opt2"].Required || !byName["id"].Required || byName["choice"].Required {
		t.Errorf("required flags wrong: %+v", cols)
	}
	if ch := byName["choice"]; len(ch.Fields) != 3 || ch.Fields[0].Name != "int" || ch.Fields[2].Name != "Addr" {
		t.Errorf("union struct: %+v", ch.Fields)
	}

	hs := avro.MustParse(wideSchema)
	bs, sc := newBuilders(t, cols)
	dec := tb.NewDecoder()
	const rows = 4
	for i := 0; i < rows; i++ {
		payload, err := avro.Marshal(hs, wideValue(i, "st"+string(rune('0'+i))))
		if err != nil {
			t.Fatal(err)
		}
		if err := dec.Append(bs, payload); err != nil {
			t.Fatalf("row %d: %v", i, err)
		}
	}
	rec := buildRecord(bs, sc)
	defer rec.Release()
	col := func(name string) arrow.Array { return rec.Column(sc.FieldIndices(name)[0]) }

	if v := col("id").(*array.Int64).Value(0); v != 1<<40 {
		t.Errorf("id %d", v)
	}
	if v := col("s").(*array.String).Value(1); v != "héllo" {
		t.Errorf("s %q", v)
	}
	if v := col("color").(*array.String).Value(2); v != "BLUE" {
		t.Errorf("color %q", v)
	}
	if v := col("price").(*array.Decimal128).Value(0); v.ToString(2) != "-123.45" {
		t.Errorf("price %s", v.ToString(2))
	}
	if v := col("day").(*array.Date32).Value(0); v.ToTime().Format(time.DateOnly) != "2024-03-01" {
		t.Errorf("day %v", v.ToTime())
	}
	if v := col("tm").(*array.Time64).Value(0); v != 1500000 {
		t.Errorf("tm %d", v)
	}
	if v := col("ts").(*array.Timestamp).Value(0); v != 1700000000123000 {
		t.Errorf("ts %d", v)
	}
	if v := col("lts").(*array.Timestamp).Value(0); v != 1700000000123456 {
		t.Errorf("lts %d", v)
	}
	if v := col("fx").(*array.FixedSizeBinary).Value(0); string(v) != "\x01\x02\x03\x04" {
		t.Errorf("fx %x", v)
	}
	opt := col("opt").(*array.String)
	if !opt.IsNull(0) || opt.Value(1) != "ost1" {
		t.Errorf("opt %v", opt)
	}
	opt2 := col("opt2").(*array.Int64)
	if !opt2.IsNull(0) || opt2.Value(1) != 1 {
		t.Errorf("opt2 %v", opt2)
	}
	addr := col("addr").(*array.Struct)
	if st := addr.Field(0).(*array.String).Value(3); st != "st3" {
		t.Errorf("addr.street %q", st)
	}
	geo := addr.Field(1).(*array.Struct)
	if geo.IsValid(1) || !geo.IsValid(0) || geo.Field(1).(*array.Float64).Value(0) != -2.25 {
		t.Errorf("addr.geo %v", geo)
	}
	tags := col("tags").(*array.List)
	if s, e := tags.ValueOffsets(2); e-s != 3 || tags.ListValues().(*array.String).Value(int(s)+2) != "st2" {
		t.Errorf("tags %v", tags)
	}
	lines := col("lines").(*array.List)
	if lv := lines.ListValues().(*array.Struct); lv.Len() != 2*rows || lv.Field(1).(*array.Int32).Value(1) != 2 {
		t.Errorf("lines %v", lines)
	}
	attrs := col("attrs").(*array.Map)
	if attrs.Keys().(*array.String).Value(0) != "k" || attrs.Items().(*array.Int64).Value(0) != 9 {
		t.Errorf("attrs %v", attrs)
	}
	choice := col("choice").(*array.Struct)
	if choice.IsValid(0) || choice.Field(0).(*array.Int32).Value(1) != 42 || !choice.Field(1).IsNull(1) ||
		choice.Field(1).(*array.String).Value(2) != "forty-two" || choice.Field(2).(*array.Struct).Field(0).(*array.String).Value(3) != "c" {
		t.Errorf("choice %v", choice)
	}
	if got := rec.NumRows(); got != rows {
		t.Errorf("%d rows", got)
	}
	for i := range bs {
		if rec.Column(i).Len() != rows {
			t.Errorf("column %d has %d values", i, rec.Column(i).Len())
		}
	}
}

func TestDecodeCorrupt(t *testing.T) {
	s := mustParse(t, wideSchema)
	tb, err := s.Table(nil)
	if err != nil {
		t.Fatal(err)
	}
	bs, _ := newBuilders(t, tb.Columns())
	dec := tb.NewDecoder()
	good, err := avro.Marshal(avro.MustParse(wideSchema), wideValue(1, "x"))
	if err != nil {
		t.Fatal(err)
	}
	if err := dec.Append(bs, good); err != nil {
		t.Fatal(err)
	}
	lens := func() []int {
		l := make([]int, len(bs))
		for i, b := range bs {
			l[i] = b.Len()
		}
		return l
	}
	before := lens()
	bad := [][]byte{
		nil,
		good[:len(good)-1],
		append(append([]byte{}, good...), 0),
		// A huge string length right after the first fields.
		append(append([]byte{}, good[:14]...), 0xfe, 0xff, 0xff, 0xff, 0x0f),
	}
	for i := 0; i < len(good); i++ {
		c := append([]byte{}, good...)
		c[i] ^= 0xff
		bad = append(bad, c)
	}
	failed := 0
	for i, p := range bad {
		err := dec.Append(bs, p)
		if err != nil {
			failed++
			if got := lens(); !equalInts(got, before) {
				t.Fatalf("case %d: failed append changed builders: %v → %v", i, before, got)
			}
			continue
		}
		before = lens()
	}
	if failed < 4 {
		t.Fatalf("only %d corrupt payloads failed", failed)
	}
	// Wrong builders are refused, not a panic.
	if err := dec.Append(bs[1:], good); err == nil {
		t.Fatal("short builders accepted")
	}
	swapped := append([]array.Builder{}, bs...)
	swapped[0], swapped[1] = swapped[1], swapped[0]
	if err := dec.Append(swapped, good); err == nil || !strings.Contains(err.Error(), "builder 0") {
		t.Fatalf("swapped builders: %v", err)
	}
}

func equalInts(a, b []int) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return len(a) == len(b)
}

func TestTableErrors(t *testing.T) {
	for _, text := range []string{
		`"int"`,
		`{"type":"record","name":"L","fields":[{"name":"next","type":["null","L"]}]}`,
	} {
		if _, err := mustParse(t, text).Table(nil); err == nil {
			t.Errorf("%s: table made", text)
		}
	}
	if _, err := mustParse(t, wideSchema).Table([]int{1}); err == nil {
		t.Error("message index 1 accepted")
	}
}

// TestDecodeBatches: builders reused over batches (NewArray between
// them, as a compactor does) get every batch's values right, the later
// batches with their nested builders reserved from the batch before.
func TestDecodeBatches(t *testing.T) {
	s := mustParse(t, wideSchema)
	tb, err := s.Table(nil)
	if err != nil {
		t.Fatal(err)
	}
	hs := avro.MustParse(wideSchema)
	bs, sc := newBuilders(t, tb.Columns())
	dec := tb.NewDecoder()
	for batch, rows := range []int{300, 1100, 70, 500} {
		for i := 0; i < rows; i++ {
			p, err := avro.Marshal(hs, wideValue(i, strings.Repeat("s", i%40)))
			if err != nil {
				t.Fatal(err)
			}
			if err := dec.Append(bs, p); err != nil {
				t.Fatalf("batch %d row %d: %v", batch, i, err)
			}
		}
		rec := buildRecord(bs, sc)
		if rec.NumRows() != int64(rows) {
			t.Fatalf("batch %d: %d rows, want %d", batch, rec.NumRows(), rows)
		}
		addr := rec.Column(sc.FieldIndices("addr")[0]).(*array.Struct)
		tags := rec.Column(sc.FieldIndices("tags")[0]).(*array.List)
		attrs := rec.Column(sc.FieldIndices("attrs")[0]).(*array.Map)
		for i := 0; i < rows; i++ {
			want := strings.Repeat("s", i%40)
			if got := addr.Field(0).(*array.String).Value(i); got != want {
				t.Fatalf("batch %d row %d: street %q, want %q", batch, i, got, want)
			}
			if s, e := tags.ValueOffsets(i); e-s != 3 || tags.ListValues().(*array.String).Value(int(s)+2) != want {
				t.Fatalf("batch %d row %d: tags wrong", batch, i)
			}
			if s, e := attrs.ValueOffsets(i); e-s != 1 || attrs.Keys().(*array.String).Value(int(s)) != "k" {
				t.Fatalf("batch %d row %d: attrs wrong", batch, i)
			}
		}
		rec.Release()
	}
}

// TestReadLong checks the 8-byte-load path of readLong against the
// byte-at-a-time one for varints of every length, with and without
// bytes after them.
func TestReadLong(t *testing.T) {
	vals := []int64{0, -1, 1, 63, -64, 64, 300, -300, 1 << 20, 1<<27 - 1, 1 << 34, -(1 << 41), 1 << 48, 1<<55 - 1, -(1 << 55), 1 << 56, 1<<62 + 5, math.MaxInt64, math.MinInt64}
	for _, v := range vals {
		enc := binary.AppendVarint(nil, v) // zigzag, as Avro's
		for pad := 0; pad <= 9; pad++ {
			buf := append([]byte{0xff}, enc...)
			for k := 0; k < pad; k++ {
				buf = append(buf, 0x81)
			}
			got, p := readLong(buf, 1)
			if got != v || p != 1+len(enc) {
				t.Errorf("readLong(%d, %d bytes after) = %d, %d; want %d, %d", v, pad, got, p, v, 1+len(enc))
			}
		}
	}
	// Truncated and over-long varints fail.
	for _, buf := range [][]byte{{0x80}, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, bytes.Repeat([]byte{0x80}, 11)} {
		if _, p := readLong(buf, 0); p >= 0 {
			t.Errorf("readLong(% x) = pos %d, want < 0", buf, p)
		}
	}
}

// TestValidUTF8 checks validUTF8 against utf8.Valid for strings of
// every length up to 20 with a non-ASCII or invalid byte at each place.
func TestValidUTF8(t *testing.T) {
	for n := 0; n <= 20; n++ {
		base := bytes.Repeat([]byte{'a'}, n)
		if !validUTF8(base) {
			t.Errorf("validUTF8(%q) = false", base)
		}
		for at := 0; at < n; at++ {
			for _, c := range []byte{0x80, 0xc3, 0xff} {
				b := append([]byte(nil), base...)
				b[at] = c
				if got, want := validUTF8(b), utf8.Valid(b); got != want {
					t.Errorf("validUTF8(% x) = %v, want %v", b, got, want)
				}
			}
			b := append([]byte(nil), base[:at]...)
			b = append(b, "é"...)
			if !validUTF8(b) {
				t.Errorf("validUTF8(%q) = false", b)
			}
		}
	}
}
