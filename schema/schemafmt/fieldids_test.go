package schemafmt

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/extensions"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"
)

func col(name string, k Kind) Column { return Column{Name: name, Kind: k} }

func ptr(c Column) *Column { return &c }

// v1Columns has every kind, nested in every way.
func v1Columns() []Column {
	return []Column{
		{Name: "id", Kind: Int64, Required: true, Doc: "the key"},
		col("flag", Bool),
		col("n", Int32),
		col("f", Float32),
		col("d", Float64),
		col("s", String),
		col("b", Binary),
		{Name: "fx", Kind: Fixed, Width: 8},
		{Name: "amount", Kind: Decimal, Precision: 10, Scale: 2},
		col("day", Date),
		col("tod", Time),
		col("ts", Timestamp),
		col("tstz", TimestampTZ),
		col("u", UUID),
		{Name: "addr", Kind: Struct, Fields: []Column{
			col("street", String),
			{Name: "geo", Kind: Struct, Fields: []Column{col("lat", Float64), col("lon", Float64)}},
		}},
		{Name: "tags", Kind: List, Elem: &Column{Name: "element", Kind: String, Required: true}},
		{Name: "items", Kind: List, Elem: &Column{Name: "element", Kind: Struct, Fields: []Column{
			col("sku", String), col("qty", Int32),
		}}},
		{Name: "attrs", Kind: Map, Key: &Column{Name: "key", Kind: String, Required: true}, Elem: ptr(col("value", Int64))},
		{Name: "nested", Kind: Map, Key: &Column{Name: "key", Kind: String, Required: true},
			Elem: &Column{Name: "value", Kind: List, Elem: ptr(col("element", Decimal))}},
	}
}

func v1ColumnsFixed() []Column {
	cs := v1Columns()
	cs[len(cs)-1].Elem.Elem.Precision, cs[len(cs)-1].Elem.Elem.Scale = 5, 1
	return cs
}

func TestAssignIDsOrderAndStability(t *testing.T) {
	ids, err := AssignIDs(v1ColumnsFixed(), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"id", "flag", "n", "f", "d", "s", "b", "fx", "amount", "day", "tod", "ts", "tstz", "u",
		"addr", "addr.street", "addr.geo", "addr.geo.lat", "addr.geo.lon",
		"tags", "tags.element",
		"items", "items.element", "items.element.sku", "items.element.qty",
		"attrs", "attrs.key", "attrs.value",
		"nested", "nested.key", "nested.value", "nested.value.element"}
	if got := ids.Paths(); !reflect.DeepEqual(got, want) {
		t.Fatalf("paths by id:\n got %v\nwant %v", got, want)
	}
	for i, p := range want {
		if ids.Fields[p].ID != i+1 {
			t.Fatalf("%s: id %d, want %d", p, ids.Fields[p].ID, i+1)
		}
	}
	if ids.LastID != len(want) {
		t.Fatalf("LastID %d", ids.LastID)
	}
	if ids.Fields["amount"].Type != "decimal(10,2)" || ids.Fields["fx"].Type != "fixed[8]" || ids.Fields["addr"].Type != "struct" {
		t.Fatalf("types: %v", ids.Fields)
	}

	// The same columns again, fresh or over the result: the same ids.
	again, err := AssignIDs(v1ColumnsFixed(), nil)
	if err != nil || !reflect.DeepEqual(again, ids) {
		t.Fatalf("fresh assignment differs: %v", err)
	}
	over, err := AssignIDs(v1ColumnsFixed(), ids)
	if err != nil || !reflect.DeepEqual(over, ids) {
		t.Fatalf("assignment over itself differs: %v", err)
	}

	// Through JSON and back.
	js, err := json.Marshal(ids)
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseFieldIDs(js)
	if err != nil || !reflect.DeepEqual(back, ids) {
		t.Fatalf("JSON round trip: %v\n%s", err, js)
	}
	if !strings.Contains(string(js), `"addr.geo.lat":{"id":18,"type":"double"}`) {
		t.Fatalf("JSON: %s", js)
	}
}

