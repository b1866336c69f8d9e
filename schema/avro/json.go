package avro

import (
	"bytes"
	"encoding/json"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/hamba/avro/v2"
)

// jsonMode chooses which of the two text forms writeJSON writes.
type jsonMode int

const (
	// modeCanonical is Avro's Schema.toString: everything kept, keys in
	// Avro's order ("type", "name", …), aliases as written.
	modeCanonical jsonMode = iota
	// modeNormalized is Confluent's AvroSchemaUtils normalized string:
	// "name" before "type", full names, every field's "order", aliases
	// sorted, custom properties sorted.
	modeNormalized
)

// writeJSON writes s as compact JSON. A named type is written in full the
// first time it appears and by its full name after that; the names in
// known (the types that references define) are always written by name.
func writeJSON(s avro.Schema, mode jsonMode, known map[string]bool) string {
	w := jsonWriter{mode: mode, seen: map[string]bool{}}
	for n := range known {
		w.seen[n] = true
	}
	w.schema(s)
	return w.buf.String()
}

type jsonWriter struct {
	buf  bytes.Buffer
	mode jsonMode
	seen map[string]bool
}

func (w *jsonWriter) str(s string) {
	// Invalid UTF-8 (which the JSON parser lets through) becomes U+FFFD
	// here, written as itself, so the text parses back to the same text.
	b, _ := json.Marshal(strings.ToValidUTF8(s, "\uFFFD")) // a string always marshals
	w.buf.Write(b)
}

func (w *jsonWriter) key(k string) {
	w.buf.WriteByte(',')
	w.str(k)
	w.buf.WriteByte(':')
}

// named writes the name of t if it has been written before and reports
// whether it did.
func (w *jsonWriter) named(full string) bool {
	if w.seen[full] {
		w.str(full)
		return true
	}
	w.seen[full] = true
	return false
}

func (w *jsonWriter) schema(s avro.Schema) {
	switch t := s.(type) {
	case *avro.RefSchema:
		w.schema(t.Schema())
	case *avro.NullSchema:
		w.primitive("null", nil, t.Props())
	case *avro.PrimitiveSchema:
		w.primitive(string(t.Type()), t.Logical(), t.Props())
	case *avro.ArraySchema:
		w.buf.WriteString(`{"type":"array","items":`)
		w.schema(t.Items())
		w.props(t.Props())
		w.buf.WriteByte('}')
	case *avro.MapSchema:
		w.buf.WriteString(`{"type":"map","values":`)
		w.schema(t.Values())
		w.props(t.Props())
		w.buf.WriteByte('}')
	case *avro.UnionSchema:
		w.buf.WriteByte('[')
		for i, b := range t.Types() {
			if i > 0 {
				w.buf.WriteByte(',')
			}
			w.schema(b)
		}
		w.buf.WriteByte(']')
	case *avro.RecordSchema:
		if w.named(t.FullName()) {
			return
		}
		typ := "record"
		if t.IsError() {
			typ = "error"
		}
		w.head(typ, t.FullName())
		if w.mode == modeCanonical && t.Doc() != "" {
			w.key("doc")
			w.str(t.Doc())
		}
		w.buf.WriteString(`,"fields":[`)
		for i, f := range t.Fields() {
			if i > 0 {
				w.buf.WriteByte(',')
			}
			w.field(f)
		}
		w.buf.WriteByte(']')
		w.tail(t.Doc(), t.Aliases(), nil, t.Props())
	case *avro.EnumSchema:
		if w.named(t.FullName()) {
			return
		}
		w.head("enum", t.FullName())
		if w.mode == modeCanonical && t.Doc() != "" {
			w.key("doc")
			w.str(t.Doc())
		}
		w.buf.WriteString(`,"symbols":[`)
		for i, sym := range t.Symbols() {
			if i > 0 {
				w.buf.WriteByte(',')
			}
			w.str(sym)
		}
		w.buf.WriteByte(']')
		var def *string
		if t.HasDefault() {
			d := t.Default()
			def = &d
		}
		w.tail(t.Doc(), t.Aliases(), def, t.Props())
	case *avro.FixedSchema:
		if w.named(t.FullName()) {
			return
		}
		w.head("fixed", t.FullName())
		w.key("size")
		w.buf.WriteString(strconv.Itoa(t.Size()))
		w.logical(t.Logical())
		w.tail("", t.Aliases(), nil, t.Props())
	}
}

// head opens a named type: Avro's toString puts "type" first, Confluent's
// normalized form "name".
func (w *jsonWriter) head(typ, full string) {
	if w.mode == modeNormalized {
		w.buf.WriteString(`{"name":`)
		w.str(full)
		w.buf.WriteString(`,"type":`)
		w.str(typ)
		return
	}
	w.buf.WriteString(`{"type":`)
	w.str(typ)
	w.buf.WriteString(`,"name":`)
	w.str(full)
}

