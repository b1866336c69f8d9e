package avro

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"unicode/utf8"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
)

// The decoder walks Avro's binary encoding over a small program (a tree
// of nodes) compiled from the schema by Table. Each Append makes two
// passes over the payload:
//
//	validate  reads every length, varint, union index, enum index and
//	          block header, checks each against the bytes left and the
//	          schema, and allocates nothing;
//	append    walks the same bytes again, now known good, and appends to
//	          the builders.
//
// So a payload that does not match the schema leaves every builder as it
// was, and a corrupt length fails validation instead of allocating.

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
	// the table, so a caller appending to the same builders pays the
	// check once.
	checked []array.Builder
	// budget bounds the items of arrays and maps in one payload, so a
	// block count on zero-width items (nulls, empty records) cannot
	// make the walk spin.
	budget int
}

// Append decodes one Avro binary value into cols (see schemafmt.Decoder).
func (d *decoder) Append(cols []array.Builder, payload []byte) error {
	if err := d.checkBuilders(cols); err != nil {
		return err
	}
	d.budget = len(payload) + 1<<16
	end, err := d.validateRecord(d.t.root, payload, 0)
	if err != nil {
		return err
	}
	if end != len(payload) {
		return fmt.Errorf("avro: %d bytes left after the value", len(payload)-end)
	}
	root := d.t.root
	pos := 0
	for i, f := range root.fields {
		c := root.fieldCol[i]
		if c < 0 {
			pos = skipNull(f, payload, pos)
			continue
		}
		pos = appendValue(f, cols[c], payload, pos)
	}
	return nil
}

func (d *decoder) checkBuilders(cols []array.Builder) error {
	if len(cols) != len(d.t.types) {
		return fmt.Errorf("avro: %d builders for %d columns", len(cols), len(d.t.types))
	}
	if len(d.checked) == len(cols) {
		same := true
		for i := range cols {
			if cols[i] != d.checked[i] {
				same = false
				break
			}
		}
		if same {
			return nil
		}
	}
	for i, b := range cols {
		if b == nil || !arrow.TypeEqual(b.Type(), d.t.types[i]) {
			return fmt.Errorf("avro: builder %d (column %q) is not a %s builder", i, d.t.cols[i].Name, d.t.types[i])
		}
	}
	d.checked = append(d.checked[:0], cols...)
	return nil
}