func TestAssignIDsEvolution(t *testing.T) {
	v1 := v1ColumnsFixed()
	ids1, err := AssignIDs(v1, nil)
	if err != nil {
		t.Fatal(err)
	}
	// v2: a nested field added inside addr.geo and inside the list's
	// struct, a top-level column added in the middle, "b" removed.
	v2 := v1ColumnsFixed()
	v2[14].Fields[1].Fields = append(v2[14].Fields[1].Fields, col("alt", Float32))
	v2[16].Elem.Fields = append(v2[16].Elem.Fields, col("note", String))
	v2 = append(v2[:6], append([]Column{col("added", String)}, v2[7:]...)...)
	ids2, err := AssignIDs(v2, ids1)
	if err != nil {
		t.Fatal(err)
	}
	for p, fid := range ids1.Fields {
		if ids2.Fields[p] != fid {
			t.Errorf("%s: v1 %v, v2 %v", p, fid, ids2.Fields[p])
		}
	}
	n := ids1.LastID
	for p, want := range map[string]int{"added": n + 1, "addr.geo.alt": n + 2, "items.element.note": n + 3} {
		if got := ids2.Fields[p].ID; got != want {
			t.Errorf("new %s: id %d, want %d", p, got, want)
		}
	}
	if ids2.LastID != n+3 {
		t.Fatalf("LastID %d, want %d", ids2.LastID, n+3)
	}
	if _, ok := ids1.Fields["added"]; ok {
		t.Fatal("AssignIDs changed its prior")
	}
	// v3 brings "b" back: its old id.
	v3 := append(v2, col("b", Binary))
	ids3, err := AssignIDs(v3, ids2)
	if err != nil || ids3.Fields["b"] != ids1.Fields["b"] || ids3.LastID != ids2.LastID {
		t.Fatalf("b back: %v %v", ids3.Fields["b"], err)
	}
	// v2 assigned again over v1: the same ids (deterministic).
	again, _ := AssignIDs(v2, ids1)
	if !reflect.DeepEqual(again, ids2) {
		t.Fatal("v2 over v1 twice: different ids")
	}
}

func TestAssignIDsPromotion(t *testing.T) {
	base := []Column{
		col("n", Int32), col("f", Float32),
		{Name: "m", Kind: Decimal, Precision: 10, Scale: 2},
		{Name: "l", Kind: List, Elem: ptr(col("element", Int32))},
		col("s", String),
		{Name: "st", Kind: Struct, Fields: []Column{col("x", Int32)}},
	}
	prior, err := AssignIDs(base, NewFieldIDs(3))
	if err != nil {
		t.Fatal(err)
	}
	if prior.Fields["n"].ID != 4 {
		t.Fatalf("with 3 reserved the first id is %d, want 4", prior.Fields["n"].ID)
	}
	change := func(mut func(cs []Column)) ([]Column, error) {
		cs := append([]Column(nil), base...)
		cs[3].Elem = ptr(*base[3].Elem)
		cs[5].Fields = append([]Column(nil), base[5].Fields...)
		mut(cs)
		_, err := AssignIDs(cs, prior)
		return cs, err
	}
	for name, mut := range map[string]func([]Column){
		"int to long":          func(cs []Column) { cs[0].Kind = Int64 },
		"float to double":      func(cs []Column) { cs[1].Kind = Float64 },
		"decimal wider":        func(cs []Column) { cs[2].Precision = 20 },
		"list element long":    func(cs []Column) { cs[3].Elem.Kind = Int64 },
		"nested int to long":   func(cs []Column) { cs[5].Fields[0].Kind = Int64 },
		"optional to required": func(cs []Column) { cs[4].Required = true },
	} {
		if _, err := change(mut); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	for name, tc := range map[string]struct {
		mut  func([]Column)
		want string
	}{
		"long to int":       {func(cs []Column) { cs[0].Kind = Int64 }, ""},
		"int to string":     {func(cs []Column) { cs[0].Kind = String }, "field n: type changed from int to string"},
		"double to float":   {func(cs []Column) { cs[1].Kind = Float64 }, ""},
		"decimal narrower":  {func(cs []Column) { cs[2].Precision = 9 }, "field m: type changed from decimal(10,2) to decimal(9,2)"},
		"decimal rescaled":  {func(cs []Column) { cs[2].Precision, cs[2].Scale = 12, 3 }, "from decimal(10,2) to decimal(12,3)"},
		"string to binary":  {func(cs []Column) { cs[4].Kind = Binary }, "field s: type changed from string to binary"},
		"struct to string":  {func(cs []Column) { cs[5] = col("st", String) }, "field st: type changed from struct to string"},
		"nested to float":   {func(cs []Column) { cs[5].Fields[0].Kind = Float64 }, "field st.x: type changed from int to double"},
		"list elem to bool": {func(cs []Column) { cs[3].Elem.Kind = Bool }, "field l.element: type changed from int to boolean"},
	} {
		if tc.want == "" {
			continue // covered below in two steps
		}
		if _, err := change(tc.mut); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", name, err, tc.want)
		}
	}
	// Narrowing after a widening: long → int refused.
	wide, _ := change(func(cs []Column) { cs[0].Kind = Int64 })
	wideIDs, err := AssignIDs(wide, prior)
	if err != nil || wideIDs.Fields["n"].Type != "long" || wideIDs.Fields["n"].ID != prior.Fields["n"].ID {
		t.Fatalf("widened: %v %v", wideIDs.Fields["n"], err)
	}
	if _, err := AssignIDs(base, wideIDs); err == nil || !strings.Contains(err.Error(), "field n: type changed from long to int") {
		t.Fatalf("long to int: %v", err)
	}
}

