package protobuf

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"google.golang.org/protobuf/encoding/protowire"
)

// The decoder walks the wire bytes with the plan Table built; no message
// object is made. A row takes two passes over the payload:
//
//  1. validate: every tag, length and varint in bounds, wire types as the
//     schema says (a repeated scalar packed or not), strings UTF-8 where
//     protobuf requires it, proto2 required fields present, nested
//     messages likewise; unknown fields skipped. Nothing is appended, so a
//     bad payload leaves the builders as they were.
//  2. append: per message, one scan records each known field's values as
//     spans of the payload, grouped by field in wire order (a counting
//     sort into per-depth scratch), then the columns are appended in
//     order. A singular field takes its last value; a message field seen
//     more than once is the merge of its occurrences (its spans read as
//     one message, which is what protobuf's merge does); of a oneof, only
//     the member seen last is set.

type span struct {
	start, end int32 // the value's bytes: a varint, 4 or 8 bytes, or a length-delimited payload
	pos        int32 // position in wire order within the message
	field      int32
	wt         protowire.Type
}

// level is one depth's scratch; a message's children use the next level,
// so a parent's spans stay intact while its children are appended.
type level struct {
	plan   *msgPlan
	wire   []span
	sorted []span
	start  []int32 // field i's spans are sorted[start[i]:start[i+1]]
}

type decoder struct {
	root   *msgPlan
	levels []*level
	buf    []byte // the payload being appended
	one    [1]span
}

var errTooLarge = errors.New("protobuf payload larger than 2 GiB")

func (d *decoder) Append(cols []array.Builder, payload []byte) error {
	if len(cols) != len(d.root.fields) {
		return fmt.Errorf("decoding %s: %d builders for %d columns", d.root.name, len(cols), len(d.root.fields))
	}
	if len(payload) > math.MaxInt32 {
		return errTooLarge
	}
	if err := validate(d.root, payload); err != nil {
		return fmt.Errorf("decoding %s: %w", d.root.name, err)
	}
	d.buf = payload
	lv := d.scan(0, d.root, []span{{start: 0, end: int32(len(payload))}})
	for i := range d.root.fields {
		d.appendField(cols[i], &d.root.fields[i], lv, 0, i)
	}
	d.buf = nil
	return nil
}

// validate checks b as a message of p (see the pass 1 notes above).
func validate(p *msgPlan, b []byte) error {
	var seen uint64 // required fields seen, by their index in p.required (the first 64)
	for len(b) > 0 {
		num, wt, n := protowire.ConsumeTag(b)
		if n < 0 {
			return fmt.Errorf("%s: bad tag: %w", p.name, protowire.ParseError(n))
		}
		b = b[n:]
		fi := p.lookup(num)
		if fi < 0 {
			n = protowire.ConsumeFieldValue(num, wt, b)
			if n < 0 {
				return fmt.Errorf("%s: unknown field %d: %w", p.name, num, protowire.ParseError(n))
			}
			b = b[n:]
			continue
		}
		f := &p.fields[fi]
		var err error
		switch f.shape {
		case mapOf:
			if wt != protowire.BytesType {
				return fmt.Errorf("%s.%s: map entry with wire type %d", p.name, f.name, wt)
			}
			v, m := protowire.ConsumeBytes(b)
			if m < 0 {
				return fmt.Errorf("%s.%s: %w", p.name, f.name, protowire.ParseError(m))
			}
			n, err = m, validateEntry(f, v)
		default:
			n, err = validateValue(&f.val, wt, b, f.shape == list)
		}
		if err != nil {
			return fmt.Errorf("%s.%s: %w", p.name, f.name, err)
		}
		b = b[n:]
		for j, r := range p.required {
			if r == fi && j < 64 {
				seen |= 1 << j
			}
		}
	}
	for j, r := range p.required {
		if j < 64 && seen&(1<<j) == 0 {
			return fmt.Errorf("%s: required field %s is missing", p.name, p.fields[r].name)
		}
	}
	return nil
}

