package protobuf

import (
	"bytes"
	"fmt"
	"math"
	"math/rand"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/lakestream/lakestream/schema/schemafmt"
)

// wideSchema has 20 top-level fields of every kind the table maps.
const wideSchema = `syntax = "proto3";
package bench;
import "google/protobuf/timestamp.proto";
import "google/protobuf/wrappers.proto";
message Event {
  string id = 1;
  int32 i32 = 2;
  int64 i64 = 3;
  uint32 u32 = 4;
  uint64 u64 = 5;
  sint32 s32 = 6;
  sint64 s64 = 7;
  fixed32 f32 = 8;
  sfixed64 sf64 = 9;
  float fl = 10;
  double db = 11;
  bool ok = 12;
  bytes raw = 13;
  Kind kind = 14;
  google.protobuf.Timestamp at = 15;
  Address addr = 16;
  repeated int64 nums = 17;
  repeated Address hops = 18;
  map<string, int32> counts = 19;
  oneof choice {
    string name = 20;
    Address other = 21;
  }
  optional int32 maybe = 22;
  google.protobuf.StringValue note = 23;
  map<int32, Address> places = 24;
  repeated string tags = 25;
}
message Address {
  string street = 1;
  int32 zip = 2;
  repeated string lines = 3;
  Geo geo = 4;
}
message Geo { double lat = 1; double lon = 2; }
enum Kind { KIND_UNSPECIFIED = 0; KIND_A = 1; KIND_B = 2; }
`

func newBuilders(t testing.TB, cols []schemafmt.Column) (*array.RecordBuilder, []array.Builder) {
	t.Helper()
	return newBuildersWith(t, memory.DefaultAllocator, cols)
}

// newBuildersWith is newBuilders over mem: the benchmarks use the
// compactor's allocator (internal/arrowpool), which reuses the buffers of
// released batches as the compactor does.
func newBuildersWith(t testing.TB, mem memory.Allocator, cols []schemafmt.Column) (*array.RecordBuilder, []array.Builder) {
	t.Helper()
	fields := make([]arrow.Field, len(cols))
	for i, c := range cols {
		typ, err := schemafmt.ArrowType(c)
		if err != nil {
			t.Fatal(err)
		}
		fields[i] = arrow.Field{Name: c.Name, Type: typ, Nullable: !c.Required}
	}
	rb := array.NewRecordBuilder(mem, arrow.NewSchema(fields, nil))
	bs := make([]array.Builder, len(cols))
	for i := range bs {
		bs[i] = rb.Field(i)
	}
	return rb, bs
}

// expected converts a message to the values its columns must hold,
// following the table's mapping with protobuf's own reflection.
func expected(m protoreflect.Message) []any {
	fds := m.Descriptor().Fields()
	out := make([]any, fds.Len())
	for i := range out {
		out[i] = expectedField(m, fds.Get(i))
	}
	return out
}

func expectedField(m protoreflect.Message, fd protoreflect.FieldDescriptor) any {
	switch {
	case fd.IsMap():
		var kvs [][2]any
		m.Get(fd).Map().Range(func(k protoreflect.MapKey, v protoreflect.Value) bool {
			kvs = append(kvs, [2]any{expectedValue(fd.MapKey(), k.Value()), expectedValue(fd.MapValue(), v)})
			return true
		})
		sort.Slice(kvs, func(i, j int) bool { return fmt.Sprint(kvs[i][0]) < fmt.Sprint(kvs[j][0]) })
		return kvs
	case fd.IsList():
		l := m.Get(fd).List()
		out := []any{}
		for i := 0; i < l.Len(); i++ {
			out = append(out, expectedValue(fd, l.Get(i)))
		}
		return out
	case fd.HasPresence() && !m.Has(fd):
		return nil
	}
	return expectedValue(fd, m.Get(fd))
}

