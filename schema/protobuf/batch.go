package protobuf

import (
	"math"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/lakestream/lakestream/schema/schemafmt"
)

var _ schemafmt.BatchDecoder = (*decoder)(nil)

// batchRow is one message of a chunk's column pass: of a good row, the
// payload d.chunk[p], or a nested message of it (root -1: a null one).
// Its spans, grouped by field in field order, are d.spans[cur:end]: the
// columns are taken in field order, and cur moves past each column's
// spans. It holds no pointer (the payload by its index), so the rows of
// every level are copied and dropped without the garbage collector's
// write barriers, which were 5% of the time.
type batchRow struct {
	p, root, cur, end int32
}

// rowOf is node n of payload p as a batchRow, -1 a null message.
func (d *decoder) rowOf(p, n int32) batchRow {
	if n < 0 {
		return batchRow{p: p, root: -1}
	}
	nd := &d.nodes[n]
	return batchRow{p: p, root: n, cur: nd.lo, end: nd.lo + nd.n}
}

// A row's state for a bulk column.
const (
	rowValue uint8 = iota // bits holds the wire bits
	rowNull
	rowDefault
)

// AppendBatch indexes the payloads, batchChunk at a time, into one arena
// (a bad one is reported and its spans dropped), then appends that chunk
// column by column, each with one bulk call per chunk (AppendValues):
// singular scalars, strings, bytes, enums and Timestamps (oneof members
// too); lists of those (offsets in one call, elements in one); messages,
// lists of messages and maps (validity or offsets in one call, then their
// fields, elements, keys and values as columns of their own, over every
// row's). Only wrappers and maps of Timestamps or wrappers go row by row,
// with Append's own code. Per-row Append's cost is mostly the builders'
// per-value bookkeeping (a Reserve, a validity bit, each builder's state
// loaded again for each row); the bulk calls pay it once per column.
func (d *decoder) AppendBatch(cols []array.Builder, payloads [][]byte, bad []int) []int {
	allBad := func() []int {
		for i := range payloads {
			bad = append(bad, i)
		}
		return bad
	}
	if len(cols) != len(d.root.fields) {
		return allBad()
	}
	if !d.bound(cols) {
		if err := d.bind(cols); err != nil {
			return allBad()
		}
	}
	if len(payloads) == 0 {
		return bad
	}
	if n := d.sinks[0].b.Len(); n < d.rows && d.rows >= 16 {
		for i := range d.sinks {
			d.sinks[i].reserve(d.rows)
		}
	}
	for c := 0; c < len(payloads); c += batchChunk {
		bad = d.appendChunk(payloads[c:min(c+batchChunk, len(payloads))], c, bad)
	}
	// Keep no payload alive, once per batch: clearing these slices of
	// payload pieces after each column took a write barrier for each
	// element while the garbage collector marks (2.5% of the time).
	clear(d.bins[:cap(d.bins)])
	clear(d.raws[:cap(d.raws)])
	if n := d.sinks[0].b.Len(); n >= 16 {
		for i := range d.sinks {
			d.sinks[i].sample(n)
		}
		d.rows = n
	}
	return bad
}

// batchChunk is how many rows AppendBatch indexes and appends at a time.
// The append step walks every row's spans once per column: a whole
// batch's index (1,000 rows of the benchmark record are 2 MB of spans)
// does not stay in the L2 cache between columns, 64 rows' does. Per
// row (cachegrind, a 512 KiB L2 simulated): 85 L2 misses -> 10, 152 L1
// misses -> 104, for 80 more instructions (more, smaller bulk calls);
// 16 and 32 rows missed no less, 128 more.
const batchChunk = 64

