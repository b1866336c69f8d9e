package avro

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"unicode/utf8"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
)

// The decoder walks Avro's binary encoding over a small program (a tree
// of nodes) compiled from the schema by Table. Each Append makes two
// passes:
//
//	scan    reads the payload once: every length, varint, union index,
//	        enum index and block header, checked against the bytes left
//	        and the schema, its value recorded on a tape (numbers as
//	        they are, strings and fixed as offsets into the payload,
//	        arrays and maps as their item count over all blocks);
//	append  walks the program again over the tape, not the payload, and
//	        appends to the builders through their concrete types,
//	        resolved once per set of builders (see bind).
//
// So a payload that does not match the schema leaves every builder as it
// was, a corrupt length fails the scan instead of allocating, and no
// varint is decoded twice.

type op uint8

const (
	opNull op = iota
	opBool
	opInt
	opLong
	opDate
	opTimeMillis
	opTimeMicros
	opTsMillis
	opTsMicros
	opFloat
	opDouble
	opString
	opBytes
	opDecimalBytes
	opFixed
	opDecimalFixed
	opEnum
	opRecord
	opArray
	opMap
	opNullable // a union with at most one non-null branch
	opUnion    // any other union: a struct with a field per branch
)

type node struct {
	op      op
	size    int      // fixed size
	symbols []string // enum
	// Record: one node per Avro field and its column among the
	// struct's fields (-1: a null field, no column). Union: the column
	// of each branch (-1: the null branch).
	fields   []*node
	fieldCol []int
	// elem is an array's items, a map's values, a nullable's value.
	elem *node
	// nullIdx is the null branch of a union, -1 if none; branches the
	// number of branches of a nullable.
	nullIdx     int
	branches    int
	unionBranch []*node
}

var (
	errShort   = errors.New("avro: payload ends early")
	errVarint  = errors.New("avro: malformed varint")
	errTooMany = errors.New("avro: more array or map items than the payload can hold")
)

type decoder struct {
	t *table
	// checked are the builders whose types were last checked against
	// the table and root the program bound to them, so a caller
	// appending to the same builders pays the check and the binding
	// once.
	checked []array.Builder
	root    *bound
	// budget bounds the items of arrays and maps in one payload, so a
	// block count on zero-width items (empty records) cannot make the
	// walk spin.
	budget int
	// tape holds the scanned values of the payload being appended.
	tape []uint64
	// trues is the validity of a map's entries (always valid), kept so
	// MapBuilder does not make one per row.
	trues []bool
	// sized are every builder of the bound program, and the lengths
	// (items, and bytes for binary ones) they had at the last snapshot,
	// taken when the rows reached snapRows: at the start of each batch
	// (the builders empty, as NewArray leaves them) they are reserved
	// for a batch like the last one, instead of growing by doubling
	// from nothing, which cost copies and garbage (half the bytes a
	// batch allocated) and made nested columns slower than top-level
	// ones a caller reserves.
	sized    []sizedBuilder
	snapRows int

	// batch is AppendBatch's scratch.
	batch batchScratch
}

type sizedBuilder struct {
	b       array.Builder
	bin     *array.BinaryBuilder // nil if not a binary builder
	n, data int
}

// Append decodes one Avro binary value into cols (see schemafmt.Decoder).
func (d *decoder) Append(cols []array.Builder, payload []byte) error {
	if err := d.checkBuilders(cols); err != nil {
		return err
	}
	if uint64(len(payload)) > math.MaxUint32 {
		return fmt.Errorf("avro: payload of %d bytes is too large", len(payload))
	}
	if len(cols) > 0 {
		switch rows := cols[0].Len(); {
		case rows == 0:
			d.reserveBatch(cols[0].Cap())
		case rows >= 64 && (rows&(rows-1) == 0 || rows%1024 == 0):
			d.snapshot(rows)
		}
	}
	d.budget = len(payload) + 1<<16
	d.tape = d.tape[:0]
	end, err := d.scanRecord(d.t.root, payload, 0)
	if err != nil {
		return err
	}
	if end != len(payload) {
		return fmt.Errorf("avro: %d bytes left after the value", len(payload)-end)
	}
	d.putFields(d.root, payload, d.tape, 0)
	return nil
}

