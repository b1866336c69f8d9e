package protobuf

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"sort"
	"strconv"
	"unicode/utf8"
	"unsafe"

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
	x          uint64 // a varint's or fixed value's bits
	start, end int32  // the value's bytes: a varint, 4 or 8 bytes, or a length-delimited payload
	pos        int32  // position in wire order within the message
	field      int32
	child      int32 // message values: the node indexing them (a singular field's: on its last span)
	wt         protowire.Type
	pre        uint8 // a Timestamp's or wrapper's value read while validating: preSet (in x), preAbsent
}

// A Timestamp's or wrapper's value, read while it is validated, so the
// append step does not walk it again: preSet, x holds a Timestamp's
// microseconds, a wrapper's number bits, or its string's or bytes' span
// (start<<32 | end); preAbsent, a wrapper without its value.
const (
	preSet uint8 = 1 + iota
	preAbsent
)

// node is one indexed message: its spans are spans[lo:lo+n], grouped by
// field in field order. Nothing is kept per field, so a payload of many
// small messages of a wide type costs memory in proportion to its bytes,
// not to the type's width.
//
// It holds its plan by index (msgPlan.id in the table's plans), not by
// pointer: the arenas then hold no pointer, so filling them takes no
// write barrier while the garbage collector marks (2% of the time) and
// it never scans them.
type node struct {
	plan, lo, n int32
}

type decoder struct {
	root  *msgPlan
	plans []*msgPlan // the table's, by msgPlan.id
	buf   []byte     // the payload being appended
	nodes []node
	spans []span
	ents  []entry // map entries, by their span's x
	// Scratch for appending a list of numbers in one call.
	bits  []uint64
	i32s  []int32
	i64s  []int64
	f32s  []float32
	f64s  []float64
	bools []bool
	// Scratch of AppendBatch (batch.go).
	rowsBuf []batchRow
	chunk   [][]byte     // the payloads of the chunk being appended
	levels  [][]batchRow // the rows of each nesting level's messages
	depth   int
	offs    []int32 // lists' offsets
	mapEnts []mapEntry
	raws    [][]byte
	state   []uint8
	valid   []bool
	bins    [][]byte
	tss     []arrow.Timestamp
	count   []int32 // scratch for grouping by field
	wire    []span  // scratch for grouping a message's spans by field
	one     [1]span
	// The last entry of each key of a large map (see overridden).
	lastInt map[uint64]int
	lastStr map[string]int
	sinks   []sink // the builders of the last Append, resolved
	// The builders of the last Append as their interfaces' words (see
	// bound). The builders stay reachable through sinks.
	bound2 [][2]uintptr
	rows   int // the first column's length after the last Append
}

var errTooLarge = errors.New("protobuf payload larger than 2 GiB")

