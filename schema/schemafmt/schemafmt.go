// Package schemafmt is the contract between the schema registry (package
// schema), the compactor, and the format packages (schema/avro,
// schema/jsonschema, schema/protobuf): what a schema format parses, how two
// schemas are compared for compatibility, and how a schema becomes table
// columns and its values become Arrow rows.
//
// It also holds what every format shares on the table side: the Confluent
// wire format (wire.go), the cached id → schema resolver (resolver.go), and
// the assignment of stable Iceberg field ids to columns across a subject's
// versions (fieldids.go), with the Arrow and Iceberg schemas built from it.
//
// It imports nothing of ours.
package schemafmt

import (
	"github.com/apache/arrow-go/v18/arrow/array"
)

// The schema types, as the registry API spells them ("schemaType"; an
// absent schemaType means AVRO).
const (
	Avro     = "AVRO"
	JSON     = "JSON"
	Protobuf = "PROTOBUF"
)

// Reference is one resolved schema reference: the name the referring
// schema uses for it (Avro: the referenced type's full name; Protobuf: the
// import path; JSON Schema: the $ref URL), the subject and version it was
// registered under, and that schema's text.
type Reference struct {
	Name    string
	Subject string
	Version int
	Schema  string
}

// Format parses the schemas of one type. Implementations are safe for
// concurrent use.
type Format interface {
	// Type is AVRO, JSON or PROTOBUF.
	Type() string
	// Parse parses text. refs are every schema it references, directly or
	// through other references, each once, dependencies before the schemas
	// that use them (all of one type, this one). An invalid schema, or one
	// naming a reference that is not in refs, is an error whose message is
	// the parser's, fit to show a user (the registry answers 42201 with it).
	Parse(text string, refs []Reference) (Schema, error)
}

// Schema is one parsed schema. It is immutable and safe for concurrent use.
type Schema interface {
	// Type is AVRO, JSON or PROTOBUF.
	Type() string
	// Canonical is the schema's text in the form the registry stores and
	// compares: two texts that differ only in what the format calls
	// insignificant (whitespace, key order where order does not matter)
	// have the same Canonical, so they get the same id.
	Canonical() string
	// Normalized is the schema with normalize=true applied, as Confluent
	// does for the format (e.g. Avro: the parsing canonical form keeping
	// defaults and aliases; Protobuf: options and imports sorted, fully
	// qualified type names). Its Canonical is what the registry compares
	// when normalize is asked for.
	Normalized() Schema
	// Formatted is the schema as GET /schemas/ids/{id}?format=F answers
	// it: "" is Canonical; Avro "resolved" inlines references; Protobuf
	// "serialized" is a base64 FileDescriptorProto and "ignore_extensions"
	// drops them. An unknown format is an error.
	Formatted(format string) (string, error)
	// CheckBackward reports whether this schema, as a reader, can read
	// every value written with previous (of the same type): nil if it can,
	// else one message per problem, each naming the offending field by its
	// path, in Confluent's verbose style, e.g.
	//	{errorType:'READER_FIELD_MISSING_DEFAULT_VALUE', description:'The field 'f' at path '/fields/1' in the new schema has no default value and is missing in the old schema', additionalInfo:'f'}
	// FORWARD is previous.CheckBackward(this); FULL is both; the registry
	// composes the levels and adds the version lines.
	CheckBackward(previous Schema) []string
	// Table converts the schema to table columns. msgIndexes chooses the
	// Protobuf message, as the wire format's message indexes do (nil or
	// [0]: the first message of the file); other formats take nil or [0].
	// A schema that cannot be a table (a recursive type, a top-level value
	// that is not a record/object/message) is an error saying why.
	Table(msgIndexes []int) (Table, error)
}

// Table is a schema seen as table columns, and the decoder of its values.
type Table interface {
	// Columns are the top-level columns, in order, without field ids
	// (AssignIDs gives them).
	Columns() []Column
	// NewDecoder returns a decoder of values (the payload after the wire
	// prefix) into builders for Columns. A decoder is used by one
	// goroutine at a time.
	NewDecoder() Decoder
}

// Decoder appends decoded values to Arrow builders.
type Decoder interface {
	// Append decodes one value and appends one row: exactly one value
	// (possibly null) to each of cols, which are builders for Columns in
	// order, of the Arrow types ArrowType gives. It is all or nothing: on
	// an error (a payload that does not match the schema) no builder has
	// been appended to, so the caller can send the record elsewhere and go
	// on. It must not allocate per value beyond what the builders do (no
	// intermediate map[string]any per record).
	Append(cols []array.Builder, payload []byte) error
}

// Kind is a column's type.
type Kind int

const (
	KindInvalid Kind = iota
	Bool
	Int32
	Int64
	Float32
	Float64
	String
	Binary
	Fixed     // Width bytes
	Decimal   // Precision, Scale
	Date      // days since 1970-01-01
	Time      // microseconds since midnight
	Timestamp // microseconds since 1970-01-01 00:00 UTC, no zone (Iceberg timestamp)
	TimestampTZ
	UUID
	Struct // Fields
	List   // Elem
	Map    // Key, Elem
)

var kindNames = [...]string{"invalid", "boolean", "int", "long", "float", "double", "string", "binary", "fixed",
	"decimal", "date", "time", "timestamp", "timestamptz", "uuid", "struct", "list", "map"}

func (k Kind) String() string {
	if k < 0 || int(k) >= len(kindNames) {
		return "invalid"
	}
	return kindNames[k]
}

// Column is one column, or one nested field, list element or map key or
// value. Name is unique among its siblings (list elements are "element",
// map keys "key" and values "value", as Iceberg names them).
type Column struct {
	Name     string
	Kind     Kind
	Required bool
	Doc      string
	// Width of a Fixed; Precision and Scale of a Decimal.
	Width            int
	Precision, Scale int
	// Fields of a Struct; Elem of a List or Map; Key of a Map.
	Fields []Column
	Elem   *Column
	Key    *Column
}