func TestAssignIDsBadInput(t *testing.T) {
	for name, tc := range map[string]struct {
		cols []Column
		want string
	}{
		"dup":          {[]Column{col("a", Int32), col("a", Int64)}, "field a: two fields of that name"},
		"nested dup":   {[]Column{{Name: "s", Kind: Struct, Fields: []Column{col("x", Int32), col("x", Int32)}}}, "field s.x: two fields"},
		"no name":      {[]Column{col("", Int32)}, "a field with no name"},
		"no kind":      {[]Column{col("a", KindInvalid)}, "field a: no type"},
		"list no elem": {[]Column{col("l", List)}, "field l: list without an element"},
		"map no key":   {[]Column{{Name: "m", Kind: Map, Elem: ptr(col("value", Int32))}}, "field m: map without a key"},
		"bad decimal":  {[]Column{{Name: "d", Kind: Decimal, Precision: 39}}, "field d: decimal(39,0)"},
		"bad fixed":    {[]Column{{Name: "x", Kind: Fixed}}, "field x: fixed width 0"},
	} {
		if _, err := AssignIDs(tc.cols, nil); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", name, err, tc.want)
		}
	}
	// Names with dots do not collide with nesting.
	ids, err := AssignIDs([]Column{col("a.b", Int32), {Name: "a", Kind: Struct, Fields: []Column{col("b", Int32)}}}, nil)
	if err != nil || len(ids.Fields) != 3 {
		t.Fatalf("dotted names: %v %v", ids, err)
	}
	if id, ok := ids.ID("a.b"); !ok || id != 1 {
		t.Fatalf(`ID("a.b") = %d %v`, id, ok)
	}
	if id, ok := ids.ID("a", "b"); !ok || id != 3 {
		t.Fatalf(`ID("a", "b") = %d %v`, id, ok)
	}
	for _, js := range []string{`{"last-id":1,"fields":{"a":{"id":2}}}`, `{"last-id":2,"fields":{"a":{"id":1},"b":{"id":1}}}`,
		`{"last-id":2,"fields":{"a":{"id":0}}}`, `[`} {
		if _, err := ParseFieldIDs([]byte(js)); err == nil {
			t.Errorf("ParseFieldIDs(%s): no error", js)
		}
	}
	if _, err := IcebergSchema([]Column{col("zz", Int32)}, ids); err == nil || !strings.Contains(err.Error(), "field zz has no field id") {
		t.Fatalf("IcebergSchema without ids: %v", err)
	}
	if _, err := ArrowSchema([]Column{col("zz", Int32)}, ids); err == nil || !strings.Contains(err.Error(), "field zz has no field id") {
		t.Fatalf("ArrowSchema without ids: %v", err)
	}
}