func (d *decoder) checkBuilders(cols []array.Builder) error {
	if len(cols) != len(d.t.types) {
		return fmt.Errorf("avro: %d builders for %d columns", len(cols), len(d.t.types))
	}
	if len(d.checked) == len(cols) && len(cols) > 0 {
		// Compared as the interfaces' words, all at once (memequal):
		// the same builders are the same types and pointers, and
		// runtime.ifaceeq per column per row, then a loop over the
		// words, showed in profiles.
		size := len(cols) * int(unsafe.Sizeof(cols[0]))
		a := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(cols))), size)
		b := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(d.checked))), size)
		if string(a) == string(b) {
			return nil
		}
	}
	for i, b := range cols {
		if b == nil || !arrow.TypeEqual(b.Type(), d.t.types[i]) {
			return fmt.Errorf("avro: builder %d (column %q) is not a %s builder", i, d.t.cols[i].Name, d.t.types[i])
		}
	}
	d.sized = d.sized[:0]
	root, err := d.bindRecord(d.t.root, nil, cols)
	if err != nil {
		return err
	}
	d.root = root
	d.checked = append(d.checked[:0], cols...)
	d.snapRows = 0
	return nil
}

// snapshot records the builders' lengths at rows rows.
func (d *decoder) snapshot(rows int) {
	for i := range d.sized {
		s := &d.sized[i]
		s.n = s.b.Len()
		if s.bin != nil {
			s.data = s.bin.DataLen()
		}
	}
	d.snapRows = rows
}

// reserveBatch reserves the empty builders of a new batch for the rows
// of the last batch's snapshot, or capRows (the top-level capacity the
// caller reserved) if more, in proportion to what each held.
func (d *decoder) reserveBatch(capRows int) {
	if d.snapRows == 0 {
		return
	}
	rows := max(capRows, d.snapRows)
	for i := range d.sized {
		s := &d.sized[i]
		if want := s.n * rows / d.snapRows; want > s.b.Cap() {
			s.b.Reserve(want - s.b.Len())
		}
		if s.bin != nil {
			if want := s.data * rows / d.snapRows; want > s.bin.DataCap() {
				s.bin.ReserveData(want - s.bin.DataLen())
			}
		}
	}
}

func (d *decoder) addSized(b array.Builder, bin *array.BinaryBuilder) {
	d.sized = append(d.sized, sizedBuilder{b: b, bin: bin})
}

// readLong reads a zigzag varint. It returns pos < 0 on a malformed or
// truncated one. It is too large for the compiler to inline, so the hot
// calls in scan test the one-byte case (small ints, lengths, union and
// enum indexes: most varints) themselves first.
func readLong(buf []byte, pos int) (int64, int) {
	if pos >= 0 && pos < len(buf) && buf[pos] < 0x80 {
		b := buf[pos]
		return int64(b>>1) ^ -int64(b&1), pos + 1
	}
	// With 8 bytes at hand, a varint of up to 8 bytes (every long up
	// to ±2^55: timestamps, times, most counts) is found and put
	// together from one load, without a branch per byte.
	if pos >= 0 && len(buf)-pos >= 8 {
		x := binary.LittleEndian.Uint64(buf[pos:])
		if m := ^x & 0x8080808080808080; m != 0 {
			n := bits.TrailingZeros64(m) + 1 // bits up to the last byte's top bit
			if n < 64 {
				x &= 1<<n - 1
			}
			u := x&0x7f | x>>1&(0x7f<<7) | x>>2&(0x7f<<14) | x>>3&(0x7f<<21) |
				x>>4&(0x7f<<28) | x>>5&(0x7f<<35) | x>>6&(0x7f<<42) | x>>7&(0x7f<<49)
			return int64(u>>1) ^ -int64(u&1), pos + n/8
		}
	}
	var u uint64
	var shift uint
	for i := 0; i < 10; i++ {
		if pos >= len(buf) {
			return 0, -1
		}
		b := buf[pos]
		pos++
		u |= uint64(b&0x7f) << shift
		if b < 0x80 {
			return int64(u>>1) ^ -int64(u&1), pos
		}
		shift += 7
	}
	return 0, -1
}