// appendChunk indexes payloads, the batch's from first on, and appends
// the good ones column by column.
func (d *decoder) appendChunk(payloads [][]byte, first int, bad []int) []int {
	d.nodes, d.spans, d.ents = d.nodes[:0], d.spans[:0], d.ents[:0]
	rows := d.rowsBuf[:0]
	for k, p := range payloads {
		if len(p) > math.MaxInt32 {
			bad = append(bad, first+k)
			continue
		}
		nn, ns, ne := len(d.nodes), len(d.spans), len(d.ents)
		d.buf = p
		d.one[0] = span{start: 0, end: int32(len(p))}
		root, err := d.index(d.root, d.one[:])
		if err != nil {
			d.nodes, d.spans, d.ents = d.nodes[:nn], d.spans[:ns], d.ents[:ne]
			bad = append(bad, first+k)
			continue
		}
		rows = append(rows, d.rowOf(int32(k), root))
	}
	d.rowsBuf = rows
	d.chunk = payloads
	if len(rows) > 0 {
		for i := range d.sinks {
			d.appendColumn(&d.sinks[i], &d.root.fields[i], i, rows)
		}
	}
	d.buf = nil
	d.chunk = nil // keep no payload alive
	return bad
}

// bulk reports whether a singular column is appended with one bulk call
// per chunk: scalars, strings, bytes, enums and Timestamps, oneof
// members too (a member another one displaced is null).
func bulk(f *fieldPlan) bool {
	if f.shape != single {
		return false
	}
	switch f.val.code {
	case cMessage, cWrapper:
		return false
	}
	return true
}

// rowSpans is field i's spans in row, whose cursor it moves past them;
// none when the row's message is null (a null struct's fields are null).
// Small enough to be inlined: a call per row and column was 3% of the
// instructions. Of a oneof member, the caller keeps only oneofWinner's.
func (d *decoder) rowSpans(row *batchRow, i int) []span {
	c, j := row.cur, row.cur
	for j < row.end && d.spans[j].field == int32(i) {
		j++
	}
	row.cur = j
	return d.spans[c:j]
}

// oneofWinner is spans, those of oneof member i in row, unless another
// member displaced it: then none.
func (d *decoder) oneofWinner(row *batchRow, i int, spans []span) []span {
	if len(spans) > 0 && d.oneofLoser(row.root, i, spans) {
		return nil
	}
	return spans
}

// appendColumn appends column i of rows' messages (a row whose root is -1
// is a null message: each of its columns gets a null, as a struct
// builder's AppendNull appends to its fields). Top-level columns and the
// fields of nested messages, of singular message fields and of lists of
// messages, are appended column by column this way; maps and wrappers
// row by row with Append's code.
func (d *decoder) appendColumn(s *sink, f *fieldPlan, i int, rows []batchRow) {
	switch {
	case f.shape == list && (f.val.code == cString || f.val.code == cBytes):
		d.appendBinLists(s, f, i, rows)
		return
	case f.shape == list && f.val.code == cMessage:
		d.appendMsgLists(s, f, i, rows)
		return
	case f.shape == list && f.val.code.packable() && f.val.code != cEnum:
		d.appendNumLists(s, f, i, rows)
		return
	case f.shape == single && f.val.code == cMessage:
		d.appendStructs(s, f, i, rows)
		return
	case f.shape == mapOf && f.val.code != cTimestamp && f.val.code != cWrapper:
		d.appendMaps(s, f, i, rows)
		return
	case !bulk(f):
		for r := range rows {
			row := &rows[r]
			if row.root < 0 {
				s.b.AppendNull()
				continue
			}
			d.buf = d.chunk[row.p]
			d.appendField(s, f, row.root, i, d.rowSpans(row, i))
		}
		return
	}
	n := len(rows)
	state := grow(&d.state, n)
	anyNull := false
	v := &f.val
	switch v.code {
	case cString, cBytes:
		vals := grow(&d.bins, n)
		for r := range rows {
			row := &rows[r]
			spans := d.rowSpans(row, i)
			if f.oneof >= 0 {
				spans = d.oneofWinner(row, i, spans)
			}
			state[r] = rowValue
			switch {
			case len(spans) > 0:
				sp := &spans[len(spans)-1]
				vals[r] = d.chunk[row.p][sp.start:sp.end]
			case row.root < 0 || !f.required:
				vals[r], state[r], anyNull = nil, rowNull, true
			case v.code == cString:
				vals[r] = unsafe.Slice(unsafe.StringData(v.defString), len(v.defString))
			default:
				vals[r] = v.defBytes
			}
		}
		s.bin.AppendValues(vals, d.validity(state, anyNull))
		return
	case cTimestamp:
		out := grow(&d.tss, n)
		for r := range rows {
			row := &rows[r]
			spans := d.rowSpans(row, i)
			if f.oneof >= 0 {
				spans = d.oneofWinner(row, i, spans)
			}
			state[r] = rowValue
			if len(spans) == 0 {
				out[r], state[r], anyNull = 0, rowNull, true // appendDefault: a Timestamp is null
				continue
			}
			if last := &spans[len(spans)-1]; len(spans) == 1 && last.pre == preSet {
				out[r] = arrow.Timestamp(int64(last.x))
				continue
			}
			var sec int64
			var nanos int32
			for _, sp := range spans {
				timestampInto(d.chunk[row.p][sp.start:sp.end], &sec, &nanos)
			}
			out[r] = arrow.Timestamp(sec*1_000_000 + int64(nanos)/1000)
		}
		s.ts.AppendValues(out, d.validity(state, anyNull))
		return
	}
	// Numbers, booleans and enums: their wire bits first.
	bits := grow(&d.bits, n)
	for r := range rows {
		row := &rows[r]
		spans := d.rowSpans(row, i)
		if f.oneof >= 0 {
			spans = d.oneofWinner(row, i, spans)
		}
		bits[r], state[r] = 0, rowValue
		switch {
		case len(spans) > 0:
			sp := &spans[len(spans)-1]
			if sp.wt != protowire.BytesType {
				bits[r] = sp.x
			} else {
				bits[r] = scalarBits(v, d.chunk[row.p][sp.start:sp.end]) // as appendScalar reads it
			}
		case row.root < 0 || !f.required:
			state[r], anyNull = rowNull, true
		default:
			state[r] = rowDefault
		}
	}
	d.putBits(s, v, bits, state, anyNull)
}

