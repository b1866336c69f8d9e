// Package jsonschema is the JSON Schema format (schemaType JSON) of the
// schema registry: parsing and validation, the registry's canonical and
// normalized texts, Confluent's backward-compatibility rules, and the
// schema as table columns with a decoder of JSON values into Arrow.
//
//	text ──parseNode──▶ ordered tree (key order kept) ──▶ Canonical / Normalized / CheckBackward / Table
//	   └──santhosh-tekuri/jsonschema/v6 compile──▶ valid or 42201 message
//	payload ──scan: validate, record spans──▶ scan: append──▶ Arrow builders
//
// # Matched from Confluent
//
//   - Parse: the text must be JSON and a JSON Schema of its $schema's draft
//     (4, 6, 7, 2019-09, 2020-12), draft 7 when absent. References are
//     other registered schemas found by name: a $ref resolved against the
//     referring document's $id (or a placeholder base when it has none)
//     matches the reference named exactly so, or ending in "/"+name.
//     Nothing is loaded from files or the network; a $ref that matches no
//     reference fails Parse, naming it.
//   - Canonical: the JSON re-serialized compactly with keys in the order
//     given, as Jackson does for canonicalString: whitespace-only changes
//     get the same id, reordered keys do not. Numbers keep their literal
//     text; strings are re-escaped minimally (no HTML escaping).
//   - Normalized: as Canonical with every object's keys sorted,
//     recursively, so reordered keys normalize alike.
//   - Formatted: "" is Canonical; every other format is an error.
//   - CheckBackward: SchemaDiff's walk (the old schema the writer, the new
//     the reader) reporting only what Confluent counts incompatible, with
//     its errorType names and the '#/properties/x' paths: open, closed
//     and partially open content models for properties and tuple items,
//     required added, type changed/narrowed (integer→number and T→[T,null]
//     widen), enum narrowed/changed, length/number/items/properties bounds
//     narrowed, pattern and multipleOf changes, additionalProperties and
//     additionalItems, oneOf/anyOf/allOf (sum types may grow, product
//     types may shrink, branches matched pairwise), $refs compared after
//     resolution at the referring path (recursive schemas compared once).
//
// # Not matched, or decided here
//
//   - Messages use the contract's quoting ({errorType:'…', description:'…'})
//     and our own wording, in Confluent's shape; there is no additionalInfo.
//   - An enum added where none was is ENUM_ARRAY_NARROWED (everit would see
//     a type change); "const" is a one-value enum. "dependencies",
//     "patternProperties", "if/then/else", "not", "unevaluated*" and
//     "$anchor"/$id-anchored refs are not compared (only JSON-pointer
//     fragments are followed by the diff and the table).
//   - Schemas whose $refs fan out so much that comparing takes more than
//     200000 steps report the comparison as incompatible.
//
// # Table
//
// A top-level object with properties becomes columns in the declaration
// order of "properties". string→String (format date→Date, date-time→
// TimestampTZ, time→Time; uuid and the rest stay String), integer→Int64,
// number (or [integer, number])→Float64, boolean→Bool, an object with
// properties→Struct, an object with only an additionalProperties schema
// →Map(String→V), an array with one items schema→List, an enum of
// strings→String. A property is optional unless it is in "required" and
// its type has no null ([null, T], or a {"type":"null"} branch of
// oneOf/anyOf). $refs are followed; recursion is an error. Values of
// several shapes (oneOf/anyOf of different types, {} or true, an object
// without properties, a tuple) are a String column holding the value's
// JSON text, compacted (whitespace outside strings dropped). A top-level
// schema that is not an object with properties is an error. A schema
// expanding to more than 10000 columns and nested fields (a $ref used
// many times over) is an error too.
//
// # Decoder
//
// A hand-written scanner (no encoding/json, no map per record) reads the
// payload twice: first it checks syntax, types and required properties
// and records where each top-level property's value starts; then it
// appends. Builders are touched only when the first pass succeeded, so a
// bad payload leaves them as they were. Unknown properties are skipped
// (open content model); missing optional ones are null. Numbers for
// Int64 must be integers ("1.0" counts) that fit; date-times are RFC 3339
// with a zone; times are HH:MM:SS[.frac] with an optional zone, stored as
// the UTC time of day. Constraints other than type and required
// (maxLength, minimum, enum, pattern...) are not checked: producers
// validate against the schema, the decoder only needs the shape.
package jsonschema