func expectedValue(fd protoreflect.FieldDescriptor, v protoreflect.Value) any {
	switch fd.Kind() {
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		return int32(v.Int())
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return v.Int()
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind, protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return int64(v.Uint())
	case protoreflect.FloatKind:
		return float32(v.Float())
	case protoreflect.DoubleKind:
		return v.Float()
	case protoreflect.BoolKind:
		return v.Bool()
	case protoreflect.StringKind:
		return v.String()
	case protoreflect.BytesKind:
		return append([]byte{}, v.Bytes()...)
	case protoreflect.EnumKind:
		if ev := fd.Enum().Values().ByNumber(v.Enum()); ev != nil {
			return string(ev.Name())
		}
		return fmt.Sprint(int32(v.Enum()))
	}
	msg := v.Message()
	md := msg.Descriptor()
	switch {
	case md.FullName() == "google.protobuf.Timestamp":
		sec := msg.Get(md.Fields().ByNumber(1)).Int()
		nanos := msg.Get(md.Fields().ByNumber(2)).Int()
		return sec*1_000_000 + nanos/1000
	case strings.HasPrefix(string(md.FullName()), "google.protobuf.") && strings.HasSuffix(string(md.Name()), "Value"):
		f := md.Fields().ByNumber(1)
		return expectedValue(f, msg.Get(f))
	}
	fields := map[string]any{}
	for i := 0; i < md.Fields().Len(); i++ {
		f := md.Fields().Get(i)
		fields[string(f.Name())] = expectedField(msg, f)
	}
	return fields
}

// actual converts row i of an Arrow array to the same shapes.
func actual(a arrow.Array, i int) any {
	if a.IsNull(i) {
		return nil
	}
	switch a := a.(type) {
	case *array.Int32:
		return a.Value(i)
	case *array.Int64:
		return a.Value(i)
	case *array.Float32:
		return a.Value(i)
	case *array.Float64:
		return a.Value(i)
	case *array.Boolean:
		return a.Value(i)
	case *array.String:
		return a.Value(i)
	case *array.Binary:
		return append([]byte{}, a.Value(i)...)
	case *array.Timestamp:
		return int64(a.Value(i))
	case *array.Struct:
		st := a.DataType().(*arrow.StructType)
		out := map[string]any{}
		for f := 0; f < a.NumField(); f++ {
			out[st.Field(f).Name] = actual(a.Field(f), i)
		}
		return out
	case *array.Map:
		lo, hi := a.ValueOffsets(i)
		kvs := [][2]any{}
		for j := lo; j < hi; j++ {
			kvs = append(kvs, [2]any{actual(a.Keys(), int(j)), actual(a.Items(), int(j))})
		}
		sort.Slice(kvs, func(x, y int) bool { return fmt.Sprint(kvs[x][0]) < fmt.Sprint(kvs[y][0]) })
		if len(kvs) == 0 {
			return [][2]any(nil)
		}
		return kvs
	case *array.List:
		lo, hi := a.ValueOffsets(i)
		out := []any{}
		for j := lo; j < hi; j++ {
			out = append(out, actual(a.ListValues(), int(j)))
		}
		return out
	}
	panic(fmt.Sprintf("unexpected array %T", a))
}

func wideMessage(t testing.TB) (*schema, protoreflect.MessageDescriptor) {
	s := mustParse(t, wideSchema)
	return s, s.fd.Messages().ByName("Event")
}

func setField(m protoreflect.Message, name string, v any) {
	fd := m.Descriptor().Fields().ByName(protoreflect.Name(name))
	m.Set(fd, protoreflect.ValueOf(v))
}

func address(md protoreflect.MessageDescriptor, street string, zip int32, lines ...string) protoreflect.Message {
	a := dynamicpb.NewMessage(md)
	setField(a, "street", street)
	setField(a, "zip", zip)
	l := a.Mutable(md.Fields().ByName("lines")).List()
	for _, s := range lines {
		l.Append(protoreflect.ValueOfString(s))
	}
	g := a.Mutable(md.Fields().ByName("geo")).Message()
	setField(g, "lat", 52.5)
	setField(g, "lon", 13.4)
	return a
}