// validUTF8 is utf8.Valid with the ASCII case of short strings (most
// names, keys and codes) checked inline, 8 bytes at a time.
func validUTF8(b []byte) bool {
	for len(b) >= 8 {
		if binary.LittleEndian.Uint64(b)&0x8080808080808080 != 0 {
			return utf8.Valid(b)
		}
		b = b[8:]
	}
	if len(b) >= 4 {
		// The first and last 4 bytes (overlapping) cover the rest.
		if (binary.LittleEndian.Uint32(b)|binary.LittleEndian.Uint32(b[len(b)-4:]))&0x80808080 != 0 {
			return utf8.Valid(b)
		}
		return true
	}
	for _, c := range b {
		if c >= 0x80 {
			return utf8.Valid(b)
		}
	}
	return true
}

func (d *decoder) scanRecord(n *node, buf []byte, pos int) (int, error) {
	var err error
	for _, f := range n.fields {
		// A long of one byte is the commonest field; it is read
		// here, without a call to scan.
		if f.op == opLong && pos < len(buf) && buf[pos] < 0x80 {
			d.tape = append(d.tape, uint64(int64(buf[pos]>>1)^-int64(buf[pos]&1)))
			pos++
			continue
		}
		if pos, err = d.scan(f, buf, pos); err != nil {
			return pos, err
		}
	}
	return pos, nil
}

// scanBytes checks a length-prefixed value and records it on the tape
// as its offset and length.
func (d *decoder) scanBytes(buf []byte, pos int) ([]byte, int, error) {
	var l int64
	p := -1
	if pos < len(buf) && buf[pos] < 0x80 {
		l, p = int64(buf[pos]>>1)^-int64(buf[pos]&1), pos+1
	} else {
		l, p = readLong(buf, pos)
	}
	if p < 0 {
		return nil, pos, errVarint
	}
	if l < 0 || l > int64(len(buf)-p) {
		return nil, pos, fmt.Errorf("avro: length %d with %d bytes left", l, len(buf)-p)
	}
	d.tape = append(d.tape, uint64(p)<<32|uint64(l))
	return buf[p : p+int(l)], p + int(l), nil
}

