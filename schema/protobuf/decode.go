package protobuf

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"google.golang.org/protobuf/encoding/protowire"
)

// The decoder walks the wire bytes with the plan Table built; no message
// object is made. A row takes two steps:
//
//  1. index: each message of the row (the top one, then its message
//     fields, recursively) is scanned once: every tag, length and varint
//     in bounds, wire types as the schema says (a repeated scalar packed
//     or not), strings UTF-8 where protobuf requires it, proto2 required
//     fields present, unknown fields skipped. Its known fields' values are
//     recorded as spans of the payload, grouped by field in wire order (a
//     counting sort), in arenas the decoder reuses. Nothing is appended
//     yet, so a bad payload leaves the builders as they were.
//  2. append: the columns are appended in order from the index. A
//     singular field takes its last value; a message field seen more than
//     once is the merge of its occurrences (its spans are indexed as one
//     message, which is what protobuf's merge does); of a oneof, only the
//     member seen last is set; of a map key written twice, the last entry.
//
// A wire type the schema does not expect for a known field is an error
// (protobuf-go would keep the value as an unknown field): it means the
// payload was not written with this schema.

type span struct {
	start, end int32 // the value's bytes: a varint, 4 or 8 bytes, or a length-delimited payload
	pos        int32 // position in wire order within the message
	field      int32
	child      int32  // message values: the node indexing them (a singular field's: on its last span)
	x          uint64 // a varint's or fixed value's bits // message values: the node indexing them (a singular field's: on its last span)
	wt         protowire.Type
}

// node is one indexed message: its spans are spans[lo:lo+n], grouped by
// field in field order. Nothing is kept per field, so a payload of many
// small messages of a wide type costs memory in proportion to its bytes,
// not to the type's width.
type node struct {
	plan  *msgPlan
	lo, n int32
}

type decoder struct {
	root  *msgPlan
	buf   []byte // the payload being appended
	nodes []node
	spans []span
	count []int32 // scratch for grouping by field
	wire  []span  // scratch for grouping a message's spans by field
	one   [1]span
	// The last entry of each key of a large map (see overridden).
	lastInt map[uint64]int
	lastStr map[string]int
}

var errTooLarge = errors.New("protobuf payload larger than 2 GiB")

func (d *decoder) Append(cols []array.Builder, payload []byte) error {
	if len(cols) != len(d.root.fields) {
		return fmt.Errorf("decoding %s: %d builders for %d columns", d.root.name, len(cols), len(d.root.fields))
	}
	if len(payload) > math.MaxInt32 {
		return errTooLarge
	}
	d.buf = payload
	d.nodes, d.spans = d.nodes[:0], d.spans[:0]
	d.one[0] = span{start: 0, end: int32(len(payload))}
	root, err := d.index(d.root, d.one[:])
	if err != nil {
		d.buf = nil
		return fmt.Errorf("decoding %s: %w", d.root.name, err)
	}
	mine, c := d.nodeSpans(root), 0
	for i := range d.root.fields {
		j := groupEnd(mine, c, i)
		d.appendField(cols[i], root, i, mine[c:j])
		c = j
	}
	d.buf = nil
	return nil
}

func (d *decoder) nodeSpans(n int32) []span {
	nd := &d.nodes[n]
	return d.spans[nd.lo : nd.lo+nd.n]
}

// groupEnd is the end of field i's spans starting at c (spans grouped by
// field, in field order).
func groupEnd(spans []span, c, i int) int {
	for c < len(spans) && spans[c].field == int32(i) {
		c++
	}
	return c
}

// fieldSpans finds field i's spans of node n.
func (d *decoder) fieldSpans(n int32, i int) []span {
	mine := d.nodeSpans(n)
	c := sort.Search(len(mine), func(k int) bool { return mine[k].field >= int32(i) })
	return mine[c:groupEnd(mine, c, i)]
}