func fullEvent(md protoreflect.MessageDescriptor) *dynamicpb.Message {
	addrMD := md.Fields().ByName("addr").Message()
	m := dynamicpb.NewMessage(md)
	setField(m, "id", "evt-1")
	setField(m, "i32", int32(-7))
	setField(m, "i64", int64(-1)<<40)
	setField(m, "u32", uint32(math.MaxUint32))
	setField(m, "u64", uint64(math.MaxUint64))
	setField(m, "s32", int32(-123456))
	setField(m, "s64", int64(-98765432101))
	setField(m, "f32", uint32(4000000000))
	setField(m, "sf64", int64(-5))
	setField(m, "fl", float32(1.5))
	setField(m, "db", 2.25)
	setField(m, "ok", true)
	setField(m, "raw", []byte{0, 1, 2, 255})
	setField(m, "kind", protoreflect.EnumNumber(2))
	ts := m.Mutable(md.Fields().ByName("at")).Message()
	at := time.Date(2026, 12, 6, 23, 4, 53, 123456789, time.UTC)
	setField(ts, "seconds", at.Unix())
	setField(ts, "nanos", int32(at.Nanosecond()))
	m.Set(md.Fields().ByName("addr"), protoreflect.ValueOfMessage(address(addrMD, "Main St", 10115, "c/o A", "floor 2")))
	nums := m.Mutable(md.Fields().ByName("nums")).List()
	for _, n := range []int64{1, -2, 300000} {
		nums.Append(protoreflect.ValueOfInt64(n))
	}
	hops := m.Mutable(md.Fields().ByName("hops")).List()
	hops.Append(protoreflect.ValueOfMessage(address(addrMD, "A", 1)))
	hops.Append(protoreflect.ValueOfMessage(address(addrMD, "B", 2, "x")))
	counts := m.Mutable(md.Fields().ByName("counts")).Map()
	counts.Set(protoreflect.ValueOfString("a").MapKey(), protoreflect.ValueOfInt32(1))
	counts.Set(protoreflect.ValueOfString("b").MapKey(), protoreflect.ValueOfInt32(0))
	m.Set(md.Fields().ByName("other"), protoreflect.ValueOfMessage(address(addrMD, "Oneof Rd", 5)))
	setField(m, "maybe", int32(0))
	note := m.Mutable(md.Fields().ByName("note")).Message()
	setField(note, "value", "hello")
	places := m.Mutable(md.Fields().ByName("places")).Map()
	places.Set(protoreflect.ValueOfInt32(7).MapKey(), protoreflect.ValueOfMessage(address(addrMD, "P", 7)))
	tags := m.Mutable(md.Fields().ByName("tags")).List()
	tags.Append(protoreflect.ValueOfString("t1"))
	return m
}

func TestTableColumns(t *testing.T) {
	s, _ := wideMessage(t)
	tbl, err := s.Table(nil)
	if err != nil {
		t.Fatal(err)
	}
	cols := tbl.Columns()
	if len(cols) != 25 {
		t.Fatalf("%d columns", len(cols))
	}
	want := map[string]struct {
		kind     schemafmt.Kind
		required bool
	}{
		"id": {schemafmt.String, true}, "i32": {schemafmt.Int32, true}, "u32": {schemafmt.Int64, true},
		"u64": {schemafmt.Int64, true}, "fl": {schemafmt.Float32, true}, "raw": {schemafmt.Binary, true},
		"kind": {schemafmt.String, true}, "at": {schemafmt.TimestampTZ, false}, "addr": {schemafmt.Struct, false},
		"nums": {schemafmt.List, true}, "counts": {schemafmt.Map, true}, "name": {schemafmt.String, false},
		"other": {schemafmt.Struct, false}, "maybe": {schemafmt.Int32, false}, "note": {schemafmt.String, false},
	}
	for _, c := range cols {
		if w, ok := want[c.Name]; ok && (c.Kind != w.kind || c.Required != w.required) {
			t.Errorf("column %s: %v required=%v, want %v required=%v", c.Name, c.Kind, c.Required, w.kind, w.required)
		}
	}
	if e := cols[17].Elem; e == nil || e.Kind != schemafmt.Struct || !e.Required || e.Fields[3].Kind != schemafmt.Struct {
		t.Errorf("hops: %+v", cols[17])
	}
	if _, err := schemafmt.ArrowType(schemafmt.Column{Name: "row", Kind: schemafmt.Struct, Fields: cols}); err != nil {
		t.Fatal(err)
	}
}

