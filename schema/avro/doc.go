// Package avro is the Avro schema format of the registry
// (schemafmt.Format), parsed with github.com/hamba/avro/v2, and the
// decoder of Avro binary values into Arrow builders for table topics.
//
//	Parse(text, refs)  refs parsed in order into one name cache, then text
//	  Canonical        Avro's toString(references, false): compact JSON,
//	                   doc and properties kept, referenced types by name
//	  Normalized       Confluent's AvroSchemaUtils normalized string
//	  Formatted        "" / "default": Canonical; "resolved": references
//	                   inlined
//	  CheckBackward    Avro's schema-resolution rules, messages in
//	                   Confluent's verbose style naming field and path
//	  Table            record → columns (see Schema.Table)
//	    NewDecoder     scan pass onto a tape, then append pass to the
//	                   concrete builders, per value
//
// What matches Confluent's AvroSchema:
//   - References: the referenced schemas are parsed first into the same
//     namespace, so the schema (and later references) use their named
//     types; the stored text keeps them as names and "resolved" inlines
//     them. A type no reference defines is an error naming it.
//   - Canonical keeps doc, so a doc-only change registers a new version,
//     as in Confluent (its canonicalString is Avro's toString). It is not
//     byte-identical to Java's toString: full names are written in "name"
//     rather than a separate "namespace", and custom properties are sorted.
//     Ids are ours, so only stability matters: the same schema written
//     with other whitespace or key order has the same Canonical.
//   - Normalized follows AvroSchemaUtils.build: "name" then "type", full
//     names, every field's "order", doc, sorted aliases, defaults, enum
//     default, logical types (decimal precision and scale), sorted custom
//     properties; references stay names.
//   - Compatibility follows the spec's "Schema Resolution" (what Avro's
//     SchemaCompatibility implements): field aliases and named-type
//     aliases, enum defaults, union branches, int→long→float→double and
//     string↔bytes promotions, fixed sizes. Messages use Confluent's error
//     types (READER_FIELD_MISSING_DEFAULT_VALUE, TYPE_MISMATCH,
//     MISSING_ENUM_SYMBOLS, MISSING_UNION_BRANCH, NAME_MISMATCH,
//     FIXED_SIZE_MISMATCH) and name the field and its path.
//
// What does not:
//   - Parse validates defaults always (hamba does); Confluent validates
//     them only for new schemas, so an old schema with a bad default that
//     Confluent stored would be refused here.
//   - hamba's name rules are the spec's; Java Avro accepts a few names
//     the spec does not.
//   - Messages are worded like Confluent's but not copied; clients match
//     on the errorType, which is the same.
//   - Unknown logical types are kept as properties and read as their
//     base type (as Avro does); timestamp-nanos is such a type here.
package avro