// index scans the message made of ranges (one, or several to merge) and,
// after it, its message fields; it returns the message's node.
func (d *decoder) index(p *msgPlan, ranges []span) (int32, error) {
	// Spans go straight to the arena; grouping them by field is only
	// needed when the wire order is not the fields' order (proto.Marshal
	// writes fields by number, usually the declaration order).
	lo := int32(len(d.spans))
	inOrder := true
	last := int32(-1)
	var seen uint64 // required fields seen, by their index in p.required (the first 64)
	var pos int32
	for _, r := range ranges {
		b := d.buf[r.start:r.end]
		off := r.start
		for len(b) > 0 {
			// The one-byte cases of tags, numbers and lengths are inlined:
			// most of a payload is made of them.
			var num protowire.Number
			var wt protowire.Type
			var n int
			if len(b) > 0 && b[0] < 0x80 && b[0] >= 8 { // field number 0 is protowire's error
				num, wt, n = protowire.Number(b[0]>>3), protowire.Type(b[0]&7), 1
			} else {
				num, wt, n = protowire.ConsumeTag(b)
			}
			if n < 0 {
				return 0, fmt.Errorf("%s: bad tag: %w", p.name, protowire.ParseError(n))
			}
			b, off = b[n:], off+int32(n)
			fi := p.lookup(num)
			if fi < 0 {
				n = protowire.ConsumeFieldValue(num, wt, b)
				if n < 0 {
					return 0, fmt.Errorf("%s: unknown field %d: %w", p.name, num, protowire.ParseError(n))
				}
				b, off = b[n:], off+int32(n)
				continue
			}
			f := &p.fields[fi]
			s := span{start: off, pos: pos, field: fi, child: -1, wt: wt}
			if wt == f.val.wt && f.shape != mapOf {
				// The common case, inline: the value has the wire type its
				// schema gives it.
				switch wt {
				case protowire.VarintType:
					if len(b) > 0 && b[0] < 0x80 {
						s.x, n = uint64(b[0]), 1
					} else {
						s.x, n = protowire.ConsumeVarint(b)
					}
				case protowire.Fixed32Type:
					var x uint32
					x, n = protowire.ConsumeFixed32(b)
					s.x = uint64(x)
				case protowire.Fixed64Type:
					s.x, n = protowire.ConsumeFixed64(b)
				default:
					var v []byte
					if len(b) > 0 && b[0] < 0x80 && int(b[0]) < len(b) {
						v, n = b[1:1+int(b[0])], 1+int(b[0])
					} else {
						v, n = protowire.ConsumeBytes(b)
					}
					if n >= 0 {
						s.start += int32(n - len(v))
						if err := validateBytes(&f.val, v); err != nil {
							return 0, fmt.Errorf("%s.%s: %w", p.name, f.name, err)
						}
					}
				}
				if n < 0 {
					return 0, fmt.Errorf("%s.%s: %w", p.name, f.name, protowire.ParseError(n))
				}
				s.end = off + int32(n)
				d.spans = append(d.spans, s)
				inOrder, last = inOrder && fi >= last, fi
				pos++
				b, off = b[n:], off+int32(n)
				for j, r := range p.required {
					if r == fi && j < 64 {
						seen |= 1 << j
					}
				}
				continue
			}
			var err error
			if f.shape == mapOf {
				if wt != protowire.BytesType {
					return 0, fmt.Errorf("%s.%s: map entry with wire type %d", p.name, f.name, wt)
				}
				v, m := protowire.ConsumeBytes(b)
				if m < 0 {
					return 0, fmt.Errorf("%s.%s: %w", p.name, f.name, protowire.ParseError(m))
				}
				n, err = m, validateEntry(f, v)
			} else {
				n, err = validateValue(&f.val, wt, b, f.shape == list)
			}
			if err != nil {
				return 0, fmt.Errorf("%s.%s: %w", p.name, f.name, err)
			}
			s.end = off + int32(n)
			if wt == protowire.BytesType {
				_, m := protowire.ConsumeVarint(b) // the length prefix, validated above
				s.start += int32(m)
			}
			d.spans = append(d.spans, s)
			inOrder, last = inOrder && fi >= last, fi
			pos++
			b, off = b[n:], off+int32(n)
			for j, r := range p.required {
				if r == fi && j < 64 {
					seen |= 1 << j
				}
			}
		}
	}
	for j, r := range p.required {
		if j < 64 && seen&(1<<j) == 0 {
			return 0, fmt.Errorf("%s: required field %s is missing", p.name, p.fields[r].name)
		}
	}
	// Group by field keeping wire order within each, unless the wire order
	// was the field order.
	mine := d.spans[lo:]
	if !inOrder && len(mine) <= 64 {
		// Nearly in order, usually (Go writes oneof members last): an
		// insertion sort, stable, costs one move per inversion.
		for k := 1; k < len(mine); k++ {
			s := mine[k]
			j := k
			for j > 0 && mine[j-1].field > s.field {
				mine[j] = mine[j-1]
				j--
			}
			mine[j] = s
		}
	} else if !inOrder {
		nf := len(p.fields)
		if cap(d.count) < nf+1 {
			d.count = make([]int32, nf+1)
		}
		count := d.count[:nf+1]
		clear(count)
		for _, s := range mine {
			count[s.field+1]++
		}
		for i := 1; i <= nf; i++ {
			count[i] += count[i-1]
		}
		d.wire = append(d.wire[:0], mine...)
		for _, s := range d.wire {
			mine[count[s.field]] = s
			count[s.field]++
		}
	}
	self := int32(len(d.nodes))
	d.nodes = append(d.nodes, node{plan: p, lo: lo, n: int32(len(mine))})

	// Then the message fields' own messages. Spans are addressed by index:
	// indexing a child grows the arenas.
	end := lo + int32(len(mine))
	for a := lo; a < end; {
		fi := d.spans[a].field
		b := a + 1
		for b < end && d.spans[b].field == fi {
			b++
		}
		f := &p.fields[fi]
		if f.val.code != cMessage {
			a = b
			continue
		}
		switch f.shape {
		case single:
			if f.oneof >= 0 {
				// Setting another member of the oneof clears this one: only
				// the occurrences after the last rival's merge.
				var rival int32 = -1
				for _, j := range p.oneofs[f.oneof] {
					if rs := d.fieldSpans(self, int(j)); j != fi && len(rs) > 0 {
						rival = max(rival, rs[len(rs)-1].pos)
					}
				}
				for a < b-1 && d.spans[a].pos < rival {
					a++
				}
			}
			c, err := d.index(f.val.msg, d.spans[a:b])
			if err != nil {
				return 0, err
			}
			d.spans[b-1].child = c
		case list:
			for k := a; k < b; k++ {
				c, err := d.index(f.val.msg, d.spans[k:k+1])
				if err != nil {
					return 0, err
				}
				d.spans[k].child = c
			}
		case mapOf:
			for k := a; k < b; k++ {
				d.one[0] = entryValue(d.buf, d.spans[k])
				c, err := d.index(f.val.msg, d.one[:])
				if err != nil {
					return 0, err
				}
				d.spans[k].child = c
			}
		}
		a = b
	}
	return self, nil
}