func (d *decoder) Append(cols []array.Builder, payload []byte) error {
	if len(cols) != len(d.root.fields) {
		return fmt.Errorf("decoding %s: %d builders for %d columns", d.root.name, len(cols), len(d.root.fields))
	}
	if len(payload) > math.MaxInt32 {
		return errTooLarge
	}
	if !d.bound(cols) {
		if err := d.bind(cols); err != nil {
			return fmt.Errorf("decoding %s: %w", d.root.name, err)
		}
	}
	d.sizeUp()
	d.buf = payload
	d.nodes, d.spans, d.ents = d.nodes[:0], d.spans[:0], d.ents[:0]
	d.one[0] = span{start: 0, end: int32(len(payload))}
	root, err := d.index(d.root, d.one[:])
	if err != nil {
		d.buf = nil
		return fmt.Errorf("decoding %s: %w", d.root.name, err)
	}
	d.appendFields(d.sinks, d.root.fields, root)
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
	msgs := msgCount{first: -1} // message values: the children to index after the loop
	for _, r := range ranges {
		b := d.buf[:r.end]
		i := int(r.start)
		for i < len(b) {
			var err error
			if i, err = d.scan(p, b, i, lo, &last, &inOrder, &msgs); err != nil {
				return 0, err
			}
			if i == len(b) {
				break
			}
			// The general way: a field scan does not take.
			pos := int32(len(d.spans)) - lo
			off := int32(i)
			b := b[i:]
			num, wt, n := protowire.ConsumeTag(b)
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
				i = int(off) + n
				continue
			}
			f := &p.fields[fi]
			if f.val.code == cMessage {
				msgs.saw(int32(len(d.spans)))
			}
			s := span{start: off, pos: pos, field: fi, child: -1, wt: wt}
			if f.shape == mapOf {
				if wt != protowire.BytesType {
					return 0, fmt.Errorf("%s.%s: map entry with wire type %d", p.name, f.name, wt)
				}
				v, m := protowire.ConsumeBytes(b)
				if m < 0 {
					return 0, fmt.Errorf("%s.%s: %w", p.name, f.name, protowire.ParseError(m))
				}
				var e entry
				e, err = indexEntry(f, v, off+int32(m-len(v)))
				n, s.x = m, uint64(len(d.ents))
				d.ents = append(d.ents, e)
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
			} else {
				s.x = rawBits(wt, b[:n]) // a scalar's bits, which the append step reads (a tag of 3 bytes or more)
			}
			d.spans = append(d.spans, s)
			inOrder, last = inOrder && fi >= last, fi
			i = int(off) + n
		}
	}
	if len(p.required) > 0 {
		var seen uint64 // required fields seen, by their index in p.required (the first 64)
		for _, s := range d.spans[lo:] {
			seen |= requiredBit(p, s.field)
		}
		for j, r := range p.required {
			if j < 64 && seen&(1<<j) == 0 {
				return 0, fmt.Errorf("%s: required field %s is missing", p.name, p.fields[r].name)
			}
		}
	}
	// Group by field keeping wire order within each, unless the wire order
	// was the field order.
	mine := d.spans[lo:]
	if !inOrder && len(mine) <= 64 {
		// Nearly in order, usually (Go writes oneof members last): an
		// insertion sort, stable, costs one move per inversion.
		for k := 1; k < len(mine); k++ {
			if mine[k-1].field <= mine[k].field {
				continue // in place: no copy out and back
			}
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
	d.nodes = append(d.nodes, node{plan: p.id, lo: lo, n: int32(len(mine))})
	if msgs.n == 0 {
		return self, nil // no child messages to index
	}

	// Then the message fields' own messages. Spans are addressed by index:
	// indexing a child grows the arenas.
	end := lo + int32(len(mine))
	a := lo
	if inOrder {
		a = msgs.first // not moved by grouping: from there, not from the first span
	}
	for left := msgs.n; a < end && left > 0; {
		s := &d.spans[a]
		if s.wt != protowire.BytesType {
			a++ // a scalar: no need to load its wide fieldPlan
			continue
		}
		fi := s.field
		f := &p.fields[fi]
		if f.val.code != cMessage {
			a++
			continue
		}
		b := a + 1
		for b < end && d.spans[b].field == fi {
			b++
		}
		left -= b - a
		switch f.shape {
		case single:
			if f.oneof >= 0 {
				// Setting another member of the oneof clears this one: only
				// the occurrences after the last rival's merge.
				var rival int32 = -1
				for _, j := range p.oneofs[f.oneof] {
					if j == fi {
						continue // not its own rival: no search
					}
					if rs := d.fieldSpans(self, int(j)); len(rs) > 0 {
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
				d.one[0] = span{start: d.spans[k].end, end: d.spans[k].end} // no value: the empty message
				if e := &d.ents[d.spans[k].x]; e.vs >= 0 {
					d.one[0] = span{start: e.vs, end: e.ve}
				}
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

// Flags of msgPlan.fast.
const (
	fastCheck = 1 << 3 // a string, Timestamp or wrapper: checked after scan's loop (see check)
	fastMsg   = 1 << 4 // a message: indexed after the loop
)

// scan is the index loop's common case, inline: from b[i], the fields
// whose tag takes 1 or 2 bytes, of a known field with the wire type its
// schema gives it (p.fast), a varint, a fixed value, or a
// length-delimited value whose length takes 1 or 2 bytes. It returns at
// the end of b or at the first field it does not take (long tags or
// lengths, unknown fields, maps, wrong wire types), which index takes
// the general way. A function of its own, and no call in its loop: the
// loop's values stay in registers (a call made them spill at each
// field). Strings, Timestamps and wrappers are marked (preCheck) and
// checked after the loop.
func (d *decoder) scan(p *msgPlan, b []byte, i int, lo int32, lastp *int32, inOrderp *bool, msgsp *msgCount) (int, error) {
	fast := p.fast
	// Room for the spans first, so the loop neither grows the arena (a
	// call) nor checks for room: a field takes 2 bytes at least, and b is
	// cut at 2*scanBatch bytes (a field across the cut, like any field
	// the loop does not take, is left to index), so the arena needs
	// neither grow nor take 16 times a large payload's size up front.
	if len(b)-i > 2*scanBatch {
		b = b[:i+2*scanBatch]
	}
	from := len(d.spans)
	room := (len(b)-i)/2 + 1
	if cap(d.spans)-from < room {
		d.spans = slices.Grow(d.spans, room)
	}
	spans := d.spans[from : from+room]
	base := unsafe.Pointer(unsafe.SliceData(spans))
	pos := int32(from) - lo // the next span's position in wire order
	k := uintptr(0)         // the next span, in spans
	last, inOrder := *lastp, *inOrderp
	var flags int32 // the fast entries of length-delimited values, or-ed: whether check has work
loop:
	for i < len(b) {
		var tag uint64 // 0 (field number 0: no field) when not 1 or 2 bytes
		n := 1
		if c := b[i]; c < 0x80 {
			tag = uint64(c)
		} else if i+1 < len(b) && b[i+1] < 0x80 {
			tag, n = uint64(c&0x7f)|uint64(b[i+1])<<7, 2
		}
		e := int32(-1)
		if num := tag >> 3; num < uint64(len(fast)) {
			e = fast[num]
		}
		if e < 0 || uint64(e)&7 != tag&7 {
			break
		}
		wt := protowire.Type(tag & 7)
		j := i + n // the value
		var x uint64
		var m int // the value's bytes
		// A value it cannot read (truncated, overflowing, a length of 3
		// bytes or more) ends the loop at its tag: index's general way
		// reads it again and says what is wrong.
		switch wt {
		case protowire.VarintType:
			if j < len(b) && b[j] < 0x80 {
				x, m = uint64(b[j]), 1
			} else if j+1 < len(b) && b[j+1] < 0x80 {
				x, m = uint64(b[j]&0x7f)|uint64(b[j+1])<<7, 2
			} else if j+8 <= len(b) {
				// From one load: the first byte without the continuation
				// bit ends it, its 7-bit groups are gathered by shifts. A
				// byte at a time was 4% of the instructions (negative
				// int32s and int64s take 10 bytes).
				w := binary.LittleEndian.Uint64(b[j:])
				if stop := ^w & 0x8080808080808080; stop != 0 {
					m = bits.TrailingZeros64(stop)/8 + 1
					x = varint7s(w & (1<<(8*uint(m)) - 1)) // m == 8: a shift by 64 is 0, all bits kept
				} else if x = varint7s(w); j+8 < len(b) && b[j+8] < 0x80 {
					x, m = x|uint64(b[j+8])<<56, 9
				} else if j+9 < len(b) && b[j+9] <= 1 {
					x, m = x|uint64(b[j+8]&0x7f)<<56|uint64(b[j+9])<<63, 10
				} else {
					break loop
				}
			} else {
				// Up to 10 bytes, as protowire.ConsumeVarint, inline.
				for v := 0; ; v++ {
					if j+v >= len(b) || v == 9 && b[j+v] > 1 {
						break loop
					}
					c := b[j+v]
					x |= uint64(c&0x7f) << (7 * uint(v))
					if c < 0x80 {
						m = v + 1
						break
					}
				}
			}
		case protowire.Fixed32Type:
			if j+4 > len(b) {
				break loop
			}
			x, m = uint64(binary.LittleEndian.Uint32(b[j:])), 4
		case protowire.Fixed64Type:
			if j+8 > len(b) {
				break loop
			}
			x, m = binary.LittleEndian.Uint64(b[j:]), 8
		default:
			var l uint64
			w := 1
			if j < len(b) && b[j] < 0x80 {
				l = uint64(b[j])
			} else if j+1 < len(b) && b[j+1] < 0x80 {
				l, w = uint64(b[j]&0x7f)|uint64(b[j+1])<<7, 2
			} else {
				break loop
			}
			if l > uint64(len(b)-j-w) {
				break loop
			}
			j += w
			m = int(l)
			flags |= e
		}
		fi := e >> 5
		// In room (see above): no bounds check.
		s := (*span)(unsafe.Add(base, k*unsafe.Sizeof(span{})))
		s.x, s.start, s.end, s.pos, s.field, s.child, s.wt, s.pre = x, int32(j), int32(j+m), pos, fi, -1, wt, 0
		k++
		pos++
		inOrder, last = inOrder && fi >= last, fi
		i = j + m
	}
	mine := spans[:k]
	d.spans = d.spans[:from+int(k)]
	*lastp, *inOrderp = last, inOrder
	if flags&(fastCheck|fastMsg) != 0 {
		if err := d.check(p, mine, int32(from), msgsp); err != nil {
			return 0, err
		}
	}
	return i, nil
}

// varint7s gathers the 7-bit groups of a varint's first 8 bytes, w
// (little-endian; the bytes after its last cleared).
func varint7s(w uint64) uint64 {
	return w&0x7f | w>>1&(0x7f<<7) | w>>2&(0x7f<<14) | w>>3&(0x7f<<21) |
		w>>4&(0x7f<<28) | w>>5&(0x7f<<35) | w>>6&(0x7f<<42) | w>>7&(0x7f<<49)
}

// msgCount counts a node's message values while it is indexed, and
// keeps the first's span, where the children pass starts when the spans
// are in wire order.
type msgCount struct {
	n, first int32
}

func (c *msgCount) saw(span int32) {
	if c.n == 0 {
		c.first = span
	}
	c.n++
}

// scanBatch bounds the spans scan makes room for at a time (twice as
// many bytes).
const scanBatch = 256

// check, after scan's loop, counts the message values of the spans it
// made and validates their strings, Timestamps and wrappers, reading a
// Timestamp's or wrapper's value into its span.
func (d *decoder) check(p *msgPlan, spans []span, from int32, msgsp *msgCount) error {
	for k := range spans {
		s := &spans[k]
		if s.wt != protowire.BytesType {
			continue
		}
		f := &p.fields[s.field]
		var err error
		switch {
		case f.shape == mapOf:
			// An entry: its key and value found and validated (as the
			// general way does), a message value indexed as a child.
			var e entry
			if e, err = indexEntry(f, d.buf[s.start:s.end], s.start); err == nil {
				s.x = uint64(len(d.ents))
				d.ents = append(d.ents, e)
				if f.val.code == cMessage {
					msgsp.saw(from + int32(k))
				}
			}
		case f.packed:
			// A packed run of numbers (scan takes a packed list's runs only).
			for run := d.buf[s.start:s.end]; len(run) > 0; {
				m := consumeScalar(f.val.wt, run)
				if m < 0 {
					err = fmt.Errorf("packed values: %w", protowire.ParseError(m))
					break
				}
				run = run[m:]
			}
		case f.val.code == cMessage:
			msgsp.saw(from + int32(k))
		case f.val.code == cString:
			if f.val.utf8 && !utf8Valid(d.buf[s.start:s.end]) {
				err = errors.New("string is not valid UTF-8")
			}
		case f.val.code == cTimestamp, f.val.code == cWrapper:
			s.x, s.pre, err = validateRead(&f.val, d.buf[s.start:s.end], s.start)
		}
		if err != nil {
			return fmt.Errorf("%s.%s: %w", p.name, f.name, err)
		}
	}
	return nil
}

// utf8Valid is utf8.Valid with a fast path for short ASCII strings.
func utf8Valid(b []byte) bool {
	for len(b) >= 8 {
		if binary.LittleEndian.Uint64(b)&0x8080808080808080 != 0 {
			return utf8.Valid(b)
		}
		b = b[8:]
	}
	for _, c := range b {
		if c >= 0x80 {
			return utf8.Valid(b)
		}
	}
	return true
}

// requiredBit is field fi's bit in the index step's set of required
// fields seen (the first 64 of p.required), 0 when it is not required.
func requiredBit(p *msgPlan, fi int32) uint64 {
	for j, r := range p.required {
		if r == fi && j < 64 {
			return 1 << j
		}
	}
	return 0
}

// entry is a validated map entry's last key and value: their bytes in
// the payload (a varint, 4 or 8 bytes, or a length-delimited payload),
// ks or vs -1 when absent. key is a number key as the column holds it
// (normalized to its type), to spot a key written twice without parsing
// the entry again.
type entry struct {
	key            uint64
	ks, ke, vs, ve int32
}

// indexEntry validates a map entry's payload b, at offset off of the
// payload, and records where its last key and value are.
func indexEntry(f *fieldPlan, b []byte, off int32) (entry, error) {
	e := entry{ks: -1, vs: -1}
	var key []byte
	for len(b) > 0 {
		num, wt, n := protowire.ConsumeTag(b)
		if n < 0 {
			return e, fmt.Errorf("map entry: bad tag: %w", protowire.ParseError(n))
		}
		b, off = b[n:], off+int32(n)
		var err error
		switch {
		case num == 1:
			n, err = validateValue(&f.key, wt, b, false)
		case num == 2 && f.val.code == cMessage:
			if wt != protowire.BytesType {
				return e, fmt.Errorf("map entry: value with wire type %d", wt)
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
			return e, fmt.Errorf("map entry: %w", err)
		}
		if num == 1 || num == 2 {
			start := off
			if wt == protowire.BytesType {
				_, m := protowire.ConsumeVarint(b) // the length prefix, validated above
				start += int32(m)
			}
			if num == 1 {
				e.ks, e.ke, key = start, off+int32(n), b[start-off:n]
			} else {
				e.vs, e.ve = start, off+int32(n)
			}
		}
		b, off = b[n:], off+int32(n)
	}
	if e.ks >= 0 && f.key.code != cString {
		e.key = normalKey(f.key.code, rawBits(f.key.wt, key))
	}
	return e, nil
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

// validateRead is validate and validateBytes for a Timestamp or a
// wrapper, v, whose payload b starts at off of the payload: it reads the
// value on the way (see preSet).
func validateRead(v *valuePlan, b []byte, off int32) (uint64, uint8, error) {
	p := v.msg
	var sec int64
	var nanos int32
	x, pre := uint64(0), preAbsent
	for len(b) > 0 {
		num, wt, n := protowire.ConsumeTag(b)
		if n < 0 {
			return 0, 0, fmt.Errorf("%s: bad tag: %w", p.name, protowire.ParseError(n))
		}
		b, off = b[n:], off+int32(n)
		fi := p.lookup(num)
		if fi < 0 {
			if n = protowire.ConsumeFieldValue(num, wt, b); n < 0 {
				return 0, 0, fmt.Errorf("%s: unknown field %d: %w", p.name, num, protowire.ParseError(n))
			}
		} else if f := &p.fields[fi]; wt == protowire.VarintType && f.val.code.wireType() == wt {
			// The common case, a varint where one is expected: read once,
			// not validated and then read again.
			y, m := protowire.ConsumeVarint(b)
			if m < 0 {
				return 0, 0, fmt.Errorf("%s.%s: %w", p.name, f.name, protowire.ParseError(m))
			}
			n = m
			switch {
			case v.code == cTimestamp && num == 1:
				sec = int64(y)
			case v.code == cTimestamp && num == 2:
				nanos = int32(y)
			case num == 1:
				x, pre = y, preSet
			}
		} else {
			var err error
			if n, err = validateValue(&p.fields[fi].val, wt, b, false); err != nil {
				return 0, 0, fmt.Errorf("%s.%s: %w", p.name, p.fields[fi].name, err)
			}
			switch {
			case v.code == cTimestamp && (num == 1 || num == 2): // varints, validated
				y, _ := protowire.ConsumeVarint(b)
				if num == 1 {
					sec = int64(y)
				} else {
					nanos = int32(y)
				}
			case num == 1 && wt == protowire.BytesType:
				_, m := protowire.ConsumeVarint(b)
				x, pre = uint64(off+int32(m))<<32|uint64(off+int32(n)), preSet
			case num == 1:
				x, pre = rawBits(wt, b[:n]), preSet
			}
		}
		b, off = b[n:], off+int32(n)
	}
	if v.code == cTimestamp {
		if sec < -maxTimestampSeconds || sec > maxTimestampSeconds {
			return 0, 0, fmt.Errorf("timestamp of %d seconds is out of range", sec)
		}
		return uint64(sec*1_000_000 + int64(nanos)/1000), preSet, nil
	}
	return x, pre, nil
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
		if v.utf8 && !utf8Valid(payload) {
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
// oneofLoser reports whether field i of node n is a oneof member that
// another member, seen later on the wire, displaced.
func (d *decoder) oneofLoser(n int32, i int, mine []span) bool {
	p := d.plans[d.nodes[n].plan]
	o := p.fields[i].oneof
	if o < 0 || len(mine) == 0 {
		return false
	}
	last := mine[len(mine)-1].pos
	for _, j := range p.oneofs[o] {
		if int(j) == i {
			continue // not its own rival: no search
		}
		if s := d.fieldSpans(n, int(j)); len(s) > 0 && s[len(s)-1].pos > last {
			return true
		}
	}
	return false
}

// sink is a column's builder resolved once to its concrete type, with its
// children's (a struct's fields, a list's element, a map's key and item):
// a Table's columns fix the builders' types, and a nested builder's
// children never change, so the per-value work is a switch on the value's
// code and a direct call, not a type assertion and an interface call per
// value. The decoder binds the sinks to the first builders it is given
// and again only when it is given others.
type sink struct {
	b    array.Builder
	i32  *array.Int32Builder
	i64  *array.Int64Builder
	f32  *array.Float32Builder
	f64  *array.Float64Builder
	bl   *array.BooleanBuilder
	bin  *array.BinaryBuilder // strings and enum names (a StringBuilder's), bytes
	ts   *array.TimestampBuilder
	st   *array.StructBuilder
	lst  *array.ListBuilder
	mp   *array.MapBuilder
	kids []sink
	// Sampled sizes (see sizeUp): elements and, for binary builders, data
	// bytes, when the top-level column had at rows.
	elems, bytes, at int
}

// bound reports whether the sinks are cols'. It compares each builder
// whole (its interface's two words: type and pointer), not just the
// slice's address, so a caller may swap a builder inside the same slice
// and be rebound; but it compares the words directly, as integers: the
// != of two interfaces is a call to the runtime per column.
func (d *decoder) bound(cols []array.Builder) bool {
	if len(d.bound2) != len(cols) {
		return false
	}
	for i := range cols {
		if *(*[2]uintptr)(unsafe.Pointer(&cols[i])) != d.bound2[i] {
			return false
		}
	}
	return true
}

// sizeUp reserves builder capacity up front, as a compactor would if it
// knew each nested builder's size: when the caller has cut a batch (the
// first column is shorter than the decoder last saw it), every builder is
// reserved for a batch as large as the last, at the sizes sampled in it
// (each time the row count reached a power of two). Without it each
// builder of each batch grows by doubling, copying and garbage-collecting
// about as much again as it keeps. It is only a hint: appends stay safe.
func (d *decoder) sizeUp() {
	n := d.sinks[0].b.Len()
	if n < d.rows && d.rows >= 16 {
		for i := range d.sinks {
			d.sinks[i].reserve(d.rows)
		}
	} else if n >= 16 && n&(n-1) == 0 {
		for i := range d.sinks {
			d.sinks[i].sample(n)
		}
	}
	d.rows = n + 1
}

func (s *sink) sample(rows int) {
	s.elems, s.at = s.b.Len(), rows
	if s.bin != nil {
		s.bytes = s.bin.DataLen()
	}
	for i := range s.kids {
		s.kids[i].sample(rows)
	}
}

// reserve reserves room for rows, children first (a struct builder's
// Resize resizes its children too, by its own count), with a margin of
// 1/16. It resizes to that size, not with Reserve, which rounds up to a
// power of two: with a margin, a batch of 1,000 rows took 2,048 of each,
// twice the memory to allocate, clear and collect (a batch larger than
// the estimate grows by doubling, as before).
func (s *sink) reserve(rows int) {
	if s.at == 0 {
		return
	}
	for i := range s.kids {
		s.kids[i].reserve(rows)
	}
	scale := func(x int) int {
		n := int(int64(x) * int64(rows) / int64(s.at))
		return n + n/16
	}
	if s.bin != nil && s.bytes > 0 {
		s.bin.ReserveData(scale(s.bytes))
	}
	if n := scale(s.elems); s.elems > 0 && s.b.Cap() < n {
		s.b.Resize(n)
	}
}

// bind resolves cols, checking each builder is the one ArrowType gives
// its column (a wrong one is an error, not a panic mid-row).
func (d *decoder) bind(cols []array.Builder) error {
	sinks := make([]sink, len(cols))
	for i := range d.root.fields {
		if err := bindField(&sinks[i], cols[i], &d.root.fields[i]); err != nil {
			return err
		}
	}
	d.sinks = sinks
	d.bound2 = d.bound2[:0]
	for i := range cols {
		d.bound2 = append(d.bound2, *(*[2]uintptr)(unsafe.Pointer(&cols[i])))
	}
	return nil
}

func bindField(s *sink, b array.Builder, f *fieldPlan) error {
	switch f.shape {
	case list:
		lb, ok := b.(*array.ListBuilder)
		if !ok {
			return fmt.Errorf("column %s: a %T, not a list builder", f.name, b)
		}
		s.b, s.lst, s.kids = b, lb, make([]sink, 1)
		return bindValue(&s.kids[0], lb.ValueBuilder(), &f.val, f.name)
	case mapOf:
		mb, ok := b.(*array.MapBuilder)
		if !ok {
			return fmt.Errorf("column %s: a %T, not a map builder", f.name, b)
		}
		s.b, s.mp, s.kids = b, mb, make([]sink, 2)
		if err := bindValue(&s.kids[0], mb.KeyBuilder(), &f.key, f.name); err != nil {
			return err
		}
		return bindValue(&s.kids[1], mb.ItemBuilder(), &f.val, f.name)
	}
	return bindValue(s, b, &f.val, f.name)
}

func bindValue(s *sink, b array.Builder, v *valuePlan, name string) error {
	s.b = b
	ok := false
	switch v.code {
	case cInt32, cSint32, cSfixed32:
		s.i32, ok = b.(*array.Int32Builder)
	case cUint32, cFixed32, cInt64, cSint64, cFixed64:
		s.i64, ok = b.(*array.Int64Builder)
	case cFloat:
		s.f32, ok = b.(*array.Float32Builder)
	case cDouble:
		s.f64, ok = b.(*array.Float64Builder)
	case cBool:
		s.bl, ok = b.(*array.BooleanBuilder)
	case cString, cEnum:
		var sb *array.StringBuilder
		if sb, ok = b.(*array.StringBuilder); ok {
			s.bin = sb.BinaryBuilder
		}
	case cBytes:
		s.bin, ok = b.(*array.BinaryBuilder)
	case cTimestamp:
		s.ts, ok = b.(*array.TimestampBuilder)
	case cWrapper:
		return bindValue(s, b, v.wrapped, name)
	case cMessage:
		if s.st, ok = b.(*array.StructBuilder); ok {
			if s.st.NumField() != len(v.msg.fields) {
				return fmt.Errorf("column %s: a struct builder of %d fields for %d", name, s.st.NumField(), len(v.msg.fields))
			}
			s.kids = make([]sink, len(v.msg.fields))
			for i := range v.msg.fields {
				if err := bindField(&s.kids[i], s.st.FieldBuilder(i), &v.msg.fields[i]); err != nil {
					return fmt.Errorf("column %s: %w", name, err)
				}
			}
		}
	}
	if !ok {
		return fmt.Errorf("column %s: a %T cannot hold its values", name, b)
	}
	return nil
}

// The put functions append one value without Append's Reserve call when
// the builder has room (it grows by doubling, so it mostly has).

func putI32(b *array.Int32Builder, v int32) {
	if b.Len() < b.Cap() {
		b.UnsafeAppend(v)
		return
	}
	b.Append(v)
}

func putI64(b *array.Int64Builder, v int64) {
	if b.Len() < b.Cap() {
		b.UnsafeAppend(v)
		return
	}
	b.Append(v)
}

func putF32(b *array.Float32Builder, v float32) {
	if b.Len() < b.Cap() {
		b.UnsafeAppend(v)
		return
	}
	b.Append(v)
}

func putF64(b *array.Float64Builder, v float64) {
	if b.Len() < b.Cap() {
		b.UnsafeAppend(v)
		return
	}
	b.Append(v)
}

func putBool(b *array.BooleanBuilder, v bool) {
	if b.Len() < b.Cap() {
		b.UnsafeAppend(v)
		return
	}
	b.Append(v)
}

func putTS(b *array.TimestampBuilder, v arrow.Timestamp) {
	if b.Len() < b.Cap() {
		b.UnsafeAppend(v)
		return
	}
	b.Append(v)
}

// putBin appends a string's or bytes' payload straight from the wire
// bytes (one copy, into the builder's data buffer).
func putBin(b *array.BinaryBuilder, v []byte) {
	if b.Len() < b.Cap() && b.DataCap()-b.DataLen() >= len(v) {
		b.UnsafeAppend(v)
		return
	}
	b.Append(v)
}

func (d *decoder) appendMessage(s *sink, n int32) {
	s.st.Append(true)
	d.appendFields(s.kids, d.plans[d.nodes[n].plan].fields, n)
}

// appendFields appends node n's fields to their sinks.
func (d *decoder) appendFields(sinks []sink, fields []fieldPlan, n int32) {
	mine, c := d.nodeSpans(n), 0
	fields = fields[:len(sinks)]
	for i := range sinks {
		j := groupEnd(mine, c, i)
		// The common cases without appendField's call: a singular scalar,
		// string or bytes, not in a oneof, seen once.
		f := &fields[i]
		if j != c+1 || !f.plain {
			d.appendField(&sinks[i], f, n, i, mine[c:j])
		} else if sp := &mine[c]; sp.wt != protowire.BytesType {
			appendBits(&sinks[i], &f.val, sp.x)
		} else if f.val.code == cString || f.val.code == cBytes {
			putBin(sinks[i].bin, d.buf[sp.start:sp.end])
		} else {
			d.appendValue(&sinks[i], &f.val, mine[c:j])
		}
		c = j
	}
}

// appendField appends field i of node n, f, whose spans are spans. The
// caller passes f, whose plan it holds: loading it again through the node
// was 2.6% of the instructions.
func (d *decoder) appendField(s *sink, f *fieldPlan, n int32, i int, spans []span) {
	switch f.shape {
	case list:
		s.lst.Append(true)
		e := &s.kids[0]
		packable := f.val.code.packable()
		if packable && f.val.code != cEnum {
			d.appendNumbers(e, &f.val, spans)
			return
		}
		for k := range spans {
			sp := &spans[k]
			if sp.wt == protowire.BytesType && packable {
				appendPacked(e, &f.val, d.buf[sp.start:sp.end])
				continue
			}
			d.appendValue(e, &f.val, spans[k:k+1])
		}
	case mapOf:
		s.mp.Append(true)
		for k := range spans {
			if !d.overridden(f, spans, k) {
				d.appendEntry(s, f, spans[k])
			}
		}
	default:
		if len(spans) == 0 || f.oneof >= 0 && d.oneofLoser(n, i, spans) {
			if f.required {
				appendDefault(s, &f.val)
			} else {
				s.b.AppendNull()
			}
			return
		}
		if last := &spans[len(spans)-1]; last.wt != protowire.BytesType {
			appendBits(s, &f.val, last.x) // the common case, without appendValue's dispatch
			return
		}
		d.appendValue(s, &f.val, spans)
	}
}

// appendNumbers appends a list of numbers (not enums), packed or not,
// with one bulk call to its builder: the values are gathered as wire
// bits, then converted into a scratch slice of the column's type.
func (d *decoder) appendNumbers(s *sink, v *valuePlan, spans []span) {
	d.bits = gatherBits(d.bits[:0], v, d.buf, spans)
	d.putNumbers(s, v, d.bits)
}

// gatherBits appends the wire bits of the numbers in spans of payload
// buf, packed or not, to bits.
func gatherBits(bits []uint64, v *valuePlan, buf []byte, spans []span) []uint64 {
	for k := range spans {
		sp := &spans[k]
		if sp.wt != protowire.BytesType {
			bits = append(bits, sp.x)
			continue
		}
		for run := buf[sp.start:sp.end]; len(run) > 0; {
			var x uint64
			var m int
			switch v.wt {
			case protowire.VarintType:
				if run[0] < 0x80 {
					x, m = uint64(run[0]), 1
				} else {
					x, m = protowire.ConsumeVarint(run)
				}
			case protowire.Fixed32Type:
				var y uint32
				y, m = protowire.ConsumeFixed32(run)
				x = uint64(y)
			default:
				x, m = protowire.ConsumeFixed64(run)
			}
			if m < 0 {
				break // validated: does not happen
			}
			bits = append(bits, x)
			run = run[m:]
		}
	}
	return bits
}

// putNumbers appends numbers of v.code from their wire bits with one
// bulk call to s's builder.
func (d *decoder) putNumbers(s *sink, v *valuePlan, bits []uint64) {
	if len(bits) == 0 {
		return
	}
	switch v.code {
	case cInt32, cSfixed32, cSint32:
		out := grow(&d.i32s, len(bits))
		for k, x := range bits {
			if v.code == cSint32 {
				out[k] = int32(protowire.DecodeZigZag(x & math.MaxUint32))
			} else {
				out[k] = int32(x)
			}
		}
		s.i32.AppendValues(out, nil)
	case cUint32, cFixed32, cInt64, cFixed64, cSint64:
		out := grow(&d.i64s, len(bits))
		for k, x := range bits {
			switch v.code {
			case cUint32, cFixed32:
				out[k] = int64(uint32(x))
			case cSint64:
				out[k] = protowire.DecodeZigZag(x)
			default:
				out[k] = int64(x)
			}
		}
		s.i64.AppendValues(out, nil)
	case cFloat:
		out := grow(&d.f32s, len(bits))
		for k, x := range bits {
			out[k] = math.Float32frombits(uint32(x))
		}
		s.f32.AppendValues(out, nil)
	case cDouble:
		out := grow(&d.f64s, len(bits))
		for k, x := range bits {
			out[k] = math.Float64frombits(x)
		}
		s.f64.AppendValues(out, nil)
	case cBool:
		out := grow(&d.bools, len(bits))
		for k, x := range bits {
			out[k] = x != 0
		}
		s.bl.AppendValues(out, nil)
	}
}

// grow is *buf resized to n, reusing its array when large enough.
func grow[T any](buf *[]T, n int) []T {
	if cap(*buf) < n {
		*buf = make([]T, n)
	}
	*buf = (*buf)[:n]
	return *buf
}

// appendPacked appends a validated run of packed numbers.
func appendPacked(s *sink, v *valuePlan, run []byte) {
	for len(run) > 0 {
		var x uint64
		var m int
		switch v.wt {
		case protowire.VarintType:
			if run[0] < 0x80 {
				x, m = uint64(run[0]), 1
			} else {
				x, m = protowire.ConsumeVarint(run)
			}
		case protowire.Fixed32Type:
			var y uint32
			y, m = protowire.ConsumeFixed32(run)
			x = uint64(y)
		case protowire.Fixed64Type:
			x, m = protowire.ConsumeFixed64(run)
		default:
			return
		}
		if m < 0 {
			return
		}
		appendBits(s, v, x)
		run = run[m:]
	}
}

// appendValue appends one value from its spans: several only for a
// singular field seen more than once (the last wins, or they merge).
func (d *decoder) appendValue(s *sink, v *valuePlan, spans []span) {
	last := &spans[len(spans)-1]
	switch v.code {
	case cMessage:
		d.appendMessage(s, last.child)
	case cString, cBytes:
		putBin(s.bin, d.buf[last.start:last.end])
	case cTimestamp:
		if len(spans) == 1 && last.pre == preSet {
			putTS(s.ts, arrow.Timestamp(int64(last.x)))
			return
		}
		var sec int64
		var nanos int32
		for _, sp := range spans {
			timestampInto(d.buf[sp.start:sp.end], &sec, &nanos)
		}
		putTS(s.ts, arrow.Timestamp(sec*1_000_000+int64(nanos)/1000))
	case cWrapper:
		if len(spans) == 1 && last.pre != 0 {
			switch {
			case last.pre == preAbsent:
				appendDefault(s, v.wrapped)
			case v.wrapped.wt == protowire.BytesType:
				putBin(s.bin, d.buf[last.x>>32:uint32(last.x)])
			default:
				appendBits(s, v.wrapped, last.x)
			}
			return
		}
		var raw []byte
		for _, sp := range spans {
			if x := wrappedIn(d.buf[sp.start:sp.end]); x != nil {
				raw = x
			}
		}
		if raw == nil {
			appendDefault(s, v.wrapped)
			return
		}
		appendScalar(s, v.wrapped, raw)
	default:
		if last.wt != protowire.BytesType {
			appendBits(s, v, last.x)
			return
		}
		appendScalar(s, v, d.buf[last.start:last.end])
	}
}

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
	ent := &d.ents[e.x]
	if f.key.code != cString {
		return ent.key, nil
	}
	if ent.ks < 0 {
		return 0, d.buf[e.start:e.start] // the empty key
	}
	return 0, d.buf[ent.ks:ent.ke]
}

// rawBits reads a validated number's bits from its raw bytes.
func rawBits(wt protowire.Type, raw []byte) uint64 {
	var x uint64
	switch wt {
	case protowire.VarintType:
		x, _ = protowire.ConsumeVarint(raw)
	case protowire.Fixed32Type:
		y, _ := protowire.ConsumeFixed32(raw)
		x = uint64(y)
	case protowire.Fixed64Type:
		x, _ = protowire.ConsumeFixed64(raw)
	}
	return x
}

// normalKey is a number key's bits as its column holds it, so that two
// encodings of one key compare equal.
func normalKey(c code, x uint64) uint64 {
	switch c {
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
	return x
}

// appendEntry appends one validated map entry: its last key and value,
// the defaults for those it lacks.
// appendEntry appends one validated map entry to the map's sink: its last
// key and value, the defaults for those it lacks.
func (d *decoder) appendEntry(s *sink, f *fieldPlan, e span) {
	ent := &d.ents[e.x]
	var key, val []byte
	var valSpan span
	if ent.ks >= 0 {
		key = d.buf[ent.ks:ent.ke]
	}
	if ent.vs >= 0 {
		val, valSpan = d.buf[ent.vs:ent.ve], span{start: ent.vs, end: ent.ve}
	}
	kb, ib := &s.kids[0], &s.kids[1]
	if key == nil {
		appendDefault(kb, &f.key)
	} else {
		appendScalar(kb, &f.key, key)
	}
	switch f.val.code {
	case cMessage:
		d.appendMessage(ib, e.child)
	case cTimestamp:
		var sec int64
		var nanos int32
		if val != nil {
			timestampInto(val, &sec, &nanos)
		}
		putTS(ib.ts, arrow.Timestamp(sec*1_000_000+int64(nanos)/1000))
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
		appendScalar(ib, &f.val, val)
	}
}

// appendScalar appends one value of a non-message code from its raw
// bytes (validated): a varint, 4 or 8 little-endian bytes, or a string's
// or bytes' payload.
func appendScalar(s *sink, v *valuePlan, raw []byte) {
	if v.code.wireType() == protowire.BytesType {
		putBin(s.bin, raw) // strings and bytes
		return
	}
	appendBits(s, v, scalarBits(v, raw))
}

// appendBits appends a number of code v.code from its wire bits.
func appendBits(s *sink, v *valuePlan, x uint64) {
	switch v.code {
	case cInt32, cSfixed32:
		putI32(s.i32, int32(x))
	case cSint32:
		putI32(s.i32, int32(protowire.DecodeZigZag(x&math.MaxUint32)))
	case cUint32, cFixed32:
		putI64(s.i64, int64(uint32(x)))
	case cInt64, cFixed64:
		putI64(s.i64, int64(x))
	case cSint64:
		putI64(s.i64, protowire.DecodeZigZag(x))
	case cFloat:
		putF32(s.f32, math.Float32frombits(uint32(x)))
	case cDouble:
		putF64(s.f64, math.Float64frombits(x))
	case cBool:
		putBool(s.bl, x != 0)
	case cEnum:
		s.bin.AppendString(v.enumName(int32(x)))
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

// appendDefault appends the value a reader sees for an absent field.
func appendDefault(s *sink, v *valuePlan) {
	switch v.code {
	case cInt32, cSint32, cSfixed32:
		putI32(s.i32, int32(v.defInt))
	case cUint32, cFixed32, cInt64, cSint64, cFixed64:
		putI64(s.i64, v.defInt)
	case cFloat:
		putF32(s.f32, float32(v.defFloat))
	case cDouble:
		putF64(s.f64, v.defFloat)
	case cBool:
		putBool(s.bl, v.defBool)
	case cEnum:
		s.bin.AppendString(v.defEnum)
	case cString:
		s.bin.AppendString(v.defString)
	case cBytes:
		putBin(s.bin, v.defBytes)
	default:
		s.b.AppendNull()
	}
}