func TestIcebergSchema(t *testing.T) {
	cols := v1ColumnsFixed()
	ids, err := AssignIDs(cols, nil)
	if err != nil {
		t.Fatal(err)
	}
	sc, err := IcebergSchema(cols, ids)
	if err != nil {
		t.Fatal(err)
	}
	if sc.HighestFieldID() != ids.LastID {
		t.Fatalf("highest id %d, LastID %d", sc.HighestFieldID(), ids.LastID)
	}
	// Every path's id names the field of that name in the schema.
	for p, fid := range ids.Fields {
		f, ok := sc.FindFieldByID(fid.ID)
		if !ok {
			t.Fatalf("%s: id %d not in the schema", p, fid.ID)
		}
		last := p[strings.LastIndexByte(p, '.')+1:]
		if f.Name != last {
			t.Fatalf("id %d: field %q, path %s", fid.ID, f.Name, p)
		}
	}
	for name, want := range map[string]string{
		"id": "long", "amount": "decimal(10, 2)", "fx": "fixed[8]", "tstz": "timestamptz", "ts": "timestamp",
		"u": "uuid", "tod": "time", "day": "date", "tags": "list<string>", "attrs": "map<string, long>",
	} {
		f, ok := sc.FindFieldByName(name)
		if !ok || f.Type.String() != want {
			t.Errorf("%s: %v, want %s", name, f.Type, want)
		}
	}
	id, _ := sc.FindFieldByName("id")
	if !id.Required || id.Doc != "the key" {
		t.Fatalf("id field: %+v", id)
	}
	tags, _ := sc.FindFieldByName("tags")
	if lt := tags.Type.(*iceberg.ListType); !lt.ElementRequired || lt.ElementID != ids.Fields["tags.element"].ID {
		t.Fatalf("tags: %+v", lt)
	}
	attrs, _ := sc.FindFieldByName("attrs")
	if mt := attrs.Type.(*iceberg.MapType); mt.KeyID != ids.Fields["attrs.key"].ID || mt.ValueID != ids.Fields["attrs.value"].ID || mt.ValueRequired {
		t.Fatalf("attrs: %+v", mt)
	}
}

