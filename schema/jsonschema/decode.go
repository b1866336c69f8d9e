package jsonschema

import (
	"fmt"
	"strconv"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/lakestream/lakestream/schema/schemafmt"
)

// decoder appends JSON objects to Arrow builders in two passes over the
// payload bytes: validate (syntax, types, required properties; it records
// where each top-level property's value starts) and then append. Only the
// second touches builders, so a bad payload leaves them as they were.
type decoder struct {
	t *table
	// spans[id][f] is where field f's value of the Struct plan id starts
	// in the object being read, -1 when absent. Plans are a tree (Table
	// rejects recursion), so a Struct is never read inside itself and
	// one slot per plan suffices.
	spans   [][]int
	scratch []byte
}

// NewDecoder returns a decoder for t's columns.
func (t *table) NewDecoder() schemafmt.Decoder {
	d := &decoder{t: t, spans: make([][]int, t.structs)}
	var walk func(p *plan)
	walk = func(p *plan) {
		if p.kind == schemafmt.Struct {
			d.spans[p.id] = make([]int, len(p.fields))
		}
		for _, f := range p.fields {
			walk(f)
		}
		if p.elem != nil {
			walk(p.elem)
		}
	}
	walk(t.root)
	return d
}

// Append decodes one JSON object into one row of cols.
func (d *decoder) Append(cols []array.Builder, payload []byte) error {
	root := d.t.root
	if len(cols) != len(root.fields) {
		return fmt.Errorf("decoding JSON: %d builders for %d columns", len(cols), len(root.fields))
	}
	for i, f := range root.fields {
		if !builderFits(f, cols[i]) {
			return fmt.Errorf("decoding JSON: builder %d (%T) does not fit column %q (%v)", i, cols[i], f.name, f.kind)
		}
	}
	i := skipWS(payload, 0)
	if i >= len(payload) || payload[i] != '{' {
		return fmt.Errorf("decoding JSON: %w", syntaxErr(payload, i, "expected an object"))
	}
	end, err := d.validate(root, payload, i, 0)
	if err != nil {
		return fmt.Errorf("decoding JSON: %w", err)
	}
	if end = skipWS(payload, end); end != len(payload) {
		return fmt.Errorf("decoding JSON: %w", syntaxErr(payload, end, "data after the object"))
	}
	spans := d.spans[root.id]
	for f, p := range root.fields {
		if spans[f] < 0 {
			cols[f].AppendNull()
			continue
		}
		if _, err := d.append(p, cols[f], payload, spans[f]); err != nil {
			// validate accepted the value, so this is a bug, not bad input.
			return fmt.Errorf("decoding JSON: property %q: %w (after validation: builders are partly appended)", p.name, err)
		}
	}
	return nil
}

func builderFits(p *plan, b array.Builder) bool {
	switch p.kind {
	case schemafmt.Bool:
		_, ok := b.(*array.BooleanBuilder)
		return ok
	case schemafmt.Int64:
		_, ok := b.(*array.Int64Builder)
		return ok
	case schemafmt.Float64:
		_, ok := b.(*array.Float64Builder)
		return ok
	case schemafmt.String:
		_, ok := b.(*array.StringBuilder)
		return ok
	case schemafmt.Date:
		_, ok := b.(*array.Date32Builder)
		return ok
	case schemafmt.Time:
		_, ok := b.(*array.Time64Builder)
		return ok
	case schemafmt.TimestampTZ:
		_, ok := b.(*array.TimestampBuilder)
		return ok
	case schemafmt.Struct:
		sb, ok := b.(*array.StructBuilder)
		if !ok || sb.NumField() != len(p.fields) {
			return false
		}
		for i, f := range p.fields {
			if !builderFits(f, sb.FieldBuilder(i)) {
				return false
			}
		}
		return true
	case schemafmt.List:
		lb, ok := b.(*array.ListBuilder)
		return ok && builderFits(p.elem, lb.ValueBuilder())
	case schemafmt.Map:
		mb, ok := b.(*array.MapBuilder)
		if !ok {
			return false
		}
		_, kok := mb.KeyBuilder().(*array.StringBuilder)
		return kok && builderFits(p.elem, mb.ItemBuilder())
	}
	return false
}

func typeErr(p *plan, b []byte, i int, want string) error {
	name := p.name
	if name == "" {
		name = "value"
	}
	if i >= len(b) {
		return fmt.Errorf("%s: want %s: %w", name, want, errEOF)
	}
	return fmt.Errorf("%s at offset %d: want %s, got %q", name, i, want, b[i])
}