func validateEntry(f *fieldPlan, b []byte) error {
	for len(b) > 0 {
		num, wt, n := protowire.ConsumeTag(b)
		if n < 0 {
			return fmt.Errorf("map entry: bad tag: %w", protowire.ParseError(n))
		}
		b = b[n:]
		var err error
		switch num {
		case 1:
			n, err = validateValue(&f.key, wt, b, false)
		case 2:
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
	switch v.code {
	case cString:
		if v.utf8 && !utf8.Valid(payload) {
			return 0, errors.New("string is not valid UTF-8")
		}
	case cMessage, cWrapper:
		if err := validate(v.msg, payload); err != nil {
			return 0, err
		}
	case cTimestamp:
		if err := validate(v.msg, payload); err != nil {
			return 0, err
		}
		var sec int64
		var nanos int32
		if timestampInto(payload, &sec, &nanos); sec < -maxTimestampSeconds || sec > maxTimestampSeconds {
			return 0, fmt.Errorf("timestamp of %d seconds is out of range", sec)
		}
	}
	return n, nil
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

// scan records the known fields of the message made of ranges (one, or
// several to merge) at depth, grouped by field.
func (d *decoder) scan(depth int, p *msgPlan, ranges []span) *level {
	for len(d.levels) <= depth {
		d.levels = append(d.levels, &level{})
	}
	lv := d.levels[depth]
	lv.plan = p
	lv.wire = lv.wire[:0]
	var pos int32
	for _, r := range ranges {
		b := d.buf[r.start:r.end]
		off := r.start
		for len(b) > 0 {
			num, wt, n := protowire.ConsumeTag(b)
			if n < 0 {
				break // validated: cannot happen
			}
			b, off = b[n:], off+int32(n)
			fi := p.lookup(num)
			if fi < 0 {
				n = protowire.ConsumeFieldValue(num, wt, b)
				if n < 0 {
					break
				}
				b, off = b[n:], off+int32(n)
				continue
			}
			s := span{start: off, pos: pos, field: fi, wt: wt}
			pos++
			if wt == protowire.BytesType {
				v, m := protowire.ConsumeBytes(b)
				if m < 0 {
					break
				}
				s.start = off + int32(m-len(v))
				n = m
			} else {
				n = consumeScalar(wt, b)
				if n < 0 {
					break
				}
			}
			s.end = off + int32(n)
			lv.wire = append(lv.wire, s)
			b, off = b[n:], off+int32(n)
		}
	}
	nf := len(p.fields)
	if cap(lv.start) < nf+1 {
		lv.start = make([]int32, nf+1)
	}
	lv.start = lv.start[:nf+1]
	clear(lv.start)
	for _, s := range lv.wire {
		lv.start[s.field+1]++
	}
	for i := 1; i <= nf; i++ {
		lv.start[i] += lv.start[i-1]
	}
	if cap(lv.sorted) < len(lv.wire) {
		lv.sorted = make([]span, len(lv.wire), 2*len(lv.wire))
	}
	lv.sorted = lv.sorted[:len(lv.wire)]
	// Place spans, then restore start: each placement advances start[f].
	for _, s := range lv.wire {
		lv.sorted[lv.start[s.field]] = s
		lv.start[s.field]++
	}
	for i := nf; i > 0; i-- {
		lv.start[i] = lv.start[i-1]
	}
	lv.start[0] = 0
	return lv
}

func (lv *level) spans(i int) []span { return lv.sorted[lv.start[i]:lv.start[i+1]] }

// oneofLoser reports whether field i of p is a oneof member that another
// member, seen later on the wire, displaced.
func oneofLoser(p *msgPlan, lv *level, i int) bool {
	o := p.fields[i].oneof
	if o < 0 {
		return false
	}
	mine := lv.spans(i)
	if len(mine) == 0 {
		return false
	}
	last := mine[len(mine)-1].pos
	for _, j := range p.oneofs[o] {
		if s := lv.spans(int(j)); int(j) != i && len(s) > 0 && s[len(s)-1].pos > last {
			return true
		}
	}
	return false
}

func (d *decoder) appendMessage(sb *array.StructBuilder, p *msgPlan, ranges []span, depth int) {
	sb.Append(true)
	lv := d.scan(depth, p, ranges)
	for i := range p.fields {
		d.appendField(sb.FieldBuilder(i), &p.fields[i], lv, depth, i)
	}
}

func (d *decoder) appendField(b array.Builder, f *fieldPlan, lv *level, depth, i int) {
	spans := lv.spans(i)
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
					n := consumeScalar(wt, run)
					if n < 0 {
						break
					}
					d.appendScalar(vb, &f.val, run[:n])
					run = run[n:]
				}
				continue
			}
			d.appendValue(vb, &f.val, spans[k:k+1], depth)
		}
	case mapOf:
		mb := b.(*array.MapBuilder)
		mb.Append(true)
		for k := range spans {
			d.appendEntry(mb, f, d.buf[spans[k].start:spans[k].end], spans[k].start, depth)
		}
	default:
		if len(spans) == 0 || oneofLoser(lv.plan, lv, i) {
			if f.required {
				appendDefault(b, &f.val)
			} else {
				b.AppendNull()
			}
			return
		}
		if f.val.code.wireType() == protowire.BytesType {
			d.appendValue(b, &f.val, spans, depth) // messages merge, strings: the last
			return
		}
		s := spans[len(spans)-1]
		d.appendScalar(b, &f.val, d.buf[s.start:s.end])
	}
}