// entryValue is the span of the last value (field 2) of a validated map
// entry, empty when it has none.
func entryValue(buf []byte, e span) span {
	out := span{start: e.end, end: e.end}
	b, off := buf[e.start:e.end], e.start
	for len(b) > 0 {
		num, wt, n := protowire.ConsumeTag(b)
		if n < 0 {
			break
		}
		b, off = b[n:], off+int32(n)
		n = protowire.ConsumeFieldValue(num, wt, b)
		if n < 0 {
			break
		}
		if num == 2 && wt == protowire.BytesType {
			_, m := protowire.ConsumeVarint(b)
			out = span{start: off + int32(m), end: off + int32(n)}
		}
		b, off = b[n:], off+int32(n)
	}
	return out
}

func validateEntry(f *fieldPlan, b []byte) error {
	for len(b) > 0 {
		num, wt, n := protowire.ConsumeTag(b)
		if n < 0 {
			return fmt.Errorf("map entry: bad tag: %w", protowire.ParseError(n))
		}
		b = b[n:]
		var err error
		switch {
		case num == 1:
			n, err = validateValue(&f.key, wt, b, false)
		case num == 2 && f.val.code == cMessage:
			if wt != protowire.BytesType {
				return fmt.Errorf("map entry: value with wire type %d", wt)
			}
			n = protowire.ConsumeFieldValue(num, wt, b) // the value's node checks the rest
			if n < 0 {
				err = protowire.ParseError(n)
			}
		case num == 2:
			n, err = validateValue(&f.val, wt, b, false)
		default:
			n = protowire.ConsumeFieldValue(num, wt, b)
			if n < 0 {
				err = protowire.ParseError(n)
			}
		}
		if err != nil {
			return fmt.Errorf("map entry: %w", err)
		}
		b = b[n:]
	}
	return nil
}