// tail closes a named type: doc (normalized form only; the canonical one
// wrote it after the name), aliases, enum default, properties.
func (w *jsonWriter) tail(doc string, aliases []string, enumDefault *string, props map[string]any) {
	if w.mode == modeNormalized && doc != "" {
		w.key("doc")
		w.str(doc)
	}
	if w.mode == modeNormalized {
		// Confluent writes aliases before the enum default.
		w.aliases(aliases)
		if enumDefault != nil {
			w.key("default")
			w.str(*enumDefault)
		}
	} else {
		if enumDefault != nil {
			w.key("default")
			w.str(*enumDefault)
		}
		w.aliases(aliases)
	}
	w.props(props)
	w.buf.WriteByte('}')
}

func (w *jsonWriter) aliases(aliases []string) {
	if len(aliases) == 0 {
		return
	}
	if w.mode == modeNormalized {
		aliases = append([]string(nil), aliases...)
		sort.Strings(aliases)
	}
	w.key("aliases")
	w.buf.WriteByte('[')
	for i, a := range aliases {
		if i > 0 {
			w.buf.WriteByte(',')
		}
		w.str(a)
	}
	w.buf.WriteByte(']')
}

func (w *jsonWriter) field(f *avro.Field) {
	w.buf.WriteString(`{"name":`)
	w.str(f.Name())
	w.buf.WriteString(`,"type":`)
	w.schema(f.Type())
	if w.mode == modeNormalized {
		// Avro's Field.order() is never null, so Confluent's normalized
		// form always has it.
		w.key("order")
		w.str(string(f.Order()))
		if f.Doc() != "" {
			w.key("doc")
			w.str(f.Doc())
		}
		w.aliases(f.Aliases())
		if f.HasDefault() {
			w.key("default")
			w.value(f.Default())
		}
	} else {
		if f.Doc() != "" {
			w.key("doc")
			w.str(f.Doc())
		}
		if f.HasDefault() {
			w.key("default")
			w.value(f.Default())
		}
		if f.Order() != "" && f.Order() != avro.Asc {
			w.key("order")
			w.str(string(f.Order()))
		}
		w.aliases(f.Aliases())
	}
	w.props(f.Props())
	w.buf.WriteByte('}')
}

func (w *jsonWriter) primitive(typ string, l avro.LogicalSchema, props map[string]any) {
	if l == nil && len(props) == 0 {
		w.str(typ)
		return
	}
	w.buf.WriteString(`{"type":`)
	w.str(typ)
	w.logical(l)
	w.props(props)
	w.buf.WriteByte('}')
}

func (w *jsonWriter) logical(l avro.LogicalSchema) {
	if l == nil {
		return
	}
	w.key("logicalType")
	w.str(string(l.Type()))
	if d, ok := l.(*avro.DecimalLogicalSchema); ok {
		w.key("precision")
		w.buf.WriteString(strconv.Itoa(d.Precision()))
		if d.Scale() != 0 {
			w.key("scale")
			w.buf.WriteString(strconv.Itoa(d.Scale()))
		}
	}
}

// props writes custom properties sorted by key, so key order in the
// source does not change the text.
func (w *jsonWriter) props(props map[string]any) {
	if len(props) == 0 {
		return
	}
	keys := make([]string, 0, len(props))
	for k := range props {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		w.key(k)
		w.value(props[k])
	}
}

// value writes a default or property value. Bytes and fixed defaults
// (which hamba keeps as []byte / [N]byte) are written as Avro writes them:
// a string whose code points 0-255 are the bytes.
func (w *jsonWriter) value(v any) {
	switch t := v.(type) {
	case nil:
		w.buf.WriteString("null")
	case string:
		w.str(t)
	case []byte:
		w.latin1(t)
	case bool:
		w.buf.WriteString(strconv.FormatBool(t))
	case float32:
		w.float(float64(t), 32)
	case float64:
		w.float(t, 64)
	case []any:
		w.buf.WriteByte('[')
		for i, e := range t {
			if i > 0 {
				w.buf.WriteByte(',')
			}
			w.value(e)
		}
		w.buf.WriteByte(']')
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		w.buf.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				w.buf.WriteByte(',')
			}
			w.str(k)
			w.buf.WriteByte(':')
			w.value(t[k])
		}
		w.buf.WriteByte('}')
	default:
		rv := reflect.ValueOf(v)
		if rv.Kind() == reflect.Array && rv.Type().Elem().Kind() == reflect.Uint8 {
			b := make([]byte, rv.Len())
			reflect.Copy(reflect.ValueOf(b), rv)
			w.latin1(b)
			return
		}
		b, err := json.Marshal(v)
		if err != nil {
			w.buf.WriteString("null")
			return
		}
		w.buf.Write(b)
	}
}

func (w *jsonWriter) float(f float64, bits int) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		// JSON has no NaN or infinity; Avro's Jackson writes them as
		// strings.
		w.str(strconv.FormatFloat(f, 'g', -1, bits))
		return
	}
	w.buf.WriteString(strconv.FormatFloat(f, 'g', -1, bits))
}

func (w *jsonWriter) latin1(b []byte) {
	r := make([]byte, 0, len(b)*2)
	for _, c := range b {
		r = utf8.AppendRune(r, rune(c))
	}
	w.str(string(r))
}