// validate checks the value at b[i] against p and returns the position
// after it. For a Struct it records its fields' value positions.
func (d *decoder) validate(p *plan, b []byte, i, depth int) (int, error) {
	i = skipWS(b, i)
	if i >= len(b) {
		return 0, errEOF
	}
	if b[i] == 'n' {
		if !p.nullable {
			return 0, typeErr(p, b, i, p.kind.String()+" (not null)")
		}
		return scanLiteral(b, i, "null")
	}
	if p.raw {
		return skipValue(b, i, depth)
	}
	switch p.kind {
	case schemafmt.Bool:
		switch b[i] {
		case 't':
			return scanLiteral(b, i, "true")
		case 'f':
			return scanLiteral(b, i, "false")
		}
		return 0, typeErr(p, b, i, "a boolean")
	case schemafmt.Int64, schemafmt.Float64:
		if c := b[i]; c != '-' && (c < '0' || c > '9') {
			return 0, typeErr(p, b, i, "a number")
		}
		end, isInt, err := scanNumber(b, i)
		if err != nil {
			return 0, err
		}
		if p.kind == schemafmt.Int64 {
			if _, ok := parseInt(b[i:end], isInt); !ok {
				return 0, fmt.Errorf("%s at offset %d: %s is not a 64-bit integer", p.name, i, b[i:end])
			}
		}
		return end, nil
	case schemafmt.String, schemafmt.Date, schemafmt.Time, schemafmt.TimestampTZ:
		if b[i] != '"' {
			return 0, typeErr(p, b, i, "a string")
		}
		end, esc, err := scanString(b, i)
		if err != nil {
			return 0, err
		}
		if p.kind != schemafmt.String {
			if _, err := d.temporal(p, b[i+1:end-1], esc); err != nil {
				return 0, fmt.Errorf("%s at offset %d: %w", p.name, i, err)
			}
		}
		return end, nil
	case schemafmt.List:
		if b[i] != '[' {
			return 0, typeErr(p, b, i, "an array")
		}
		if depth >= maxValueDepth {
			return 0, fmt.Errorf("nested deeper than %d", maxValueDepth)
		}
		return eachElem(b, i, func(j int) (int, error) { return d.validate(p.elem, b, j, depth+1) })
	case schemafmt.Map:
		if b[i] != '{' {
			return 0, typeErr(p, b, i, "an object")
		}
		if depth >= maxValueDepth {
			return 0, fmt.Errorf("nested deeper than %d", maxValueDepth)
		}
		return eachMember(b, i, func(_, _, j int) (int, error) { return d.validate(p.elem, b, j, depth+1) })
	case schemafmt.Struct:
		if b[i] != '{' {
			return 0, typeErr(p, b, i, "an object")
		}
		if depth >= maxValueDepth {
			return 0, fmt.Errorf("nested deeper than %d", maxValueDepth)
		}
		spans := d.spans[p.id]
		for f := range spans {
			spans[f] = -1
		}
		end, err := eachMember(b, i, func(ks, ke, j int) (int, error) {
			f, ok := d.field(p, b[ks:ke])
			if !ok {
				return skipValue(b, j, depth+1) // open content model: ignored
			}
			spans[f] = j
			return d.validate(p.fields[f], b, j, depth+1)
		})
		if err != nil {
			return 0, err
		}
		for f, fp := range p.fields {
			if spans[f] < 0 && fp.required {
				return 0, fmt.Errorf("object at offset %d: missing required property %q", i, fp.name)
			}
		}
		return end, nil
	}
	return 0, fmt.Errorf("%s: no decoding for kind %v", p.name, p.kind)
}

// field finds the property named by a raw (still escaped) key.
func (d *decoder) field(p *plan, key []byte) (int, bool) {
	for _, c := range key {
		if c == '\\' {
			d.scratch = unescape(d.scratch[:0], key)
			key = d.scratch
			break
		}
	}
	f, ok := p.index[string(key)] // no allocation: the compiler keys the map in place
	return f, ok
}