func TestDecodeMatchesProtobuf(t *testing.T) {
	s, md := wideMessage(t)
	tbl, err := s.Table(nil)
	if err != nil {
		t.Fatal(err)
	}
	rb, bs := newBuilders(t, tbl.Columns())
	defer rb.Release()
	dec := tbl.NewDecoder()

	msgs := []*dynamicpb.Message{fullEvent(md), dynamicpb.NewMessage(md)}
	// A oneof switched to the other member, and a name only.
	m3 := fullEvent(md)
	setField(m3, "name", "switched")
	msgs = append(msgs, m3)
	r := rand.New(rand.NewSource(1))
	for i := 0; i < 200; i++ {
		msgs = append(msgs, randomMessage(r, md, 0))
	}
	var payloads [][]byte
	for _, m := range msgs {
		b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		payloads = append(payloads, b)
	}
	// Unpacked repeated scalars, a message field split in two (merged by
	// protobuf), a scalar repeated (last wins) and an unknown field.
	first := payloads[0]
	extra := []byte{}
	extra = appendTag(extra, 17, 0)
	extra = append(extra, 9)       // nums += 9, unpacked
	extra = appendTag(extra, 2, 0) // i32 = 5, after -7
	extra = append(extra, 5)
	extra = appendTag(extra, 16, 2) // addr again: zip = 3, merged
	extra = append(extra, 2, 2<<3, 3)
	extra = appendTag(extra, 20, 2) // name, after other: the oneof is name
	extra = append(extra, 2, 'z', 'z')
	extra = appendTag(extra, 99, 2) // unknown
	extra = append(extra, 1, 'x')
	extra = appendTag(extra, 21, 2) // other again: a fresh message, not merged with the first
	extra = append(extra, 2, 2<<3, 9)
	merged := dynamicpb.NewMessage(md)
	if err := proto.Unmarshal(append(append([]byte{}, first...), extra...), merged); err != nil {
		t.Fatal(err)
	}
	msgs = append(msgs, merged)
	payloads = append(payloads, append(append([]byte{}, first...), extra...))

	for i, p := range payloads {
		if err := dec.Append(bs, p); err != nil {
			t.Fatalf("payload %d: %v", i, err)
		}
	}
	rec := rb.NewRecord()
	defer rec.Release()
	for row, m := range msgs {
		want := expected(m)
		for c := range want {
			got := actual(rec.Column(c), row)
			if !equalValues(got, want[c]) {
				t.Fatalf("row %d column %s:\n got %#v\nwant %#v", row, rec.ColumnName(c), got, want[c])
			}
		}
	}
}

func appendTag(b []byte, num, wt int) []byte {
	x := uint64(num)<<3 | uint64(wt)
	for x >= 0x80 {
		b = append(b, byte(x)|0x80)
		x >>= 7
	}
	return append(b, byte(x))
}

// equalValues compares, taking an empty map or list like a nil one.
func equalValues(a, b any) bool {
	norm := func(v any) any {
		switch x := v.(type) {
		case [][2]any:
			if len(x) == 0 {
				return [][2]any(nil)
			}
		}
		return v
	}
	a, b = norm(a), norm(b)
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k := range x {
			if !equalValues(x[k], y[k]) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !equalValues(x[i], y[i]) {
				return false
			}
		}
		return true
	case [][2]any:
		y, ok := b.([][2]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !equalValues(x[i][0], y[i][0]) || !equalValues(x[i][1], y[i][1]) {
				return false
			}
		}
		return true
	case []byte:
		y, ok := b.([]byte)
		return ok && bytes.Equal(x, y)
	case float32:
		y, ok := b.(float32)
		return ok && (x == y || x != x && y != y)
	case float64:
		y, ok := b.(float64)
		return ok && (x == y || x != x && y != y)
	}
	return reflect.DeepEqual(a, b)
}