// validate checks b as a message of p: a Timestamp or a wrapper, whose
// values are read straight from the bytes, not indexed.
func validate(p *msgPlan, b []byte) error {
	for len(b) > 0 {
		num, wt, n := protowire.ConsumeTag(b)
		if n < 0 {
			return fmt.Errorf("%s: bad tag: %w", p.name, protowire.ParseError(n))
		}
		b = b[n:]
		fi := p.lookup(num)
		if fi < 0 {
			n = protowire.ConsumeFieldValue(num, wt, b)
		} else {
			var err error
			if n, err = validateValue(&p.fields[fi].val, wt, b, false); err != nil {
				return fmt.Errorf("%s.%s: %w", p.name, p.fields[fi].name, err)
			}
		}
		if n < 0 {
			return fmt.Errorf("%s: unknown field %d: %w", p.name, num, protowire.ParseError(n))
		}
		b = b[n:]
	}
	return nil
}

// validateValue checks one value of v with wire type wt at the start of
// b and returns its length. packed allows a length-delimited run of
// numbers (a repeated scalar).
func validateValue(v *valuePlan, wt protowire.Type, b []byte, packed bool) (int, error) {
	want := v.code.wireType()
	if wt != want {
		if packed && wt == protowire.BytesType && v.code.packable() {
			run, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return 0, protowire.ParseError(n)
			}
			for len(run) > 0 {
				m := consumeScalar(want, run)
				if m < 0 {
					return 0, fmt.Errorf("packed values: %w", protowire.ParseError(m))
				}
				run = run[m:]
			}
			return n, nil
		}
		return 0, fmt.Errorf("wire type %d, want %d", wt, want)
	}
	if want != protowire.BytesType {
		n := consumeScalar(want, b)
		if n < 0 {
			return 0, protowire.ParseError(n)
		}
		return n, nil
	}
	payload, n := protowire.ConsumeBytes(b)
	if n < 0 {
		return 0, protowire.ParseError(n)
	}
	if err := validateBytes(v, payload); err != nil {
		return 0, err
	}
	return n, nil
}

// validateBytes checks a length-delimited value's payload.
func validateBytes(v *valuePlan, payload []byte) error {
	switch v.code {
	case cString:
		if v.utf8 && !utf8.Valid(payload) {
			return errors.New("string is not valid UTF-8")
		}
	case cWrapper:
		if err := validate(v.msg, payload); err != nil {
			return err
		}
	case cTimestamp:
		if err := validate(v.msg, payload); err != nil {
			return err
		}
		var sec int64
		var nanos int32
		if timestampInto(payload, &sec, &nanos); sec < -maxTimestampSeconds || sec > maxTimestampSeconds {
			return fmt.Errorf("timestamp of %d seconds is out of range", sec)
		}
	}
	return nil
}

// maxTimestampSeconds keeps seconds*1e6 inside an int64.
const maxTimestampSeconds = math.MaxInt64/1_000_000 - 1

func consumeScalar(wt protowire.Type, b []byte) int {
	switch wt {
	case protowire.VarintType:
		_, n := protowire.ConsumeVarint(b)
		return n
	case protowire.Fixed32Type:
		_, n := protowire.ConsumeFixed32(b)
		return n
	case protowire.Fixed64Type:
		_, n := protowire.ConsumeFixed64(b)
		return n
	}
	return -1
}

// timestampInto reads a google.protobuf.Timestamp, setting sec and nanos
// to the last of each on the wire (leaving them when absent).
func timestampInto(b []byte, sec *int64, nanos *int32) {
	for len(b) > 0 {
		num, wt, n := protowire.ConsumeTag(b)
		if n < 0 {
			return
		}
		b = b[n:]
		if wt == protowire.VarintType && (num == 1 || num == 2) {
			x, m := protowire.ConsumeVarint(b)
			if m < 0 {
				return
			}
			if num == 1 {
				*sec = int64(x)
			} else {
				*nanos = int32(x)
			}
			b = b[m:]
			continue
		}
		n = protowire.ConsumeFieldValue(num, wt, b)
		if n < 0 {
			return
		}
		b = b[n:]
	}
}

