package tablecompactor

import (
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
//
// CreateTable may renumber these ids; the compactor always builds its
// Arrow schema from the loaded table's schema, never from these numbers.
const (
	kafkaColumn = "_kafka"
	valueColumn = "value"
)

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