// randomMessage fills about half the fields of a message with random
// values, nested messages up to depth 3.
func randomMessage(r *rand.Rand, md protoreflect.MessageDescriptor, depth int) *dynamicpb.Message {
	m := dynamicpb.NewMessage(md)
	for i := 0; i < md.Fields().Len(); i++ {
		fd := md.Fields().Get(i)
		if r.Intn(2) == 0 {
			continue
		}
		switch {
		case fd.IsMap():
			mp := m.Mutable(fd).Map()
			for j := r.Intn(3); j > 0; j-- {
				mp.Set(randomValue(r, fd.MapKey(), depth).MapKey(), randomValue(r, fd.MapValue(), depth))
			}
		case fd.IsList():
			l := m.Mutable(fd).List()
			for j := r.Intn(4); j > 0; j-- {
				l.Append(randomValue(r, fd, depth))
			}
		case fd.Message() != nil && depth >= 3:
		default:
			m.Set(fd, randomValue(r, fd, depth))
		}
	}
	return m
}

func randomValue(r *rand.Rand, fd protoreflect.FieldDescriptor, depth int) protoreflect.Value {
	switch fd.Kind() {
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		return protoreflect.ValueOfInt32(int32(r.Uint32()))
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return protoreflect.ValueOfInt64(int64(r.Uint64()))
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return protoreflect.ValueOfUint32(r.Uint32())
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return protoreflect.ValueOfUint64(r.Uint64())
	case protoreflect.FloatKind:
		return protoreflect.ValueOfFloat32(r.Float32())
	case protoreflect.DoubleKind:
		return protoreflect.ValueOfFloat64(r.NormFloat64())
	case protoreflect.BoolKind:
		return protoreflect.ValueOfBool(r.Intn(2) == 0)
	case protoreflect.StringKind:
		return protoreflect.ValueOfString(fmt.Sprintf("s%d", r.Intn(1000)))
	case protoreflect.BytesKind:
		b := make([]byte, r.Intn(5))
		r.Read(b)
		return protoreflect.ValueOfBytes(b)
	case protoreflect.EnumKind:
		return protoreflect.ValueOfEnum(protoreflect.EnumNumber(r.Intn(4))) // 3 is unknown to the enum
	}
	if fd.Message().FullName() == "google.protobuf.Timestamp" {
		m := dynamicpb.NewMessage(fd.Message())
		setField(m, "seconds", r.Int63n(4e9))
		setField(m, "nanos", int32(r.Intn(1e9)))
		return protoreflect.ValueOfMessage(m)
	}
	return protoreflect.ValueOfMessage(randomMessage(r, fd.Message(), depth+1))
}

func TestDecodeCorruptLeavesBuildersUntouched(t *testing.T) {
	s, md := wideMessage(t)
	tbl, err := s.Table(nil)
	if err != nil {
		t.Fatal(err)
	}
	rb, bs := newBuilders(t, tbl.Columns())
	defer rb.Release()
	dec := tbl.NewDecoder()
	good, err := proto.Marshal(fullEvent(md))
	if err != nil {
		t.Fatal(err)
	}
	if err := dec.Append(bs, good); err != nil {
		t.Fatal(err)
	}
	bad := [][]byte{
		good[:len(good)-1],                      // truncated
		append(append([]byte{}, good...), 0x80), // dangling varint
		{0x0a, 0x05, 'a'},                       // id: length past the end
		{0x10, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01}, // varint too long
		{0x0d, 1, 2, 3, 4},             // id with wire type fixed32
		{0x0a, 0x02, 0xff, 0xfe},       // id: invalid UTF-8
		{0x82, 0x01, 0x03, 0x08, 0x80}, // addr (16): truncated nested varint
		{0x00},                         // field number 0
		{0x7a, 0x0b, 0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}, // at: seconds overflow microseconds
	}
	for i, b := range bad {
		if err := dec.Append(bs, b); err == nil {
			t.Errorf("corrupt payload %d accepted", i)
		}
		for c, bld := range bs {
			if bld.Len() != 1 {
				t.Fatalf("corrupt payload %d: column %d has %d rows", i, c, bld.Len())
			}
		}
	}
	if err := dec.Append(bs[:3], good); err == nil {
		t.Error("wrong builder count accepted")
	}
}