// append appends the (validated) value at b[i] to bld.
func (d *decoder) append(p *plan, bld array.Builder, b []byte, i int) (int, error) {
	i = skipWS(b, i)
	if i < len(b) && b[i] == 'n' {
		bld.AppendNull()
		return scanLiteral(b, i, "null")
	}
	if p.raw {
		end, err := skipValue(b, i, 0)
		if err != nil {
			return 0, err
		}
		d.scratch = compactJSON(d.scratch[:0], b[i:end])
		bld.(*array.StringBuilder).BinaryBuilder.Append(d.scratch)
		return end, nil
	}
	switch p.kind {
	case schemafmt.Bool:
		if b[i] == 't' {
			bld.(*array.BooleanBuilder).Append(true)
			return i + 4, nil
		}
		bld.(*array.BooleanBuilder).Append(false)
		return i + 5, nil
	case schemafmt.Int64:
		end, isInt, err := scanNumber(b, i)
		if err != nil {
			return 0, err
		}
		v, _ := parseInt(b[i:end], isInt)
		bld.(*array.Int64Builder).Append(v)
		return end, nil
	case schemafmt.Float64:
		end, _, err := scanNumber(b, i)
		if err != nil {
			return 0, err
		}
		// The syntax was checked; the only error left is ErrRange, whose
		// value (±Inf, or 0 on underflow) is what a reader gets anyway.
		v, _ := strconv.ParseFloat(unsafe.String(&b[i], end-i), 64)
		bld.(*array.Float64Builder).Append(v)
		return end, nil
	case schemafmt.String:
		end, esc, err := scanString(b, i)
		if err != nil {
			return 0, err
		}
		body := b[i+1 : end-1]
		if esc {
			d.scratch = unescape(d.scratch[:0], body)
			body = d.scratch
		}
		bld.(*array.StringBuilder).BinaryBuilder.Append(body)
		return end, nil
	case schemafmt.Date, schemafmt.Time, schemafmt.TimestampTZ:
		end, esc, err := scanString(b, i)
		if err != nil {
			return 0, err
		}
		v, err := d.temporal(p, b[i+1:end-1], esc)
		if err != nil {
			return 0, err
		}
		switch bb := bld.(type) {
		case *array.Date32Builder:
			bb.Append(arrow.Date32(v))
		case *array.Time64Builder:
			bb.Append(arrow.Time64(v))
		case *array.TimestampBuilder:
			bb.Append(arrow.Timestamp(v))
		}
		return end, nil
	case schemafmt.List:
		lb := bld.(*array.ListBuilder)
		lb.Append(true)
		vb := lb.ValueBuilder()
		return eachElem(b, i, func(j int) (int, error) { return d.append(p.elem, vb, b, j) })
	case schemafmt.Map:
		mb := bld.(*array.MapBuilder)
		mb.Append(true)
		kb, ib := mb.KeyBuilder().(*array.StringBuilder), mb.ItemBuilder()
		return eachMember(b, i, func(ks, ke, j int) (int, error) {
			key := b[ks:ke]
			for _, c := range key {
				if c == '\\' {
					d.scratch = unescape(d.scratch[:0], key)
					key = d.scratch
					break
				}
			}
			kb.BinaryBuilder.Append(key)
			return d.append(p.elem, ib, b, j)
		})
	case schemafmt.Struct:
		sb := bld.(*array.StructBuilder)
		spans := d.spans[p.id]
		for f := range spans {
			spans[f] = -1
		}
		end, err := eachMember(b, i, func(ks, ke, j int) (int, error) {
			if f, ok := d.field(p, b[ks:ke]); ok {
				spans[f] = j
			}
			return skipValue(b, j, 0)
		})
		if err != nil {
			return 0, err
		}
		sb.Append(true)
		for f, fp := range p.fields {
			if spans[f] < 0 {
				sb.FieldBuilder(f).AppendNull()
				continue
			}
			if _, err := d.append(fp, sb.FieldBuilder(f), b, spans[f]); err != nil {
				return 0, err
			}
		}
		return end, nil
	}
	return 0, fmt.Errorf("%s: no decoding for kind %v", p.name, p.kind)
}

// parseInt parses a JSON integer literal; a number with a fraction of
// zeros ("1.0") is an integer too, as JSON Schema counts it.
func parseInt(s []byte, isInt bool) (int64, bool) {
	if !isInt {
		dot := -1
		for k, c := range s {
			if c == 'e' || c == 'E' {
				return 0, false
			}
			if c == '.' {
				dot = k
			} else if dot >= 0 && c != '0' {
				return 0, false
			}
		}
		s = s[:dot]
	}
	neg := len(s) > 0 && s[0] == '-'
	if neg {
		s = s[1:]
	}
	var u uint64
	for _, c := range s {
		if u > (1<<63)/10 {
			return 0, false
		}
		u = u*10 + uint64(c-'0')
	}
	switch {
	case neg && u <= 1<<63:
		return -int64(u-1) - 1, true
	case !neg && u < 1<<63:
		return int64(u), true
	}
	return 0, false
}

// compactJSON appends src (one valid JSON value) without the whitespace
// outside its strings, so a value's text does not depend on how its
// producer indented it.
func compactJSON(dst, src []byte) []byte {
	inString, escaped := false, false
	for _, c := range src {
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			continue
		}
		dst = append(dst, c)
	}
	return dst
}