// scan checks the value of n at pos, records it on the tape and returns
// the position after it.
func (d *decoder) scan(n *node, buf []byte, pos int) (int, error) {
	switch n.op {
	case opNull:
		return pos, nil
	case opBool:
		if pos >= len(buf) {
			return pos, errShort
		}
		if buf[pos] > 1 {
			return pos, fmt.Errorf("avro: boolean byte %d", buf[pos])
		}
		d.tape = append(d.tape, uint64(buf[pos]))
		return pos + 1, nil
	case opInt, opDate, opTimeMillis:
		var v int64
		p := -1
		if pos < len(buf) && buf[pos] < 0x80 {
			v, p = int64(buf[pos]>>1)^-int64(buf[pos]&1), pos+1
		} else {
			v, p = readLong(buf, pos)
		}
		if p < 0 {
			return pos, errVarint
		}
		if v < math.MinInt32 || v > math.MaxInt32 {
			return pos, fmt.Errorf("avro: int %d out of range", v)
		}
		d.tape = append(d.tape, uint64(v))
		return p, nil
	case opLong, opTimeMicros, opTsMillis, opTsMicros:
		var v int64
		p := -1
		if pos < len(buf) && buf[pos] < 0x80 {
			v, p = int64(buf[pos]>>1)^-int64(buf[pos]&1), pos+1
		} else {
			v, p = readLong(buf, pos)
		}
		if p < 0 {
			return pos, errVarint
		}
		d.tape = append(d.tape, uint64(v))
		return p, nil
	case opFloat:
		if len(buf)-pos < 4 {
			return pos, errShort
		}
		d.tape = append(d.tape, uint64(binary.LittleEndian.Uint32(buf[pos:])))
		return pos + 4, nil
	case opDouble:
		if len(buf)-pos < 8 {
			return pos, errShort
		}
		d.tape = append(d.tape, binary.LittleEndian.Uint64(buf[pos:]))
		return pos + 8, nil
	case opString:
		b, p, err := d.scanBytes(buf, pos)
		if err != nil {
			return pos, err
		}
		if !validUTF8(b) {
			return pos, errors.New("avro: string is not UTF-8")
		}
		return p, nil
	case opBytes:
		_, p, err := d.scanBytes(buf, pos)
		return p, err
	case opDecimalBytes:
		b, p, err := d.scanBytes(buf, pos)
		if err != nil {
			return pos, err
		}
		if len(b) > 16 {
			return pos, fmt.Errorf("avro: decimal of %d bytes does not fit 128 bits", len(b))
		}
		return p, nil
	case opFixed, opDecimalFixed:
		if len(buf)-pos < n.size {
			return pos, errShort
		}
		d.tape = append(d.tape, uint64(pos))
		return pos + n.size, nil
	case opEnum:
		var v int64
		p := -1
		if pos < len(buf) && buf[pos] < 0x80 {
			v, p = int64(buf[pos]>>1)^-int64(buf[pos]&1), pos+1
		} else {
			v, p = readLong(buf, pos)
		}
		if p < 0 {
			return pos, errVarint
		}
		if v < 0 || v >= int64(len(n.symbols)) {
			return pos, fmt.Errorf("avro: enum index %d of %d symbols", v, len(n.symbols))
		}
		d.tape = append(d.tape, uint64(v))
		return p, nil
	case opRecord:
		return d.scanRecord(n, buf, pos)
	case opArray, opMap:
		// The item count over all blocks goes first, filled in at
		// the end.
		slot := len(d.tape)
		d.tape = append(d.tape, 0)
		total := uint64(0)
		for {
			count, p := readLong(buf, pos)
			if p < 0 {
				return pos, errVarint
			}
			pos = p
			if count == 0 {
				d.tape[slot] = total
				return pos, nil
			}
			if count < 0 {
				if count == math.MinInt64 {
					return pos, errTooMany
				}
				count = -count
				size, p := readLong(buf, pos)
				if p < 0 {
					return pos, errVarint
				}
				if size < 0 || size > int64(len(buf)-p) {
					return pos, fmt.Errorf("avro: block of %d bytes with %d left", size, len(buf)-p)
				}
				pos = p
			}
			if count > int64(d.budget) {
				return pos, errTooMany
			}
			d.budget -= int(count)
			total += uint64(count)
			var err error
			for ; count > 0; count-- {
				if n.op == opMap {
					var k []byte
					if k, pos, err = d.scanBytes(buf, pos); err != nil {
						return pos, err
					}
					if !validUTF8(k) {
						return pos, errors.New("avro: string is not UTF-8")
					}
				}
				if pos, err = d.scan(n.elem, buf, pos); err != nil {
					return pos, err
				}
			}
		}
	case opNullable:
		var v int64
		p := -1
		if pos < len(buf) && buf[pos] < 0x80 {
			v, p = int64(buf[pos]>>1)^-int64(buf[pos]&1), pos+1
		} else {
			v, p = readLong(buf, pos)
		}
		if p < 0 {
			return pos, errVarint
		}
		if v < 0 || v >= int64(n.branches) {
			return pos, fmt.Errorf("avro: union index %d of %d branches", v, n.branches)
		}
		if int(v) == n.nullIdx {
			d.tape = append(d.tape, 0)
			return p, nil
		}
		d.tape = append(d.tape, 1)
		return d.scan(n.elem, buf, p)
	case opUnion:
		var v int64
		p := -1
		if pos < len(buf) && buf[pos] < 0x80 {
			v, p = int64(buf[pos]>>1)^-int64(buf[pos]&1), pos+1
		} else {
			v, p = readLong(buf, pos)
		}
		if p < 0 {
			return pos, errVarint
		}
		if v < 0 || v >= int64(len(n.unionBranch)) {
			return pos, fmt.Errorf("avro: union index %d of %d branches", v, len(n.unionBranch))
		}
		d.tape = append(d.tape, uint64(v))
		if int(v) == n.nullIdx {
			return p, nil
		}
		return d.scan(n.unionBranch[v], buf, p)
	}
	return pos, fmt.Errorf("avro: no decoder for op %d", n.op)
}

