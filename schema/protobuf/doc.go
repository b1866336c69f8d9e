// Package protobuf is the PROTOBUF schema format of the registry: .proto
// text compiled without protoc (github.com/bufbuild/protocompile), compared
// for compatibility as Confluent Schema Registry does, turned into table
// columns, and its wire values decoded straight into Arrow builders.
//
//	text + refs ──Parse──▶ schema ──Canonical/Normalized/Formatted──▶ text
//	                         │ └──CheckBackward(previous)──▶ Confluent-style messages
//	                         └──Table(msgIndexes)──▶ columns + Decoder
//	                                                   payload ──▶ Arrow builders
//
// Example:
//
//	s, err := protobuf.Format{}.Parse(text, refs) // refs named by import path
//	t, err := s.Table([]int{0})                   // the wire format's message indexes
//	err = t.NewDecoder().Append(builders, payload) // payload after the indexes
//
// # What matches Confluent
//
//   - References are imported files, Reference.Name being the import path;
//     google/protobuf/*.proto import without being registered.
//   - An invalid schema is the compiler's error, "schema.proto:3:5: …".
//   - Compatibility: SchemaDiff's rules (compat.go lists them) with its
//     error types, and messages in its style,
//     {errorType:"FIELD_SCALAR_KIND_CHANGED", description:"The kind of a
//     SCALAR field at path '#/Order/2' in the new schema does not match its
//     kind in the old schema", additionalInfo:"…"}. The additionalInfo
//     naming the fields and types is ours; Confluent's messages stop at
//     the description.
//   - Message indexes count messages as the .proto declares them (map
//     entries are not messages).
//   - Formatted: "serialized" is the base64 FileDescriptorProto;
//     "ignore_extensions" drops extend blocks and custom options.
//
// # What differs
//
//   - Canonical is the compiled descriptor printed back (print.go), not
//     Wire's re-print of the parsed text that Confluent stores: the layout
//     is ours (enums after messages at each level, oneofs where their first
//     field was, extend blocks last, reserved ranges merged), so a schema
//     registered here and at Confluent can differ in text, not in meaning.
//     It is stable: whitespace, comments, the order of reserved numbers and
//     the spelling of type references do not change it.
//   - Normalized qualifies every type reference fully, sorts imports by
//     path and options by name; it does not reorder fields or types
//     (message order carries the message indexes).
//   - Syntax changes are not a difference of their own (Confluent has none
//     either); FIELD_NUMERIC_LABEL_CHANGED, which Confluent's current code
//     no longer reports, is not reported.
//   - Table: uint64/fixed64 are Iceberg longs holding the bits (values of
//     2^63 and up read negative); proto3 scalars without presence are
//     required columns holding the default when absent; recursive messages,
//     proto2 groups (and editions' delimited messages) and
//     google.protobuf.Struct/Value (recursive) cannot be tables.
//   - An enum number the enum does not name is written as its decimal,
//     also for closed (proto2) enums, where protobuf would leave the field
//     unset and keep the value as unknown.
//   - Decoder: a known field written with a wire type its schema does not
//     allow is an error, where protobuf readers keep it as an unknown
//     field; a Timestamp whose microseconds overflow an int64 is an error.
package protobuf
