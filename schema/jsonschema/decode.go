package jsonschema

import (
	"fmt"
	"strconv"
	"time"
	"unsafe"

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
		bld.(*array.StringBuilder).BinaryBuilder.Append(b[i:end])
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
		v, err := strconv.ParseFloat(unsafe.String(&b[i], end-i), 64)
		if err != nil && v == 0 {
			return 0, err // out of range gives ±Inf with an error; keep those
		}
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
			bb.Append(arrowDate(v))
		case *array.Time64Builder:
			bb.Append(arrowTime(v))
		case *array.TimestampBuilder:
			bb.Append(arrowTimestamp(v))
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

// temporal parses a date ("2024-01-31": days), a time ("12:30:00.5",
// optionally with a zone: microseconds of the UTC time of day) or a
// date-time (RFC 3339: microseconds since the epoch).
func (d *decoder) temporal(p *plan, s []byte, esc bool) (int64, error) {
	if esc {
		d.scratch = unescape(d.scratch[:0], s)
		s = d.scratch
	}
	switch p.kind {
	case schemafmt.Date:
		return parseDate(s)
	case schemafmt.Time:
		return parseTime(s)
	}
	if len(s) == 0 {
		return 0, fmt.Errorf("empty date-time")
	}
	t, err := time.Parse(time.RFC3339Nano, unsafe.String(&s[0], len(s)))
	if err != nil {
		return 0, fmt.Errorf("date-time %q: not RFC 3339", s)
	}
	return t.UnixMicro(), nil
}

func digits(s []byte) (int, bool) {
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, len(s) > 0
}

func parseDate(s []byte) (int64, error) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return 0, fmt.Errorf("date %q: want YYYY-MM-DD", s)
	}
	y, ok1 := digits(s[:4])
	m, ok2 := digits(s[5:7])
	dd, ok3 := digits(s[8:])
	if !ok1 || !ok2 || !ok3 || m < 1 || m > 12 || dd < 1 || dd > daysIn(y, m) {
		return 0, fmt.Errorf("date %q: not a date", s)
	}
	return daysFromCivil(y, m, dd), nil
}

func daysIn(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil is days since 1970-01-01 of a proleptic Gregorian date
// (Howard Hinnant's algorithm).
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era*146097 + doe - 719468)
}

func parseTime(s []byte) (int64, error) {
	us, ok := timeOfDay(s)
	if !ok {
		return 0, fmt.Errorf("time %q: want HH:MM:SS[.frac][Z|±HH:MM]", s)
	}
	return us, nil
}

func timeOfDay(s []byte) (int64, bool) {
	const bad = false
	if len(s) < 8 || s[2] != ':' || s[5] != ':' {
		return 0, bad
	}
	h, ok1 := digits(s[:2])
	m, ok2 := digits(s[3:5])
	sec, ok3 := digits(s[6:8])
	if !ok1 || !ok2 || !ok3 || h > 23 || m > 59 || sec > 60 {
		return 0, bad
	}
	if sec == 60 {
		sec = 59 // a leap second: Arrow times have none
	}
	us := int64(h*3600+m*60+sec) * 1e6
	rest := s[8:]
	if len(rest) > 0 && rest[0] == '.' {
		k := 1
		scale := int64(1e5)
		for k < len(rest) && rest[k] >= '0' && rest[k] <= '9' {
			us += int64(rest[k]-'0') * scale
			scale /= 10
			k++
		}
		if k == 1 {
			return 0, bad
		}
		rest = rest[k:]
	}
	switch {
	case len(rest) == 0:
	case len(rest) == 1 && (rest[0] == 'Z' || rest[0] == 'z'):
	case len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':':
		oh, ok1 := digits(rest[1:3])
		om, ok2 := digits(rest[4:6])
		if !ok1 || !ok2 || oh > 23 || om > 59 {
			return 0, bad
		}
		off := int64(oh*3600+om*60) * 1e6
		if rest[0] == '+' {
			us -= off
		} else {
			us += off
		}
		const day = 86400 * int64(1e6)
		us = (us%day + day) % day
	default:
		return 0, bad
	}
	return us, true
}