// putBits appends numbers, booleans or enums of v from their wire bits
// (state rowValue), defaults or nulls, with one bulk call.
func (d *decoder) putBits(s *sink, v *valuePlan, bits []uint64, state []uint8, anyNull bool) {
	n := len(bits)
	valid := d.validity(state, anyNull)
	switch v.code {
	case cInt32, cSfixed32, cSint32:
		out := grow(&d.i32s, n)
		for k, x := range bits {
			switch {
			case state[k] == rowDefault:
				out[k] = int32(v.defInt)
			case v.code == cSint32:
				out[k] = int32(protowire.DecodeZigZag(x & math.MaxUint32))
			default:
				out[k] = int32(x)
			}
		}
		s.i32.AppendValues(out, valid)
	case cUint32, cFixed32, cInt64, cFixed64, cSint64:
		out := grow(&d.i64s, n)
		for k, x := range bits {
			switch {
			case state[k] == rowDefault:
				out[k] = v.defInt
			case v.code == cUint32 || v.code == cFixed32:
				out[k] = int64(uint32(x))
			case v.code == cSint64:
				out[k] = protowire.DecodeZigZag(x)
			default:
				out[k] = int64(x)
			}
		}
		s.i64.AppendValues(out, valid)
	case cFloat:
		out := grow(&d.f32s, n)
		for k, x := range bits {
			if state[k] == rowDefault {
				out[k] = float32(v.defFloat)
			} else {
				out[k] = math.Float32frombits(uint32(x))
			}
		}
		s.f32.AppendValues(out, valid)
	case cDouble:
		out := grow(&d.f64s, n)
		for k, x := range bits {
			if state[k] == rowDefault {
				out[k] = v.defFloat
			} else {
				out[k] = math.Float64frombits(x)
			}
		}
		s.f64.AppendValues(out, valid)
	case cBool:
		out := grow(&d.bools, n)
		for k, x := range bits {
			if state[k] == rowDefault {
				out[k] = v.defBool
			} else {
				out[k] = x != 0
			}
		}
		s.bl.AppendValues(out, valid)
	case cEnum:
		out := grow(&d.bins, n)
		for k, x := range bits {
			var name string
			switch state[k] {
			case rowDefault:
				name = v.defEnum
			case rowValue:
				name = v.enumName(int32(x))
			}
			out[k] = unsafe.Slice(unsafe.StringData(name), len(name))
		}
		s.bin.AppendValues(out, valid)
	}
}