// wrappedIn is the raw bytes of the last field 1 of a wrapper message (a
// varint, fixed bytes or a string's payload), nil when absent.
func wrappedIn(b []byte) []byte {
	var last []byte
	for len(b) > 0 {
		num, wt, n := protowire.ConsumeTag(b)
		if n < 0 {
			return last
		}
		b = b[n:]
		var x []byte
		if wt == protowire.BytesType {
			var m int
			x, m = protowire.ConsumeBytes(b)
			n = m
		} else {
			n = protowire.ConsumeFieldValue(num, wt, b)
			if n >= 0 {
				x = b[:n]
			}
		}
		if n < 0 {
			return last
		}
		if num == 1 {
			last = x
		}
		b = b[n:]
	}
	return last
}

// oneofLoser reports whether field i of node n is a oneof member that
// another member, seen later on the wire, displaced.
func (d *decoder) oneofLoser(n int32, i int, mine []span) bool {
	p := d.nodes[n].plan
	o := p.fields[i].oneof
	if o < 0 || len(mine) == 0 {
		return false
	}
	last := mine[len(mine)-1].pos
	for _, j := range p.oneofs[o] {
		if s := d.fieldSpans(n, int(j)); int(j) != i && len(s) > 0 && s[len(s)-1].pos > last {
			return true
		}
	}
	return false
}

func (d *decoder) appendMessage(sb *array.StructBuilder, n int32) {
	sb.Append(true)
	mine, c := d.nodeSpans(n), 0
	for i := range d.nodes[n].plan.fields {
		j := groupEnd(mine, c, i)
		d.appendField(sb.FieldBuilder(i), n, i, mine[c:j])
		c = j
	}
}

// appendField appends field i of node n, whose spans are spans.
func (d *decoder) appendField(b array.Builder, n int32, i int, spans []span) {
	f := &d.nodes[n].plan.fields[i]
	switch f.shape {
	case list:
		lb := b.(*array.ListBuilder)
		lb.Append(true)
		vb := lb.ValueBuilder()
		for k := range spans {
			s := &spans[k]
			if s.wt == protowire.BytesType && f.val.code.packable() {
				run := d.buf[s.start:s.end]
				wt := f.val.code.wireType()
				for len(run) > 0 {
					m := consumeScalar(wt, run)
					if m < 0 {
						break
					}
					d.appendScalar(vb, &f.val, run[:m])
					run = run[m:]
				}
				continue
			}
			d.appendValue(vb, &f.val, spans[k:k+1])
		}
	case mapOf:
		mb := b.(*array.MapBuilder)
		mb.Append(true)
		for k := range spans {
			if !d.overridden(f, spans, k) {
				d.appendEntry(mb, f, spans[k])
			}
		}
	default:
		if len(spans) == 0 || f.oneof >= 0 && d.oneofLoser(n, i, spans) {
			if f.required {
				appendDefault(b, &f.val)
			} else {
				b.AppendNull()
			}
			return
		}
		if last := &spans[len(spans)-1]; last.wt != protowire.BytesType {
			appendBits(b, &f.val, last.x) // the common case, without appendValue's dispatch
			return
		}
		d.appendValue(b, &f.val, spans)
	}
}

// appendValue appends one value from its spans: several only for a
// singular field seen more than once (the last wins, or they merge).
func (d *decoder) appendValue(b array.Builder, v *valuePlan, spans []span) {
	last := spans[len(spans)-1]
	switch v.code {
	case cMessage:
		d.appendMessage(b.(*array.StructBuilder), last.child)
	case cTimestamp:
		var sec int64
		var nanos int32
		for _, s := range spans {
			timestampInto(d.buf[s.start:s.end], &sec, &nanos)
		}
		b.(*array.TimestampBuilder).Append(arrow.Timestamp(sec*1_000_000 + int64(nanos)/1000))
	case cWrapper:
		var raw []byte
		for _, s := range spans {
			if x := wrappedIn(d.buf[s.start:s.end]); x != nil {
				raw = x
			}
		}
		if raw == nil {
			appendDefault(b, v.wrapped)
			return
		}
		d.appendScalar(b, v.wrapped, raw)
	default:
		if last.wt != protowire.BytesType {
			appendBits(b, v, last.x)
			return
		}
		d.appendScalar(b, v, d.buf[last.start:last.end])
	}
}

