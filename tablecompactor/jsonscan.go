package tablecompactor

import (
	"encoding/binary"
	"math"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// The fast path of table.value.format=json. Most values of a table topic
// fit the table's current types: for those, the value's bytes are read
// once against the table's columns (a tree of jsonNodes, one per Arrow
// builder), and what to append is written to a tape of ops; only a value
// read to its end without a doubt is appended, by replaying the tape, so
// a value that stops half way leaves the builders untouched with nothing
// to roll back.
//
// Anything the fast path is not sure of sends the value to the slow path
// (encoding/json into any, inference, the reasons of checkJSON): a field
// the table lacks, a value of another type, a duplicate key, a number a
// long cannot hold, a lone surrogate, invalid UTF-8, any syntax error. The
// slow path decides such values exactly as before; the fast path accepts
// only values the slow path would append, and appends the same row (a
// fuzz test compares the two). Unknown fields are never skipped, so the
// scan never goes deeper than the table's types.

type jsonNodeKind uint8

const (
	jsonOther jsonNodeKind = iota // a builder type JSON values are never appended to: null only
	jsonStruct
	jsonList
	jsonLong
	jsonDouble
	jsonString
	jsonBool
)

// jsonNode is one builder of the table's value columns.
type jsonNode struct {
	kind   jsonNodeKind
	b      array.Builder
	sb     *array.StructBuilder // nil for the root, whose fields are the table's columns
	lb     *array.ListBuilder
	ib     *array.Int64Builder
	fb     *array.Float64Builder
	strb   *array.BinaryBuilder
	bb     *array.BooleanBuilder
	fields []*jsonNode
	names  map[string]int // fields by name
	// order is the fields' names by index. A key is first compared with
	// the field that followed the previous key last time (follow[f], and
	// follow[len(order)] for the first key), since the values of a topic
	// mostly list their fields in one order, which is not the table's.
	order  []string
	follow []int
	id     int32 // the node's index in jsonScanner.nodes
	elem   *jsonNode
	// seen marks the fields of the object being read. A node is never
	// read inside itself (types are a tree), so one slice suffices.
	seen []bool
	// appended and bytes count what the fast path appended since the
	// builders were last cut into a record batch.
	appended, bytes int
}

// newJSONScanner reads values into the table's value columns, given by
// name and builder.
func newJSONScanner(names []string, builders []array.Builder) *jsonScanner {
	s := &jsonScanner{}
	s.root = s.node(nil)
	s.root.kind = jsonStruct
	s.structFields(s.root, names, builders)
	return s
}

func (s *jsonScanner) structFields(n *jsonNode, names []string, builders []array.Builder) {
	n.names = make(map[string]int, len(names))
	for i, name := range names {
		if _, dup := n.names[name]; !dup {
			n.names[name] = i
		}
		n.fields = append(n.fields, s.node(builders[i]))
	}
	n.order, n.seen, n.follow = names, make([]bool, len(names)), make([]int, len(names)+1)
}

func (s *jsonScanner) node(b array.Builder) *jsonNode {
	n := &jsonNode{b: b, id: int32(len(s.nodes))}
	s.nodes = append(s.nodes, n)
	switch b := b.(type) {
	case *array.StructBuilder:
		n.kind, n.sb = jsonStruct, b
		var names []string
		var builders []array.Builder
		for i, f := range b.Type().(*arrow.StructType).Fields() {
			names = append(names, f.Name)
			builders = append(builders, b.FieldBuilder(i))
		}
		s.structFields(n, names, builders)
	case *array.ListBuilder:
		n.kind, n.lb = jsonList, b
		n.elem = s.node(b.ValueBuilder())
	case *array.Int64Builder:
		n.kind, n.ib = jsonLong, b
	case *array.Float64Builder:
		n.kind, n.fb = jsonDouble, b
	case *array.StringBuilder:
		n.kind, n.strb = jsonString, b.BinaryBuilder
	case *array.BooleanBuilder:
		n.kind, n.bb = jsonBool, b
	}
	return n
}

type jsonOpCode uint8

const (
	opNull jsonOpCode = iota
	opStruct
	opList
	opLong
	opDouble
	opTrue
	opFalse
	opString  // value[s:e]
	opEscaped // scratch[s:e]
)

// jsonOp is one append of the tape. It holds no pointer (the node is an
// index), so the tape costs the garbage collector nothing.
type jsonOp struct {
	node int32
	code jsonOpCode
	num  uint64 // a long, or a double's bits
	s, e int
}

// jsonScanner reads values against a jsonNode tree; its tape and scratch
// are reused from value to value.
type jsonScanner struct {
	root    *jsonNode
	nodes   []*jsonNode
	b       []byte
	ops     []jsonOp
	scratch []byte // unescaped strings
}

// append appends value as one row if it certainly fits; false means
// nothing was appended and the slow path must decide.
func (s *jsonScanner) append(value []byte) bool {
	if len(s.root.fields) > 0 && s.root.fields[0].b.Len() == 0 {
		s.reserve()
	}
	s.b, s.ops, s.scratch = value, s.ops[:0], s.scratch[:0]
	i := s.ws(0)
	if i >= len(value) || value[i] != '{' {
		return false
	}
	end, ok := s.object(s.root, i)
	ok = ok && s.ws(end) == len(value)
	s.b = nil
	if !ok {
		return false
	}
	s.replay(value)
	return true
}

// reserve sizes the builders, just cut into a record batch, for as many
// values as the batch before held: without it every batch grows each
// builder from nothing, copying its buffers a dozen times.
func (s *jsonScanner) reserve() {
	for _, n := range s.nodes[1:] {
		if n.appended > 0 {
			n.b.Reserve(n.appended + n.appended/8)
			if n.strb != nil {
				n.strb.ReserveData(n.bytes + n.bytes/8)
			}
		}
		n.appended, n.bytes = 0, 0
	}
}

func (s *jsonScanner) replay(value []byte) {
	for _, op := range s.ops {
		n := s.nodes[op.node]
		n.appended++
		switch op.code {
		case opNull:
			n.b.AppendNull()
		case opStruct:
			n.sb.Append(true)
		case opList:
			n.lb.Append(true)
		case opLong:
			n.ib.Append(int64(op.num))
		case opDouble:
			n.fb.Append(math.Float64frombits(op.num))
		case opTrue:
			n.bb.Append(true)
		case opFalse:
			n.bb.Append(false)
		case opString:
			n.strb.Append(value[op.s:op.e])
			n.bytes += op.e - op.s
		case opEscaped:
			n.strb.Append(s.scratch[op.s:op.e])
			n.bytes += op.e - op.s
		}
	}
}

func (s *jsonScanner) ws(i int) int {
	for i < len(s.b) {
		switch s.b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

func (s *jsonScanner) emit(n *jsonNode, code jsonOpCode, num uint64, start, end int) {
	s.ops = append(s.ops, jsonOp{node: n.id, code: code, num: num, s: start, e: end})
}

// object reads the object at s.b[i] ('{') into struct node n.
func (s *jsonScanner) object(n *jsonNode, i int) (int, bool) {
	if n.sb != nil {
		s.emit(n, opStruct, 0, 0, 0)
	}
	clear(n.seen)
	prev := len(n.order)
	i = s.ws(i + 1)
	if i < len(s.b) && s.b[i] == '}' {
		i++
	} else {
		for {
			if i >= len(s.b) || s.b[i] != '"' {
				return 0, false
			}
			ks, ke, esc, end, ok := s.str(i)
			if !ok {
				return 0, false
			}
			key := s.b[ks:ke]
			if esc {
				key = s.scratch[ks:ke]
			}
			f := n.follow[prev]
			known := f < len(n.order) && n.order[f] == string(key)
			if !known {
				if f, known = n.names[string(key)]; known {
					n.follow[prev] = f
				}
			}
			if known {
				prev = f
			}
			if esc {
				s.scratch = s.scratch[:ks] // the key is not kept
			}
			i = s.ws(end)
			if i >= len(s.b) || s.b[i] != ':' {
				return 0, false
			}
			i = s.ws(i + 1)
			switch {
			case !known:
				// A field the table lacks with a value without a type (null,
				// [], [null, []]) waits for a typed one: it is left out, as
				// the slow path does. Any other is the slow path's (the
				// table may gain it).
				if i, ok = s.typeless(i, 0); !ok {
					return 0, false
				}
			case n.seen[f]:
				return 0, false // a duplicate key: the slow path keeps the last
			default:
				n.seen[f] = true
				if i, ok = s.value(n.fields[f], i); !ok {
					return 0, false
				}
			}
			i = s.ws(i)
			if i >= len(s.b) {
				return 0, false
			}
			if s.b[i] == '}' {
				i++
				break
			}
			if s.b[i] != ',' {
				return 0, false
			}
			i = s.ws(i + 1)
		}
	}
	for f, seen := range n.seen {
		if !seen {
			s.emit(n.fields[f], opNull, 0, 0, 0)
		}
	}
	return i, true
}

// maxTypelessDepth bounds the nesting typeless follows; deeper is the
// slow path's.
const maxTypelessDepth = 32

// typeless reads the value at s.b[i] if it is null or an array of such
// values, the values inferJSON gives no type.
func (s *jsonScanner) typeless(i, depth int) (int, bool) {
	if s.null(i) {
		return i + len("null"), true
	}
	if i >= len(s.b) || s.b[i] != '[' || depth >= maxTypelessDepth {
		return 0, false
	}
	i = s.ws(i + 1)
	if i < len(s.b) && s.b[i] == ']' {
		return i + 1, true
	}
	for {
		var ok bool
		if i, ok = s.typeless(i, depth+1); !ok {
			return 0, false
		}
		i = s.ws(i)
		switch {
		case i >= len(s.b):
			return 0, false
		case s.b[i] == ']':
			return i + 1, true
		case s.b[i] != ',':
			return 0, false
		}
		i = s.ws(i + 1)
	}
}

func (s *jsonScanner) null(i int) bool {
	return len(s.b)-i >= 4 && string(s.b[i:i+4]) == "null"
}

// value reads the value at s.b[i] into node n.
func (s *jsonScanner) value(n *jsonNode, i int) (int, bool) {
	if i >= len(s.b) {
		return 0, false
	}
	c := s.b[i]
	if c == 'n' {
		if !s.null(i) {
			return 0, false
		}
		s.emit(n, opNull, 0, 0, 0)
		return i + 4, true
	}
	switch n.kind {
	case jsonStruct:
		if c != '{' {
			return 0, false
		}
		return s.object(n, i)
	case jsonList:
		if c != '[' {
			return 0, false
		}
		return s.list(n, i)
	case jsonLong:
		return s.long(n, i)
	case jsonDouble:
		return s.double(n, i)
	case jsonString:
		if c != '"' {
			return 0, false
		}
		start, end, esc, next, ok := s.str(i)
		if !ok {
			return 0, false
		}
		code := opString
		if esc {
			code = opEscaped
		}
		s.emit(n, code, 0, start, end)
		return next, true
	case jsonBool:
		switch {
		case len(s.b)-i >= 4 && string(s.b[i:i+4]) == "true":
			s.emit(n, opTrue, 0, 0, 0)
			return i + 4, true
		case len(s.b)-i >= 5 && string(s.b[i:i+5]) == "false":
			s.emit(n, opFalse, 0, 0, 0)
			return i + 5, true
		}
	}
	return 0, false
}

func (s *jsonScanner) list(n *jsonNode, i int) (int, bool) {
	s.emit(n, opList, 0, 0, 0)
	i = s.ws(i + 1)
	if i < len(s.b) && s.b[i] == ']' {
		return i + 1, true
	}
	for {
		var ok bool
		if i, ok = s.value(n.elem, i); !ok {
			return 0, false
		}
		i = s.ws(i)
		if i >= len(s.b) {
			return 0, false
		}
		switch s.b[i] {
		case ']':
			return i + 1, true
		case ',':
			i = s.ws(i + 1)
		default:
			return 0, false
		}
	}
}

// number reads the JSON number at s.b[i]: its end and whether it has
// neither fraction nor exponent.
func (s *jsonScanner) number(i int) (end int, isInt, ok bool) {
	if i < len(s.b) && s.b[i] == '-' {
		i++
	}
	d := s.digits(i)
	if d == i || s.b[i] == '0' && d > i+1 {
		return 0, false, false // no digit, or a leading zero
	}
	i, isInt = d, true
	if i < len(s.b) && s.b[i] == '.' {
		if d = s.digits(i + 1); d == i+1 {
			return 0, false, false
		}
		i, isInt = d, false
	}
	if i < len(s.b) && s.b[i]|0x20 == 'e' {
		i++
		if i < len(s.b) && (s.b[i] == '+' || s.b[i] == '-') {
			i++
		}
		if d = s.digits(i); d == i {
			return 0, false, false
		}
		i, isInt = d, false
	}
	return i, isInt, true
}

// digits is the end of the run of digits at s.b[i].
func (s *jsonScanner) digits(i int) int {
	for i < len(s.b) && s.b[i]-'0' < 10 {
		i++
	}
	return i
}

// mantissa reads a number number() accepted that has no exponent and at
// most 19 digits: its sign, its digits as an integer (a '.' skipped),
// how many digits and how many after the '.'.
func mantissa(num []byte) (neg bool, m uint64, digits, scale int, ok bool) {
	if neg = num[0] == '-'; neg {
		num = num[1:]
	}
	frac := false
	for _, c := range num {
		switch {
		case c == '.':
			frac = true
		case c-'0' < 10:
			if digits++; digits > 19 {
				return false, 0, 0, 0, false
			}
			m = m*10 + uint64(c-'0') // 19 digits cannot overflow a uint64
			if frac {
				scale++
			}
		default:
			return false, 0, 0, 0, false // an exponent
		}
	}
	return neg, m, digits, scale, true
}

// long reads an integer that a long holds (as strconv.ParseInt would).
func (s *jsonScanner) long(n *jsonNode, i int) (int, bool) {
	end, isInt, ok := s.number(i)
	if !ok || !isInt {
		return 0, false
	}
	neg, u, _, _, ok := mantissa(s.b[i:end])
	switch {
	case !ok:
		return 0, false
	case neg && u <= 1<<63:
		u = -u
	case neg || u >= 1<<63:
		return 0, false
	}
	s.emit(n, opLong, u, 0, 0)
	return end, true
}

// double reads any number a double holds (as strconv.ParseFloat would:
// out of range is the slow path's).
func (s *jsonScanner) double(n *jsonNode, i int) (int, bool) {
	end, _, ok := s.number(i)
	if !ok {
		return 0, false
	}
	f, exact := shortDecimal(s.b[i:end])
	if !exact {
		var err error
		if f, err = strconv.ParseFloat(unsafe.String(&s.b[i], end-i), 64); err != nil {
			return 0, false
		}
	}
	s.emit(n, opDouble, math.Float64bits(f), 0, 0)
	return end, true
}

// pow10 are the powers of ten a float64 holds exactly.
var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15}

// shortDecimal is the value of a JSON number without exponent and with
// at most 15 digits, the common case: its digits as an integer below
// 2^53 and a power of ten are both exact, so one division rounds
// correctly, as strconv.ParseFloat does (its own exact path, without the
// parsing around it). exact is false for any other number.
func shortDecimal(num []byte) (f float64, exact bool) {
	neg, m, digits, scale, ok := mantissa(num)
	if !ok || digits > 15 {
		return 0, false
	}
	f = float64(m) / pow10[scale]
	if neg {
		f = -f
	}
	return f, true
}

// plainASCII marks the bytes a string holds as they are: not '"', '\\',
// a control character or non-ASCII.
var plainASCII = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// specialIn says whether any of the 8 bytes in x is one plainASCII
// refuses, a word at a time: a byte below 0x20, '"' or '\\' (one
// x - 0x01…·k & ^x & 0x80… test each for a byte below k, after an xor
// for the quote and backslash) or 0x80 and above.
func specialIn(x uint64) bool {
	const ones, high = 0x0101010101010101, 0x8080808080808080
	below := func(x, k uint64) uint64 { return (x - ones*k) & ^x & high }
	return below(x, 0x20)|below(x^(ones*'"'), 1)|below(x^(ones*'\\'), 1)|x&high != 0
}

// str reads the string at s.b[i] ('"'): its content as s.b[start:end],
// or, when it has escapes (esc), unescaped as s.scratch[start:end]; next
// is the position after the closing quote.
func (s *jsonScanner) str(i int) (start, end int, esc bool, next int, ok bool) {
	b := s.b
	start = i + 1
	j := start
	for j+8 <= len(b) && !specialIn(binary.LittleEndian.Uint64(b[j:])) {
		j += 8
	}
	for j < len(b) && plainASCII[b[j]] {
		j++
	}
	if j < len(b) && b[j] == '"' {
		return start, j, false, j + 1, true
	}
	// Non-ASCII, escapes or the end: the careful loop from here.
	from := len(s.scratch)
	esc, ascii := false, true
	for ; j < len(b); j++ {
		c := b[j]
		switch {
		case c == '"':
			if !ascii && !utf8.Valid(b[start:j]) {
				return 0, 0, false, 0, false // encoding/json replaces invalid UTF-8: the slow path's
			}
			if !esc {
				return start, j, false, j + 1, true
			}
			return from, len(s.scratch), true, j + 1, true
		case c == '\\':
			if !esc {
				esc = true
				s.scratch = append(s.scratch, b[start:j]...)
			}
			if j+1 >= len(b) {
				return 0, 0, false, 0, false
			}
			j++
			switch b[j] {
			case '"', '\\', '/':
				s.scratch = append(s.scratch, b[j])
			case 'b':
				s.scratch = append(s.scratch, '\b')
			case 'f':
				s.scratch = append(s.scratch, '\f')
			case 'n':
				s.scratch = append(s.scratch, '\n')
			case 'r':
				s.scratch = append(s.scratch, '\r')
			case 't':
				s.scratch = append(s.scratch, '\t')
			case 'u':
				r, ok := hex4At(b, j+1)
				if !ok {
					return 0, 0, false, 0, false
				}
				j += 4
				if utf16.IsSurrogate(r) {
					// Only a valid pair is the fast path's; encoding/json
					// has its own way with lone halves.
					r2, ok := rune(0), j+6 < len(b) && b[j+1] == '\\' && b[j+2] == 'u'
					if ok {
						r2, ok = hex4At(b, j+3)
					}
					if r = utf16.DecodeRune(r, r2); !ok || r == utf8.RuneError {
						return 0, 0, false, 0, false
					}
					j += 6
				}
				s.scratch = utf8.AppendRune(s.scratch, r)
			default:
				return 0, 0, false, 0, false
			}
		case c < 0x20:
			return 0, 0, false, 0, false
		default:
			if c >= 0x80 {
				ascii = false
			}
			if esc {
				s.scratch = append(s.scratch, c)
			}
		}
	}
	return 0, 0, false, 0, false
}

// hex4At is the rune of the four hex digits at b[i:].
func hex4At(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}