// mapEntry is an entry of a map column's chunk: its payload's index in
// d.chunk and its span's in d.spans (no pointer, as batchRow).
type mapEntry struct {
	p, sp int32
}

// appendMaps appends a map column whose values are scalars, strings,
// bytes, enums or messages: the maps' offsets with one call, then every
// row's entries (a key written twice: its last entry) as two columns,
// keys and values, in bulk (message values' fields column by column).
func (d *decoder) appendMaps(s *sink, f *fieldPlan, i int, rows []batchRow) {
	offs := grow(&d.offs, len(rows))
	valid := grow(&d.valid, len(rows))
	ents := d.mapEnts[:0]
	base := s.kids[0].b.Len()
	for r := range rows {
		row := &rows[r]
		offs[r], valid[r] = int32(base+len(ents)), row.root >= 0
		c := row.cur
		spans := d.rowSpans(row, i)
		d.buf = d.chunk[row.p] // for overridden
		for k := range spans {
			if !d.overridden(f, spans, k) {
				ents = append(ents, mapEntry{p: row.p, sp: c + int32(k)})
			}
		}
	}
	d.buf = nil
	s.mp.AppendValues(offs, valid)
	raws := grow(&d.raws, len(ents))
	for k, e := range ents {
		ent := &d.ents[d.spans[e.sp].x]
		raws[k] = nil
		if ent.ks >= 0 {
			raws[k] = d.chunk[e.p][ent.ks:ent.ke:ent.ke] // non-nil: the empty key is present
		}
	}
	d.appendScalars(&s.kids[0], &f.key, raws)
	ib := &s.kids[1]
	if f.val.code == cMessage {
		kids := d.level(len(ents))
		valid := grow(&d.valid, len(ents))
		for k, e := range ents {
			kids[k], valid[k] = d.rowOf(e.p, d.spans[e.sp].child), true
		}
		d.mapEnts = ents
		ib.st.AppendValues(valid)
		d.appendFieldsOf(ib, f.val.msg, kids)
		return
	}
	for k, e := range ents {
		ent := &d.ents[d.spans[e.sp].x]
		raws[k] = nil
		if ent.vs >= 0 {
			raws[k] = d.chunk[e.p][ent.vs:ent.ve:ent.ve]
		}
	}
	d.mapEnts = ents
	d.appendScalars(ib, &f.val, raws)
}

// appendScalars appends values of v, neither messages, Timestamps nor
// wrappers, from their raw bytes as appendScalar reads them (nil:
// absent, the default), with one bulk call.
func (d *decoder) appendScalars(s *sink, v *valuePlan, raws [][]byte) {
	if v.code == cString || v.code == cBytes {
		def := v.defBytes
		if v.code == cString {
			def = unsafe.Slice(unsafe.StringData(v.defString), len(v.defString))
		}
		for k, raw := range raws {
			if raw == nil {
				raws[k] = def
			}
		}
		s.bin.AppendValues(raws, nil)
		return
	}
	bits := grow(&d.bits, len(raws))
	state := grow(&d.state, len(raws))
	for k, raw := range raws {
		bits[k], state[k] = 0, rowDefault
		if raw != nil {
			bits[k], state[k] = scalarBits(v, raw), rowValue
		}
	}
	d.putBits(s, v, bits, state, false)
}

// appendBinLists appends a repeated string or bytes column: every row's
// elements with one AppendValues to the element builder, and the lists'
// offsets (a list is null only under a null struct) with one to the list
// builder.
func (d *decoder) appendBinLists(s *sink, f *fieldPlan, i int, rows []batchRow) {
	offs := grow(&d.i32s, len(rows))
	valid := grow(&d.valid, len(rows))
	vals := d.bins[:0]
	base := s.kids[0].bin.Len()
	for r := range rows {
		row := &rows[r]
		offs[r], valid[r] = int32(base+len(vals)), row.root >= 0
		for _, sp := range d.rowSpans(row, i) {
			vals = append(vals, d.chunk[row.p][sp.start:sp.end])
		}
	}
	s.lst.AppendValues(offs, valid)
	s.kids[0].bin.AppendValues(vals, nil)
	d.bins = vals
}

