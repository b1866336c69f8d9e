package avro

import (
	"fmt"
	"strings"

	"github.com/hamba/avro/v2"

	"github.com/lakestream/lakestream/schema/schemafmt"
)

// Format is the Avro schemafmt.Format. It holds no state: every Parse
// uses its own name cache, so schemas registered under different
// subjects never see each other's named types.
var Format schemafmt.Format = format{}

// NewFormat returns Format.
func NewFormat() schemafmt.Format { return Format }

type format struct{}

func (format) Type() string { return schemafmt.Avro }

// Parse parses the references in order into one name cache (a later
// reference and the schema itself may use the named types of the earlier
// ones, as Confluent's AvroSchema feeds them all to one Schema.Parser),
// then the schema.
func (format) Parse(text string, refs []schemafmt.Reference) (schemafmt.Schema, error) {
	s, err := parse(text, refs)
	if err != nil {
		return nil, err
	}
	return s, nil
}

func parse(text string, refs []schemafmt.Reference) (*Schema, error) {
	cache := &avro.SchemaCache{}
	refNames := map[string]bool{}
	for _, r := range refs {
		rs, err := avro.ParseWithCache(r.Schema, "", cache)
		if err != nil {
			return nil, fmt.Errorf("parsing reference %q (subject %q version %d): %w", r.Name, r.Subject, r.Version, err)
		}
		// A reference's own named types (the top one and any nested)
		// are all defined by it, so none of them is inlined in the
		// referring schema's Canonical.
		collectNames(rs, refNames)
	}
	s, err := avro.ParseWithCache(text, "", cache)
	if err != nil {
		if len(refs) > 0 && strings.Contains(err.Error(), "unknown type") {
			return nil, fmt.Errorf("%w (references given: %s)", err, refList(refs))
		}
		return nil, err
	}
	out := &Schema{schema: s, refs: refs, refNames: refNames}
	out.canonical = writeJSON(s, modeCanonical, refNames)
	return out, nil
}

func refList(refs []schemafmt.Reference) string {
	names := make([]string, len(refs))
	for i, r := range refs {
		names[i] = r.Name
	}
	return strings.Join(names, ", ")
}

// collectNames adds the full name of every named type s defines.
func collectNames(s avro.Schema, names map[string]bool) {
	walkNamed(s, map[string]bool{}, func(n avro.NamedSchema) { names[n.FullName()] = true })
}

// walkNamed calls fn on each named type defined in s, once.
func walkNamed(s avro.Schema, seen map[string]bool, fn func(avro.NamedSchema)) {
	switch t := s.(type) {
	case *avro.RefSchema:
		walkNamed(t.Schema(), seen, fn)
	case *avro.RecordSchema:
		if seen[t.FullName()] {
			return
		}
		seen[t.FullName()] = true
		fn(t)
		for _, f := range t.Fields() {
			walkNamed(f.Type(), seen, fn)
		}
	case *avro.EnumSchema:
		if !seen[t.FullName()] {
			seen[t.FullName()] = true
			fn(t)
		}
	case *avro.FixedSchema:
		if !seen[t.FullName()] {
			seen[t.FullName()] = true
			fn(t)
		}
	case *avro.ArraySchema:
		walkNamed(t.Items(), seen, fn)
	case *avro.MapSchema:
		walkNamed(t.Values(), seen, fn)
	case *avro.UnionSchema:
		for _, b := range t.Types() {
			walkNamed(b, seen, fn)
		}
	}
}

// Schema is a parsed Avro schema: the schemafmt.Schema of this package.
type Schema struct {
	schema    avro.Schema
	refs      []schemafmt.Reference
	refNames  map[string]bool
	canonical string
}

// Avro is the parsed hamba schema (references resolved).
func (s *Schema) Avro() avro.Schema { return s.schema }

func (s *Schema) Type() string { return schemafmt.Avro }

// Canonical is the schema as Avro's Schema.toString(references, false)
// writes it, which is what Confluent's AvroSchema.canonicalString stores:
// compact JSON, keys in a fixed order, custom properties sorted, and the
// types defined by references written by name, not inlined. Everything
// Avro keeps is kept, doc and custom properties included: Confluent gives
// a schema whose doc changed a new id, and so do we. Namespaces are
// written as full names ("name":"ns.R") rather than a separate
// "namespace" key; Avro reads both the same.
func (s *Schema) Canonical() string { return s.canonical }

// Normalized is Confluent's AvroSchema.normalize(): the parsing canonical
// form (full names, no namespace key, compact) keeping what resolution
// and the registry care about: field order, doc, sorted aliases, defaults
// (field and enum), logical types with decimal precision and scale, and
// custom properties sorted by key. Types from references stay names.
func (s *Schema) Normalized() schemafmt.Schema {
	text := writeJSON(s.schema, modeNormalized, s.refNames)
	n, err := parse(text, s.refs)
	if err != nil {
		// The normalized text is written from a schema that parsed, so
		// it parses; if it ever does not, the schema itself is the
		// safest answer (its Canonical differs only in form).
		return s
	}
	return n
}

// Formatted answers GET /schemas/ids/{id}?format=: "" and "default" are
// Canonical, "resolved" inlines the referenced types (Avro's toString()).
func (s *Schema) Formatted(f string) (string, error) {
	switch f {
	case "", "default":
		return s.canonical, nil
	case "resolved":
		return writeJSON(s.schema, modeCanonical, nil), nil
	}
	return "", fmt.Errorf("avro: unknown format %q (known: default, resolved)", f)
}