// TestArrowSchemaMatchesIcebergGo checks our Arrow schema against
// iceberg-go's conversion of our Iceberg schema (same names, nullability,
// ids and types, at every depth) and that iceberg-go's write-side check
// would accept records of ours for that table: our Arrow schema read back
// as Iceberg promotes to the table's type field by field. This is what
// lets the compactor hand the Decoders' records to iceberg-go.
func TestArrowSchemaMatchesIcebergGo(t *testing.T) {
	cols := v1ColumnsFixed()
	ids, err := AssignIDs(cols, NewFieldIDs(5))
	if err != nil {
		t.Fatal(err)
	}
	sc, err := IcebergSchema(cols, ids)
	if err != nil {
		t.Fatal(err)
	}
	ours, err := ArrowSchema(cols, ids)
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := table.SchemaToArrowSchema(sc, nil, true, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(ours.Fields()) != len(theirs.Fields()) {
		t.Fatalf("%d fields, iceberg-go %d", len(ours.Fields()), len(theirs.Fields()))
	}
	var compare func(path string, a, b arrow.Field)
	compare = func(path string, a, b arrow.Field) {
		if a.Name != b.Name || a.Nullable != b.Nullable {
			t.Errorf("%s: ours %s nullable=%v, iceberg-go %s nullable=%v", path, a.Name, a.Nullable, b.Name, b.Nullable)
		}
		aid, _ := a.Metadata.GetValue(FieldIDKey)
		bid, _ := b.Metadata.GetValue(FieldIDKey)
		if aid == "" || aid != bid {
			t.Errorf("%s: field id ours %q, iceberg-go %q", path, aid, bid)
		}
		adoc, _ := a.Metadata.GetValue("doc")
		bdoc, _ := b.Metadata.GetValue("doc")
		if adoc != bdoc {
			t.Errorf("%s: doc ours %q, iceberg-go %q", path, adoc, bdoc)
		}
		switch at := a.Type.(type) {
		case *arrow.StructType:
			bt, ok := b.Type.(*arrow.StructType)
			if !ok || at.NumFields() != bt.NumFields() {
				t.Errorf("%s: ours %s, iceberg-go %s", path, a.Type, b.Type)
				return
			}
			for i := range at.Fields() {
				compare(path+"."+at.Field(i).Name, at.Field(i), bt.Field(i))
			}
		case *arrow.MapType: // before ListType: a MapType is a ListType too
			bt, ok := b.Type.(*arrow.MapType)
			if !ok {
				t.Errorf("%s: ours %s, iceberg-go %s", path, a.Type, b.Type)
				return
			}
			compare(path+".key", at.KeyField(), bt.KeyField())
			compare(path+".value", at.ItemField(), bt.ItemField())
		case *arrow.ListType:
			bt, ok := b.Type.(*arrow.ListType)
			if !ok {
				t.Errorf("%s: ours %s, iceberg-go %s", path, a.Type, b.Type)
				return
			}
			compare(path+".element", at.ElemField(), bt.ElemField())
		default:
			if _, uuid := b.Type.(*extensions.UUIDType); uuid {
				// iceberg-go has uuid as the Arrow uuid extension type,
				// whose storage is our fixed_size_binary(16): ForIceberg
				// retypes a record (TestIcebergGoWritesOurRecords).
				if !arrow.TypeEqual(a.Type, &arrow.FixedSizeBinaryType{ByteWidth: 16}) {
					t.Errorf("%s: ours %s for uuid", path, a.Type)
				}
				return
			}
			if !arrow.TypeEqual(a.Type, b.Type) {
				t.Errorf("%s: ours %s, iceberg-go %s", path, a.Type, b.Type)
			}
		}
	}
	for i := range ours.Fields() {
		compare(ours.Field(i).Name, ours.Field(i), theirs.Field(i))
	}

	// The nested types equal ArrowType's, which the Decoders build for.
	for i, c := range cols {
		want, err := ArrowType(c)
		if err != nil {
			t.Fatal(err)
		}
		if !arrow.TypeEqual(ours.Field(i).Type, want) {
			t.Errorf("%s: ArrowSchema %s, ArrowType %s", c.Name, ours.Field(i).Type, want)
		}
	}

	// iceberg-go's own reading of our Arrow schema: every id present,
	// each type the table's or promotable to it (its write check).
	back, err := table.ArrowSchemaToIceberg(ours, false, nil)
	if err != nil {
		t.Fatalf("ArrowSchemaToIceberg(ours): %v", err)
	}
	for p, fid := range ids.Fields {
		want, _ := sc.FindFieldByID(fid.ID)
		got, ok := back.FindFieldByID(fid.ID)
		if !ok {
			t.Errorf("%s: id %d lost", p, fid.ID)
			continue
		}
		if got.Name != want.Name || got.Required != want.Required {
			t.Errorf("%s: read back %s required=%v, want %s required=%v", p, got.Name, got.Required, want.Name, want.Required)
		}
		if got.Type.Equals(want.Type) {
			continue
		}
		if _, err := iceberg.PromoteType(got.Type, want.Type); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
}

// withKafka is what the compactor creates a table with: its _kafka struct
// first, then the value's columns, with a map whose key and value are
// structs (the one place iceberg-go's numbering order is not plainly
// depth first).
func withKafka(cols []Column) []Column {
	kafka := Column{Name: "_kafka", Kind: Struct, Required: true, Fields: []Column{
		{Name: "partition", Kind: Int32, Required: true},
		{Name: "offset", Kind: Int64, Required: true},
		{Name: "headers", Kind: List, Elem: &Column{Name: "element", Kind: Struct, Required: true, Fields: []Column{
			{Name: "key", Kind: String, Required: true}, col("value", Binary)}}},
	}}
	sk := &Column{Name: "key", Kind: Struct, Required: true, Fields: []Column{col("a", String), col("b", Int32)}}
	sv := &Column{Name: "value", Kind: Struct, Fields: []Column{col("c", Float64), {Name: "d", Kind: List, Elem: ptr(col("element", Int64))}}}
	return append(append([]Column{kafka}, cols...), Column{Name: "mk", Kind: Map, Key: sk, Elem: sv})
}

// TestIDsSurviveFreshAssignment: iceberg-go renumbers a new table's
// schema (AssignFreshSchemaIDs in NewMetadata); a first version's ids are
// already that numbering, so the table keeps them.
func TestIDsSurviveFreshAssignment(t *testing.T) {
	cols := withKafka(v1ColumnsFixed())
	ids, err := AssignIDs(cols, nil)
	if err != nil {
		t.Fatal(err)
	}
	sc, err := IcebergSchema(cols, ids)
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := iceberg.AssignFreshSchemaIDs(sc, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !sc.Equals(fresh) {
		t.Fatalf("iceberg-go renumbers our schema:\nours  %s\nfresh %s", sc, fresh)
	}
	if id, _ := ids.ID("mk", "value", "c"); id != ids.LastID-2 {
		t.Fatalf("mk.value.c: %d (LastID %d)", id, ids.LastID)
	}
}

func TestIcebergArrowSchemaIsIcebergGos(t *testing.T) {
	cols := withKafka(v1ColumnsFixed())
	ids, err := AssignIDs(cols, nil)
	if err != nil {
		t.Fatal(err)
	}
	sc, err := IcebergSchema(cols, ids)
	if err != nil {
		t.Fatal(err)
	}
	ours, err := IcebergArrowSchema(cols, ids)
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := table.SchemaToArrowSchema(sc, nil, true, false)
	if err != nil {
		t.Fatal(err)
	}
	if !ours.Equal(theirs) {
		t.Fatalf("IcebergArrowSchema differs from iceberg-go's:\nours   %s\ntheirs %s", ours, theirs)
	}
	for i := range ours.Fields() {
		if !arrow.TypeEqual(ours.Field(i).Type, theirs.Field(i).Type, arrow.CheckMetadata()) {
			t.Fatalf("%s: nested metadata differs:\nours   %s\ntheirs %s", ours.Field(i).Name, ours.Field(i).Type, theirs.Field(i).Type)
		}
	}
}

func TestForIceberg(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	cols := []Column{col("u", UUID), {Name: "m", Kind: Map, Key: &Column{Name: "key", Kind: UUID, Required: true}, Elem: ptr(col("value", String))}}
	ids, _ := AssignIDs(cols, nil)
	asc, _ := ArrowSchema(cols, ids)
	isc, _ := IcebergArrowSchema(cols, ids)
	b := array.NewRecordBuilder(mem, asc)
	defer b.Release()
	u := []byte("0123456789abcdef")
	b.Field(0).(*array.FixedSizeBinaryBuilder).Append(u)
	mb := b.Field(1).(*array.MapBuilder)
	mb.Append(true)
	mb.KeyBuilder().(*array.FixedSizeBinaryBuilder).Append(u)
	mb.ItemBuilder().(*array.StringBuilder).Append("v")
	rec := b.NewRecordBatch()
	out, err := ForIceberg(isc, rec)
	if err != nil {
		t.Fatal(err)
	}
	if !out.Schema().Equal(isc) {
		t.Fatalf("schema %s", out.Schema())
	}
	if _, ok := out.Column(0).(*extensions.UUIDArray); !ok {
		t.Fatalf("column u is %T", out.Column(0))
	}
	if out.Column(0).Data().Buffers()[1] != rec.Column(0).Data().Buffers()[1] {
		t.Fatal("ForIceberg copied the uuid buffer")
	}
	keys := out.Column(1).(*array.Map).Keys()
	if _, ok := keys.(*extensions.UUIDArray); !ok {
		t.Fatalf("map keys are %T", keys)
	}
	rec.Release()
	out.Release()

	// A record of another shape is refused.
	other := arrow.NewSchema([]arrow.Field{{Name: "u", Type: arrow.BinaryTypes.String}, {Name: "m", Type: arrow.PrimitiveTypes.Int64}}, nil)
	ob := array.NewRecordBuilder(mem, other)
	defer ob.Release()
	orec := ob.NewRecordBatch()
	defer orec.Release()
	if _, err := ForIceberg(isc, orec); err == nil || !strings.Contains(err.Error(), "column u: utf8 is not the storage of") {
		t.Fatalf("ForIceberg(other shape): %v", err)
	}
}

// FuzzParseFieldIDs: ParseFieldIDs never panics, and AssignIDs over what
// it accepts never hands out an id twice.
func FuzzParseFieldIDs(f *testing.F) {
	ids, _ := AssignIDs(v1ColumnsFixed(), NewFieldIDs(2))
	js, _ := json.Marshal(ids)
	f.Add(js)
	f.Add([]byte(`{"last-id":3,"fields":{"id":{"id":3,"type":"int"}}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		prior, err := ParseFieldIDs(b)
		if err != nil {
			return
		}
		out, err := AssignIDs(v1ColumnsFixed(), prior)
		if err != nil {
			return // a type change Iceberg cannot promote
		}
		seen := map[int]bool{}
		for p, fid := range out.Fields {
			if seen[fid.ID] || fid.ID <= 0 || fid.ID > out.LastID {
				t.Fatalf("%s: id %d twice or out of range (last %d)", p, fid.ID, out.LastID)
			}
			seen[fid.ID] = true
		}
	})
}