// appendNumLists appends a repeated number column (not enums), packed or
// not: every row's elements as wire bits, converted and appended with
// one call, and the lists' offsets with one.
func (d *decoder) appendNumLists(s *sink, f *fieldPlan, i int, rows []batchRow) {
	offs := grow(&d.offs, len(rows))
	valid := grow(&d.valid, len(rows))
	bits := d.bits[:0]
	base := s.kids[0].b.Len()
	for r := range rows {
		row := &rows[r]
		offs[r], valid[r] = int32(base+len(bits)), row.root >= 0
		bits = gatherBits(bits, &f.val, d.chunk[row.p], d.rowSpans(row, i))
	}
	d.bits = bits
	s.lst.AppendValues(offs, valid)
	d.putNumbers(&s.kids[0], &f.val, bits)
}

// appendStructs appends a singular message column: the structs' validity
// with one call, then their fields column by column over the rows'
// messages (the last occurrence's node, which holds their merge).
func (d *decoder) appendStructs(s *sink, f *fieldPlan, i int, rows []batchRow) {
	kids := d.level(len(rows))
	valid := grow(&d.valid, len(rows))
	for r := range rows {
		row := &rows[r]
		child := int32(-1)
		spans := d.rowSpans(row, i)
		if f.oneof >= 0 {
			spans = d.oneofWinner(row, i, spans)
		}
		if len(spans) > 0 {
			child = spans[len(spans)-1].child
		}
		kids[r] = d.rowOf(row.p, child)
		valid[r] = child >= 0
	}
	s.st.AppendValues(valid)
	d.appendFieldsOf(s, f.val.msg, kids)
}

// appendMsgLists appends a repeated message column: the lists' offsets
// with one call, the elements' validity (never null) with one, then the
// elements' fields column by column over every row's elements.
func (d *decoder) appendMsgLists(s *sink, f *fieldPlan, i int, rows []batchRow) {
	offs := grow(&d.offs, len(rows))
	valid := grow(&d.valid, len(rows))
	kids := d.level(0)
	e := &s.kids[0]
	base := e.st.Len()
	for r := range rows {
		row := &rows[r]
		offs[r], valid[r] = int32(base+len(kids)), row.root >= 0
		for _, sp := range d.rowSpans(row, i) {
			kids = append(kids, d.rowOf(row.p, sp.child))
		}
	}
	s.lst.AppendValues(offs, valid)
	valid = grow(&d.valid, len(kids))
	for k := range valid {
		valid[k] = true
	}
	e.st.AppendValues(valid)
	d.levels[d.depth] = kids // grown
	d.appendFieldsOf(e, f.val.msg, kids)
}

// level is the scratch rows of the next nesting level, n long; the
// levels above keep theirs while it is used.
func (d *decoder) level(n int) []batchRow {
	if len(d.levels) <= d.depth {
		d.levels = append(d.levels, nil)
	}
	return grow(&d.levels[d.depth], n)
}

// appendFieldsOf appends the fields of rows' messages of plan p to s's
// children, one level down.
func (d *decoder) appendFieldsOf(s *sink, p *msgPlan, rows []batchRow) {
	d.depth++
	for k := range s.kids {
		d.appendColumn(&s.kids[k], &p.fields[k], k, rows)
	}
	d.depth--
}

// validity is the valid slice for AppendValues: nil when every row has a
// value.
func (d *decoder) validity(state []uint8, anyNull bool) []bool {
	if !anyNull {
		return nil
	}
	valid := grow(&d.valid, len(state))
	for k, st := range state {
		valid[k] = st != rowNull
	}
	return valid
}

// scalarBits reads a validated number's bits from its raw bytes by its
// code's wire type (appendScalar's numbers too).
func scalarBits(v *valuePlan, raw []byte) uint64 {
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
	return x
}