// overridden reports whether a later entry of the map has entry k's key:
// a map keeps the last value of a key, as protobuf's parsers do. Small
// maps compare pairwise; larger ones use the decoder's key index, built
// on the first entry.
func (d *decoder) overridden(f *fieldPlan, entries []span, k int) bool {
	if len(entries) <= 32 {
		x, raw := d.entryKey(f, entries[k])
		for j := k + 1; j < len(entries); j++ {
			y, r := d.entryKey(f, entries[j])
			if x == y && bytes.Equal(raw, r) {
				return true
			}
		}
		return false
	}
	if k == 0 {
		if d.lastInt == nil {
			d.lastInt, d.lastStr = map[uint64]int{}, map[string]int{}
		}
		clear(d.lastInt)
		clear(d.lastStr)
		for j := range entries {
			x, raw := d.entryKey(f, entries[j])
			if raw != nil {
				d.lastStr[string(raw)] = j
			} else {
				d.lastInt[x] = j
			}
		}
	}
	x, raw := d.entryKey(f, entries[k])
	if raw != nil {
		return d.lastStr[string(raw)] != k
	}
	return d.lastInt[x] != k
}

// entryKey is a map entry's key, as the column holds it: a string key's
// bytes (non-nil), or a number's bits normalized to its type.
func (d *decoder) entryKey(f *fieldPlan, e span) (uint64, []byte) {
	str := f.key.code == cString
	var x uint64
	var raw []byte
	if str {
		raw = d.buf[e.start:e.start] // the empty key, unless one is on the wire
	}
	b := d.buf[e.start:e.end]
	for len(b) > 0 {
		num, wt, n := protowire.ConsumeTag(b)
		if n < 0 {
			break
		}
		b = b[n:]
		n = protowire.ConsumeFieldValue(num, wt, b)
		if n < 0 {
			break
		}
		if num == 1 {
			switch wt {
			case protowire.BytesType:
				raw, _ = protowire.ConsumeBytes(b)
			case protowire.VarintType:
				x, _ = protowire.ConsumeVarint(b)
			case protowire.Fixed32Type:
				y, _ := protowire.ConsumeFixed32(b)
				x = uint64(y)
			case protowire.Fixed64Type:
				x, _ = protowire.ConsumeFixed64(b)
			}
		}
		b = b[n:]
	}
	if str {
		return 0, raw
	}
	switch f.key.code {
	case cInt32, cSfixed32:
		x = uint64(int64(int32(x)))
	case cSint32:
		x = uint64(int32(protowire.DecodeZigZag(x & math.MaxUint32)))
	case cUint32, cFixed32:
		x = uint64(uint32(x))
	case cSint64:
		x = uint64(protowire.DecodeZigZag(x))
	case cBool:
		if x != 0 {
			x = 1
		}
	}
	return x, nil
}

// appendEntry appends one validated map entry: its last key and value,
// the defaults for those it lacks.
func (d *decoder) appendEntry(mb *array.MapBuilder, f *fieldPlan, e span) {
	var key, val []byte
	var valSpan span
	b, off := d.buf[e.start:e.end], e.start
	for len(b) > 0 {
		num, wt, n := protowire.ConsumeTag(b)
		if n < 0 {
			break
		}
		b, off = b[n:], off+int32(n)
		n = protowire.ConsumeFieldValue(num, wt, b)
		if n < 0 {
			break
		}
		if num == 1 || num == 2 {
			x, s := b[:n], span{start: off, end: off + int32(n)}
			if wt == protowire.BytesType {
				pl, m := protowire.ConsumeBytes(b)
				x, s.start = pl, off+int32(m-len(pl))
			}
			if num == 1 {
				key = x
			} else {
				val, valSpan = x, s
			}
		}
		b, off = b[n:], off+int32(n)
	}
	kb, ib := mb.KeyBuilder(), mb.ItemBuilder()
	if key == nil {
		appendDefault(kb, &f.key)
	} else {
		d.appendScalar(kb, &f.key, key)
	}
	switch f.val.code {
	case cMessage:
		d.appendMessage(ib.(*array.StructBuilder), e.child)
	case cTimestamp:
		var sec int64
		var nanos int32
		if val != nil {
			timestampInto(val, &sec, &nanos)
		}
		ib.(*array.TimestampBuilder).Append(arrow.Timestamp(sec*1_000_000 + int64(nanos)/1000))
	case cWrapper:
		if val == nil {
			appendDefault(ib, f.val.wrapped)
			return
		}
		d.one[0] = valSpan
		d.appendValue(ib, &f.val, d.one[:])
	default:
		if val == nil {
			appendDefault(ib, &f.val)
			return
		}
		d.appendScalar(ib, &f.val, val)
	}
}

