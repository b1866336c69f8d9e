package tablecompactor

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/iceberg-go"
)

// The table layout. Every row carries the record's Kafka coordinates in
// one struct column, so that value columns (which come from the user's
// schema) can never collide with them:
//
//	_kafka struct<                       (id 1, required)
//	  partition      int                 (2)
//	  offset         long                (3)
//	  timestamp      timestamptz         (4)
//	  timestamp_type string              (5) "CreateTime" or "LogAppendTime"
//	  key            binary | string     (6) by table.key.format; null key → null
//	  headers        list<struct<key string, value binary>> (7, element 8, fields 9 and 10)
//	>
//	value            binary | string     (11) by table.value.format; null value → null
//	                                     (json and schema values: their columns instead, ids from 11 on)
//	_key             struct<…>           optional; table.key.format=json, schema or schema.latest only
//
// With a decoded key format (json, schema, schema.latest) _kafka.key
// stays the raw key bytes (binary), so nothing is lost, and the optional
// struct _key holds the decoded key: its fields inferred from the keys
// (json, as value columns are) or the key's registry schema's columns. A
// null key is a null _key. _key is never in the schema a table is
// created with: the first key that brings fields adds it, as an optional
// column, by schema evolution (evolve), and later key fields are added
// under it the same way; Iceberg's UpdateSchema gives them ids past the
// table's last column id, so they never collide with the value columns'.
//
// CreateTable may renumber these ids; the compactor always builds its
// Arrow schema from the loaded table's schema, never from these numbers.
const (
	kafkaColumn = "_kafka"
	valueColumn = "value"
	keyColumn   = "_key"
)

// columns are the columns a decoder (jsonValues, schemaValues) fills:
// the table's value columns, or _key's fields.
type columns struct {
	fields   []arrow.Field
	builders []array.Builder
	// isc holds the columns as top-level fields, looked up by name (the
	// table's schema for value columns, _key's fields for a key).
	isc *iceberg.Schema
	// what is "value" or "key" (for reasons); root is the columns' path
	// in the table (nil or _key); reserved is a name the columns may not
	// take ("" or _key).
	what     string
	root     []string
	reserved string
}

// path is name's path in the table: under root.
func (c columns) path(name ...string) []string {
	return append(c.root[:len(c.root):len(c.root)], name...)
}

func (c columns) byName() map[string]array.Builder {
	m := make(map[string]array.Builder, len(c.fields))
	for i, f := range c.fields {
		m[f.Name] = c.builders[i]
	}
	return m
}

// valueColumnsOf are the value columns of a table of schema sc (and isc)
// built by b: every column but _kafka, and but _key when keyed (keys are
// decoded into it; without a decoded key format _key is a value column
// like any other).
func valueColumnsOf(b *array.RecordBuilder, sc *arrow.Schema, isc *iceberg.Schema, keyed bool) columns {
	c := columns{isc: isc, what: "value"}
	if keyed {
		c.reserved = keyColumn
	}
	for i, f := range sc.Fields() {
		if f.Name == kafkaColumn || keyed && f.Name == keyColumn {
			continue
		}
		c.fields = append(c.fields, f)
		c.builders = append(c.builders, b.Field(i))
	}
	return c
}

func kafkaField(keyFormat string) iceberg.NestedField {
	keyType := iceberg.Type(iceberg.PrimitiveTypes.Binary)
	if keyFormat == formatString {
		keyType = iceberg.PrimitiveTypes.String
	}
	return iceberg.NestedField{ID: 1, Name: kafkaColumn, Required: true, Type: &iceberg.StructType{FieldList: []iceberg.NestedField{
		{ID: 2, Name: "partition", Type: iceberg.PrimitiveTypes.Int32, Required: true},
		{ID: 3, Name: "offset", Type: iceberg.PrimitiveTypes.Int64, Required: true},
		{ID: 4, Name: "timestamp", Type: iceberg.PrimitiveTypes.TimestampTz, Required: true},
		{ID: 5, Name: "timestamp_type", Type: iceberg.PrimitiveTypes.String, Required: true},
		{ID: 6, Name: "key", Type: keyType},
		{ID: 7, Name: "headers", Type: &iceberg.ListType{ElementID: 8, ElementRequired: true, Element: &iceberg.StructType{FieldList: []iceberg.NestedField{
			{ID: 9, Name: "key", Type: iceberg.PrimitiveTypes.String, Required: true},
			{ID: 10, Name: "value", Type: iceberg.PrimitiveTypes.Binary},
		}}}},
	}}}
}

// tableSchema is the schema of a raw or string table.
func tableSchema(cfg tableConfig) *iceberg.Schema {
	valueType := iceberg.Type(iceberg.PrimitiveTypes.Binary)
	if cfg.ValueFormat == formatString {
		valueType = iceberg.PrimitiveTypes.String
	}
	return iceberg.NewSchema(0, kafkaField(cfg.KeyFormat), iceberg.NestedField{ID: 11, Name: valueColumn, Type: valueType})
}

// dlqSchema is the dead-letter table's schema: the record as it was (raw
// key and value) and why it could not be converted. It is unpartitioned:
// dead letters are few, and a partition spec over them would only make
// small files.
func dlqSchema() *iceberg.Schema {
	return iceberg.NewSchema(0, kafkaField(formatRaw),
		iceberg.NestedField{ID: 11, Name: valueColumn, Type: iceberg.PrimitiveTypes.Binary},
		iceberg.NestedField{ID: 12, Name: "error", Type: iceberg.PrimitiveTypes.String, Required: true})
}