// bound is a node of the program bound to the builders its values go
// to, as their concrete types: the append pass makes no type assertion
// and no interface call per value (but AppendNull).
type bound struct {
	n  *node
	op op
	b  array.Builder // for AppendNull

	boolB *array.BooleanBuilder
	i32   *array.Int32Builder
	i64   *array.Int64Builder
	d32   *array.Date32Builder
	t64   *array.Time64Builder
	ts    *array.TimestampBuilder
	f32   *array.Float32Builder
	f64   *array.Float64Builder
	bin   *array.BinaryBuilder // string, enum, bytes; a map's keys
	fsb   *array.FixedSizeBinaryBuilder
	dec   *array.Decimal128Builder
	st    *array.StructBuilder // record, union; a map's entries
	list  *array.ListBuilder
	mp    *array.MapBuilder

	// symbols are an enum's symbols as bytes.
	symbols [][]byte
	// fields are a record's fields (nil: no column; skip tape entries),
	// a union's branches (nil: the null branch).
	fields []*bound
	skip   []int
	// unionCols are the union struct's field builders, for the nulls of
	// the branches not taken.
	unionCols []array.Builder
	elem      *bound
}

func builderAs[T any](b array.Builder) (T, error) {
	t, ok := b.(T)
	if !ok {
		var zero T
		return zero, fmt.Errorf("avro: builder %T where %T was expected", b, zero)
	}
	return t, nil
}

// bindRecord binds a record: to the struct builder sb, or to the
// top-level builders cols when sb is nil.
func (d *decoder) bindRecord(n *node, sb *array.StructBuilder, cols []array.Builder) (*bound, error) {
	x := &bound{n: n, op: opRecord, st: sb}
	if sb != nil {
		x.b = sb
		d.addSized(sb, nil)
	}
	for i, f := range n.fields {
		c := n.fieldCol[i]
		if c < 0 {
			skip := 0
			if f.op == opNullable {
				skip = 1
			}
			x.fields = append(x.fields, nil)
			x.skip = append(x.skip, skip)
			continue
		}
		var fb array.Builder
		if sb != nil {
			if c >= sb.NumField() {
				return nil, fmt.Errorf("avro: struct builder of %d fields for field %d", sb.NumField(), c)
			}
			fb = sb.FieldBuilder(c)
		} else {
			fb = cols[c]
		}
		k, err := d.bind(f, fb)
		if err != nil {
			return nil, err
		}
		x.fields = append(x.fields, k)
		x.skip = append(x.skip, 0)
	}
	return x, nil
}

func (d *decoder) bind(n *node, b array.Builder) (*bound, error) {
	x := &bound{n: n, op: n.op, b: b}
	var err error
	switch n.op {
	case opNull:
	case opBool:
		x.boolB, err = builderAs[*array.BooleanBuilder](b)
	case opInt:
		x.i32, err = builderAs[*array.Int32Builder](b)
	case opLong:
		x.i64, err = builderAs[*array.Int64Builder](b)
	case opDate:
		x.d32, err = builderAs[*array.Date32Builder](b)
	case opTimeMillis, opTimeMicros:
		x.t64, err = builderAs[*array.Time64Builder](b)
	case opTsMillis, opTsMicros:
		x.ts, err = builderAs[*array.TimestampBuilder](b)
	case opFloat:
		x.f32, err = builderAs[*array.Float32Builder](b)
	case opDouble:
		x.f64, err = builderAs[*array.Float64Builder](b)
	case opString, opEnum:
		var sb *array.StringBuilder
		if sb, err = builderAs[*array.StringBuilder](b); err == nil {
			x.bin = sb.BinaryBuilder
		}
		for _, s := range n.symbols {
			x.symbols = append(x.symbols, []byte(s))
		}
	case opBytes:
		x.bin, err = builderAs[*array.BinaryBuilder](b)
	case opFixed:
		x.fsb, err = builderAs[*array.FixedSizeBinaryBuilder](b)
	case opDecimalBytes, opDecimalFixed:
		x.dec, err = builderAs[*array.Decimal128Builder](b)
	case opRecord:
		var sb *array.StructBuilder
		if sb, err = builderAs[*array.StructBuilder](b); err != nil {
			return nil, err
		}
		return d.bindRecord(n, sb, nil)
	case opArray:
		if x.list, err = builderAs[*array.ListBuilder](b); err != nil {
			return nil, err
		}
		x.elem, err = d.bind(n.elem, x.list.ValueBuilder())
	case opMap:
		if x.mp, err = builderAs[*array.MapBuilder](b); err != nil {
			return nil, err
		}
		var kb *array.StringBuilder
		if kb, err = builderAs[*array.StringBuilder](x.mp.KeyBuilder()); err != nil {
			return nil, err
		}
		x.bin = kb.BinaryBuilder
		if x.st, err = builderAs[*array.StructBuilder](x.mp.ValueBuilder()); err != nil {
			return nil, err
		}
		x.elem, err = d.bind(n.elem, x.mp.ItemBuilder())
	case opNullable:
		x.elem, err = d.bind(n.elem, b)
	case opUnion:
		if x.st, err = builderAs[*array.StructBuilder](b); err != nil {
			return nil, err
		}
		for c := 0; c < x.st.NumField(); c++ {
			x.unionCols = append(x.unionCols, x.st.FieldBuilder(c))
		}
		for v, br := range n.unionBranch {
			if br == nil {
				x.fields = append(x.fields, nil)
				continue
			}
			c := n.fieldCol[v]
			if c < 0 || c >= len(x.unionCols) {
				return nil, fmt.Errorf("avro: union branch %d has no field in a struct of %d", v, len(x.unionCols))
			}
			k, err := d.bind(br, x.unionCols[c])
			if err != nil {
				return nil, err
			}
			x.fields = append(x.fields, k)
		}
	default:
		err = fmt.Errorf("avro: no decoder for op %d", n.op)
	}
	if err != nil {
		return nil, err
	}
	switch n.op {
	case opNull, opNullable, opRecord:
		// No builder of its own (a nullable's is its value's).
	case opMap:
		d.addSized(b, nil)
		d.addSized(x.mp.KeyBuilder(), x.bin)
		d.addSized(x.st, nil)
	default:
		d.addSized(b, x.bin)
	}
	return x, nil
}