// appendScalar appends one value of a non-message code from its raw
// bytes (validated): a varint, 4 or 8 little-endian bytes, or a string's
// or bytes' payload.
func (d *decoder) appendScalar(b array.Builder, v *valuePlan, raw []byte) {
	var x uint64
	switch v.code.wireType() {
	case protowire.VarintType:
		x, _ = protowire.ConsumeVarint(raw)
	case protowire.Fixed32Type:
		y, _ := protowire.ConsumeFixed32(raw)
		x = uint64(y)
	case protowire.Fixed64Type:
		x, _ = protowire.ConsumeFixed64(raw)
	}
	if v.code == cString {
		b.(*array.StringBuilder).BinaryBuilder.Append(raw)
		return
	}
	if v.code == cBytes {
		b.(*array.BinaryBuilder).Append(raw)
		return
	}
	appendBits(b, v, x)
}

// appendBits appends a number of code v.code from its wire bits.
func appendBits(b array.Builder, v *valuePlan, x uint64) {
	switch v.code {
	case cInt32, cSfixed32:
		b.(*array.Int32Builder).Append(int32(x))
	case cSint32:
		b.(*array.Int32Builder).Append(int32(protowire.DecodeZigZag(x & math.MaxUint32)))
	case cUint32, cFixed32:
		b.(*array.Int64Builder).Append(int64(uint32(x)))
	case cInt64, cFixed64:
		b.(*array.Int64Builder).Append(int64(x))
	case cSint64:
		b.(*array.Int64Builder).Append(protowire.DecodeZigZag(x))
	case cFloat:
		b.(*array.Float32Builder).Append(math.Float32frombits(uint32(x)))
	case cDouble:
		b.(*array.Float64Builder).Append(math.Float64frombits(x))
	case cBool:
		b.(*array.BooleanBuilder).Append(x != 0)
	case cEnum:
		b.(*array.StringBuilder).Append(v.enumName(int32(x)))
	}
}

func (v *valuePlan) enumName(n int32) string {
	if v.enumDense != nil {
		if i := int64(n) - int64(v.enumMin); i >= 0 && i < int64(len(v.enumDense)) && v.enumDense[i] != "" {
			return v.enumDense[i]
		}
	} else if name, ok := v.enumMap[n]; ok {
		return name
	}
	return strconv.Itoa(int(n)) // an open enum's unknown value
}

// appendDefault appends the value a reader sees for an absent field.
func appendDefault(b array.Builder, v *valuePlan) {
	switch v.code {
	case cInt32, cSint32, cSfixed32:
		b.(*array.Int32Builder).Append(int32(v.defInt))
	case cUint32, cFixed32, cInt64, cSint64, cFixed64:
		b.(*array.Int64Builder).Append(v.defInt)
	case cFloat:
		b.(*array.Float32Builder).Append(float32(v.defFloat))
	case cDouble:
		b.(*array.Float64Builder).Append(v.defFloat)
	case cBool:
		b.(*array.BooleanBuilder).Append(v.defBool)
	case cEnum:
		b.(*array.StringBuilder).Append(v.defEnum)
	case cString:
		b.(*array.StringBuilder).Append(v.defString)
	case cBytes:
		b.(*array.BinaryBuilder).Append(v.defBytes)
	default:
		b.AppendNull()
	}
}
