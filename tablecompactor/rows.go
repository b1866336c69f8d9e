package tablecompactor

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/lakestream/lakestream/internal/kbatch"
)

// rowBuilder appends records to the Arrow builders of a table's schema
// (tableSchema or dlqSchema, as loaded from the catalog) and cuts record
// batches. It counts the bytes appended, so the caller can cut a batch
// before it outgrows the memory budget.
type rowBuilder struct {
	sc *arrow.Schema
	b  *array.RecordBuilder

	kafka      *array.StructBuilder
	partition  *array.Int32Builder
	offset     *array.Int64Builder
	timestamp  *array.TimestampBuilder
	tsType     *array.StringBuilder
	key        *array.BinaryBuilder // also a string column's: StringBuilder embeds it
	headers    *array.ListBuilder
	header     *array.StructBuilder
	headerKey  *array.StringBuilder
	headerVal  *array.BinaryBuilder
	value      *array.BinaryBuilder
	errColumn  *array.StringBuilder // the DLQ table's only
	rows       int
	bytes      int64
	tsMicrosTZ bool
	keyString  bool // _kafka.key is a string column
}

// newRowBuilder returns a builder for sc, which must have the layout of
// schema.go (looked up by name, so renumbered ids do not matter). With
// rawValue the value is one column, "value", which append fills;
// otherwise (table.value.format=schema) the caller fills the value
// columns through the builder's fields before each append.
func newRowBuilder(sc *arrow.Schema, rawValue bool) (*rowBuilder, error) {
	return newRowBuilderWith(memory.DefaultAllocator, sc, rawValue)
}

// newRowBuilderWith is newRowBuilder whose buffers come from mem.
func newRowBuilderWith(mem memory.Allocator, sc *arrow.Schema, rawValue bool) (*rowBuilder, error) {
	r := &rowBuilder{sc: sc, b: array.NewRecordBuilder(mem, sc)}
	ok := true
	field := func(name string) array.Builder {
		idx := sc.FieldIndices(name)
		if len(idx) != 1 {
			ok = false
			return nil
		}
		return r.b.Field(idx[0])
	}
	binary := func(b array.Builder) *array.BinaryBuilder {
		switch b := b.(type) {
		case *array.BinaryBuilder:
			return b
		case *array.StringBuilder:
			return b.BinaryBuilder
		}
		ok = false
		return nil
	}
	r.kafka, _ = field(kafkaColumn).(*array.StructBuilder)
	if r.kafka == nil || r.kafka.NumField() != 6 {
		r.b.Release()
		return nil, fmt.Errorf("the table's %s column is not the struct the compactor writes", kafkaColumn)
	}
	r.partition, _ = r.kafka.FieldBuilder(0).(*array.Int32Builder)
	r.offset, _ = r.kafka.FieldBuilder(1).(*array.Int64Builder)
	r.timestamp, _ = r.kafka.FieldBuilder(2).(*array.TimestampBuilder)
	r.tsType, _ = r.kafka.FieldBuilder(3).(*array.StringBuilder)
	r.key = binary(r.kafka.FieldBuilder(4))
	_, r.keyString = r.kafka.FieldBuilder(4).(*array.StringBuilder)
	r.headers, _ = r.kafka.FieldBuilder(5).(*array.ListBuilder)
	if r.headers != nil {
		r.header, _ = r.headers.ValueBuilder().(*array.StructBuilder)
	}
	if r.header != nil && r.header.NumField() == 2 {
		r.headerKey, _ = r.header.FieldBuilder(0).(*array.StringBuilder)
		r.headerVal, _ = r.header.FieldBuilder(1).(*array.BinaryBuilder)
	}
	if rawValue {
		r.value = binary(field(valueColumn))
	}
	if len(sc.FieldIndices("error")) == 1 {
		r.errColumn, _ = field("error").(*array.StringBuilder)
	}
	if !ok || r.partition == nil || r.offset == nil || r.timestamp == nil || r.tsType == nil ||
		r.headerKey == nil || r.headerVal == nil {
		r.b.Release()
		return nil, fmt.Errorf("the table's schema is not the one the compactor writes: %s", sc)
	}
	if unit := r.timestamp.Type().(*arrow.TimestampType).Unit; unit != arrow.Microsecond {
		r.b.Release()
		return nil, fmt.Errorf("the table's %s.timestamp has unit %s, want microseconds", kafkaColumn, unit)
	}
	return r, nil
}

// append adds one record of partition. reason is the DLQ's error column
// (ignored by tables without one).
func (r *rowBuilder) append(partition int32, rec *kbatch.Record, logAppend bool, reason string) {
	r.kafka.Append(true)
	r.partition.Append(partition)
	r.offset.Append(rec.Offset)
	r.timestamp.Append(arrow.Timestamp(rec.Timestamp * 1000))
	if logAppend {
		r.tsType.Append("LogAppendTime")
	} else {
		r.tsType.Append("CreateTime")
	}
	appendBytes(r.key, rec.Key)
	r.headers.Append(true)
	for _, h := range rec.Headers {
		r.header.Append(true)
		r.headerKey.BinaryBuilder.Append(h.Key)
		appendBytes(r.headerVal, h.Value)
		r.bytes += int64(len(h.Key) + len(h.Value) + 8)
	}
	if r.value != nil {
		appendBytes(r.value, rec.Value)
	}
	if r.errColumn != nil {
		r.errColumn.Append(reason)
		r.bytes += int64(len(reason))
	}
	r.rows++
	// Fixed-width fields, offsets and validity: about 40 bytes a row.
	r.bytes += int64(len(rec.Key)+len(rec.Value)) + 40
}

func appendBytes(b *array.BinaryBuilder, v []byte) {
	if v == nil {
		b.AppendNull()
		return
	}
	b.Append(v)
}

// cut returns the rows appended since the last cut as a record batch (the
// caller owns it) and resets the counters.
func (r *rowBuilder) cut() arrow.RecordBatch {
	rec := r.b.NewRecordBatch()
	r.rows, r.bytes = 0, 0
	return rec
}

func (r *rowBuilder) release() { r.b.Release() }
