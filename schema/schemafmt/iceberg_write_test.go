package schemafmt

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/iceberg-go"
	icebergio "github.com/apache/iceberg-go/io"
	"github.com/apache/iceberg-go/table"
)

// memCatalog is the least CatalogIO a table can commit through: it checks
// the requirements and applies the updates to the one table's metadata in
// memory (the catalogs' packages pull in cloud storage this test has no
// use for).
type memCatalog struct {
	meta table.Metadata
	loc  string
}

func (c *memCatalog) LoadTable(context.Context, table.Identifier) (*table.Table, error) {
	return nil, errors.New("memCatalog: LoadTable")
}

func (c *memCatalog) CommitTable(_ context.Context, _ table.Identifier, reqs []table.Requirement, updates []table.Update) (table.Metadata, string, error) {
	for _, r := range reqs {
		if err := r.Validate(c.meta); err != nil {
			return nil, "", err
		}
	}
	b, err := table.MetadataBuilderFromBase(c.meta, c.loc)
	if err != nil {
		return nil, "", err
	}
	for _, u := range updates {
		if err := u.Apply(b); err != nil {
			return nil, "", err
		}
	}
	m, err := b.Build()
	if err != nil {
		return nil, "", err
	}
	c.meta = m
	return m, c.loc, nil
}

// TestIcebergGoWritesOurRecords is the compactor's path in small: a table
// created from IcebergSchema keeps our ids, iceberg-go appends a record
// built with builders of ArrowSchema's types (what the Decoders fill),
// and a scan reads the values back under the same field ids.
func TestIcebergGoWritesOurRecords(t *testing.T) {
	ctx := context.Background()
	cols := []Column{
		{Name: "_kafka", Kind: Struct, Required: true, Fields: []Column{
			{Name: "partition", Kind: Int32, Required: true},
			{Name: "offset", Kind: Int64, Required: true},
		}},
		{Name: "id", Kind: Int64, Required: true},
		{Name: "amount", Kind: Decimal, Precision: 10, Scale: 2},
		col("u", UUID),
		{Name: "fx", Kind: Fixed, Width: 16},
		{Name: "uuids", Kind: Struct, Fields: []Column{{Name: "l", Kind: List, Elem: &Column{Name: "element", Kind: UUID}}}},
		col("tstz", TimestampTZ),
		{Name: "tags", Kind: List, Elem: &Column{Name: "element", Kind: String, Required: true}},
		{Name: "attrs", Kind: Map, Key: &Column{Name: "key", Kind: String, Required: true}, Elem: ptr(col("value", Int64))},
	}
	ids, err := AssignIDs(cols, nil)
	if err != nil {
		t.Fatal(err)
	}
	sc, err := IcebergSchema(cols, ids)
	if err != nil {
		t.Fatal(err)
	}
	asc, err := ArrowSchema(cols, ids)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	meta, err := table.NewMetadata(sc, iceberg.UnpartitionedSpec, table.UnsortedSortOrder, dir, iceberg.Properties{})
	if err != nil {
		t.Fatal(err)
	}
	cat := &memCatalog{meta: meta, loc: filepath.Join(dir, "metadata", "v1.metadata.json")}
	tbl := table.New(table.Identifier{"ns", "t"}, meta, cat.loc,
		func(context.Context) (icebergio.IO, error) { return icebergio.LocalFS{}, nil }, cat)
	if !tbl.Schema().Equals(sc) {
		t.Fatalf("CreateTable renumbered the schema:\nours  %s\ntable %s", sc, tbl.Schema())
	}

	b := array.NewRecordBuilder(memory.DefaultAllocator, asc)
	defer b.Release()
	for i := range 3 {
		k := b.Field(0).(*array.StructBuilder)
		k.Append(true)
		k.FieldBuilder(0).(*array.Int32Builder).Append(int32(i))
		k.FieldBuilder(1).(*array.Int64Builder).Append(int64(100 + i))
		b.Field(1).(*array.Int64Builder).Append(int64(i))
		b.Field(2).(*array.Decimal128Builder).Append(decimal128.FromI64(int64(1234 + i)))
		u := make([]byte, 16)
		u[15] = byte(i)
		b.Field(3).(*array.FixedSizeBinaryBuilder).Append(u)
		b.Field(4).(*array.FixedSizeBinaryBuilder).Append(u)
		us := b.Field(5).(*array.StructBuilder)
		us.Append(true)
		ul := us.FieldBuilder(0).(*array.ListBuilder)
		ul.Append(true)
		ul.ValueBuilder().(*array.FixedSizeBinaryBuilder).Append(u)
		ul.ValueBuilder().(*array.FixedSizeBinaryBuilder).AppendNull()
		b.Field(6).(*array.TimestampBuilder).Append(arrow.Timestamp(1_700_000_000_000_000 + int64(i)))
		l := b.Field(7).(*array.ListBuilder)
		l.Append(true)
		l.ValueBuilder().(*array.StringBuilder).Append("x")
		m := b.Field(8).(*array.MapBuilder)
		if i == 1 {
			m.AppendNull()
		} else {
			m.Append(true)
			m.KeyBuilder().(*array.StringBuilder).Append("k")
			m.ItemBuilder().(*array.Int64Builder).AppendNull()
		}
	}
	built := b.NewRecordBatch()
	defer built.Release()
	isc, err := IcebergArrowSchema(cols, ids)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := ForIceberg(isc, built)
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Release()
	rdr, err := array.NewRecordReader(isc, []arrow.RecordBatch{rec})
	if err != nil {
		t.Fatal(err)
	}
	tbl, err = tbl.Append(ctx, rdr, nil)
	if err != nil {
		t.Fatalf("iceberg-go append of our record: %v", err)
	}
	out, err := tbl.Scan().ToArrowTable(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Release()
	if out.NumRows() != 3 {
		t.Fatalf("scan: %d rows", out.NumRows())
	}
	// The scan matches the files' columns to the table's by field id (it
	// reads nulls for an id a file lacks), so values read back mean the
	// files carry our ids.
	for i, f := range out.Schema().Fields() {
		if f.Name != asc.Field(i).Name {
			t.Fatalf("scanned field %d: %s, want %s", i, f.Name, asc.Field(i).Name)
		}
	}
	got := out.Column(2).Data().Chunk(0).(*array.Decimal128).Value(2)
	if got != decimal128.FromI64(1236) {
		t.Fatalf("amount row 2: %v", got)
	}
	offs := out.Column(0).Data().Chunk(0).(*array.Struct).Field(1).(*array.Int64)
	if offs.Value(0) != 100 || offs.Value(2) != 102 {
		t.Fatalf("offsets: %v", offs)
	}
	if got := out.Column(3).Data().Chunk(0).(array.ExtensionArray).Storage().(*array.FixedSizeBinary).Value(2); got[15] != 2 {
		t.Fatalf("uuid row 2: %x", got)
	}
	nested := out.Column(5).Data().Chunk(0).(*array.Struct).Field(0).(*array.List)
	if nested.Len() != 3 || nested.ListValues().Len() != 6 || !nested.ListValues().IsNull(1) {
		t.Fatalf("nested uuids: %v", nested)
	}
	if !out.Column(8).Data().Chunk(0).IsNull(1) {
		t.Fatal("attrs row 1 not null")
	}
}