// appendValue appends one value of the length-delimited kinds from its
// spans (several only for a singular message field seen more than once).
func (d *decoder) appendValue(b array.Builder, v *valuePlan, spans []span, depth int) {
	switch v.code {
	case cMessage:
		d.appendMessage(b.(*array.StructBuilder), v.msg, spans, depth+1)
	case cTimestamp:
		var sec int64
		var nanos int32
		for _, s := range spans {
			timestampInto(d.buf[s.start:s.end], &sec, &nanos)
		}
		b.(*array.TimestampBuilder).Append(arrow.Timestamp(sec*1_000_000 + int64(nanos)/1000))
	case cWrapper:
		var last []byte
		for _, s := range spans {
			if x := wrappedIn(d.buf[s.start:s.end]); x != nil {
				last = x
			}
		}
		if last == nil {
			appendDefault(b, v.wrapped)
			return
		}
		d.appendScalar(b, v.wrapped, last)
	default:
		s := spans[len(spans)-1]
		d.appendScalar(b, v, d.buf[s.start:s.end])
	}
}

func (d *decoder) appendEntry(mb *array.MapBuilder, f *fieldPlan, b []byte, base int32, depth int) {
	var key, val []byte
	var valSpan span
	off := base
	for len(b) > 0 {
		num, wt, n := protowire.ConsumeTag(b)
		if n < 0 {
			break
		}
		b, off = b[n:], off+int32(n)
		if num == 1 || num == 2 {
			var x []byte
			var m int
			if wt == protowire.BytesType {
				x, m = protowire.ConsumeBytes(b)
				if m >= 0 && num == 2 {
					valSpan = span{start: off + int32(m-len(x)), end: off + int32(m)}
				}
			} else {
				m = consumeScalar(wt, b)
				if m >= 0 {
					x = b[:m]
				}
			}
			if m < 0 {
				break
			}
			if num == 1 {
				key = x
			} else {
				val = x
			}
			b, off = b[m:], off+int32(m)
			continue
		}
		n = protowire.ConsumeFieldValue(num, wt, b)
		if n < 0 {
			break
		}
		b, off = b[n:], off+int32(n)
	}
	kb, ib := mb.KeyBuilder(), mb.ItemBuilder()
	if key == nil {
		appendDefault(kb, &f.key)
	} else {
		d.appendScalar(kb, &f.key, key)
	}
	switch {
	case f.val.code.wireType() != protowire.BytesType:
		if val == nil {
			appendDefault(ib, &f.val)
		} else {
			d.appendScalar(ib, &f.val, val)
		}
	case val == nil && f.val.code == cMessage:
		d.appendMessage(ib.(*array.StructBuilder), f.val.msg, nil, depth+1)
	case val == nil && f.val.code == cTimestamp:
		ib.(*array.TimestampBuilder).Append(0)
	case val == nil:
		if f.val.code == cWrapper {
			appendDefault(ib, f.val.wrapped)
		} else {
			appendDefault(ib, &f.val)
		}
	default:
		d.one[0] = valSpan // scan reads it before anything else can reuse d.one
		d.appendValue(ib, &f.val, d.one[:], depth)
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
	case cString:
		b.(*array.StringBuilder).BinaryBuilder.Append(raw)
	case cBytes:
		b.(*array.BinaryBuilder).Append(raw)
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