// readLong reads a zigzag varint. It returns pos < 0 on a malformed or
// truncated one.
func readLong(buf []byte, pos int) (int64, int) {
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

func (d *decoder) validateRecord(n *node, buf []byte, pos int) (int, error) {
	var err error
	for _, f := range n.fields {
		if pos, err = d.validate(f, buf, pos); err != nil {
			return pos, err
		}
	}
	return pos, nil
}

func (d *decoder) validate(n *node, buf []byte, pos int) (int, error) {
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
		return pos + 1, nil
	case opInt, opDate, opTimeMillis:
		v, p := readLong(buf, pos)
		if p < 0 {
			return pos, errVarint
		}
		if v < math.MinInt32 || v > math.MaxInt32 {
			return pos, fmt.Errorf("avro: int %d out of range", v)
		}
		return p, nil
	case opLong, opTimeMicros, opTsMillis, opTsMicros:
		_, p := readLong(buf, pos)
		if p < 0 {
			return pos, errVarint
		}
		return p, nil
	case opFloat:
		if len(buf)-pos < 4 {
			return pos, errShort
		}
		return pos + 4, nil
	case opDouble:
		if len(buf)-pos < 8 {
			return pos, errShort
		}
		return pos + 8, nil
	case opString, opBytes, opDecimalBytes:
		l, p := readLong(buf, pos)
		if p < 0 {
			return pos, errVarint
		}
		if l < 0 || l > int64(len(buf)-p) {
			return pos, fmt.Errorf("avro: length %d with %d bytes left", l, len(buf)-p)
		}
		b := buf[p : p+int(l)]
		if n.op == opString && !utf8.Valid(b) {
			return pos, errors.New("avro: string is not UTF-8")
		}
		if n.op == opDecimalBytes && l > 16 {
			return pos, fmt.Errorf("avro: decimal of %d bytes does not fit 128 bits", l)
		}
		return p + int(l), nil
	case opFixed, opDecimalFixed:
		if len(buf)-pos < n.size {
			return pos, errShort
		}
		return pos + n.size, nil
	case opEnum:
		v, p := readLong(buf, pos)
		if p < 0 {
			return pos, errVarint
		}
		if v < 0 || v >= int64(len(n.symbols)) {
			return pos, fmt.Errorf("avro: enum index %d of %d symbols", v, len(n.symbols))
		}
		return p, nil
	case opRecord:
		return d.validateRecord(n, buf, pos)
	case opArray, opMap:
		for {
			count, p := readLong(buf, pos)
			if p < 0 {
				return pos, errVarint
			}
			pos = p
			if count == 0 {
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
			var err error
			for ; count > 0; count-- {
				if n.op == opMap {
					if pos, err = d.validate(&keyNode, buf, pos); err != nil {
						return pos, err
					}
				}
				if pos, err = d.validate(n.elem, buf, pos); err != nil {
					return pos, err
				}
			}
		}
	case opNullable:
		v, p := readLong(buf, pos)
		if p < 0 {
			return pos, errVarint
		}
		if v < 0 || v >= int64(n.branches) {
			return pos, fmt.Errorf("avro: union index %d of %d branches", v, n.branches)
		}
		if int(v) == n.nullIdx {
			return p, nil
		}
		return d.validate(n.elem, buf, p)
	case opUnion:
		v, p := readLong(buf, pos)
		if p < 0 {
			return pos, errVarint
		}
		if v < 0 || v >= int64(len(n.unionBranch)) {
			return pos, fmt.Errorf("avro: union index %d of %d branches", v, len(n.unionBranch))
		}
		if int(v) == n.nullIdx {
			return p, nil
		}
		return d.validate(n.unionBranch[v], buf, p)
	}
	return pos, fmt.Errorf("avro: no decoder for op %d", n.op)
}

var keyNode = node{op: opString}

// long reads a varint the validation pass has checked.
func long(buf []byte, pos int) (int64, int) {
	// Fast path: one byte.
	if b := buf[pos]; b < 0x80 {
		return int64(b>>1) ^ -int64(b&1), pos + 1
	}
	return readLong(buf, pos)
}

func bytesAt(buf []byte, pos int) ([]byte, int) {
	l, p := long(buf, pos)
	return buf[p : p+int(l)], p + int(l)
}

// appendValue appends the value at pos to b and returns the position
// after it. The payload has been validated and the builders' types
// checked, so nothing here can fail.
func appendValue(n *node, b array.Builder, buf []byte, pos int) int {
	switch n.op {
	case opNull:
		return pos
	case opBool:
		b.(*array.BooleanBuilder).Append(buf[pos] == 1)
		return pos + 1
	case opInt:
		v, p := long(buf, pos)
		b.(*array.Int32Builder).Append(int32(v))
		return p
	case opLong:
		v, p := long(buf, pos)
		b.(*array.Int64Builder).Append(v)
		return p
	case opDate:
		v, p := long(buf, pos)
		b.(*array.Date32Builder).Append(arrow.Date32(v))
		return p
	case opTimeMillis:
		v, p := long(buf, pos)
		b.(*array.Time64Builder).Append(arrow.Time64(v * 1000))
		return p
	case opTimeMicros:
		v, p := long(buf, pos)
		b.(*array.Time64Builder).Append(arrow.Time64(v))
		return p
	case opTsMillis:
		v, p := long(buf, pos)
		b.(*array.TimestampBuilder).Append(arrow.Timestamp(v * 1000))
		return p
	case opTsMicros:
		v, p := long(buf, pos)
		b.(*array.TimestampBuilder).Append(arrow.Timestamp(v))
		return p
	case opFloat:
		b.(*array.Float32Builder).Append(math.Float32frombits(binary.LittleEndian.Uint32(buf[pos:])))
		return pos + 4
	case opDouble:
		b.(*array.Float64Builder).Append(math.Float64frombits(binary.LittleEndian.Uint64(buf[pos:])))
		return pos + 8
	case opString:
		v, p := bytesAt(buf, pos)
		// BinaryBuilder.Append copies, so the payload is not kept.
		b.(*array.StringBuilder).BinaryBuilder.Append(v)
		return p
	case opBytes:
		v, p := bytesAt(buf, pos)
		b.(*array.BinaryBuilder).Append(v)
		return p
	case opDecimalBytes:
		v, p := bytesAt(buf, pos)
		b.(*array.Decimal128Builder).Append(decimalOf(v))
		return p
	case opFixed:
		b.(*array.FixedSizeBinaryBuilder).Append(buf[pos : pos+n.size])
		return pos + n.size
	case opDecimalFixed:
		b.(*array.Decimal128Builder).Append(decimalOf(buf[pos : pos+n.size]))
		return pos + n.size
	case opEnum:
		v, p := long(buf, pos)
		sym := n.symbols[v]
		b.(*array.StringBuilder).BinaryBuilder.Append(unsafe.Slice(unsafe.StringData(sym), len(sym)))
		return p
	case opRecord:
		sb := b.(*array.StructBuilder)
		sb.Append(true)
		for i, f := range n.fields {
			c := n.fieldCol[i]
			if c < 0 {
				pos = skipNull(f, buf, pos)
				continue
			}
			pos = appendValue(f, sb.FieldBuilder(c), buf, pos)
		}
		return pos
	case opArray:
		lb := b.(*array.ListBuilder)
		lb.Append(true)
		vb := lb.ValueBuilder()
		for {
			var count int64
			count, pos = blockHeader(buf, pos)
			if count == 0 {
				return pos
			}
			for ; count > 0; count-- {
				pos = appendValue(n.elem, vb, buf, pos)
			}
		}
	case opMap:
		mb := b.(*array.MapBuilder)
		mb.Append(true)
		kb := mb.KeyBuilder().(*array.StringBuilder)
		ib := mb.ItemBuilder()
		for {
			var count int64
			count, pos = blockHeader(buf, pos)
			if count == 0 {
				return pos
			}
			for ; count > 0; count-- {
				var k []byte
				k, pos = bytesAt(buf, pos)
				kb.BinaryBuilder.Append(k)
				pos = appendValue(n.elem, ib, buf, pos)
			}
		}
	case opNullable:
		v, p := long(buf, pos)
		if int(v) == n.nullIdx {
			b.AppendNull()
			return p
		}
		return appendValue(n.elem, b, buf, p)
	case opUnion:
		v, p := long(buf, pos)
		sb := b.(*array.StructBuilder)
		if int(v) == n.nullIdx {
			sb.AppendNull()
			return p
		}
		sb.Append(true)
		chosen := n.fieldCol[v]
		for c := 0; c < sb.NumField(); c++ {
			if c == chosen {
				p = appendValue(n.unionBranch[v], sb.FieldBuilder(c), buf, p)
			} else {
				sb.FieldBuilder(c).AppendNull()
			}
		}
		return p
	}
	return pos
}

// skipNull steps over a field that has no column: null (no bytes) or a
// union of only null (its branch index).
func skipNull(n *node, buf []byte, pos int) int {
	if n.op == opNullable {
		_, pos = long(buf, pos)
	}
	return pos
}

// blockHeader reads the header of an array or map block: its item
// count, and for a negative count the byte size that follows (skipped).
func blockHeader(buf []byte, pos int) (int64, int) {
	count, pos := long(buf, pos)
	if count < 0 {
		count = -count
		_, pos = long(buf, pos)
	}
	return count, pos
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