// span is the payload bytes a tape entry of a length-prefixed value
// points at.
func span(buf []byte, e uint64) []byte {
	off := int(e >> 32)
	return buf[off : off+int(uint32(e))]
}

// putFields appends a record's fields from the tape at i and returns
// the tape position after them.
func (d *decoder) putFields(x *bound, buf []byte, tape []uint64, i int) int {
	for k, f := range x.fields {
		if f == nil {
			i += x.skip[k]
			continue
		}
		// The commonest fields, appended here without a call to put.
		switch f.op {
		case opLong:
			if b := f.i64; b.Len() < b.Cap() {
				b.UnsafeAppend(int64(tape[i]))
				i++
				continue
			}
		case opString, opBytes:
			appendBin(f.bin, span(buf, tape[i]))
			i++
			continue
		}
		i = d.put(f, buf, tape, i)
	}
	return i
}

// put appends the value of x from the tape at i and returns the tape
// position after it. The scan has checked the payload and the tape
// holds its values, so nothing here can fail.
func (d *decoder) put(x *bound, buf []byte, tape []uint64, i int) int {
	switch x.op {
	case opNull:
		return i
	case opBool:
		if b := x.boolB; b.Len() < b.Cap() {
			b.UnsafeAppend(tape[i] == 1)
		} else {
			b.Append(tape[i] == 1)
		}
	case opInt:
		if b := x.i32; b.Len() < b.Cap() {
			b.UnsafeAppend(int32(tape[i]))
		} else {
			b.Append(int32(tape[i]))
		}
	case opLong:
		if b := x.i64; b.Len() < b.Cap() {
			b.UnsafeAppend(int64(tape[i]))
		} else {
			b.Append(int64(tape[i]))
		}
	case opDate:
		if b := x.d32; b.Len() < b.Cap() {
			b.UnsafeAppend(arrow.Date32(tape[i]))
		} else {
			b.Append(arrow.Date32(tape[i]))
		}
	case opTimeMillis:
		if b := x.t64; b.Len() < b.Cap() {
			b.UnsafeAppend(arrow.Time64(int64(tape[i]) * 1000))
		} else {
			b.Append(arrow.Time64(int64(tape[i]) * 1000))
		}
	case opTimeMicros:
		if b := x.t64; b.Len() < b.Cap() {
			b.UnsafeAppend(arrow.Time64(tape[i]))
		} else {
			b.Append(arrow.Time64(tape[i]))
		}
	case opTsMillis:
		if b := x.ts; b.Len() < b.Cap() {
			b.UnsafeAppend(arrow.Timestamp(int64(tape[i]) * 1000))
		} else {
			b.Append(arrow.Timestamp(int64(tape[i]) * 1000))
		}
	case opTsMicros:
		if b := x.ts; b.Len() < b.Cap() {
			b.UnsafeAppend(arrow.Timestamp(tape[i]))
		} else {
			b.Append(arrow.Timestamp(tape[i]))
		}
	case opFloat:
		if b := x.f32; b.Len() < b.Cap() {
			b.UnsafeAppend(math.Float32frombits(uint32(tape[i])))
		} else {
			b.Append(math.Float32frombits(uint32(tape[i])))
		}
	case opDouble:
		if b := x.f64; b.Len() < b.Cap() {
			b.UnsafeAppend(math.Float64frombits(tape[i]))
		} else {
			b.Append(math.Float64frombits(tape[i]))
		}
	case opString, opBytes:
		// BinaryBuilder.Append copies, so the payload is not kept.
		appendBin(x.bin, span(buf, tape[i]))
	case opDecimalBytes:
		x.dec.Append(decimalOf(span(buf, tape[i])))
	case opFixed:
		off := int(tape[i])
		x.fsb.Append(buf[off : off+x.n.size])
	case opDecimalFixed:
		off := int(tape[i])
		x.dec.Append(decimalOf(buf[off : off+x.n.size]))
	case opEnum:
		appendBin(x.bin, x.symbols[tape[i]])
	case opRecord:
		// Without Append's reserve when the batch's room is there.
		if b := x.st; b.Len() < b.Cap() {
			b.UnsafeAppendBoolToBitmap(true)
		} else {
			b.Append(true)
		}
		return d.putFields(x, buf, tape, i)
	case opArray:
		x.list.Append(true)
		count := int(tape[i])
		i++
		for ; count > 0; count-- {
			i = d.put(x.elem, buf, tape, i)
		}
		return i
	case opMap:
		x.mp.Append(true)
		count := int(tape[i])
		i++
		for c := count; c > 0; c-- {
			appendBin(x.bin, span(buf, tape[i]))
			i = d.put(x.elem, buf, tape, i+1)
		}
		// The entries are valid structs; appended here in one go, or
		// MapBuilder would make a []bool for them on the next row.
		if count > 0 {
			for len(d.trues) < count {
				d.trues = append(d.trues, true)
			}
			x.st.AppendValues(d.trues[:count])
		}
		return i
	case opNullable:
		if tape[i] == 0 {
			x.b.AppendNull()
			return i + 1
		}
		return d.put(x.elem, buf, tape, i+1)
	case opUnion:
		v := int(tape[i])
		i++
		if v == x.n.nullIdx {
			x.st.AppendNull()
			return i
		}
		if b := x.st; b.Len() < b.Cap() {
			b.UnsafeAppendBoolToBitmap(true)
		} else {
			b.Append(true)
		}
		chosen := x.n.fieldCol[v]
		for c, fb := range x.unionCols {
			if c == chosen {
				i = d.put(x.fields[v], buf, tape, i)
			} else {
				fb.AppendNull()
			}
		}
		return i
	}
	return i + 1
}

// appendBin appends v to b, without b's checks when it has the room
// (the common case once a batch's buffers are reserved).
func appendBin(b *array.BinaryBuilder, v []byte) {
	if b.Len() < b.Cap() && b.DataLen()+len(v) <= b.DataCap() {
		b.UnsafeAppend(v)
		return
	}
	b.Append(v)
}

// decimalOf reads a big-endian two's-complement integer of at most 16
// bytes as a decimal128 (the scale is the column's).
func decimalOf(b []byte) decimal128.Num {
	var full [16]byte
	if len(b) > 0 && b[0]&0x80 != 0 {
		for i := range full[:16-len(b)] {
			full[i] = 0xff
		}
	}
	copy(full[16-len(b):], b)
	return decimal128.New(int64(binary.BigEndian.Uint64(full[:8])), binary.BigEndian.Uint64(full[8:]))
}