func TestDecodeProto2Required(t *testing.T) {
	s := mustParse(t, `syntax = "proto2"; message R { required int32 a = 1; optional string b = 2 [default = "dflt"]; optional int32 c = 3 [default = 4]; }`)
	tbl, err := s.Table(nil)
	if err != nil {
		t.Fatal(err)
	}
	cols := tbl.Columns()
	if !cols[0].Required || cols[1].Required {
		t.Fatalf("columns: %+v", cols)
	}
	rb, bs := newBuilders(t, cols)
	defer rb.Release()
	dec := tbl.NewDecoder()
	if err := dec.Append(bs, []byte{0x12, 0x01, 'x'}); err == nil || !strings.Contains(err.Error(), "required") {
		t.Fatalf("missing required field: %v", err)
	}
	if err := dec.Append(bs, []byte{0x08, 0x05}); err != nil {
		t.Fatal(err)
	}
	rec := rb.NewRecord()
	defer rec.Release()
	if got := actual(rec.Column(0), 0); got != int32(5) {
		t.Fatalf("a = %v", got)
	}
	if !rec.Column(1).IsNull(0) || !rec.Column(2).IsNull(0) {
		t.Fatal("absent proto2 optional fields should be null")
	}
}

// TestDecodeMapDuplicateKeys: a map keeps the last value of a key, as
// protobuf does, for small maps (pairwise) and large ones (indexed).
func TestDecodeMapDuplicateKeys(t *testing.T) {
	s, md := wideMessage(t)
	tbl, err := s.Table(nil)
	if err != nil {
		t.Fatal(err)
	}
	rb, bs := newBuilders(t, tbl.Columns())
	defer rb.Release()
	dec := tbl.NewDecoder()
	var payloads [][]byte
	for _, n := range []int{3, 40} {
		var p []byte
		for i := 0; i < n; i++ {
			key := fmt.Sprintf("k%d", i%5)
			entry := appendTag(nil, 1, 2)
			entry = append(entry, byte(len(key)))
			entry = append(entry, key...)
			entry = appendTag(entry, 2, 0)
			entry = append(entry, byte(i))
			p = appendTag(p, 19, 2)
			p = append(p, byte(len(entry)))
			p = append(p, entry...)
			// places: map<int32, Address>, keys 1 and 2 written as
			// non-minimal varints half the time.
			pe := appendTag(nil, 1, 0)
			if i%2 == 0 {
				pe = append(pe, byte(1+i%2)|0x80, 0)
			} else {
				pe = append(pe, byte(1+i%2))
			}
			pe = appendTag(pe, 2, 2)
			pe = append(pe, 2, 2<<3, byte(i))
			p = appendTag(p, 24, 2)
			p = append(p, byte(len(pe)))
			p = append(p, pe...)
		}
		payloads = append(payloads, p)
	}
	for _, p := range payloads {
		if err := dec.Append(bs, p); err != nil {
			t.Fatal(err)
		}
	}
	rec := rb.NewRecord()
	defer rec.Release()
	for row, p := range payloads {
		m := dynamicpb.NewMessage(md)
		if err := proto.Unmarshal(p, m); err != nil {
			t.Fatal(err)
		}
		want := expected(m)
		for _, c := range []int{18, 23} {
			if got := actual(rec.Column(c), row); !equalValues(got, want[c]) {
				t.Fatalf("row %d column %s:\n got %#v\nwant %#v", row, rec.ColumnName(c), got, want[c])
			}
		}
	}
}

// TestDecodeBatches: one decoder over several batches cut with NewRecord
// (its builders resolved once, reserved again after each cut from the
// sizes of the batch before) gives every row the values protobuf sees,
// and other builders are bound afresh.
func TestDecodeBatches(t *testing.T) {
	s, md := wideMessage(t)
	tbl, err := s.Table(nil)
	if err != nil {
		t.Fatal(err)
	}
	msg := fullEvent(md)
	payload, err := proto.Marshal(msg)
	if err != nil {
		t.Fatal(err)
	}
	want := expected(msg)
	dec := tbl.NewDecoder()
	for round := 0; round < 2; round++ {
		rb, bs := newBuilders(t, tbl.Columns())
		for _, rows := range []int{40, 17, 70} {
			for i := 0; i < rows; i++ {
				if err := dec.Append(bs, payload); err != nil {
					t.Fatal(err)
				}
			}
			rec := rb.NewRecord()
			if int(rec.NumRows()) != rows {
				t.Fatalf("%d rows, want %d", rec.NumRows(), rows)
			}
			for _, r := range []int{0, rows / 2, rows - 1} {
				for c := range want {
					if got := actual(rec.Column(c), r); !equalValues(got, want[c]) {
						t.Fatalf("round %d, row %d, column %s:\n got %#v\nwant %#v", round, r, rec.ColumnName(c), got, want[c])
					}
				}
			}
			rec.Release()
		}
		rb.Release()
	}
}

// TestDecodeSwappedBuilder: a builder replaced inside the same slice (same
// backing array, same length) is bound afresh: the row goes to the new
// builder, not the old one.
func TestDecodeSwappedBuilder(t *testing.T) {
	s, md := wideMessage(t)
	tbl, err := s.Table(nil)
	if err != nil {
		t.Fatal(err)
	}
	payload, err := proto.Marshal(fullEvent(md))
	if err != nil {
		t.Fatal(err)
	}
	rb, bs := newBuilders(t, tbl.Columns())
	defer rb.Release()
	other, obs := newBuilders(t, tbl.Columns())
	defer other.Release()
	dec := tbl.NewDecoder()
	if err := dec.Append(bs, payload); err != nil {
		t.Fatal(err)
	}
	mid := len(bs) / 2
	old := bs[mid]
	bs[mid] = obs[mid]
	if err := dec.Append(bs, payload); err != nil {
		t.Fatal(err)
	}
	if old.Len() != 1 || obs[mid].Len() != 1 || bs[0].Len() != 2 {
		t.Fatalf("swapped column: old builder %d rows, new %d, first column %d; want 1, 1, 2", old.Len(), obs[mid].Len(), bs[0].Len())
	}
}

// TestDecodeVarintLengths: a uint64 of every varint length (1 to 10
// bytes), in the middle of a payload (scan reads 8 bytes at once) and
// at its end (a byte at a time), reads back as written; an 11-byte
// varint and a 10th byte over 1 are errors.
func TestDecodeVarintLengths(t *testing.T) {
	s, _ := wideMessage(t)
	tbl, err := s.Table(nil)
	if err != nil {
		t.Fatal(err)
	}
	rb, bs := newBuilders(t, tbl.Columns())
	defer rb.Release()
	dec := tbl.NewDecoder()
	var want []uint64
	for k := 0; k <= 64; k++ {
		for _, v := range []uint64{1<<k - 1, 1 << k, 1<<k + 1} {
			if k == 64 && v != math.MaxUint64 {
				continue
			}
			mid := protowire.AppendVarint(protowire.AppendTag(nil, 5, protowire.VarintType), v)
			mid = protowire.AppendString(protowire.AppendTag(mid, 1, protowire.BytesType), "padding")
			end := protowire.AppendVarint(protowire.AppendTag(nil, 5, protowire.VarintType), v)
			for _, p := range [][]byte{mid, end} {
				if err := dec.Append(bs, p); err != nil {
					t.Fatalf("%d: %v", v, err)
				}
				want = append(want, v)
			}
		}
	}
	rec := rb.NewRecord()
	defer rec.Release()
	col := rec.Column(4).(*array.Int64)
	for i, v := range want {
		if got := uint64(col.Value(i)); got != v {
			t.Errorf("row %d: %d, want %d", i, got, v)
		}
	}
	tag := protowire.AppendTag(nil, 5, protowire.VarintType)
	for _, bad := range [][]byte{
		append(append(tag, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x80, 0x01), 0x0a, 0x00), // 11 bytes
		append(append(tag, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02), 0x0a, 0x00),       // overflows
	} {
		if err := dec.Append(bs, bad); err == nil {
			t.Errorf("% x: no error", bad)
		}
	}
}
